"""InfernoClient against the real simulator over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from bot.inferno.client import READ_ACTIONS, InfernoClient, env_proxy
from bot.inferno.errors import (
    AccessDenied,
    InvalidCredentials,
    ProviderFail,
    ProviderUnavailable,
    UnreadableAnswer,
)
from bot.inferno.models import Credentials, PowerState, ServerInfo
from bot.inferno.simulator import Simulator, SimulatorServer

INSTALL_DELAY = 0.2
READ_RETRIES = 2
EMAIL = "a@b.c"
PASSWORD = "pw-secret-123"


@dataclass
class Env:
    sim: Simulator
    server: SimulatorServer
    client: InfernoClient
    creds: Credentials

    def new_client(self, **options: float) -> InfernoClient:
        settings: dict[str, float] = {"timeout": 1.0, "connect_timeout": 1.0, "backoff": 0.01}
        settings.update(options)
        return InfernoClient(
            self.server.url,
            connect_timeout=settings["connect_timeout"],
            timeout=settings["timeout"],
            read_retries=READ_RETRIES,
            backoff=settings["backoff"],
        )


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    sim = Simulator(install_delay=INSTALL_DELAY, many_templates=False)
    customer = sim.add_customer(email=EMAIL, password=PASSWORD, balance="100.00")
    async with SimulatorServer(sim) as server:
        client = InfernoClient(
            server.url, connect_timeout=1.0, timeout=1.0, read_retries=READ_RETRIES, backoff=0.01
        )
        try:
            yield Env(sim, server, client, Credentials(customer.cid, customer.key))
        finally:
            await client.aclose()


async def cheapest_product(client: InfernoClient) -> str:
    catalog = await client.list_catalog()
    priced = [p for p in catalog.products if p.price is not None]
    assert priced, "the simulator offers no priced plan"
    return min(priced, key=lambda p: Decimal(p.price or "0")).id


async def wait_ready(client: InfernoClient, creds: Credentials, order_id: str) -> ServerInfo:
    async with asyncio.timeout(10):
        while True:
            info = await client.get_info(creds, order_id)
            if info.is_ready:
                return info
            await asyncio.sleep(0.05)


async def paid_order(env: Env) -> str:
    created = await env.client.create(env.creds, await cheapest_product(env.client))
    return created.order_id


# --------------------------------------------------------------------------- every action


async def test_list_catalog(env: Env) -> None:
    catalog = await env.client.list_catalog()
    assert catalog.templates and catalog.products
    assert all(t.name for t in catalog.templates)
    assert all(p.id and p.name for p in catalog.products)
    assert "debian12" in {t.name for t in catalog.templates}


async def test_get_api_key_current_and_new(env: Env) -> None:
    creds = await env.client.get_api_key(EMAIL, PASSWORD)
    assert creds == env.creds
    fresh = await env.client.get_api_key(EMAIL, PASSWORD, generate=True)
    assert fresh.cid == env.creds.cid
    assert fresh.key != env.creds.key
    # generate=1 revokes the old key.
    with pytest.raises(InvalidCredentials):
        await env.client.balance(env.creds)
    assert (await env.client.balance(fresh)).amount


async def test_get_api_key_wrong_password(env: Env) -> None:
    with pytest.raises(InvalidCredentials) as caught:
        await env.client.get_api_key(EMAIL, "not-the-password")
    assert "not-the-password" not in str(caught.value)


async def test_balance(env: Env) -> None:
    balance = await env.client.balance(env.creds)
    assert Decimal(balance.amount) == Decimal("100.00")


async def test_wrong_key_is_invalid_credentials(env: Env) -> None:
    wrong = Credentials(env.creds.cid, "x" * 32)
    with pytest.raises(InvalidCredentials) as caught:
        await env.client.orders(wrong)
    assert "x" * 32 not in str(caught.value)
    with pytest.raises(InvalidCredentials):
        await env.client.balance(Credentials(env.creds.cid + 12345, env.creds.key))


async def test_create_pays_from_balance(env: Env) -> None:
    pid = await cheapest_product(env.client)
    before = Decimal((await env.client.balance(env.creds)).amount)
    created = await env.client.create(env.creds, pid)
    assert created.order_id
    after = Decimal((await env.client.balance(env.creds)).amount)
    assert after < before
    orders = {order.id: order for order in await env.client.orders(env.creds)}
    assert orders[created.order_id].status == "Active"


async def test_create_without_money_is_pending_and_cancellable(env: Env) -> None:
    poor = env.sim.add_customer(email="poor@b.c", password="pw2", balance="0.00")
    creds = Credentials(poor.cid, poor.key)
    created = await env.client.create(creds, await cheapest_product(env.client))
    orders = {order.id: order for order in await env.client.orders(creds)}
    assert orders[created.order_id].status == "Pending"
    result = await env.client.cancel(creds, created.order_id)
    assert result.raw is not None
    remaining = {order.id: order for order in await env.client.orders(creds)}
    assert (
        remaining.get(created.order_id) is None or remaining[created.order_id].status != "Pending"
    )
    with pytest.raises(ProviderFail):
        await env.client.cancel(creds, created.order_id)


async def test_cancel_active_order_fails(env: Env) -> None:
    order_id = await paid_order(env)
    with pytest.raises(ProviderFail):
        await env.client.cancel(env.creds, order_id)


async def test_full_install_flow(env: Env) -> None:
    order_id = await paid_order(env)
    # A paid order without an install is not a running server yet.
    info = await env.client.get_info(env.creds, order_id)
    assert not info.is_ready

    checked = await env.client.install(env.creds, order_id, "debian12", [], run=False)
    assert checked.run is False
    assert not (await env.client.get_info(env.creds, order_id)).is_ready

    queued = await env.client.install(env.creds, order_id, "debian12", [], run=True)
    assert queued.run is True

    with pytest.raises(ProviderFail) as caught:
        await env.client.install(env.creds, order_id, "debian12", [], run=True)
    assert caught.value.code == 904

    info = await wait_ready(env.client, env.creds, order_id)
    assert info.ip
    assert info.password
    assert info.password not in repr(info)
    assert info.power_state is PowerState.RUNNING
    assert info.order_status == "Active"

    by_ip = await env.client.get_info_by_ip(env.creds, info.ip)
    assert by_ip.ip == info.ip
    assert by_ip.order_id == order_id


async def test_power_actions(env: Env) -> None:
    order_id = await paid_order(env)
    await env.client.install(env.creds, order_id, "debian12", [], run=True)
    await wait_ready(env.client, env.creds, order_id)

    await env.client.stop(env.creds, order_id)
    info = await env.client.get_info(env.creds, order_id)
    assert info.power_state is PowerState.STOPPED
    assert not info.is_ready

    await env.client.boot(env.creds, order_id)
    assert (await env.client.get_info(env.creds, order_id)).power_state is PowerState.RUNNING

    await env.client.reboot(env.creds, order_id)
    await wait_ready(env.client, env.creds, order_id)


async def test_reinstall(env: Env) -> None:
    order_id = await paid_order(env)
    await env.client.install(env.creds, order_id, "debian12", [], run=True)
    await wait_ready(env.client, env.creds, order_id)
    template = (await env.client.list_catalog()).templates[-1].name
    checked = await env.client.reinstall(env.creds, order_id, template, [], run=False)
    assert checked.run is False
    await env.client.reinstall(env.creds, order_id, template, [], run=True)
    info = await wait_ready(env.client, env.creds, order_id)
    assert info.power_state is PowerState.RUNNING


async def test_install_with_ssh_keys(env: Env) -> None:
    public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VrZXlmYWtla2V5ZmFrZWtleWZha2VrZXk= me@host"
    await env.client.sshkey_add(env.creds, public, "laptop")
    keys = await env.client.sshkey_list(env.creds)
    order_id = await paid_order(env)
    await env.client.install(env.creds, order_id, "debian12", [k.id for k in keys], run=True)
    await wait_ready(env.client, env.creds, order_id)


async def test_sshkeys(env: Env) -> None:
    public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VrZXlmYWtla2V5ZmFrZWtleWZha2VrZXk= me@host"
    before = await env.client.sshkey_list(env.creds)
    added = await env.client.sshkey_add(env.creds, public, "laptop")
    assert added.message is not None and "added" in added.message.lower()
    after = await env.client.sshkey_list(env.creds)
    (new,) = [key for key in after if key.id not in {k.id for k in before}]
    assert new.name == "laptop"
    await env.client.sshkey_remove(env.creds, new.id)
    assert new.id not in {key.id for key in await env.client.sshkey_list(env.creds)}


async def test_services(env: Env) -> None:
    order_id = await paid_order(env)
    services = await env.client.services(env.creds)
    assert services
    mine = [s for s in services if s.order_id in (None, order_id)]
    assert mine
    service = await env.client.get_service(env.creds, mine[0].id)
    assert service.id == mine[0].id
    assert service.name


async def test_customers_are_isolated(env: Env) -> None:
    order_id = await paid_order(env)
    other = env.sim.add_customer(email="other@b.c", password="pw3", balance="50.00")
    creds = Credentials(other.cid, other.key)
    with pytest.raises(ProviderFail):
        await env.client.get_info(creds, order_id)
    with pytest.raises(ProviderFail):
        await env.client.stop(creds, order_id)
    with pytest.raises(ProviderFail):
        await env.client.install(creds, order_id, "debian12", [], run=True)
    assert order_id not in {order.id for order in await env.client.orders(creds)}


# --------------------------------------------------------------------------- faults and retries


async def test_reads_are_retried_on_500(env: Env) -> None:
    env.sim.reset_counters()
    env.sim.faults.http_500_next = READ_RETRIES
    assert (await env.client.balance(env.creds)).amount
    assert env.sim.calls["balance"] == READ_RETRIES + 1


async def test_reads_give_up_after_retries(env: Env) -> None:
    env.sim.reset_counters()
    env.sim.faults.http_500_next = READ_RETRIES + 5
    with pytest.raises(ProviderUnavailable):
        await env.client.orders(env.creds)
    assert env.sim.calls["orders"] == READ_RETRIES + 1


async def test_writes_are_not_retried_on_500(env: Env) -> None:
    pid = await cheapest_product(env.client)
    env.sim.reset_counters()
    env.sim.faults.http_500_next = 1
    with pytest.raises(ProviderUnavailable):
        await env.client.create(env.creds, pid)
    assert env.sim.calls["create"] == 1


async def test_write_not_retried_after_timeout(env: Env) -> None:
    order_id = await paid_order(env)
    # Long enough for the call to reach the simulator on a busy machine (other test workers
    # share it), where it hangs until the client gives up.
    client = env.new_client(timeout=1.0)
    try:
        env.sim.reset_counters()
        env.sim.faults.timeout_next = 1
        with pytest.raises(ProviderUnavailable):
            await client.reboot(env.creds, order_id)
        assert env.sim.calls["reboot"] == 1
    finally:
        await client.aclose()


async def test_a_dead_provider_costs_one_timeout_not_one_per_retry(env: Env) -> None:
    timeout = 1.0
    client = env.new_client(timeout=timeout)
    try:
        env.sim.reset_counters()
        env.sim.faults.timeout_next = 10  # every attempt would hang
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable):
            await client.balance(env.creds)
        elapsed = time.monotonic() - started
        # The hung first attempt used the whole budget: no retry is left to start.
        assert env.sim.calls["balance"] == 1
        assert elapsed < timeout * 1.5, f"gave up after {elapsed:.2f}s, the budget is {timeout}s"
    finally:
        await client.aclose()


async def test_a_retry_gets_what_is_left_of_the_budget(env: Env) -> None:
    timeout = 1.0
    client = env.new_client(timeout=timeout)
    try:
        env.sim.reset_counters()
        # A quick 500, then hangs: the retry may only wait for what the first left over.
        env.sim.faults.http_500_next = 1
        env.sim.faults.timeout_next = 10
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable):
            await client.orders(env.creds)
        elapsed = time.monotonic() - started
        assert env.sim.calls["orders"] == 2
        assert elapsed < timeout * 1.5, f"gave up after {elapsed:.2f}s, the budget is {timeout}s"
    finally:
        await client.aclose()


async def test_no_retry_is_started_without_a_useful_part_of_the_budget(env: Env) -> None:
    # Long enough that the 500 still arrives inside the budget on a busy machine.
    timeout = 4.0
    client = env.new_client(timeout=timeout)
    try:
        env.sim.reset_counters()
        # The 500 comes after 0.775 of the budget: less than the quarter a retry needs is left.
        env.sim.faults.latency = timeout * 0.775
        env.sim.faults.http_500_next = 1
        with pytest.raises(ProviderUnavailable) as caught:
            await client.balance(env.creds)
        assert caught.value.status == 500
        assert env.sim.calls["balance"] == 1
    finally:
        await client.aclose()


async def _write(env: Env, action: str, order_id: str) -> None:
    client, creds = env.client, env.creds
    public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VrZXlmYWtla2V5ZmFrZWtleWZha2VrZXk= me@host"
    if action == "create":
        await client.create(creds, "101")
    elif action == "cancel":
        await client.cancel(creds, order_id)
    elif action == "install":
        await client.install(creds, order_id, "debian12", [], run=True)
    elif action == "reinstall":
        await client.reinstall(creds, order_id, "debian12", [], run=True)
    elif action == "reboot":
        await client.reboot(creds, order_id)
    elif action == "stop":
        await client.stop(creds, order_id)
    elif action == "boot":
        await client.boot(creds, order_id)
    elif action == "sshkey.add":
        await client.sshkey_add(creds, public, "laptop")
    elif action == "sshkey.remove":
        await client.sshkey_remove(creds, "7")
    elif action == "getApiKey":
        await client.get_api_key(EMAIL, PASSWORD)
    else:
        raise AssertionError(action)


WRITES = (
    "create",
    "cancel",
    "install",
    "reinstall",
    "reboot",
    "stop",
    "boot",
    "sshkey.add",
    "sshkey.remove",
    "getApiKey",
)


@pytest.mark.parametrize("action", WRITES)
async def test_writes_are_never_retried_even_with_budget_left(env: Env, action: str) -> None:
    assert action not in READ_ACTIONS
    order_id = await paid_order(env)
    env.sim.reset_counters()
    env.sim.faults.http_500_next = 1
    with pytest.raises(ProviderUnavailable):
        await _write(env, action, order_id)
    assert env.sim.calls[action] == 1


async def test_cloudflare_html_is_access_denied(env: Env) -> None:
    env.sim.reset_counters()
    env.sim.faults.html_next = 1
    with pytest.raises(AccessDenied):
        await env.client.balance(env.creds)
    assert env.sim.calls["balance"] == 1
    assert (await env.client.balance(env.creds)).amount


async def test_malformed_is_unreadable(env: Env) -> None:
    env.sim.reset_counters()
    env.sim.faults.malformed_next = 1
    with pytest.raises(UnreadableAnswer):
        await env.client.orders(env.creds)
    assert env.sim.calls["orders"] == 1


async def test_a_write_answered_after_a_warning_is_unreadable_not_refused(env: Env) -> None:
    order_id = await paid_order(env)
    await env.client.install(env.creds, order_id, "debian12", [], run=True)
    await wait_ready(env.client, env.creds, order_id)
    env.sim.reset_counters()
    env.sim.faults.warning_next = 1
    with pytest.raises(UnreadableAnswer):
        await env.client.stop(env.creds, order_id)
    assert env.sim.calls["stop"] == 1
    info = await env.client.get_info(env.creds, order_id)
    assert info.power_state is PowerState.STOPPED, "the command was carried out all the same"


async def test_whitelist_denied(env: Env) -> None:
    env.sim.faults.whitelist_denied = True
    with pytest.raises(AccessDenied):
        await env.client.list_catalog()
    with pytest.raises(AccessDenied):
        await env.client.balance(env.creds)
    with pytest.raises(AccessDenied):
        await env.client.get_api_key(EMAIL, PASSWORD)
    env.sim.faults.whitelist_denied = False
    assert (await env.client.balance(env.creds)).amount


async def test_latency_below_timeout_is_fine(env: Env) -> None:
    env.sim.faults.latency = 0.05
    assert (await env.client.list_catalog()).products


# --------------------------------------------------------------------------- the wire itself


@contextlib.asynccontextmanager
async def raw_server(answer: bytes, requests: list[bytes] | None = None) -> AsyncIterator[str]:
    """A TCP server that reads a request (kept in ``requests``), writes ``answer`` as is and
    hangs up."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.read(65536)
        if requests is not None:
            requests.append(request)
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api_client.php"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # the connection closed without a word
        b"HTTP/1.1 2OO OK\r\n\r\n",  # not HTTP
        b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"cut": ',  # cut short
    ],
    ids=["closed", "garbage", "short-body"],
)
async def test_broken_wire_is_provider_unavailable(answer: bytes) -> None:
    secret = "wire-test-key-0123456789"
    async with (
        raw_server(answer) as url,
        InfernoClient(url, timeout=2.0, read_retries=0) as client,
    ):
        with pytest.raises(ProviderUnavailable) as caught:
            await client.balance(Credentials(1, secret))
    assert secret not in str(caught.value) and secret not in repr(caught.value)


