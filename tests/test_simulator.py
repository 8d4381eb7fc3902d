"""The provider simulator, exercised over real HTTP with a raw httpx client.

Other tests trust the simulator to behave like the documented API, so these pin its shapes.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.inferno.simulator import (
    DEMO_KEY,
    Customer,
    Faults,
    Simulator,
    SimulatorServer,
    make_public_key,
)

PASSWORD = "secret-pass-1"
RUNNING = "Включен"
STOPPED = "Выключен"
INSTALLING = "Создается"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(install_delay=60.0)


@pytest.fixture
async def server(sim: Simulator) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(sim) as srv:
        yield srv


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def alice(sim: Simulator) -> Customer:
    return sim.add_customer("alice@example.com", PASSWORD)


@pytest.fixture
def bob(sim: Simulator) -> Customer:
    return sim.add_customer("bob@example.com", "bob-pass", balance="20.00")


class Api:
    """The way the bot's client calls: JSON POST, cid in the body, key only in X-Key."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url

    async def raw(
        self, action: str, customer: Customer | None = None, **params: Any
    ) -> httpx.Response:
        headers = {}
        if customer is not None:
            params.setdefault("cid", customer.cid)
            headers["X-Key"] = customer.key
        return await self.http.post(
            self.url, params={"action": action}, json=params, headers=headers
        )

    async def call(self, action: str, customer: Customer | None = None, **params: Any) -> Any:
        response = await self.raw(action, customer, **params)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        return response.json()

    async def text(self, action: str, customer: Customer | None = None, **params: Any) -> str:
        response = await self.raw(action, customer, **params)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        return response.text


@pytest.fixture
def api(http: httpx.AsyncClient, server: SimulatorServer) -> Api:
    return Api(http, server.url)


async def login(api: Api, email: str, password: str, **params: Any) -> Any:
    fields: dict[str, Any] = {"email": email, "pass": password, **params}
    return await api.call("getApiKey", **fields)


async def buy(api: Api, customer: Customer, pid: str = "101") -> str:
    answer = await api.call("create", customer, pid=pid)
    assert answer["result"] == "success"
    return str(answer["orderid"])


async def add_key(api: Api, customer: Customer, seed: str, name: str | None = None) -> int:
    params: dict[str, Any] = {"sshkey": make_public_key(seed, comment=f"{seed}@host")}
    if name is not None:
        params["name"] = name
    answer = await api.call("sshkey.add", customer, **params)
    assert answer == {"result": "success", "message": "SSH key added"}
    keys = (await api.call("sshkey.list", customer))["list"]
    return int(keys[-1]["id"])


async def vps_info(api: Api, customer: Customer, order_id: str) -> dict[str, Any]:
    answer = await api.call("getinfo", customer, orderid=order_id)
    assert answer["result"] == "success"
    info: dict[str, Any] = answer["vps_info"]
    return info


async def installed(api: Api, sim: Simulator, customer: Customer) -> str:
    order_id = await buy(api, customer)
    text = await api.text("install", customer, orderid=order_id, ostpl="debian12", run=1)
    assert "[result] => success" in text
    sim.complete_installs()
    return order_id


# ---------------------------------------------------------------- transport


async def test_url_and_unknown_path(server: SimulatorServer, http: httpx.AsyncClient) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert server.url.endswith("/api_client.php")
    response = await http.get(server.url.replace("/api_client.php", "/other.php"))
    assert response.status_code == 404


async def test_url_needs_a_started_server(sim: Simulator) -> None:
    srv = SimulatorServer(sim)
    with pytest.raises(RuntimeError):
        _ = srv.url
    await srv.start()
    try:
        assert srv.port != 0
    finally:
        await srv.stop()
    await srv.stop()  # idempotent


async def test_query_string_get_with_key_param(
    http: httpx.AsyncClient, server: SimulatorServer, alice: Customer
) -> None:
    response = await http.get(
        server.url, params={"action": "balance", "cid": str(alice.cid), "key": alice.key}
    )
    assert response.json() == {"result": "success", "balance": "100.00", "currency": "USD"}


async def test_query_string_post_with_header(
    http: httpx.AsyncClient, server: SimulatorServer, alice: Customer
) -> None:
    response = await http.post(
        server.url,
        params={"action": "balance", "cid": alice.cid},
        headers={"X-Key": alice.key},
    )
    assert response.json()["balance"] == "100.00"


