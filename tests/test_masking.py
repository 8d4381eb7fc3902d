"""One rule hides secrets everywhere: the key's last four characters, secret-looking names."""

from __future__ import annotations

import pytest

from bot.inferno.client import mask_secrets
from bot.inferno.models import Credentials, Service
from bot.masking import is_secret_name, mask_key
from bot.storage.repositories import Account

LONG_KEY = "kq3mA1b2C3d4E5f6G7h8x9Zt"


def test_a_key_shows_its_last_four_characters_only() -> None:
    assert mask_key(LONG_KEY) == "…x9Zt"
    assert LONG_KEY[:4] not in mask_key(LONG_KEY)


@pytest.mark.parametrize("key", ["", "k", "short-key", "exactly15chars!"])
def test_a_short_key_shows_nothing_of_itself(key: str) -> None:
    assert mask_key(key) == "…"


def test_storage_and_provider_client_mask_a_key_alike() -> None:
    account = Account(cid=777, api_key=LONG_KEY)
    creds = Credentials(777, LONG_KEY)
    assert account.masked_key == creds.masked_key == mask_key(LONG_KEY)
    assert LONG_KEY not in repr(account) and LONG_KEY not in repr(creds)


@pytest.mark.parametrize(
    "name",
    [
        "pass",
        "password",
        "rootpass",
        "vnc_password",
        "RootPassword",
        "pwd",
        "mysql_pwd",
        "key",
        "X-Key",
        "apiKey",
        "token",
        "accessToken",
        "secret",
        "client_secret",
    ],
)
def test_secret_looking_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name", ["id", "name", "status", "ip", "dedicatedip", "regdate", "billingcycle", "domain"]
)
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_mask_secrets_hides_every_secret_looking_field_and_keeps_the_shape() -> None:
    masked = mask_secrets(
        {
            "rootpass": "hunter2",
            "vnc_password": "vnc-secret",
            "service": {"ip": "1.2.3.4", "Api_Token": "t0k3n", "mysqlPwd": "x"},
            "keys": [{"id": 7, "value": "AAAA"}],
            "name": "VPS",
        }
    )
    assert masked == {
        "rootpass": "***",
        "vnc_password": "***",
        "service": {"ip": "1.2.3.4", "Api_Token": "***", "mysqlPwd": "***"},
        "keys": [{"id": "***", "value": "***"}],
        "name": "VPS",
    }


def test_service_fields_leave_out_secret_looking_names() -> None:
    service = Service.from_raw(
        {
            "result": "success",
            "service": {
                "id": "49701",
                "name": "VPS Start",
                "rootpass": "hunter2",
                "vnc_password": "vnc-secret",
                "SecretAnswer": "blue",
                "licensekey": "LIC-1",
                "status": "Active",
            },
        }
    )
    assert set(service.fields) == {"id", "name", "status"}
    for secret in ("hunter2", "vnc-secret", "blue", "LIC-1"):
        assert secret not in repr(service.fields)
