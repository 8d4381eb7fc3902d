"""InfernoClient against canned answers: every tolerated shape, every error mapping, retries.

The answers come over real HTTP from a local server; each test's responder sees the request as
an ``httpx.Request`` and answers with an ``httpx.Response`` (a plain way to write both), and a
responder that raises one of httpx's network errors makes the server drop the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.inferno.client import READ_ACTIONS, InfernoClient, mask_secrets, trusted_authorities
from bot.inferno.errors import (
    AccessDenied,
    InfernoError,
    InvalidCredentials,
    ProviderFail,
    ProviderUnavailable,
    UnreadableAnswer,
)
from bot.inferno.models import (
    Catalog,
    Credentials,
    PowerState,
    Product,
    ServerInfo,
    Template,
)

KEY = "SeCrEtKeY-0123456789-abcdefXYZ"
PASSWORD = "hunter2-very-secret"
CREDS = Credentials(cid=777, key=KEY)
RETRIES = 3

Responder = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


class Recorder:
    """Keeps every request that reached the server and answers via a responder."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[httpx.Request] = []

    async def __call__(self, received: web.Request) -> web.StreamResponse:
        request = httpx.Request(
            received.method,
            str(received.url),
            headers=list(received.headers.items()),
            content=await received.read(),
        )
        self.requests.append(request)
        try:
            answer = self.responder(request)
            if not isinstance(answer, httpx.Response):
                answer = await answer
        except httpx.TransportError:
            # The network failing: the connection drops without an answer.
            assert received.transport is not None
            received.transport.abort()
            raise asyncio.CancelledError from None
        headers = {
            name: value
            for name, value in answer.headers.items()
            if name.lower() not in ("content-length", "transfer-encoding", "content-encoding")
        }
        return web.Response(status=answer.status_code, body=answer.content, headers=headers)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]


MakeClient = Callable[..., tuple[InfernoClient, Recorder]]


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    recorders: dict[str, Recorder] = {}

    async def route(received: web.Request) -> web.StreamResponse:
        return await recorders[received.match_info["client"]](received)

    app = web.Application()
    app.router.add_route("*", "/{client}/api_client.php", route)
    # A slow responder is cancelled when its client gives up, so the server stops at once.
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    clients: list[InfernoClient] = []

    def factory(responder: Responder, **kwargs: Any) -> tuple[InfernoClient, Recorder]:
        name = f"c{len(recorders)}"
        recorder = recorders[name] = Recorder(responder)
        options: dict[str, Any] = {"read_retries": RETRIES, "backoff": 0.001, "timeout": 2.0}
        options.update(kwargs)
        client = InfernoClient(f"http://127.0.0.1:{port}/{name}/api_client.php", **options)
        clients.append(client)
        return client, recorder

    yield factory
    for client in clients:
        await client.aclose()
    await runner.cleanup()


def answer_json(payload: Any, status: int = 200) -> Responder:
    return lambda request: httpx.Response(status, json=payload)


def answer_text(text: str, status: int = 200, content_type: str = "text/html") -> Responder:
    return lambda request: httpx.Response(status, text=text, headers={"content-type": content_type})


# --------------------------------------------------------------------------- request shape


async def test_key_only_in_header_and_cid_in_body(make_client: MakeClient) -> None:
    client, rec = make_client(answer_json({"result": "success", "balance": "1.00"}))
    await client.balance(CREDS)
    (request,) = rec.requests
    assert request.method == "POST"
    assert request.url.params["action"] == "balance"
    assert request.headers["X-Key"] == KEY
    assert request.headers["content-type"] == "application/json"
    assert KEY not in str(request.url)
    assert KEY not in request.content.decode()
    assert json.loads(request.content) == {"cid": 777}


async def test_list_needs_no_auth(make_client: MakeClient) -> None:
    client, rec = make_client(answer_json({"ostpls": ["debian12"], "products": {}}))
    await client.list_catalog()
    (request,) = rec.requests
    assert "X-Key" not in request.headers
    assert request.url.params["action"] == "list"
    assert json.loads(request.content) == {}


ActionCall = Callable[[InfernoClient], Awaitable[object]]

PARAM_CASES: list[tuple[str, ActionCall, Any, dict[str, Any]]] = [
    ("create", lambda c: c.create(CREDS, "49"), {"orderid": 1}, {"cid": 777, "pid": 49}),
    ("cancel", lambda c: c.cancel(CREDS, "47200"), {"result": "success"}, {"orderid": 47200}),
    (
        "getinfo",
        lambda c: c.get_info_by_ip(CREDS, "37.1.0.111"),
        {"result": "success", "orderid": 1, "vps_info": {}},
        {"orderid": 0, "ip": "37.1.0.111"},
    ),
    ("getinfo", lambda c: c.get_info(CREDS, 47012), {"orderid": 47012}, {"orderid": 47012}),
    ("reboot", lambda c: c.reboot(CREDS, "5"), {"result": "success"}, {"orderid": 5}),
    ("stop", lambda c: c.stop(CREDS, "5"), {"result": "success"}, {"orderid": 5}),
    ("boot", lambda c: c.boot(CREDS, "5"), {"result": "success"}, {"orderid": 5}),
    (
        "sshkey.add",
        lambda c: c.sshkey_add(CREDS, " ssh-ed25519 AAAAC3Nz me@host\n", "laptop"),
        {"result": "success", "message": "Key added"},
        {"sshkey": "ssh-ed25519 AAAAC3Nz me@host", "name": "laptop"},
    ),
    ("sshkey.remove", lambda c: c.sshkey_remove(CREDS, "7"), {"result": "success"}, {"id": 7}),
    (
        "getService",
        lambda c: c.get_service(CREDS, "49700"),
        {"service": {"id": 49700}},
        {"serviceid": 49700},
    ),
    (
        "install",
        lambda c: c.install(CREDS, "47012", "debian12", ["7", 8], run=False),
        {"result": "success"},
        {"orderid": 47012, "ostpl": "debian12", "sshkey_ids": "7,8", "run": 0},
    ),
    (
        "reinstall",
        lambda c: c.reinstall(CREDS, 47012, "centos7-64-default", [], run=True),
        {"result": "success"},
        {"orderid": 47012, "ostpl": "centos7-64-default", "sshkey_ids": "", "run": 1},
    ),
]