def test_proxy_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    api = "https://cp.inferno.name/api_client.php"
    assert env_proxy(api) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert env_proxy(api) == "http://proxy.example:3128"
    assert env_proxy("http://127.0.0.1:8088/api_client.php") is None, "the simulator is local"
    monkeypatch.setenv("NO_PROXY", "inferno.name")
    assert env_proxy(api) is None


CP1251_PRINT_R = "Array\n(\n    [balance] => 3.00\n    [note] => Счёт\n)\n".encode("cp1251")


def _answer(headers: str, body: bytes) -> bytes:
    length = f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return f"HTTP/1.1 200 OK\r\n{headers}{length}".encode() + body


async def test_no_cookie_is_kept_between_requests() -> None:
    requests: list[bytes] = []
    answer = _answer("Set-Cookie: session=alice; Path=/\r\n", b'{"balance": "1.00"}')
    async with (
        raw_server(answer, requests) as url,
        InfernoClient(url, timeout=2.0, read_retries=0) as client,
    ):
        await client.balance(Credentials(1, "first-customer-key-000"))
        await client.balance(Credentials(2, "second-customer-key-00"))
    assert len(requests) == 2
    assert b"cookie:" not in requests[1].lower()


@pytest.mark.parametrize(
    ("content_type", "body", "balance"),
    [
        ("application/json", b'{"balance": "1.00"}', "1.00"),
        ("application/json; charset=UTF-8", b'{"balance": "2.00"}', "2.00"),
        # print_r text in the provider's Windows code page
        (
            "text/html; charset=windows-1251",
            CP1251_PRINT_R,
            "3.00",
        ),
    ],
)
async def test_answer_text_follows_the_declared_charset(
    content_type: str, body: bytes, balance: str
) -> None:
    async with (
        raw_server(_answer(f"Content-Type: {content_type}\r\n", body)) as url,
        InfernoClient(url, timeout=2.0, read_retries=0) as client,
    ):
        result = await client.balance(Credentials(1, "charset-test-key-0000"))
    assert result.amount == balance