async def test_form_post_urlencoded_and_multipart(
    http: httpx.AsyncClient, server: SimulatorServer, alice: Customer
) -> None:
    form = {"cid": str(alice.cid), "key": alice.key}
    response = await http.post(server.url, params={"action": "balance"}, data=form)
    assert response.json()["result"] == "success"
    response = await http.post(
        server.url,
        params={"action": "balance"},
        data={"cid": str(alice.cid)},
        files={"unused": ("a.txt", b"x")},
        headers={"X-Key": alice.key},
    )
    assert response.json()["result"] == "success"


async def test_json_post_cid_as_int_or_string(
    http: httpx.AsyncClient, server: SimulatorServer, alice: Customer
) -> None:
    for cid in (alice.cid, str(alice.cid)):
        response = await http.post(
            server.url,
            params={"action": "balance"},
            json={"cid": cid},
            headers={"X-Key": alice.key},
        )
        assert response.json()["result"] == "success"
    response = await http.post(
        server.url, params={"action": "balance"}, json={"cid": alice.cid, "key": alice.key}
    )
    assert response.json()["result"] == "success"


async def test_bad_credentials(
    api: Api, http: httpx.AsyncClient, server: SimulatorServer, alice: Customer, bob: Customer
) -> None:
    invalid = {"result": "fail", "message": "Invalid API key"}
    cases: list[dict[str, Any]] = [
        {"json": {"cid": alice.cid}, "headers": {"X-Key": "wrong"}},
        {"json": {"cid": alice.cid}},
        {"json": {}, "headers": {"X-Key": alice.key}},
        {"json": {"cid": "abc"}, "headers": {"X-Key": alice.key}},
        {"json": {"cid": bob.cid}, "headers": {"X-Key": alice.key}},
        {"json": {"cid": 999999}, "headers": {"X-Key": alice.key}},
    ]
    for case in cases:
        response = await http.post(server.url, params={"action": "balance"}, **case)
        assert response.status_code == 200
        assert response.json() == invalid
    garbage = await http.post(
        server.url,
        params={"action": "balance"},
        content=b"{not json",
        headers={"Content-Type": "application/json", "X-Key": alice.key},
    )
    assert garbage.json() == invalid


async def test_unknown_action(api: Api, alice: Customer) -> None:
    assert await api.call("frobnicate", alice) == {"result": "fail", "message": "Unknown action"}
    assert await api.call("") == {"result": "fail", "message": "Unknown action"}


# ---------------------------------------------------------------- account


async def test_get_api_key(api: Api, alice: Customer) -> None:
    wrong = await login(api, alice.email, "nope")
    assert wrong == {"result": "fail", "message": "Invalid email or password"}
    unknown = await login(api, "x@example.com", PASSWORD)
    assert unknown["result"] == "fail"

    same = await login(api, "ALICE@example.com", PASSWORD, generate=0)
    assert same == {"result": "success", "cid": alice.cid, "key": alice.key}


async def test_generate_revokes_old_key(api: Api, alice: Customer) -> None:
    old = alice.key
    assert len(old) == 32
    answer = await login(api, alice.email, PASSWORD, generate=1)
    assert answer["result"] == "success"
    assert answer["key"] != old
    assert answer["key"] == alice.key
    stale = Customer(alice.cid, alice.email, PASSWORD, old, alice.balance)
    assert (await api.call("balance", stale))["message"] == "Invalid API key"
    assert (await api.call("balance", alice))["result"] == "success"


async def test_catalog(api: Api) -> None:
    catalog = await api.call("list")
    assert catalog["result"] == "success"
    assert len(catalog["ostpls"]) == 8
    assert catalog["ostpls"]["debian12"] == {"title": "Debian 12"}
    assert "centos7-64-default" in catalog["ostpls"]
    products = catalog["products"]
    assert len(products) >= 3
    assert products["101"]["name"] == "VPS Start"
    assert products["101"]["price"] == "5.00"
    assert {p["price"] for p in products.values()} >= {"5.00", "12.00", "500.00"}
    assert all(p["description"] for p in products.values())


async def test_many_templates(http: httpx.AsyncClient) -> None:
    async with SimulatorServer(Simulator(many_templates=True)) as srv:
        catalog = (await http.get(srv.url, params={"action": "list"})).json()
    ostpls = catalog["ostpls"]
    assert len(ostpls) == 45
    assert any(len(name) >= 60 for name in ostpls)
    assert any(value is None for value in ostpls.values())
    assert ostpls["debian12"] == {"title": "Debian 12"}


