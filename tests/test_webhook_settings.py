"""WEBHOOK_URL, WEBHOOK_SECRET and WEBHOOK_LISTEN: a wrong value is one line naming the
variable and exit code 2, never a secret's value; without WEBHOOK_URL the bot polls."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings
from tests.test_settings import SETTING_NAMES, TOKEN, run_bot

SECRET = "hunter2_Webhook-secret"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_polling_unless_a_webhook_url_is_set() -> None:
    settings = load_settings(bot_token=TOKEN)
    assert settings.webhook_url is None
    assert settings.webhook_listen == "0.0.0.0:8080"


def test_webhook_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com/telegram/hook/")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("WEBHOOK_LISTEN", "[::1]:8443")
    settings = load_settings()
    assert settings.webhook_url == "https://bot.example.com/telegram/hook"
    assert settings.webhook_path == "/telegram/hook"
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == SECRET
    assert SECRET not in repr(settings)


URL = "https://bot.example.com/hook"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WEBHOOK_URL": URL}, "WEBHOOK_SECRET is required"),
        (
            {"WEBHOOK_URL": "http://bot.example.com/hook", "WEBHOOK_SECRET": SECRET},
            "WEBHOOK_URL is invalid: must start with https://",
        ),
        (
            {"WEBHOOK_URL": "ftp://bot.example.com/hook", "WEBHOOK_SECRET": SECRET},
            "WEBHOOK_URL is invalid",
        ),
        ({"WEBHOOK_URL": URL + "?x=1", "WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL is invalid"),
        (
            {"WEBHOOK_URL": "https://u:hunter2@bot.example.com/", "WEBHOOK_SECRET": SECRET},
            "WEBHOOK_URL is invalid",
        ),
        ({"WEBHOOK_URL": "", "WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL is invalid: is empty"),
        ({"WEBHOOK_URL": URL, "WEBHOOK_SECRET": "has space hunter2"}, "WEBHOOK_SECRET is invalid"),
        ({"WEBHOOK_URL": URL, "WEBHOOK_SECRET": "hunter2!"}, "WEBHOOK_SECRET is invalid"),
        ({"WEBHOOK_URL": URL, "WEBHOOK_SECRET": "h" * 257}, "WEBHOOK_SECRET is invalid"),
        ({"WEBHOOK_LISTEN": "8080"}, "WEBHOOK_LISTEN is invalid"),
        ({"WEBHOOK_LISTEN": "0.0.0.0:99999"}, "WEBHOOK_LISTEN is invalid"),
        ({"WEBHOOK_LISTEN": ":8080"}, "WEBHOOK_LISTEN is invalid"),
    ],
)
def test_a_bad_webhook_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message and "hunter2" not in message


def test_plain_http_is_allowed_on_loopback_only() -> None:
    settings = load_settings(
        bot_token=TOKEN, webhook_url="http://127.0.0.1:8080/hook", webhook_secret="s"
    )
    assert settings.webhook_path == "/hook"


def test_a_webhook_url_without_a_secret_exits_2(tmp_path: Path) -> None:
    result = run_bot(tmp_path, {"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://bot.example.com/h"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["inferno-bot: WEBHOOK_SECRET is required but not set (WEBHOOK_URL is set)"]
    assert list(tmp_path.iterdir()) == [], "nothing is written"
