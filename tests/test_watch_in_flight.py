"""While an install call waits for the provider, no replica's watcher touches its watch.

The install handler of one replica writes the watch (outcome unknown) and sends ``run=1``; the
provider's answer is held. The leader may be another replica: a second watcher over the same
database (a second connection to the SQLite file, or a second pool on PostgreSQL), as another
replica's. It must leave the watch alone until the call ended, or it would draw its own
findings into the status message before the handler's "queued" screen. A replica that dies
mid-call leaves the watch to the others once the call can no longer be waiting.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.handlers.callbacks import InstallMode, InstallStartCb
from bot.inferno.simulator import Simulator
from bot.services.watcher import InstallWatcher
from bot.storage import Database
from tests.harness import BotEnv, Production, paid_order, running_bot
from tests.storage_helpers import watches_of
from tests.watch_helpers import force_due, woken_pass_done

UID = 7001


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """Installs take an hour and the watcher's own passes are an hour apart: the test runs the
    passes of the other replica's watcher itself."""
    async with running_bot(
        tmp_path,
        sim=Simulator(install_delay=3600.0),
        production=engines,
        watch_interval=3600.0,
        watch_timeout=7200.0,
        # Long enough for the held answer: the call must still be waiting when the test looks.
        inferno_timeout=30.0,
    ) as bot_env:
        yield bot_env


async def second_database(env: BotEnv) -> Database:
    """The same storage, opened again as another replica (or another process) would."""
    assert env.services is not None
    keyring = env.services.db.keyring
    if env.production is not None:
        return await Database.open_url(env.production.postgres_url, keyring)
    return await Database.open(env.settings.database_path, keyring)


def other_watcher(env: BotEnv, db: Database, *, ahead: float = 0.0) -> InstallWatcher:
    """Another replica's watcher; ``ahead``: its clock runs that many seconds later."""
    assert env.services is not None
    return InstallWatcher(
        db=db,
        inferno=env.services.inferno,
        hub=env.services.hub,
        interval=3600.0,
        timeout=7200.0,
        concurrency=2,
        clock=lambda: time.time() + ahead,
        call_timeout=env.settings.inferno_connect_timeout + env.settings.inferno_timeout,
    )


@pytest.mark.production
async def test_no_watcher_touches_a_watch_while_its_install_call_waits(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    menu = await env.command(UID, "/menu")
    await env.forge(
        UID, InstallStartCb(order_id=order_id, mode=InstallMode.INSTALL).pack(), menu.message_id
    )
    await env.tap(UID, "Debian 12")
    summary = await env.tap(UID, "without a key")
    other_db = await second_database(env)
    try:
        other = other_watcher(env, other_db)
        env.sim.faults.hold("install")
        await env.tg.tap_button(UID, "Install", message_id=summary.message_id)
        await env.tg.wait_for(lambda: env.sim.held == 1, message="the provider to hold its answer")
        (watch,) = await watches_of(other_db, UID)
        assert watch.outcome_unknown and watch.busy_until is not None
        shown = env.tg.message(UID, summary.message_id).text

        # The other replica's pass leaves it alone: no provider call, nothing drawn.
        polled = env.sim.calls["getinfo"]
        next_pass = await other.sweep(env.bot)  # type: ignore[arg-type]
        assert env.sim.calls["getinfo"] == polled
        assert env.tg.message(UID, summary.message_id).text == shown
        # ... and looks again no later than when the call can no longer be waiting.
        assert next_pass is not None and next_pass <= watch.busy_until - time.time() + 1.0

        # Had the handler's replica died, a pass after that time looks into it.
        late = other_watcher(env, other_db, ahead=watch.busy_until - time.time() + 1.0)
        await late.sweep(env.bot)  # type: ignore[arg-type]
        assert env.sim.calls["getinfo"] == polled + 1

        env.sim.faults.release_held()
        await env.settle()
        await woken_pass_done(env)  # the handler's own replica looks once it is done
        (watch,) = await watches_of(other_db, UID)
        assert watch.busy_until is None and not watch.outcome_unknown
        assert "Installation queued" in env.tg.message(UID, summary.message_id).text
        # The call ended: the other replica's passes follow the watch again.
        await force_due(other_db)
        polled = env.sim.calls["getinfo"]
        await other.sweep(env.bot)  # type: ignore[arg-type]
        assert env.sim.calls["getinfo"] == polled + 1
        assert env.sim.runs["install"] == 1
        assert env.tg.errors == []
    finally:
        await other_db.close()