@pytest.mark.parametrize(("action", "call", "answer", "expected"), PARAM_CASES)
async def test_action_parameters(
    make_client: MakeClient,
    action: str,
    call: ActionCall,
    answer: Any,
    expected: dict[str, Any],
) -> None:
    client, rec = make_client(answer_json(answer))
    await call(client)
    (request,) = rec.requests
    assert request.url.params["action"] == action
    body = json.loads(request.content)
    assert body["cid"] == 777
    for name, value in expected.items():
        assert body[name] == value
    assert KEY not in request.content.decode()
    assert KEY not in str(request.url)


@pytest.mark.parametrize(("order_id", "sent"), [(" 47012 ", 47012), ("²", "²"), ("٣", "٣")])
async def test_ids_go_out_as_numbers_only_when_they_are_ascii_digits(
    make_client: MakeClient, order_id: str, sent: int | str
) -> None:
    client, rec = make_client(answer_json({"result": "success"}))
    await client.reboot(CREDS, order_id)
    assert rec.bodies()[0]["orderid"] == sent


async def test_sshkey_add_without_name_sends_no_name(make_client: MakeClient) -> None:
    client, rec = make_client(answer_json({"result": "success", "message": "added"}))
    result = await client.sshkey_add(CREDS, "ssh-ed25519 AAAA x")
    assert "name" not in rec.bodies()[0]
    assert result.message == "added"


async def test_get_api_key(make_client: MakeClient) -> None:
    client, rec = make_client(answer_json({"result": "success", "cid": "777", "key": KEY}))
    creds = await client.get_api_key("a@b.c", PASSWORD, generate=True)
    assert creds == Credentials(777, KEY)
    assert rec.bodies() == [{"email": "a@b.c", "pass": PASSWORD, "generate": 1}]
    assert "X-Key" not in rec.requests[0].headers
    assert KEY not in repr(creds) and KEY not in str(creds)
    assert KEY not in repr(creds.raw)
    await client.get_api_key("a@b.c", PASSWORD)
    assert rec.bodies()[1]["generate"] == 0


async def test_a_new_key_never_reaches_the_log_or_raw(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.inferno")
    # A "token" with no cid cannot be read: the shape is logged, without the key in it.
    client, _ = make_client(answer_json({"result": "success", "token": KEY}))
    with pytest.raises(UnreadableAnswer):
        await client.get_api_key("a@b.c", PASSWORD)
    assert all(KEY not in record.getMessage() for record in caplog.records)
    client, _ = make_client(answer_json({"result": "success", "data": {"cid": 7, "key": KEY}}))
    creds = await client.get_api_key("a@b.c", PASSWORD)
    assert creds.key == KEY and KEY not in repr(creds.raw)


async def test_get_api_key_wrong_login(make_client: MakeClient) -> None:
    client, _ = make_client(answer_json({"result": "fail", "message": "Invalid email or password"}))
    with pytest.raises(InvalidCredentials) as caught:
        await client.get_api_key("a@b.c", PASSWORD)
    assert PASSWORD not in str(caught.value)
    assert caught.value.action == "getApiKey"


async def test_get_api_key_echoed_password_is_scrubbed(make_client: MakeClient) -> None:
    client, _ = make_client(
        answer_json({"result": "fail", "message": f"bad request for pass {PASSWORD}"})
    )
    with pytest.raises(ProviderFail) as caught:
        await client.get_api_key("a@b.c", PASSWORD)
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)


# --------------------------------------------------------------------------- tolerant shapes


CATALOG_CASES: list[tuple[Any, list[Template], list[tuple[str, str, str | None]]]] = [
    (
        {
            "result": "success",
            "ostpls": ["debian12", "centos7-64-default"],
            "products": {
                "49": {"name": "VPS-1", "price": "5.00", "description": "1 CPU"},
                "50": {"name": "VPS-2", "price": 9.5},
            },
        },
        [Template("debian12", None), Template("centos7-64-default", None)],
        [("49", "VPS-1", "5.00"), ("50", "VPS-2", "9.50")],
    ),
    (
        {
            "ostpls": [{"name": "debian12", "title": "Debian 12"}, {"ostpl": "ubuntu22"}],
            "products": [{"pid": 49, "title": "Small", "amount": "3"}, {"id": "51", "cost": 4}],
        },
        [Template("debian12", "Debian 12"), Template("ubuntu22", None)],
        [("49", "Small", "3"), ("51", "51", "4")],
    ),
    (
        {
            "ostpls": {
                "debian12": None,
                "ubuntu22": "Ubuntu 22.04",
                "centos7-64-default": {"title": "CentOS 7"},
                "alma9": {"name": "Alma Linux 9"},
            },
            "products": [
                {
                    "pid": "60",
                    "groupname": "NVMe",
                    "pricing": {"RUB": {"prefix": "", "suffix": "руб", "monthly": "450.00"}},
                }
            ],
        },
        [
            Template("debian12", None),
            Template("ubuntu22", "Ubuntu 22.04"),
            Template("centos7-64-default", "CentOS 7"),
            Template("alma9", "Alma Linux 9"),
        ],
        [("60", "NVMe", "450.00")],
    ),
    (
        {"ostpls": {"0": "debian12", "1": "ubuntu22"}, "products": {"7": "Tiny"}},
        [Template("debian12", None), Template("ubuntu22", None)],
        [("7", "Tiny", None)],
    ),
    (
        {"ostpls": [], "products": {"products": {"product": [{"pid": 1, "name": "A"}]}}},
        [],
        [("1", "A", None)],
    ),
]