async def test_balance_is_per_customer(api: Api, alice: Customer, bob: Customer) -> None:
    assert (await api.call("balance", alice))["balance"] == "100.00"
    assert (await api.call("balance", bob))["balance"] == "20.00"


# ---------------------------------------------------------------- orders


async def test_create_paid_and_pending(api: Api, sim: Simulator, alice: Customer) -> None:
    first = await api.call("create", alice, pid="101")
    assert first == {
        "result": "success",
        "orderid": 47001,
        "invoiceid": 366001,
        "productids": "49701",
    }
    assert (await api.call("balance", alice))["balance"] == "95.00"
    pending = await api.call("create", alice, pid="103")
    assert pending["orderid"] == 47002
    assert (await api.call("balance", alice))["balance"] == "95.00"

    orders = (await api.call("orders", alice))["orders"]
    assert set(orders) == {"47001", "47002"}
    assert orders["47001"]["status"] == "Active"
    assert orders["47002"]["status"] == "Pending"
    one = orders["47001"]
    assert one["id"] == "47001"
    assert one["ordernum"] == "8634530001"
    assert one["amount"] == "5.00"
    assert one["invoiceid"] == "366001"
    assert one["product"] == "VPS Start"
    assert len(one["date"]) == len("2026-11-27 10:00:00")

    assert (await api.call("create", alice, pid="999"))["result"] == "fail"
    assert (await api.call("create", alice))["result"] == "fail"

    # Paying from the balance later turns the order Active.
    sim.add_funds(alice, "1000")
    orders = (await api.call("orders", alice))["orders"]
    assert orders["47002"]["status"] == "Active"
    assert (await api.call("balance", alice))["balance"] == "595.00"


async def test_cancel_rules(api: Api, alice: Customer) -> None:
    active = await buy(api, alice, "101")
    pending = await buy(api, alice, "103")
    not_pending = {"result": "fail", "message": "Order ID not found or Status not Pending"}
    assert await api.call("cancel", alice, orderid=active) == not_pending
    assert await api.call("cancel", alice, orderid="123") == not_pending
    assert await api.call("cancel", alice, orderid=pending) == {"result": "success"}
    assert await api.call("cancel", alice, orderid=pending) == not_pending
    orders = (await api.call("orders", alice))["orders"]
    assert set(orders) == {active}
    assert alice.orders[-1].status == "Cancelled"


# ---------------------------------------------------------------- install


async def test_install_print_r_and_904(api: Api, sim: Simulator, alice: Customer) -> None:
    order_id = await buy(api, alice)
    check = await api.text("install", alice, orderid=order_id, ostpl="debian12", run=0)
    assert check == (
        "Array ( [method] => createVPS [result] => success [msg] => parameters OK "
        "[error_code] => 0 )"
    )
    assert alice.orders[0].server is None

    text = await api.text(
        "install", alice, orderid=order_id, ostpl="debian12", sshkey_ids="", run=1
    )
    assert text == (
        "[method] => createVPS [result] => success [msg] => ok [retx] => Array ( "
        "[result] => success [msg] => VSCD: VPS added to queue [error_code] => 0 )"
    )
    server = alice.orders[0].server
    assert server is not None
    again = await api.text("install", alice, orderid=order_id, ostpl="ubuntu2404", run=1)
    assert again == (
        f"Array ( [method] => createVPS [result] => fail [msg] => Vps exists with current "
        f"main_id ({server.main_id}) , W:{order_id} [error_code] => 904 )"
    )
    sim.complete_installs()
    again = await api.text("install", alice, orderid=order_id, ostpl="debian12", run=0)
    assert "[error_code] => 904" in again
    # Every call is counted; only the one that queued an install ran.
    assert (sim.calls["install"], sim.runs["install"]) == (4, 1)


