"""📜 History through the real dispatcher: actions by anyone on the account, newest first and a
page at a time; owners see everything, operators the server actions; entries older than
HISTORY_DAYS go with the background cleaner."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from bot.inferno.simulator import Customer, Simulator
from bot.storage.history import acting_as
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, running_bot
from tests.test_flow_members import MATE, OWNER, invite, join, mate_card
from tests.test_flow_servers import installed_server


async def open_history(env: BotEnv, uid: int, customer: Customer) -> FakeMessage:
    await env.command(uid, "/menu")
    await env.tap(uid, "Settings")
    await env.tap(uid, "Accounts")
    await env.tap(uid, str(customer.cid))
    return await env.tap(uid, "History")


async def test_the_history_shows_who_did_what_by_role(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, sim=Simulator(install_delay=60.0)) as env:
        customer = await env.linked(OWNER)
        env.tg.add_user(OWNER, first_name="Olga")
        order_id = await installed_server(env, customer)
        await join(env, await invite(env, customer, "Operator"), first_name="<b>Mate</b>")
        await mate_card(env, order_id)
        await env.tap(MATE, "Stop")
        await env.tap(MATE, "Yes, stop")

        seen_by_owner = await open_history(env, OWNER, customer)
        lines = seen_by_owner.text.splitlines()
        # Newest first: the stop, the join, then the invite.
        assert "<b>Mate</b>: stopped" in lines[1] and order_id in lines[1] and "done" in lines[1]
        assert "joined (operator)" in lines[2]
        assert "Olga: invited a member (operator)" in lines[3]
        assert "&lt;b&gt;Mate&lt;/b&gt;" in seen_by_owner.html, "names are escaped"

        seen_by_mate = await open_history(env, MATE, customer)
        assert "stopped" in seen_by_mate.text
        assert "invited" not in seen_by_mate.text and "joined" not in seen_by_mate.text
        assert env.tg.errors == []


async def test_the_history_pages_newest_first(tmp_path: Path, engines: Production | None) -> None:
    async with running_bot(tmp_path, production=engines) as env:
        customer = await env.linked(OWNER)
        (membership,) = await env.db.accounts.memberships(OWNER)
        with acting_as(membership.account.id, "Olga"):
            for n in range(11):
                await env.db.actions.record(OWNER, "reboot", f"{47100 + n}", "ok")
        first = await open_history(env, OWNER, customer)
        assert "47110" in first.text and "47100" not in first.text
        assert any(label == "1/2" for label in [b.text for b in first.buttons()])
        second = await env.tap(OWNER, "Next")
        assert "47100" in second.text and "47110" not in second.text


async def test_old_history_is_purged_by_the_cleaner(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, history_days=30) as env:
        await env.linked(OWNER)
        (membership,) = await env.db.accounts.memberships(OWNER)
        with acting_as(membership.account.id, "Olga"):
            await env.db.actions.record(OWNER, "reboot", "47001", "ok")
            await env.db.actions.record(OWNER, "stop", "47002", "ok")
        await env.db._conn.execute(
            "UPDATE actions SET created_at = ? WHERE order_id = '47001'",
            (time.time() - 31 * 86400,),
        )
        await env.restart()  # the cleaner's first pass runs as the bot starts
        deadline = time.monotonic() + 10
        while True:
            _, entries = await env.db.history.page(membership.account.id, 0, 10)
            if len(entries) < 2 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)  # until the cleaner's pass (a loop of the bot's own)
        assert [e.order_id for e in entries] == ["47002"]


async def test_the_history_shows_times_in_the_configured_zone(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, timezone="Europe/Moscow") as env:
        customer = await env.linked(OWNER)
        (membership,) = await env.db.accounts.memberships(OWNER)
        with acting_as(membership.account.id, "Olga"):
            await env.db.actions.record(OWNER, "reboot", "47001", "ok")
        # 2026-03-01 21:30 UTC is 2026-03-02 00:30 in Moscow (UTC+3 all year).
        moment = dt.datetime(2026, 3, 1, 21, 30, tzinfo=dt.UTC).timestamp()
        await env.db._conn.execute("UPDATE actions SET created_at = ?", (moment,))
        shown = await open_history(env, OWNER, customer)
        assert "(times in Europe/Moscow)" in shown.text
        assert "00:30" in shown.text and "21:30" not in shown.text
        assert "2 Mar 2026 00:30" in shown.text.splitlines()[1]