@pytest.mark.parametrize(("answer", "templates", "products"), CATALOG_CASES)
async def test_catalog_shapes(
    make_client: MakeClient,
    answer: Any,
    templates: list[Template],
    products: list[tuple[str, str, str | None]],
) -> None:
    client, _ = make_client(answer_json(answer))
    catalog = await client.list_catalog()
    assert isinstance(catalog, Catalog)
    assert catalog.templates == templates
    assert [(p.id, p.name, p.price) for p in catalog.products] == products
    assert catalog.raw == answer


async def test_catalog_keeps_product_description_and_raw(make_client: MakeClient) -> None:
    plan = {"name": "VPS-1", "description": "1 CPU"}
    client, _ = make_client(answer_json({"ostpls": ["debian12"], "products": {"49": plan}}))
    (product,) = (await client.list_catalog()).products
    assert product == Product("49", "VPS-1", None, "1 CPU")
    assert product.raw == plan


@pytest.mark.parametrize(
    ("answer", "amount", "currency"),
    [
        ({"result": "success", "balance": "12.34"}, "12.34", None),
        ({"result": "success", "balance": 12.5, "currency": "RUB"}, "12.50", "RUB"),
        ({"credit": "100", "currencycode": "USD"}, "100", "USD"),
        ({"amount": 7}, "7", None),
        ({"balance": {"amount": "3.30", "currency": "EUR"}}, "3.30", "EUR"),
        ({"balance": "1.00", "currency": {"code": "RUB", "prefix": ""}}, "1.00", "RUB"),
    ],
)
async def test_balance_shapes(
    make_client: MakeClient, answer: Any, amount: str, currency: str | None
) -> None:
    client, _ = make_client(answer_json(answer))
    balance = await client.balance(CREDS)
    assert (balance.amount, balance.currency) == (amount, currency)


@pytest.mark.parametrize(
    ("answer", "order_id", "invoice_id", "product_ids"),
    [
        (
            {"result": "success", "orderid": 47000, "invoiceid": 366000, "productids": "49700"},
            "47000",
            "366000",
            ["49700"],
        ),
        ({"orderid": "47001", "productids": "1, 2"}, "47001", None, ["1", "2"]),
        (
            {"order_id": 47002.0, "invoice_id": "9", "productids": [3, "4"]},
            "47002",
            "9",
            ["3", "4"],
        ),
    ],
)
async def test_create_shapes(
    make_client: MakeClient,
    answer: Any,
    order_id: str,
    invoice_id: str | None,
    product_ids: list[str],
) -> None:
    client, _ = make_client(answer_json(answer))
    created = await client.create(CREDS, "49")
    assert (created.order_id, created.invoice_id, created.product_ids) == (
        order_id,
        invoice_id,
        product_ids,
    )


SPEC_ORDER = {
    "id": "47200",
    "ordernum": "8634530000",
    "amount": "5.00",
    "invoiceid": "366000",
    "status": "Pending",
}


@pytest.mark.parametrize(
    ("answer", "ids"),
    [
        ({"orders": {"47200": SPEC_ORDER}}, ["47200"]),
        (
            {"result": "success", "orders": [SPEC_ORDER, {"orderid": 47201, "status": "Active"}]},
            ["47200", "47201"],
        ),
        ({"orders": {"47300": {"status": "Active", "amount": 5}}}, ["47300"]),
        ({"result": "success", "orders": []}, []),
        ({"result": "success", "orders": None}, []),
        ({"result": "success"}, []),
        ([SPEC_ORDER], ["47200"]),
        ({"result": "success", "47200": SPEC_ORDER}, ["47200"]),
    ],
)
async def test_orders_shapes(make_client: MakeClient, answer: Any, ids: list[str]) -> None:
    client, _ = make_client(answer_json(answer))
    orders = await client.orders(CREDS)
    assert [order.id for order in orders] == ids


async def test_order_fields(make_client: MakeClient) -> None:
    order = {**SPEC_ORDER, "date": "2024-05-01 10:00:00", "product": "VPS-1"}
    client, _ = make_client(answer_json({"orders": {"47200": order}}))
    (parsed,) = await client.orders(CREDS)
    assert parsed.ordernum == "8634530000"
    assert parsed.amount == "5.00"
    assert parsed.invoice_id == "366000"
    assert parsed.status == "Pending"
    assert parsed.date == "2024-05-01 10:00:00"
    assert parsed.product_name == "VPS-1"
    assert parsed.raw == order


SERVICE = {
    "id": "49700",
    "name": "VPS-1",
    "status": "Active",
    "dedicatedip": "37.1.0.111",
    "orderid": 47012,
    "password": PASSWORD,
}


@pytest.mark.parametrize(
    "answer",
    [
        {"result": "success", "services": [SERVICE]},
        {"services": {"49700": {k: v for k, v in SERVICE.items() if k != "id"}}},
        {"result": "success", "49700": SERVICE},
        [SERVICE],
        {"result": "success", "services": {"service": [SERVICE]}},
        {"result": "success", "totalresults": 1, "products": {"product": [SERVICE]}},
    ],
)
async def test_services_shapes(make_client: MakeClient, answer: Any) -> None:
    client, _ = make_client(answer_json(answer))
    (service,) = await client.services(CREDS)
    assert service.id == "49700"
    assert service.name == "VPS-1"
    assert service.status == "Active"
    assert service.ip == "37.1.0.111"
    assert service.order_id == "47012"
    assert service.fields["orderid"] == "47012"
    assert "password" not in service.fields
    assert PASSWORD not in repr(service)