async def test_install_validation(api: Api, alice: Customer, bob: Customer) -> None:
    order_id = await buy(api, alice)
    pending = await buy(api, alice, "103")
    bob_key = await add_key(api, bob, "bob")
    alice_key = await add_key(api, alice, "alice")

    async def install(**params: Any) -> str:
        return await api.text("install", alice, run=1, **params)

    not_active = await install(orderid=pending, ostpl="debian12")
    assert "[result] => fail" in not_active
    assert "Order not active" in not_active
    assert "Order not found" in await install(orderid="1", ostpl="debian12")
    assert "[error_code] => 905" in await install(orderid=order_id, ostpl="windows95")
    foreign = await install(orderid=order_id, ostpl="debian12", sshkey_ids=f"{alice_key},{bob_key}")
    assert "[error_code] => 906" in foreign
    assert "[error_code] => 906" in await install(
        orderid=order_id, ostpl="debian12", sshkey_ids="x"
    )
    assert alice.orders[0].server is None

    ok = await install(orderid=order_id, ostpl="debian12", sshkey_ids=f" {alice_key} ")
    assert "VPS added to queue" in ok
    server = alice.orders[0].server
    assert server is not None
    assert server.ssh_key_ids == [alice_key]


async def test_install_takes_time_then_runs(http: httpx.AsyncClient, alice: Customer) -> None:
    sim = Simulator(install_delay=0.2)
    customer = sim.add_customer("c@example.com", "pw")
    async with SimulatorServer(sim) as srv:
        api = Api(http, srv.url)
        order_id = await buy(api, customer)
        await api.text("install", customer, orderid=order_id, ostpl="ubuntu2404", run=1)
        info = await vps_info(api, customer, order_id)
        assert info["result"] == "success"
        assert info["ip"] == ""
        assert info["real_state"] == INSTALLING
        assert info["online"] is False
        for _ in range(100):
            info = await vps_info(api, customer, order_id)
            if info["ip"]:
                break
            await asyncio.sleep(0.05)
        assert info["ip"].startswith("37.1.")
        assert info["real_state"] == RUNNING
        assert info["online"] is True
        assert info["vps_password"]
        assert info["vps_name"] == info["ip"].replace(".", "-")


async def test_getinfo_shapes(api: Api, sim: Simulator, alice: Customer, bob: Customer) -> None:
    pending = await buy(api, alice, "103")
    answer = await api.call("getinfo", alice, orderid=pending)
    assert answer["orderStatus"] == "Pending"
    assert answer["vps_info"] == {"result": "fail", "message": "VPS not found"}

    order_id = await installed(api, sim, alice)
    answer = await api.call("getinfo", alice, orderid=order_id)
    info = answer.pop("vps_info")
    assert answer == {
        "result": "success",
        "orderid": int(order_id),
        "orderStatus": "Active",
        "productStatus": "Active",
        "dedicatedip": "",
    }
    assert set(info) == {
        "result",
        "message",
        "main_id",
        "vps_name",
        "ip",
        "real_state",
        "vps_password",
        "online",
    }
    assert info["main_id"].isdigit()

    by_ip = await api.call("getinfo", alice, orderid=0, ip=info["ip"])
    assert by_ip["orderid"] == int(order_id)
    assert by_ip["vps_info"]["ip"] == info["ip"]

    not_found = {"result": "fail", "message": "Order not found"}
    assert await api.call("getinfo", alice, orderid="99") == not_found
    assert await api.call("getinfo", alice, orderid=0, ip="10.0.0.1") == not_found
    assert await api.call("getinfo", bob, orderid=order_id) == not_found
    assert await api.call("getinfo", bob, orderid=0, ip=info["ip"]) == not_found


async def test_ips_are_unique(api: Api, sim: Simulator, alice: Customer, bob: Customer) -> None:
    sim.demo()
    orders = [await installed(api, sim, alice) for _ in range(3)]
    orders_bob = [await installed(api, sim, bob)]
    ips = {(await vps_info(api, alice, o))["ip"] for o in orders}
    ips |= {(await vps_info(api, bob, o))["ip"] for o in orders_bob}
    assert len(ips) == 4
    assert "37.1.0.111" not in ips


