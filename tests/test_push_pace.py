"""All pushes together stay under Telegram's global rate (issue 17): the alerts and the install
watcher send through the process's one pacer. Counted over windows of the fake Bot API's
arrival times, never timed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.services.alerts import AlertService
from bot.services.pacer import PUSHES_PER_SECOND
from tests.harness import EVERY_PASS_BY_TEST, Production, creds_of, paid_order, running_bot
from tests.storage_helpers import start_watch
from tests.watch_helpers import watcher_of

USERS = 30
FIRST_UID = 7300
# The pacer's rate, one more for a window that starts exactly on a message, and one for the
# network moving two messages closer on their way; still under Telegram's ~30 a second.
MOST_IN_A_SECOND = int(PUSHES_PER_SECOND) + 2


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_alerts_and_install_messages_together_keep_the_global_rate(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(
        tmp_path,
        production=engines,
        **EVERY_PASS_BY_TEST,
    ) as env:
        assert env.services is not None and env.bot is not None and env.dp is not None
        uids = range(FIRST_UID, FIRST_UID + USERS)
        for n, uid in enumerate(uids):
            customer = await env.linked(uid, email=f"p{n}@example.com", balance="50.00")
            order_id = await paid_order(env, customer)
            await env.services.inferno.install(
                creds_of(customer), order_id, "debian12", [], run=True
            )
            await start_watch(env.db, uid, uid, order_id, "install", "debian12")
            # Below the threshold once the order is paid: one low-balance alert each.
            await env.db.alerts.set_prefs(uid, low_balance=True, balance_threshold="100")
        env.sim.complete_installs()
        alerts = env.dp["alerts"]
        assert isinstance(alerts, AlertService)
        await asyncio.gather(watcher_of(env).sweep(env.bot), alerts.account_pass(env.bot))

        pushes = [
            m
            for uid in uids
            for m in env.tg.bot_messages(uid)
            if "Your server is ready" in m.text or "below your threshold" in m.text
        ]
        ready = [m for m in pushes if "Your server is ready" in m.text]
        low = [m for m in pushes if "below your threshold" in m.text]
        assert (len(ready), len(low)) == (USERS, USERS)
        assert most_in_one_second([m.sent_at for m in pushes]) <= MOST_IN_A_SECOND
        assert env.tg.errors == []