@pytest.mark.parametrize(
    "answer",
    [
        {"result": "success", "services": []},
        {"result": "success"},
    ],
)
async def test_services_empty(make_client: MakeClient, answer: Any) -> None:
    client, _ = make_client(answer_json(answer))
    assert await client.services(CREDS) == []


@pytest.mark.parametrize(
    "answer",
    [
        {"result": "success", "service": SERVICE},
        {"result": "success", "service": [SERVICE]},
        {"result": "success", **SERVICE},
        {"result": "success", "service": {"49700": SERVICE}},
        {"result": "success", **{k: v for k, v in SERVICE.items() if k != "id"}},
    ],
)
async def test_get_service_shapes(make_client: MakeClient, answer: Any) -> None:
    client, _ = make_client(answer_json(answer))
    service = await client.get_service(CREDS, "49700")
    assert (service.id, service.name, service.ip) == ("49700", "VPS-1", "37.1.0.111")


SPEC_GETINFO: dict[str, Any] = {
    "result": "success",
    "orderid": 47012,
    "orderStatus": "Active",
    "productStatus": "Active",
    "dedicatedip": "",
    "vps_info": {
        "result": "success",
        "message": "",
        "main_id": "21968",
        "vps_name": "37-1-0-111",
        "ip": "37.1.0.111",
        "real_state": "Включен",
        "vps_password": PASSWORD,
    },
}


def getinfo_with(**vps: Any) -> dict[str, Any]:
    info = {**SPEC_GETINFO["vps_info"], **vps}
    return {**SPEC_GETINFO, "vps_info": {k: v for k, v in info.items() if v is not ...}}


async def test_getinfo_spec_example(make_client: MakeClient) -> None:
    client, _ = make_client(answer_json(SPEC_GETINFO))
    info = await client.get_info(CREDS, "47012")
    assert info.order_id == "47012"
    assert info.order_status == "Active"
    assert info.product_status == "Active"
    assert info.ip == "37.1.0.111"
    assert info.name == "37-1-0-111"
    assert info.main_id == "21968"
    assert info.real_state == "Включен"
    assert info.password == PASSWORD
    assert info.vps_ok is True
    assert info.online is None
    assert info.power_state is PowerState.RUNNING
    assert info.is_ready is True
    assert PASSWORD not in repr(info) and PASSWORD not in str(info)


@pytest.mark.parametrize(
    ("answer", "state", "ready"),
    [
        ({k: v for k, v in SPEC_GETINFO.items() if k != "vps_info"}, PowerState.INSTALLING, False),
        (
            {**SPEC_GETINFO, "vps_info": {"result": "fail", "message": "not found"}},
            PowerState.INSTALLING,
            False,
        ),
        ({**SPEC_GETINFO, "vps_info": []}, PowerState.INSTALLING, False),
        (
            {**SPEC_GETINFO, "orderStatus": "Pending", "vps_info": {"result": "fail"}},
            PowerState.UNKNOWN,
            False,
        ),
        (getinfo_with(ip=""), PowerState.RUNNING, False),
        (getinfo_with(real_state="Выключен"), PowerState.STOPPED, False),
        (getinfo_with(real_state="Устанавливается", ip=""), PowerState.INSTALLING, False),
        (getinfo_with(real_state="Создаётся"), PowerState.INSTALLING, False),
        (getinfo_with(real_state="in queue"), PowerState.INSTALLING, False),
        (getinfo_with(real_state="Приостановлен"), PowerState.UNKNOWN, False),
        (getinfo_with(real_state=..., online=True), PowerState.RUNNING, True),
        (getinfo_with(real_state=..., online="1"), PowerState.RUNNING, True),
        (getinfo_with(real_state=..., online="true"), PowerState.RUNNING, True),
        (getinfo_with(real_state=..., online=False), PowerState.UNKNOWN, False),
        (getinfo_with(real_state="Приостановлен", online=True), PowerState.UNKNOWN, True),
        (getinfo_with(result=...), PowerState.RUNNING, True),
    ],
)
async def test_getinfo_states(
    make_client: MakeClient, answer: Any, state: PowerState, ready: bool
) -> None:
    client, _ = make_client(answer_json(answer))
    info = await client.get_info(CREDS, 47012)
    assert info.power_state is state
    assert info.is_ready is ready


async def test_getinfo_keeps_unknown_state_word(make_client: MakeClient) -> None:
    client, _ = make_client(answer_json(getinfo_with(real_state="Приостановлен")))
    info = await client.get_info(CREDS, 47012)
    assert info.real_state == "Приостановлен"


async def test_getinfo_failed_vps_info(make_client: MakeClient) -> None:
    answer = {**SPEC_GETINFO, "vps_info": {"result": "fail", "message": "VPS not found", "ip": ""}}
    client, _ = make_client(answer_json(answer))
    info = await client.get_info(CREDS, 47012)
    assert info.vps_ok is False
    assert info.ip is None
    assert info.message == "VPS not found"
    assert info.password is None


async def test_sshkey_list_shapes(make_client: MakeClient) -> None:
    public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VrZXlmYWtla2V5ZmFrZWtleWZha2VrZXk= me@host"
    client, _ = make_client(
        answer_json({"list": [{"id": 7, "name": "laptop", "sshkey": public}, {"id": "8"}]})
    )
    first, second = await client.sshkey_list(CREDS)
    assert (first.id, first.name, first.key_type) == ("7", "laptop", "ssh-ed25519")
    assert first.fingerprint is not None and first.fingerprint.startswith("SHA256:")
    assert (second.id, second.name, second.fingerprint, second.key_type) == ("8", "", None, None)