async def test_reinstall_json(api: Api, sim: Simulator, alice: Customer) -> None:
    fresh = await buy(api, alice)
    no_vps = await api.call("reinstall", alice, orderid=fresh, ostpl="debian12", run=1)
    assert no_vps["result"] == "fail"
    assert no_vps["error_code"] == 903

    order_id = await installed(api, sim, alice)
    before = await vps_info(api, alice, order_id)
    bad = await api.call("reinstall", alice, orderid=order_id, ostpl="nope", run=1)
    assert bad == {"result": "fail", "message": "Unknown template", "error_code": 905}
    check = await api.call("reinstall", alice, orderid=order_id, ostpl="almalinux9", run=0)
    assert check == {"result": "success", "message": "parameters OK"}
    assert (await vps_info(api, alice, order_id))["real_state"] == RUNNING

    queued = await api.call("reinstall", alice, orderid=order_id, ostpl="almalinux9", run=1)
    assert queued == {"result": "success", "message": "VPS reinstall queued"}
    during = await vps_info(api, alice, order_id)
    assert (during["ip"], during["real_state"], during["online"]) == ("", INSTALLING, False)
    busy = await api.call("reinstall", alice, orderid=order_id, ostpl="almalinux9", run=1)
    assert busy["result"] == "fail"

    sim.complete_installs()
    after = await vps_info(api, alice, order_id)
    assert after["ip"] == before["ip"]
    assert after["main_id"] == before["main_id"]
    assert after["real_state"] == RUNNING
    assert after["vps_password"] != before["vps_password"]
    assert alice.orders[-1].server is not None
    assert alice.orders[-1].server.template == "almalinux9"


async def test_power(api: Api, sim: Simulator, alice: Customer) -> None:
    fresh = await buy(api, alice)
    for action in ("reboot", "stop", "boot"):
        assert (await api.call(action, alice, orderid=fresh))["result"] == "fail"
        assert (await api.call(action, alice, orderid="5"))["result"] == "fail"

    await api.text("install", alice, orderid=fresh, ostpl="debian12", run=1)
    assert (await api.call("stop", alice, orderid=fresh))["result"] == "fail"  # still installing
    sim.complete_installs()

    stopped = await api.call("stop", alice, orderid=fresh)
    assert stopped["result"] == "success"
    assert stopped["message"]
    info = await vps_info(api, alice, fresh)
    assert (info["real_state"], info["online"]) == (STOPPED, False)
    assert info["ip"]

    assert (await api.call("boot", alice, orderid=fresh))["result"] == "success"
    info = await vps_info(api, alice, fresh)
    assert (info["real_state"], info["online"]) == (RUNNING, True)

    await api.call("stop", alice, orderid=fresh)
    assert (await api.call("reboot", alice, orderid=fresh))["result"] == "success"
    assert (await vps_info(api, alice, fresh))["real_state"] == RUNNING


# ---------------------------------------------------------------- ssh keys and services


async def test_ssh_keys(api: Api, alice: Customer, bob: Customer) -> None:
    assert (await api.call("sshkey.list", alice)) == {"result": "success", "list": []}
    for bad in (
        "",
        "hello",
        "ssh-ed25519",
        "ssh-ed25519 !!!notbase64",
        "ssh-foo AAAAAAAAAAAAAAAAAAAAAAAA",
    ):
        assert (await api.call("sshkey.add", alice, sshkey=bad))["result"] == "fail"

    first = await add_key(api, alice, "one", name="laptop")
    second = await add_key(api, alice, "two")
    bobs = await add_key(api, bob, "three")
    assert len({first, second, bobs}) == 3

    keys = (await api.call("sshkey.list", alice))["list"]
    assert [k["id"] for k in keys] == [first, second]
    assert all(isinstance(k["id"], int) for k in keys)
    assert keys[0]["name"] == "laptop"
    assert keys[1]["name"] == "two@host"  # the comment, when no name is given
    assert keys[0]["type"] == "ssh-ed25519"
    assert keys[0]["fingerprint"].startswith("SHA256:")
    assert keys[0]["fingerprint"] != keys[1]["fingerprint"]

    assert (await api.call("sshkey.remove", alice, id=bobs))["result"] == "fail"
    assert (await api.call("sshkey.remove", alice, id="abc"))["result"] == "fail"
    removed = await api.call("sshkey.remove", alice, id=first)
    assert removed["result"] == "success"
    assert [k["id"] for k in (await api.call("sshkey.list", alice))["list"]] == [second]
    assert [k["id"] for k in (await api.call("sshkey.list", bob))["list"]] == [bobs]


