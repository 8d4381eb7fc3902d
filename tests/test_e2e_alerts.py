"""End to end: the real ``python -m bot`` process is killed with SIGKILL while it sends alerts
(renewals and unpaid orders, then servers going down); after each restart every alert has
arrived exactly once (at most the one message being sent at a kill comes twice), and the
servers coming back up are told once too."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from collections import Counter
from pathlib import Path

from bot.inferno.simulator import Simulator
from bot.storage.startup import open_storage
from tests.e2e_process import BotProcess, process_env
from tests.fakes.telegram import FakeTelegram
from tests.harness import make_settings

USERS = 30
FIRST_UID = 880000
TIMEOUT = 60.0


def alert_counts(tg: FakeTelegram) -> Counter[tuple[int, str]]:
    counts: Counter[tuple[int, str]] = Counter()
    for uid in range(FIRST_UID, FIRST_UID + USERS):
        for message in tg.bot_messages(uid):
            if "due for renewal" in message.text:
                counts[(uid, "renewal")] += 1
            elif "is still unpaid" in message.text:
                counts[(uid, "unpaid")] += 1
            elif "is down" in message.text:
                counts[(uid, "down")] += 1
            elif "is back up" in message.text:
                counts[(uid, "up")] += 1
    return counts


def of_kind(tg: FakeTelegram, kind: str) -> int:
    return sum(1 for (_, counted) in alert_counts(tg) if counted == kind)


async def test_sigkill_mid_sweep_every_alert_arrives_exactly_once(tmp_path: Path) -> None:
    from bot.inferno.simulator import SimulatorServer

    sim = Simulator(install_delay=0.1)
    async with FakeTelegram() as tg, SimulatorServer(sim) as server:
        settings = make_settings(tmp_path, tg, server.url)
        # Linked before the bot starts: its first account pass finds them all due.
        db = await open_storage(settings.database_path, settings.encryption_key_file)
        try:
            for n in range(USERS):
                uid = FIRST_UID + n
                customer = sim.add_customer(f"k{n}@example.com", "pw", balance="5.00")
                sim.handle("create", {"cid": str(customer.cid), "pid": "101"}, customer.key)
                sim.handle("create", {"cid": str(customer.cid), "pid": "102"}, customer.key)
                paid, unpaid = customer.orders
                paid.next_due = dt.date.today() + dt.timedelta(days=2)
                unpaid.date -= dt.timedelta(hours=2)
                # A running server on the paid order, for the down and up alerts.
                install = {"cid": str(customer.cid), "orderid": str(paid.id), "run": "1"}
                sim.handle("install", install | {"ostpl": "debian12"}, customer.key)
                tg.add_user(uid, language_code="en")
                await db.users.ensure(uid, "en")
                await db.users.link(uid, customer.cid, customer.key)
        finally:
            await db.close()
        env = process_env(
            settings,
            ALERT_INTERVAL="1",
            MONITOR_INTERVAL="0.5",
            UNPAID_ORDER_AFTER="60",
            LOG_LEVEL="INFO",
        )
        proc = BotProcess(tmp_path=tmp_path, env=env, log_path=tmp_path / "bot.log")
        await proc.start()
        try:
            # Killed as soon as a few alerts are out: the rest are stored, not yet sent.
            await tg.wait_for(lambda: sum(alert_counts(tg).values()) >= 5, TIMEOUT, "alerts")
            assert await proc.stop(signal.SIGKILL) == -signal.SIGKILL
            sent_before = sum(alert_counts(tg).values())
            assert sent_before < 2 * USERS, "the kill came after the sweep: nothing was tested"

            await proc.start()
            await tg.wait_for(
                lambda: len(alert_counts(tg)) == 2 * USERS, TIMEOUT, "every alert after restart"
            )

            # Every server seen running by two monitor passes (getinfo is only for monitored
            # ones), then all go down; killed again while the down alerts go out.
            sim.reset_counters()
            await tg.wait_for(lambda: sim.calls["getinfo"] >= 2 * USERS, TIMEOUT, "monitored")
            for customer in sim.customers.values():
                sim.set_power(customer.orders[0].id, False)
            await tg.wait_for(lambda: of_kind(tg, "down") >= 5, TIMEOUT, "down alerts")
            assert await proc.stop(signal.SIGKILL) == -signal.SIGKILL
            assert of_kind(tg, "down") < USERS, "the kill came after the sweep: nothing was tested"
            await proc.start()
            await tg.wait_for(lambda: of_kind(tg, "down") == USERS, TIMEOUT, "every down alert")
            for customer in sim.customers.values():
                sim.set_power(customer.orders[0].id, True)
            await tg.wait_for(lambda: of_kind(tg, "up") == USERS, TIMEOUT, "every up alert")
            # Several more account passes (1 s) and monitor passes must add nothing.
            await asyncio.sleep(3.0)
            assert await proc.stop(signal.SIGTERM) == 0
        finally:
            if proc.process is not None and proc.process.returncode is None:
                proc.process.kill()
                await proc.process.wait()
        counts = alert_counts(tg)
        assert len(counts) == 4 * USERS
        repeats = sum(count - 1 for count in counts.values())
        # At most the one message being sent at each of the two kills.
        assert repeats <= 2, (counts, proc.logs()[-3000:])