@pytest.mark.parametrize(
    ("answer", "ids"),
    [
        ({"list": {"7": {"name": "a"}, "9": {"name": "b", "fingerprint": "SHA256:x"}}}, ["7", "9"]),
        ([{"id": 1, "name": "a"}], ["1"]),
        ({"result": "success", "list": []}, []),
        ({"result": "success"}, []),
        ({"keys": [{"id": 3, "key": "ssh-rsa AAAA comment here"}]}, ["3"]),
    ],
)
async def test_sshkey_list_other_shapes(
    make_client: MakeClient, answer: Any, ids: list[str]
) -> None:
    client, _ = make_client(answer_json(answer))
    assert [key.id for key in await client.sshkey_list(CREDS)] == ids


PRINT_R_OK = (
    "[method] => createVPS [result] => success [msg] => ok [retx] => Array ( [result] => success "
    "[msg] => VSCD: VPS added to queue [error_code] => 0 )"
)
PRINT_R_904 = (
    "Array ( [method] => createVPS [result] => fail [msg] => Vps exists with current main_id "
    "(21968) , W:47012 [error_code] => 904 )"
)


async def test_install_print_r_success(make_client: MakeClient) -> None:
    client, _ = make_client(answer_text(PRINT_R_OK, content_type="text/plain"))
    result = await client.install(CREDS, "47012", "debian12", ["7"], run=True)
    assert result.run is True
    assert result.message == "VSCD: VPS added to queue"
    assert result.method == "createVPS"
    assert result.code == 0


async def test_install_print_r_fail_904(make_client: MakeClient) -> None:
    client, rec = make_client(answer_text(PRINT_R_904, content_type="text/plain"))
    with pytest.raises(ProviderFail) as caught:
        await client.install(CREDS, "47012", "debian12", [], run=True)
    assert caught.value.code == 904
    assert caught.value.message == "Vps exists with current main_id (21968) , W:47012"
    assert caught.value.action == "install"
    assert len(rec.requests) == 1


async def test_install_print_r_nested_fail(make_client: MakeClient) -> None:
    text = (
        "Array ( [method] => createVPS [result] => success [msg] => ok [retx] => Array "
        "( [result] => fail [msg] => VSCD: no free ip [error_code] => 17 ) )"
    )
    client, _ = make_client(answer_text(text, content_type="text/plain"))
    with pytest.raises(ProviderFail) as caught:
        await client.reinstall(CREDS, "47012", "debian12", [], run=True)
    assert (caught.value.message, caught.value.code) == ("VSCD: no free ip", 17)


async def test_reinstall_json_answer(make_client: MakeClient) -> None:
    answer = {"result": "success", "msg": "ok", "retx": {"result": "success", "msg": "queued"}}
    client, _ = make_client(answer_json(answer))
    result = await client.reinstall(CREDS, "47012", "debian12", "7,8", run=False)
    assert (result.run, result.message) == (False, "queued")


# --------------------------------------------------------------------------- error mapping


CLOUDFLARE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    '<body><script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=1"></script>'
    '<form id="challenge-form" action="/?__cf_chl_f_tk=abc"></form></body></html>'
)


@pytest.mark.parametrize(
    ("responder", "error", "reason"),
    [
        (answer_json({"result": "fail"}, status=401), AccessDenied, "http"),
        (answer_text("<html><body>403 Forbidden</body></html>", status=403), AccessDenied, "http"),
        (answer_text(CLOUDFLARE_PAGE), AccessDenied, "cloudflare"),
        (answer_text(CLOUDFLARE_PAGE, status=503), AccessDenied, "cloudflare"),
        (answer_text("<html><body>Welcome to nginx</body></html>"), AccessDenied, "html"),
        (
            answer_json({"result": "fail", "message": "Your IP 1.2.3.4 is not allowed"}),
            AccessDenied,
            "message",
        ),
    ],
)
async def test_access_denied(
    make_client: MakeClient, responder: Responder, error: type[AccessDenied], reason: str
) -> None:
    client, rec = make_client(responder)
    with pytest.raises(error) as caught:
        await client.balance(CREDS)
    assert caught.value.reason == reason
    assert caught.value.action == "balance"
    assert "whitelist" in str(caught.value) or "IP" in str(caught.value)
    assert len(rec.requests) == 1


async def test_an_html_page_answering_a_write_leaves_the_outcome_unknown(
    make_client: MakeClient,
) -> None:
    # A PHP warning page may come after the order was made: "refused" would invite a retry.
    page = "<html><body><b>Warning</b>: something in payments.php on line 12</body></html>"
    client, rec = make_client(answer_text(page))
    with pytest.raises(UnreadableAnswer):
        await client.create(CREDS, "101")
    assert len(rec.requests) == 1


@pytest.mark.parametrize("body", ["[" * 200_000, "Array ( [a] => " * 50_000])
async def test_an_answer_nested_beyond_the_stack_is_unreadable(
    make_client: MakeClient, body: str
) -> None:
    client, _ = make_client(answer_text(body, content_type="text/plain"))
    with pytest.raises(UnreadableAnswer):
        await client.create(CREDS, "101")


@pytest.mark.parametrize(
    "message",
    [
        "Invalid API key",
        "Invalid email or password",
        "Authorization failed",
        "wrong key",
        "Not authorized",
    ],
)
async def test_invalid_credentials(make_client: MakeClient, message: str) -> None:
    client, rec = make_client(answer_json({"result": "fail", "message": message}))
    with pytest.raises(InvalidCredentials):
        await client.orders(CREDS)
    assert len(rec.requests) == 1


