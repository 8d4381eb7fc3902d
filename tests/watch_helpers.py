"""Moving install watches through time, for the watcher and install-flow tests.

The watcher's clock is the wall clock; instead of waiting minutes, a test moves a watch's
times back (as if it had started earlier) or makes it due now, with plain SQL on the bot's
own connection. None of this belongs in the product.
"""

from __future__ import annotations

import asyncio
import time

from bot.services.watcher import InstallWatcher
from bot.storage import Database, WatchPoll
from tests.harness import BotEnv


async def age_watches(db: Database, seconds: float) -> None:
    """Every open watch as if started, accepted and last edited ``seconds`` earlier."""
    await db._conn.execute(
        "UPDATE watches SET started_at = started_at - ?, accepted_at = accepted_at - ?, "
        "last_edit_at = last_edit_at - ?",
        (seconds, seconds, seconds),
    )


async def force_due(db: Database) -> None:
    """Every open watch due now, its other progress kept."""
    await db.watches.update_progress_many(
        [WatchPoll(w.id, w.last_state, w.failures, 0) for w in await db.watches.open()]
    )


def watcher_of(env: BotEnv) -> InstallWatcher:
    assert env.dp is not None
    watcher = env.dp["watcher"]
    assert isinstance(watcher, InstallWatcher)
    return watcher


async def woken_pass_done(env: BotEnv) -> None:
    """The install handler wakes the watcher; with an hour's interval, the pass it starts
    leaves every open watch due an hour later. Wait for that before a test runs its own
    sweeps (two sweeps at once never happen outside tests)."""

    async def settled() -> bool:
        watches = await env.db.watches.open()
        return bool(watches) and all(w.next_poll_at > time.time() + 600 for w in watches)

    for _ in range(200):
        if await settled():
            return
        await asyncio.sleep(0.05)
    assert await settled(), "the woken watcher pass did not finish"
