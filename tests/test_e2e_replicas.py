"""End to end in the production mode: two real ``python -m bot`` replicas in webhook mode on the
real PostgreSQL and Redis, behind a round-robin proxy (Caddy's part in docker-compose.yml's
``scale`` profile), configured only through the environment variables docs/DEPLOY.md names."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

from bot.inferno.simulator import Simulator, make_public_key
from bot.storage import Database
from bot.storage.startup import open_storage
from tests.e2e_process import BotProcess, RoundRobinProxy, bot_process, replica_processes
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.harness import TEST_KEY

TIMEOUT = 30.0
USERS = 50
FIRST_UID = 610_001
BUYER = 620_001
PASSWORD = "replica-Pa55word!"
# How often a follower tries for the leader lock. Large against the test's own polling (10 ms)
# and a process's scheduling delays, so that "takes over within two intervals" has a whole
# interval to spare for them and still fails for a follower that needs a third try.
LEADER_INTERVAL = 2.0


def engines_env(postgres_url: str, redis_url: str, redis_prefix: str) -> dict[str, str]:
    return {
        "DATABASE_URL": postgres_url,
        "ENCRYPTION_KEY": TEST_KEY,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": redis_prefix,
        "LEADER_INTERVAL": str(LEADER_INTERVAL),
    }


async def open_shared(tmp_path: Path, postgres_url: str) -> Database:
    """The test's own connection to the replicas' database (as another replica would open it)."""
    return await open_storage(
        tmp_path / "unused.sqlite3",
        tmp_path / "unused.key",
        env_key=TEST_KEY,
        database_url=postgres_url,
    )


async def until(
    tg: FakeTelegram, procs: list[BotProcess], check: Callable[[], bool], what: str
) -> None:
    def alive_and(check: Callable[[], bool]) -> bool:
        for proc in procs:
            if proc.process is not None and proc.process.returncode is not None:
                raise AssertionError(f"a replica exited early:\n{proc.logs()}")
        return check()

    await tg.wait_for(lambda: alive_and(check), TIMEOUT, what)


def leaders(procs: list[BotProcess]) -> list[int]:
    """The replicas whose log says they lead now (the last word on leadership in each log)."""
    found = []
    for index, proc in enumerate(procs):
        logs = proc.logs()
        led = logs.rfind("this replica leads")
        if led >= 0 and led > logs.rfind("this replica no longer leads"):
            found.append(index)
    return found


def started_tasks(proc: BotProcess) -> set[str]:
    return set(re.findall(r"background task (\S+) started", proc.logs()))


def screen(tg: FakeTelegram, uid: int) -> dict[int, tuple[int, bool]]:
    return {
        m.message_id: (m.edit_count, m.deleted) for m in tg.bot_messages(uid, include_deleted=True)
    }


async def answered(
    tg: FakeTelegram, uid: int, before: dict[int, tuple[int, bool]], *, quiet: bool = True
) -> FakeMessage:
    """The message the bot sent or edited last for ``uid``. ``quiet``: once the whole bot went
    quiet too (a screen may be drawn in steps); not while other users keep it busy."""
    await tg.wait_for(lambda: screen(tg, uid) != before, TIMEOUT, f"the bot to answer {uid}")
    if quiet:
        await tg.wait_idle(timeout=TIMEOUT)
    after = screen(tg, uid)
    changed = [i for i, state in after.items() if before.get(i) != state and not state[1]]
    return tg.message(uid, max(changed)) if changed else tg.last_bot_message(uid)


async def command(tg: FakeTelegram, uid: int, text: str, *, quiet: bool = True) -> FakeMessage:
    before = screen(tg, uid)
    await tg.send_command(uid, text)
    return await answered(tg, uid, before, quiet=quiet)


async def tap(
    tg: FakeTelegram, uid: int, text: str, message_id: int | None = None, *, quiet: bool = True
) -> FakeMessage:
    before = screen(tg, uid)
    await tg.tap_button(uid, text, message_id=message_id)
    return await answered(tg, uid, before, quiet=quiet)


async def browse(tg: FakeTelegram, uid: int) -> None:
    """A user taps through the menus, waiting for each screen (the others tap meanwhile)."""
    menu = await command(tg, uid, "/menu", quiet=False)
    assert "Balance" in " ".join(b.text for b in menu.buttons())
    balance = await tap(tg, uid, "Balance", quiet=False)
    assert "100.00" in balance.text
    await tap(tg, uid, "Main menu", quiet=False)
    orders = await tap(tg, uid, "Orders", quiet=False)
    assert "orders" in orders.text.lower()
    back = await tap(tg, uid, "Main menu", quiet=False)
    assert "Balance" in " ".join(b.text for b in back.buttons())


async def test_two_replicas_behind_a_round_robin_proxy(
    tmp_path: Path, postgres_url: str, redis_url: str, redis_prefix: str
) -> None:
    # Installs finish when the test says so: after the leader was killed.
    sim = Simulator(install_delay=3600.0)
    users = {
        FIRST_UID + n: sim.add_customer(email=f"r{n}@example.com", password=PASSWORD)
        for n in range(USERS)
    }
    buyer = sim.add_customer(email="buyer@example.com", password=PASSWORD, balance="100.00")
    sim.handle(
        "sshkey.add",
        {"cid": str(buyer.cid), "sshkey": make_public_key("replicas"), "name": "laptop"},
        buyer.key,
    )
    # The accounts are linked beforehand (linking is not what this test is about).
    db = await open_shared(tmp_path, postgres_url)
    try:
        for uid, customer in [*users.items(), (BUYER, buyer)]:
            await db.users.ensure(uid, "en")
            await db.users.link(uid, customer.cid, customer.key)
    finally:
        await db.close()

    env = engines_env(postgres_url, redis_url, redis_prefix)
    async with replica_processes(tmp_path, sim, 2, **env) as (procs, proxy, tg, _server):
        for proc in procs:
            await proc.start()
            await until(
                tg, procs, lambda p=proc: "webhook mode: listening" in p.logs(), "listening"
            )
        await until(tg, procs, lambda: len(leaders(procs)) == 1, "one leader")
        assert all("redis=" in proc.logs() and "mode=webhook" in proc.logs() for proc in procs)

        # ---- 50 users tapping menus, their updates spread over both replicas.
        for uid in users:
            tg.add_user(uid)
        await asyncio.gather(*(browse(tg, uid) for uid in users))
        assert {replica for _uid, replica, _status in proxy.routes} == {0, 1}
        assert tg.unanswered_callbacks() == []

        # ---- a double tap on buy, one tap to each replica: one order.
        tg.add_user(BUYER)
        await command(tg, BUYER, "/menu")
        await tap(tg, BUYER, "Buy a server")
        await tap(tg, BUYER, "VPS Start")
        confirm = await tap(tg, BUYER, "Buy for")
        data = confirm.button("Confirm the purchase").callback_data
        assert data is not None
        await tg.wait_idle(timeout=TIMEOUT)
        sim.faults.latency = 0.3  # the first create is still in flight when the second arrives
        await tg.tap(BUYER, confirm.message_id, data)
        first = tg.updates[-1].update_id
        await tg.tap(BUYER, confirm.message_id, data)
        second = tg.updates[-1].update_id
        await tg.wait_for(
            lambda: "Order created" in tg.message(BUYER, confirm.message_id).text,
            TIMEOUT,
            "the order",
        )
        await tg.wait_for_bot_message(BUYER, lambda m: "already used" in m.text, timeout=TIMEOUT)
        await tg.wait_idle(timeout=TIMEOUT)
        sim.faults.latency = 0.0
        assert {*proxy.replica_of(first), *proxy.replica_of(second)} == {0, 1}
        assert sim.calls["create"] == 1
        assert len(buyer.orders) == 1

        # ---- a delivery whose answer came too late is delivered again, to the other replica,
        # and handled once.
        # On the order's message: the second tap's "already used" came after it.
        await tap(tg, BUYER, "Install OS", confirm.message_id)
        tg.lose_webhook_answer(times=1)
        before = screen(tg, BUYER)
        query_id = await tg.tap_button(BUYER, "Debian 12", message_id=confirm.message_id)
        retried = tg.updates[-1].update_id
        await answered(tg, BUYER, before)
        await tg.wait_for(
            lambda: len(proxy.replica_of(retried)) == 2, TIMEOUT, "the delivery to be repeated"
        )
        await tg.wait_idle(timeout=TIMEOUT)
        assert sorted(proxy.replica_of(retried)) == [0, 1]
        assert [d.error for d in tg.deliveries if d.update_id == retried] == [
            "Read timeout expired",
            None,
        ]
        assert [a.query_id for a in tg.callback_answers.values()].count(query_id) == 1
        changed = {i for i, state in screen(tg, BUYER).items() if before.get(i) != state}
        assert len(changed) == 1, "one screen drawn, not two"

        # ---- kill -9 of the leader while the install is pending: the other replica takes
        # over within two check intervals, and the ready message arrives after the kill,
        # exactly once, sent by the survivor.
        wizard = confirm.message_id
        await tap(tg, BUYER, "laptop", wizard)
        summary = await tap(tg, BUYER, "Continue", wizard)
        if any("Check the settings" in b.text for b in summary.buttons()):
            await tap(tg, BUYER, "Check the settings", wizard)
        queued = await tap(tg, BUYER, "Install", wizard)
        assert "queued" in queued.text.lower()
        assert sim.runs["install"] == 1
        [leader] = leaders(procs)
        follower = 1 - leader
        # The background loops run on the leader alone (every replica follows who is blocked).
        assert "background task install-watcher started" in procs[leader].logs()
        assert started_tasks(procs[follower]) == {"blocked-users"}
        dead = procs[leader]
        assert dead.process is not None
        assert not [m for m in tg.bot_messages(BUYER) if "Your server is ready" in m.text]
        killed_at = time.monotonic()
        dead.process.kill()  # SIGKILL: no shutdown, no unlock; its connections just close
        survivors = [procs[follower]]
        await until(tg, survivors, lambda: leaders(survivors) == [0], "the follower to lead")
        takeover = time.monotonic() - killed_at
        assert takeover <= 2 * LEADER_INTERVAL, f"took over after {takeover:.2f}s"
        await dead.process.wait()
        dead.process = None
        # The new leader logs that it leads, then starts the loops (the next lines of its log).
        await until(
            tg,
            survivors,
            lambda: "background task install-watcher started" in procs[follower].logs(),
            "the watcher to start on the new leader",
        )
        sim.complete_installs()
        ready = await tg.wait_for_bot_message(
            BUYER, lambda m: "Your server is ready" in m.text, timeout=TIMEOUT
        )
        assert ready.sent_at > killed_at
        server_ip = buyer.orders[-1].server.ip  # type: ignore[union-attr]
        assert server_ip and server_ip in ready.text
        # The watch is closed in the database: nothing can send the message again.
        db = await open_shared(tmp_path, postgres_url)
        try:
            deadline = asyncio.get_running_loop().time() + TIMEOUT
            while await db.watches.count_open():
                assert asyncio.get_running_loop().time() < deadline, "the watch never closed"
                await asyncio.sleep(0.1)
        finally:
            await db.close()
        await tg.wait_idle(timeout=TIMEOUT)
        readies = [m for m in tg.bot_messages(BUYER) if "Your server is ready" in m.text]
        assert len(readies) == 1
        # The survivor's watcher sent it (its log line follows the send, so it is awaited);
        # the killed leader never got that far.
        ready_line = r"watch=\S+ user=\S+ order=\S+ ready ip="
        survivor = procs[follower]
        await until(
            tg,
            [survivor],
            lambda: bool(re.findall(ready_line, survivor.logs())),
            "the survivor's ready line",
        )
        assert len(re.findall(ready_line, survivor.logs())) == 1
        assert " ready ip=" not in dead.logs()

        # The survivor serves alone: the proxy skips the dead replica.
        menu = await command(tg, BUYER, "/menu")
        assert menu.buttons()
        assert tg.unanswered_callbacks() == []
        assert tg.errors == []

        code = await procs[follower].stop(signal.SIGTERM, timeout=15)
        assert code == 0, procs[follower].logs()
        for proc in procs:
            logs = proc.logs()
            assert "Traceback" not in logs, logs
            for secret in (buyer.key, TEST_KEY):
                assert secret not in logs
        assert_routes_answered(proxy)


def assert_routes_answered(proxy: RoundRobinProxy) -> None:
    """Every delivery a replica took was answered 200 (none refused, none failed)."""
    assert {status for _uid, _replica, status in proxy.routes} == {200}


async def test_a_second_polling_replica_is_refused_in_one_line(
    tmp_path: Path, postgres_url: str
) -> None:
    sim = Simulator()
    env = {"DATABASE_URL": postgres_url, "ENCRYPTION_KEY": TEST_KEY, "LEADER_INTERVAL": "0.3"}
    async with bot_process(tmp_path, sim, **env) as (first, tg, _server):
        await tg.wait_for(lambda: tg.polling_active, TIMEOUT, "the first replica to poll")
        second = BotProcess(
            tmp_path=tmp_path, env=dict(first.env), log_path=tmp_path / "second.log"
        )
        await second.start()
        assert second.process is not None
        code = await asyncio.wait_for(second.process.wait(), timeout=TIMEOUT)
        assert code == 2
        lines = [line for line in second.logs().splitlines() if line.startswith("inferno-bot:")]
        assert lines == [
            "inferno-bot: another replica already polls this bot on DATABASE_URL: Telegram "
            "hands each update to one poller only. Run one polling replica, or set WEBHOOK_URL "
            "to run several behind a proxy (docs/DEPLOY.md)"
        ]
        assert "Traceback" not in second.logs()
        # The first one polls on, untouched.
        assert first.process is not None and first.process.returncode is None
        assert tg.polling_active