async def test_fail_envelope_with_code(make_client: MakeClient) -> None:
    client, rec = make_client(
        answer_json(
            {"result": "fail", "message": "Order ID not found or Status not Pending", "code": "12"}
        )
    )
    with pytest.raises(ProviderFail) as caught:
        await client.get_info(CREDS, 1)
    assert caught.value.message == "Order ID not found or Status not Pending"
    assert caught.value.code == 12
    assert len(rec.requests) == 1


async def test_fail_envelope_without_code(make_client: MakeClient) -> None:
    client, _ = make_client(answer_json({"result": "fail", "msg": "Not enough funds"}))
    with pytest.raises(ProviderFail) as caught:
        await client.create(CREDS, "49")
    assert (caught.value.message, caught.value.code) == ("Not enough funds", None)


@pytest.mark.parametrize(
    ("answer", "message", "code"),
    [
        # Read the way the models read codes: as a number, or not at all; never a ValueError.
        ({"result": "fail", "msg": "Order not found", "code": "--5"}, "Order not found", None),
        ({"result": "fail", "msg": "Order not found", "code": "12.0"}, "Order not found", 12),
        # An empty field is a missing one, as in the models: it must not hide the next.
        ({"result": "fail", "message": "", "error": "No free IP"}, "No free IP", None),
    ],
)
async def test_fail_envelope_fields_read_like_the_models(
    make_client: MakeClient, answer: dict[str, Any], message: str, code: int | None
) -> None:
    client, _ = make_client(answer_json(answer))
    with pytest.raises(ProviderFail) as caught:
        await client.get_info(CREDS, 1)
    assert (caught.value.message, caught.value.code) == (message, code)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_unavailable(make_client: MakeClient, status: int) -> None:
    client, _ = make_client(answer_text("Internal Server Error", status=status))
    with pytest.raises(ProviderUnavailable) as caught:
        await client.cancel(CREDS, 1)
    assert caught.value.status == status


async def test_a_dropped_connection_is_unavailable(make_client: MakeClient) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("server disconnected")  # the server drops it unanswered

    client, _ = make_client(boom)
    with pytest.raises(ProviderUnavailable) as caught:
        await client.stop(CREDS, 1)
    assert caught.value.status is None
    # aiohttp's error carries the request's headers: it is not kept as the cause.
    assert caught.value.__cause__ is None and KEY not in repr(caught.value)


async def test_a_connection_never_accepted_is_a_connect_timeout() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        waiting = []
        for _ in range(4):  # fill the accept queue: later connects hang in the handshake
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            waiting.append(filler)
        try:
            url = f"http://127.0.0.1:{port}/api_client.php"
            options: dict[str, Any] = {"connect_timeout": 0.1, "timeout": 2.0, "read_retries": 0}
            async with InfernoClient(url, **options) as client:
                with pytest.raises(ProviderUnavailable, match=r"no connection within 0\.1s"):
                    await client.stop(CREDS, 1)
        finally:
            for filler in waiting:
                filler.close()


async def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with InfernoClient(f"http://127.0.0.1:{port}/api_client.php", read_retries=0) as client:
        with pytest.raises(ProviderUnavailable, match="network error") as caught:
            await client.stop(CREDS, 1)
    assert caught.value.status is None


async def test_waiting_for_a_pooled_connection_is_not_a_connect_timeout(
    make_client: MakeClient,
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(200, json={"result": "success", "balance": "1.00"})

    # The second call waits 0.3 s for the only connection: longer than the connect limit,
    # well within the whole-request limit.
    client, rec = make_client(
        slow, max_connections=1, connect_timeout=0.1, timeout=2.0, read_retries=0
    )
    first, second = await asyncio.gather(client.balance(CREDS), client.balance(CREDS))
    assert first.amount == second.amount == "1.00"
    assert len(rec.requests) == 2


async def test_a_redirect_is_not_followed(make_client: MakeClient) -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        if request.url.params["action"] == "login":
            return httpx.Response(200, json={"result": "success", "balance": "9.99"})
        moved = {"location": f"{request.url.path}?action=login"}
        return httpx.Response(302, headers=moved, text="<html>moved</html>")

    client, rec = make_client(redirect)
    with pytest.raises(UnreadableAnswer, match="HTTP 302"):
        await client.balance(CREDS)
    assert [request.url.params["action"] for request in rec.requests] == ["balance"]


@pytest.mark.parametrize("charset", ["base64", "rot13", "idna", "no-such-charset"])
async def test_a_charset_that_is_no_text_encoding_reads_as_utf_8(
    make_client: MakeClient, charset: str
) -> None:
    body = '{"result": "success", "balance": "1.00", "note": "Счёт"}'.encode()
    client, _ = make_client(
        lambda request: httpx.Response(
            200, content=body, headers={"content-type": f"application/json; charset={charset}"}
        )
    )
    assert (await client.balance(CREDS)).amount == "1.00"


async def test_a_closed_client_makes_no_new_connections() -> None:
    client = InfernoClient("http://127.0.0.1:9/api_client.php", read_retries=0)
    await client.aclose()  # before any call
    with pytest.raises(RuntimeError, match="closed"):
        await client.balance(CREDS)


def test_ssl_cert_file_names_the_authorities(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hoster Private CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    def authorities() -> list[str]:
        return [str(ca["subject"]) for ca in trusted_authorities().get_ca_certs()]

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert len(authorities()) > 50  # certifi's bundle
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert authorities() == [str(((("commonName", "Hoster Private CA"),),))]


async def test_whole_request_timeout(make_client: MakeClient) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={"result": "success"})

    client, _ = make_client(slow, timeout=0.05)
    with pytest.raises(ProviderUnavailable):
        await client.boot(CREDS, 1)


@pytest.mark.parametrize(
    "body",
    ['{"result": "succ', "just some words", "null)", "Array ( [a] => 1"],
)
async def test_garbage_body_is_unreadable(make_client: MakeClient, body: str) -> None:
    client, rec = make_client(answer_text(body, content_type="text/plain"))
    with pytest.raises(UnreadableAnswer) as caught:
        await client.balance(CREDS)
    assert caught.value.action == "balance"
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("call", "answer"),
    [
        (lambda c: c.balance(CREDS), {"result": "success"}),
        (lambda c: c.balance(CREDS), {"result": "success", "balance": {"weird": []}}),
        (lambda c: c.list_catalog(), {"result": "success"}),
        (lambda c: c.list_catalog(), {"ostpls": 5, "products": []}),
        (lambda c: c.list_catalog(), {"ostpls": [[1], [2]]}),
        (lambda c: c.orders(CREDS), {"orders": "none"}),
        (lambda c: c.orders(CREDS), {"orders": [1, 2, 3]}),
        (lambda c: c.orders(CREDS), ["a"]),
        (lambda c: c.create(CREDS, "1"), {"result": "success"}),
        (lambda c: c.create(CREDS, "1"), [1, 2]),
        (lambda c: c.get_info(CREDS, 1), {"result": "success"}),
        (lambda c: c.get_info(CREDS, 1), "a string"),
        (lambda c: c.services(CREDS), {"result": "success", "count": 3}),
        (lambda c: c.get_service(CREDS, 1), {"result": "success"}),
        (lambda c: c.sshkey_list(CREDS), {"list": 42}),
        (lambda c: c.install(CREDS, 1, "x", [], run=False), ["ok"]),
        (lambda c: c.get_api_key("a@b.c", PASSWORD), {"result": "success", "cid": "x"}),
        (lambda c: c.get_api_key("a@b.c", PASSWORD), {"result": "success", "cid": 1, "key": ""}),
    ],
)
async def test_unparseable_shapes_are_unreadable(
    make_client: MakeClient, call: ActionCall, answer: Any
) -> None:
    client, _ = make_client(answer_json(answer))
    with pytest.raises(UnreadableAnswer) as caught:
        await call(client)
    assert caught.value.action is not None