async def test_services(api: Api, sim: Simulator, alice: Customer, bob: Customer) -> None:
    order_id = await installed(api, sim, alice)
    pending = await buy(api, alice, "103")
    services = (await api.call("services", alice))["services"]
    assert set(services) == {"49701", "49702"}
    running = services["49701"]
    assert running["id"] == "49701"
    assert running["name"] == "VPS Start"
    assert running["status"] == "Active"
    assert running["orderid"] == order_id
    assert running["ip"] == (await vps_info(api, alice, order_id))["ip"]
    assert running["regdate"]
    assert services["49702"]["status"] == "Pending"
    assert services["49702"]["orderid"] == pending
    assert services["49702"]["ip"] == ""

    one = await api.call("getService", alice, serviceid="49701")
    assert one == {"result": "success", "service": running}
    missing = {"result": "fail", "message": "Service not found"}
    assert await api.call("getService", alice, serviceid="1") == missing
    assert await api.call("getService", bob, serviceid="49701") == missing
    assert (await api.call("services", bob))["services"] == {}


async def test_isolation(api: Api, sim: Simulator, alice: Customer, bob: Customer) -> None:
    order_id = await installed(api, sim, alice)
    pending = await buy(api, alice, "103")
    key_id = await add_key(api, alice, "alice")
    bob_order = await buy(api, bob)

    assert (await api.call("orders", bob))["orders"].keys() == {bob_order}
    assert (await api.call("sshkey.list", bob))["list"] == []
    assert (await api.call("cancel", bob, orderid=pending))["result"] == "fail"
    for action in ("reboot", "stop", "boot"):
        assert (await api.call(action, bob, orderid=order_id))["result"] == "fail"
    assert "Order not found" in await api.text(
        "install", bob, orderid=order_id, ostpl="debian12", run=1
    )
    assert (await api.call("reinstall", bob, orderid=order_id, ostpl="debian12", run=1))[
        "result"
    ] == "fail"
    foreign_key = await api.text(
        "install", bob, orderid=bob_order, ostpl="debian12", sshkey_ids=str(key_id), run=1
    )
    assert "[error_code] => 906" in foreign_key
    assert (await api.call("sshkey.remove", bob, id=key_id))["result"] == "fail"

    # Nothing of Alice's changed.
    assert alice.orders[1].status == "Pending"
    assert [k.id for k in alice.ssh_keys] == [key_id]
    assert (await vps_info(api, alice, order_id))["real_state"] == RUNNING


# ---------------------------------------------------------------- demo


async def test_demo_customer(api: Api, sim: Simulator) -> None:
    demo = sim.demo()
    assert sim.demo() is demo
    assert (demo.cid, demo.key, demo.email) == (777, DEMO_KEY, "demo@example.com")
    assert "demo-key" not in repr(demo)  # keys stay out of reprs and so out of logs

    answer = await login(api, "demo@example.com", "demo")
    assert answer == {"result": "success", "cid": 777, "key": DEMO_KEY}
    assert (await api.call("balance", demo))["balance"] == "50.00"
    orders = (await api.call("orders", demo))["orders"]
    assert sorted(o["status"] for o in orders.values()) == ["Active", "Pending"]
    active = next(o for o in orders.values() if o["status"] == "Active")
    info = await vps_info(api, demo, active["id"])
    assert (info["ip"], info["real_state"], info["online"]) == ("37.1.0.111", RUNNING, True)
    assert demo.orders[0].server is not None
    assert demo.orders[0].server.template == "debian12"
    keys = (await api.call("sshkey.list", demo))["list"]
    assert [k["name"] for k in keys] == ["laptop"]


async def test_standalone_module() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.inferno.simulator",
        "--port",
        "0",
        "--install-delay",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        # A bound, not a pause: the line comes as soon as the process has started.
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert "cid=777" in line
        assert DEMO_KEY in line
        assert "demo@example.com" in line
        url = next(word for word in line.split() if word.startswith("http://"))
        async with httpx.AsyncClient(timeout=5) as http:
            answer = await http.post(
                url, params={"action": "balance"}, json={"cid": 777}, headers={"X-Key": DEMO_KEY}
            )
        assert answer.json()["balance"] == "50.00"
    finally:
        proc.terminate()
        await proc.wait()


# ---------------------------------------------------------------- faults and counters


async def test_whitelist_denied(api: Api, sim: Simulator, alice: Customer) -> None:
    sim.faults.whitelist_denied = True
    sim.faults.http_500_next = 1  # whitelist wins and the 500 is kept for later
    for action in ("list", "balance"):
        response = await api.raw(action, alice)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "Access denied: your IP address is not in the whitelist" in response.text
    assert sim.faults.http_500_next == 1
    sim.faults.whitelist_denied = False
    assert (await api.raw("balance", alice)).status_code == 500
    assert (await api.raw("balance", alice)).status_code == 200