async def test_unexpected_4xx_is_unreadable(make_client: MakeClient) -> None:
    client, rec = make_client(answer_text("<html>Not Found</html>", status=404))
    with pytest.raises(UnreadableAnswer):
        await client.balance(CREDS)
    assert len(rec.requests) == 1


# --------------------------------------------------------------------------- retries


READ_CALLS: list[tuple[str, ActionCall]] = [
    ("list", lambda c: c.list_catalog()),
    ("balance", lambda c: c.balance(CREDS)),
    ("orders", lambda c: c.orders(CREDS)),
    ("getinfo", lambda c: c.get_info(CREDS, 1)),
    ("getinfo", lambda c: c.get_info_by_ip(CREDS, "1.2.3.4")),
    ("sshkey.list", lambda c: c.sshkey_list(CREDS)),
    ("services", lambda c: c.services(CREDS)),
    ("getService", lambda c: c.get_service(CREDS, 1)),
]

WRITE_CALLS: list[tuple[str, ActionCall]] = [
    ("getApiKey", lambda c: c.get_api_key("a@b.c", PASSWORD, generate=True)),
    ("create", lambda c: c.create(CREDS, "49")),
    ("cancel", lambda c: c.cancel(CREDS, 1)),
    ("install", lambda c: c.install(CREDS, 1, "debian12", [], run=True)),
    ("reinstall", lambda c: c.reinstall(CREDS, 1, "debian12", [], run=True)),
    ("reboot", lambda c: c.reboot(CREDS, 1)),
    ("stop", lambda c: c.stop(CREDS, 1)),
    ("boot", lambda c: c.boot(CREDS, 1)),
    ("sshkey.add", lambda c: c.sshkey_add(CREDS, "ssh-ed25519 AAAA x")),
    ("sshkey.remove", lambda c: c.sshkey_remove(CREDS, 1)),
]


def test_read_and_write_lists_cover_every_action() -> None:
    assert {action for action, _ in READ_CALLS} == READ_ACTIONS
    assert not {action for action, _ in WRITE_CALLS} & READ_ACTIONS


def fail_500(request: httpx.Request) -> httpx.Response:
    return httpx.Response(500, text="oops")


def fail_network(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize("failure", [fail_500, fail_network])
@pytest.mark.parametrize(("action", "call"), READ_CALLS)
async def test_reads_are_retried(
    make_client: MakeClient, action: str, call: ActionCall, failure: Responder
) -> None:
    client, rec = make_client(failure)
    with pytest.raises(ProviderUnavailable):
        await call(client)
    assert len(rec.requests) == 1 + RETRIES
    assert {request.url.params["action"] for request in rec.requests} == {action}


@pytest.mark.parametrize("failure", [fail_500, fail_network])
@pytest.mark.parametrize(("action", "call"), WRITE_CALLS)
async def test_writes_are_never_retried(
    make_client: MakeClient, action: str, call: ActionCall, failure: Responder
) -> None:
    client, rec = make_client(failure)
    with pytest.raises(ProviderUnavailable):
        await call(client)
    assert len(rec.requests) == 1
    assert rec.requests[0].url.params["action"] == action


async def test_read_recovers_after_transient_500(make_client: MakeClient) -> None:
    answers = iter(
        [httpx.Response(500), httpx.Response(502), httpx.Response(200, json={"balance": "2"})]
    )
    client, rec = make_client(lambda request: next(answers))
    assert (await client.balance(CREDS)).amount == "2"
    assert len(rec.requests) == 3


async def test_retry_count_is_configurable(make_client: MakeClient) -> None:
    client, rec = make_client(fail_500, read_retries=0)
    with pytest.raises(ProviderUnavailable):
        await client.balance(CREDS)
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "responder",
    [
        answer_json({"result": "fail", "message": "Invalid API key"}),
        answer_json({"result": "fail", "message": "nope"}),
        answer_json({"result": "fail"}, status=403),
        answer_json({"result": "fail"}, status=429),
        answer_text("garbage"),
        answer_text(CLOUDFLARE_PAGE, status=503),
    ],
)
async def test_reads_not_retried_on_non_transient_errors(
    make_client: MakeClient, responder: Responder
) -> None:
    client, rec = make_client(responder)
    with pytest.raises(InfernoError):
        await client.services(CREDS)
    assert len(rec.requests) == 1


# --------------------------------------------------------------------------- secrets


async def test_errors_never_contain_the_key(make_client: MakeClient) -> None:
    echoing = answer_json({"result": "fail", "message": f"key {KEY} is not valid here"})
    cases: list[Responder] = [
        echoing,
        answer_json({"result": "fail", "message": f"Invalid API key {KEY}"}),
        answer_text(f"<html>{KEY}</html>", status=403),
        answer_text(f"garbage {KEY}"),
        answer_json({"result": "success", "weird": KEY}),
        fail_500,
        fail_network,
    ]
    for responder in cases:
        client, _ = make_client(responder)
        with pytest.raises(InfernoError) as caught:
            await client.balance(CREDS)
        assert KEY not in str(caught.value)
        assert KEY not in repr(caught.value)
        assert KEY not in repr(caught.value.args)


async def test_logs_never_contain_secrets(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.inferno")
    bodies: list[Responder] = [
        answer_json({"result": "success", "weird": {"key": KEY, "vps_password": PASSWORD}}),
        answer_text(f'{{"key": "{KEY}", "pass": "{PASSWORD}", broken'),
        answer_text(f"not json {KEY} [vps_password] => {PASSWORD}"),
        answer_json({"result": "success", "balance": "1"}),
    ]
    for responder in bodies:
        client, _ = make_client(responder)
        with contextlib.suppress(UnreadableAnswer):
            await client.balance(CREDS)
    client, _ = make_client(answer_json({"result": "success", "nothing": PASSWORD}))
    with pytest.raises(UnreadableAnswer):
        await client.get_api_key("a@b.c", PASSWORD)
    assert caplog.records, "expected debug logging"
    assert any("balance" in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert PASSWORD not in record.getMessage()


def test_credentials_mask_the_key() -> None:
    creds = Credentials(777, "abcdefghijklmnopwxyz")
    assert creds.masked_key == "…wxyz"
    assert repr(creds) == "Credentials(cid=777, key='…wxyz')"
    assert str(creds) == repr(creds)
    assert "abcdefghijklmnop" not in f"{creds}" and "abcdefghijklmnop" not in f"{[creds]!r}"
    assert Credentials(1, "short-key").masked_key == "…"
    assert Credentials(1, "short-key") == Credentials(1, "short-key")


def test_server_info_repr_hides_password() -> None:
    info = ServerInfo.from_raw(SPEC_GETINFO)
    assert info.password == PASSWORD
    assert PASSWORD not in repr(info)


def test_mask_secrets_recurses() -> None:
    masked = mask_secrets(
        {
            "key": KEY,
            "X-Key": KEY,
            "list": [{"pass": "p", "name": "n"}],
            "vps_info": {"vps_password": "pw", "ip": "1.2.3.4", "Password": "x"},
            "cid": 777,
        }
    )
    assert masked == {
        "key": "***",
        "X-Key": "***",
        "list": [{"pass": "***", "name": "n"}],
        "vps_info": {"vps_password": "***", "ip": "1.2.3.4", "Password": "***"},
        "cid": 777,
    }


async def test_an_unreadable_list_is_not_kept_by_the_read_cache(make_client: MakeClient) -> None:
    answers = iter(
        [{"result": "success", "orders": "garbage"}, {"result": "success", "orders": []}]
    )
    client, rec = make_client(lambda request: httpx.Response(200, json=next(answers)), cache_ttl=60)
    with pytest.raises(UnreadableAnswer):
        await client.orders(CREDS)
    assert await client.orders(CREDS) == [], "asked again, not the kept bad answer"
    assert await client.orders(CREDS) == []
    assert len(rec.requests) == 2, "the good answer is kept"


async def test_a_429_is_rate_limiting_whatever_its_body(make_client: MakeClient) -> None:
    for responder in (
        answer_text("<html><body>Too many requests</body></html>", status=429),
        answer_text("slow down", status=429, content_type="text/plain"),
    ):
        client, _ = make_client(responder, read_retries=0)
        with pytest.raises(ProviderUnavailable) as caught:
            await client.balance(CREDS)
        assert caught.value.status == 429


def test_ready_and_power_state_read_the_state_word_alike() -> None:
    raw = {
        "orderid": "1",
        "orderStatus": "Active",
        "vps_info": {"ip": "10.0.0.1", "real_state": "  включен "},
    }
    info = ServerInfo.from_raw(raw)
    assert info.power_state is PowerState.RUNNING
    assert info.is_ready


async def test_an_answer_that_parses_but_nests_too_deep_to_read_is_unreadable(
    make_client: MakeClient,
) -> None:
    deep = (
        '{"result": "success", "cid": 777, "key": "k0123456789abcdefghij", "x": '
        + '{"a": ' * 600
        + "1"
        + "}" * 600
        + "}"
    )
    client, _ = make_client(answer_text(deep, content_type="application/json"))
    with pytest.raises(UnreadableAnswer):
        await client.get_api_key("a@b.c", PASSWORD)