async def test_http_500_html_and_malformed(api: Api, sim: Simulator, alice: Customer) -> None:
    sim.faults.http_500_next = 2
    sim.faults.html_next = 1
    sim.faults.malformed_next = 1
    assert (await api.raw("balance", alice)).status_code == 500
    assert (await api.raw("balance", alice)).status_code == 500

    page = await api.raw("balance", alice)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Just a moment..." in page.text
    assert "cf-chl" in page.text

    broken = await api.raw("balance", alice)
    assert broken.status_code == 200
    assert broken.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)

    assert (await api.call("balance", alice))["result"] == "success"
    assert sim.calls["balance"] == 5  # faulted calls are counted too
    assert (sim.faults.http_500_next, sim.faults.html_next, sim.faults.malformed_next) == (0, 0, 0)


async def test_warning_fault_carries_the_call_out_then_garbles_its_answer(
    api: Api, sim: Simulator, alice: Customer
) -> None:
    sim.faults.warning_next = 1
    sim.faults.only_action = "sshkey.add"
    assert (await api.call("balance", alice))["result"] == "success", "other actions untouched"
    page = await api.text("sshkey.add", alice, sshkey=make_public_key("w"), name="w")
    assert page.startswith("<br />") and "<b>Warning</b>" in page
    assert page.rstrip().endswith("}"), "the answer itself follows the warning"
    assert [key.name for key in alice.ssh_keys] == ["w"], "the call was carried out"
    assert sim.faults.warning_next == 0
    sim.faults.clear()
    assert (await api.call("sshkey.list", alice))["result"] == "success"


async def test_timeout_fault(sim: Simulator, server: SimulatorServer, alice: Customer) -> None:
    sim.faults.timeout_next = 1
    async with httpx.AsyncClient(timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(server.url, params={"action": "list"})
        response = await http.get(server.url, params={"action": "list"})
    assert response.json()["result"] == "success"
    assert sim.faults.timeout_next == 0
    assert sim.calls["list"] == 2


async def test_timeout_does_not_block_shutdown(http: httpx.AsyncClient) -> None:
    sim = Simulator()
    srv = SimulatorServer(sim)
    await srv.start()
    sim.faults.timeout_next = 1
    hung = asyncio.create_task(http.get(srv.url, params={"action": "list"}))
    for _ in range(200):
        if sim.in_flight:
            break
        await asyncio.sleep(0.01)
    assert sim.in_flight == 1
    await asyncio.wait_for(srv.stop(), 5)
    assert sim.in_flight == 0
    # The released call may still get an answer or see the connection close; both are fine.
    await asyncio.gather(hung, return_exceptions=True)


async def test_latency_and_peak_in_flight(api: Api, sim: Simulator, alice: Customer) -> None:
    await api.call("balance", alice)
    sim.reset_counters()
    assert sim.calls == {}
    assert sim.peak_in_flight == 0

    sim.faults.latency = 0.3
    answers = await asyncio.gather(*(api.call("balance", alice) for _ in range(5)))
    assert all(a["result"] == "success" for a in answers)
    assert sim.peak_in_flight == 5
    assert sim.in_flight == 0
    assert sim.calls["balance"] == 5

    sim.faults.clear()
    sim.reset_counters()
    await api.call("list")
    assert sim.peak_in_flight == 1
    assert sim.calls == {"list": 1}


def test_latency_jitter_spreads_delays_around_the_latency() -> None:
    faults = Faults(latency=0.02)
    rng = random.Random(1)
    assert {faults.delay(rng) for _ in range(20)} == {0.02}

    faults.latency_jitter = 0.1
    delays = [faults.delay(rng) for _ in range(2000)]
    assert all(0.018 <= d <= 0.022 for d in delays)
    assert len(set(delays)) > 1000
    assert abs(sum(delays) / len(delays) - 0.02) < 0.0005

    faults.clear()
    assert faults.delay(rng) == 0.0 and faults.latency_jitter == 0.0


async def test_jitter_leaves_the_seeded_keys_alone(api: Api, sim: Simulator) -> None:
    reference = Simulator()  # the same (default) seed as the fixture's
    sim.faults.latency, sim.faults.latency_jitter = 0.001, 0.5
    await asyncio.gather(*(api.call("list") for _ in range(5)))  # draws jittered delays
    assert sim.add_customer("b@example.com", PASSWORD).key == (
        reference.add_customer("b@example.com", PASSWORD).key
    )
