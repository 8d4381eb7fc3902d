"""The install watcher against the simulator and the fake Bot API, through the running bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.inferno.simulator import Customer, Simulator
from bot.middlewares.flood_wait import MAX_FLOOD_WAIT
from bot.services.watcher import WATCHER_TASK, InstallWatcher, status_keyboard
from bot.storage import WatchPoll
from tests.harness import PASSWORD, BotEnv, creds_of, paid_order, running_bot
from tests.storage_helpers import watches_of

UID = 5001


async def start_install(env: BotEnv, customer: Customer, kind: str = "install") -> str:
    """A paid order with an install queued at the provider and watched by the bot."""
    assert env.services is not None
    order_id = await paid_order(env, customer)
    await env.services.inferno.install(creds_of(customer), order_id, "debian12", [], run=True)
    await env.db.watches.replace(UID, UID, order_id, kind, "debian12")
    return order_id


def ready_messages(env: BotEnv, uid: int = UID) -> list[str]:
    return [m.text for m in env.tg.bot_messages(uid) if "Your server is ready" in m.text]


async def background_pass_done(env: BotEnv) -> None:
    """The background loop marks a watch notified right after its send: wait for that before
    a test runs sweeps of its own (two sweeps at once never happen outside tests)."""
    for _ in range(100):
        if await env.db.watches.open() == []:
            return
        await asyncio.sleep(0.05)
    assert await env.db.watches.open() == []


def watcher_of(env: BotEnv) -> InstallWatcher:
    assert env.dp is not None
    watcher = env.dp["watcher"]
    assert isinstance(watcher, InstallWatcher)
    return watcher


@pytest.fixture
async def quiet_env(tmp_path: Path) -> AsyncIterator[BotEnv]:
    """The background loop sleeps for an hour: the test runs sweeps itself, deterministically."""
    async with running_bot(tmp_path, watch_interval=3600.0) as env:
        yield env


async def test_ready_message_arrives_once_with_the_ip(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await start_install(env, customer)
    assert env.services is not None
    env.services.background.wake(WATCHER_TASK)

    message = await env.tg.wait_for_bot_message(
        UID, lambda m: "Your server is ready" in m.text, timeout=10
    )
    info = await env.services.inferno.get_info(creds_of(customer), order_id)
    assert info.ip and info.ip in message.text
    assert "debian12" in message.text
    assert {b.text for b in message.buttons()} >= {"🖥 Open server", "🔑 Show root password"}
    await background_pass_done(env)
    # Later passes stay silent: the watch is closed.
    for _ in range(3):
        await watcher_of(env).sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    assert await env.db.watches.open() == []
    assert env.tg.errors == []


async def test_restart_mid_install_still_notifies_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, sim=Simulator(install_delay=1.0)) as env:
        customer = await env.linked(UID)
        await start_install(env, customer)
        await env.restart()
        await env.tg.wait_for(lambda: len(ready_messages(env)) == 1, timeout=10)
        await background_pass_done(env)
        await watcher_of(env).sweep(env.bot)  # type: ignore[arg-type]
        assert len(ready_messages(env)) == 1


async def test_provider_errors_back_off_then_recover(quiet_env: BotEnv) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    await start_install(env, customer)
    env.sim.complete_installs()
    env.sim.faults.http_500_next = 100
    watcher = watcher_of(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    [watch] = await env.db.watches.open()
    assert watch.failures == 1
    assert ready_messages(env) == []
    assert env.tg.bot_messages(UID) == []  # the provider being down is not the user's problem

    env.sim.faults.http_500_next = 0
    # Backoff: not due yet, so a pass does not even ask the provider.
    calls = env.sim.calls["getinfo"]
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert env.sim.calls["getinfo"] == calls
    await force_due(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1


async def force_due(env: BotEnv) -> None:
    await env.db.watches.update_progress_many(
        [WatchPoll(w.id, w.last_state, w.failures, 0) for w in await env.db.watches.open()]
    )


async def age_watches(env: BotEnv, seconds: float) -> None:
    """Every open watch as if started ``seconds`` earlier (past the watch timeout, say)."""
    await env.db._conn.execute("UPDATE watches SET started_at = started_at - ?", (seconds,))


async def test_a_sweep_sleeps_until_the_soonest_watch_due_or_not(tmp_path: Path) -> None:
    sim = Simulator(install_delay=3600.0)  # no install finishes during the test
    async with running_bot(tmp_path, sim=sim, watch_interval=3600.0) as env:
        await _sweep_sleeps_until_the_soonest_watch(env)


async def _sweep_sleeps_until_the_soonest_watch(env: BotEnv) -> None:
    customer = await env.linked(UID)
    watcher = watcher_of(env)
    assert await watcher.sweep(env.bot) is None  # type: ignore[arg-type]
    await start_install(env, customer)
    [later] = await env.db.watches.open()
    await env.db.watches.update_progress_many([WatchPoll(later.id, None, 0, time.time() + 100)])
    await start_install(env, customer)
    assert await watcher.count() == 2
    delay = await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert delay is not None and 90 < delay <= 100, "the watch not due in this pass comes first"
    await env.db.watches.delete(later.id)
    await force_due(env)
    delay = await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert delay is not None and 3590 < delay <= 3600, "the polled watch, one interval on"


async def test_timeout_is_reported_once_and_polling_stops(tmp_path: Path) -> None:
    async with running_bot(tmp_path, watch_interval=3600.0, watch_timeout=0.3) as env:
        customer = await env.linked(UID)
        await start_install(env, customer)
        # Wait past the timeout without asserting on time: poll the clock the watcher uses.
        [watch] = await env.db.watches.open()
        await env.tg.wait_for(lambda: time.time() - watch.started_at > 0.3, timeout=5)
        watcher = watcher_of(env)
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
        texts = [m.text for m in env.tg.bot_messages(UID)]
        assert len([t for t in texts if "longer than usual" in t]) == 1
        assert await env.db.watches.open() == []
        assert env.tg.last_bot_message(UID).buttons()[0].text == "🔄 Refresh"


async def test_unlinked_user_watch_is_dropped(quiet_env: BotEnv) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    await start_install(env, customer)
    await env.db.users.unlink(UID)
    env.sim.reset_counters()
    await watcher_of(env).sweep(env.bot)  # type: ignore[arg-type]
    assert env.sim.calls["getinfo"] == 0
    assert await env.db.watches.open() == []
    assert env.tg.bot_messages(UID) == []


async def test_revoked_key_is_reported_once_and_dropped(quiet_env: BotEnv) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    await start_install(env, customer)
    assert env.services is not None
    await env.services.inferno.get_api_key(customer.email, PASSWORD, generate=True)
    watcher = watcher_of(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    texts = [m.text for m in env.tg.bot_messages(UID)]
    assert len([t for t in texts if "no longer accepts your API key" in t]) == 1
    assert await watches_of(env.db, UID) == []


async def test_blocked_user_is_dropped_silently(quiet_env: BotEnv) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    await start_install(env, customer)
    env.sim.complete_installs()
    env.tg.block(UID)
    await watcher_of(env).sweep(env.bot)  # type: ignore[arg-type]
    assert await watches_of(env.db, UID) == []
    assert [e for e in env.tg.errors if e.method == "sendMessage"]


async def test_flood_control_waits_then_sends(quiet_env: BotEnv) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    await start_install(env, customer)
    env.sim.complete_installs()
    env.tg.rate_limit(UID, retry_after=1, times=1)
    await watcher_of(env).sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    assert [e for e in env.tg.errors if e.method == "sendMessage"]


async def test_second_install_replaces_the_watch(quiet_env: BotEnv) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    order_id = await start_install(env, customer)
    await env.db.watches.replace(UID, UID, order_id, "reinstall", "ubuntu2404")
    assert len(await watches_of(env.db, UID)) == 1
    env.sim.complete_installs()
    watcher = watcher_of(env)
    for _ in range(3):
        await force_due(env)
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) <= 1


async def test_reinstall_is_not_ready_until_seen_installing(quiet_env: BotEnv) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    order_id = await start_install(env, customer)
    env.sim.complete_installs()
    watcher = watcher_of(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1

    # A reinstall watch on a running server: the old, running state is not "ready".
    await env.db.watches.replace(UID, UID, order_id, "reinstall", "ubuntu2404")
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    assert env.services is not None
    await env.services.inferno.reinstall(creds_of(customer), order_id, "ubuntu2404", [], run=True)
    await force_due(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    env.sim.complete_installs()
    await force_due(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 2


async def test_hundred_watches_never_exceed_the_concurrency_bound(quiet_env: BotEnv) -> None:
    env = quiet_env
    customer = await env.linked(UID, balance="10000.00")
    for _ in range(100):
        order_id = await paid_order(env, customer)
        await env.db.watches.replace(UID, UID, order_id, "install", "debian12")
    env.sim.reset_counters()
    env.sim.faults.latency = 0.02
    await watcher_of(env).sweep(env.bot)  # type: ignore[arg-type]
    assert env.sim.calls["getinfo"] == 100
    assert 2 <= env.sim.peak_in_flight <= env.settings.watch_concurrency


@pytest.mark.parametrize("message", ["ready", "timeout", "key rejected"])
async def test_flood_control_keeps_every_message_for_a_later_pass(
    quiet_env: BotEnv, message: str
) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    env.sim.install_delay = 3600.0  # ready only when the test says so
    await start_install(env, customer)
    expected = {
        "ready": "Your server is ready",
        "timeout": "longer than usual",
        "key rejected": "no longer accepts your API key",
    }[message]
    if message == "ready":
        env.sim.complete_installs()
    elif message == "timeout":
        await age_watches(env, 3600)
    else:
        assert env.services is not None
        await env.services.inferno.get_api_key(customer.email, PASSWORD, generate=True)
    # The session waits out one 429 (FloodWait); the second is the watcher's to handle.
    env.tg.rate_limit(UID, retry_after=1, times=2)
    watcher = watcher_of(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]

    assert not [m for m in env.tg.bot_messages(UID) if expected in m.text]
    (watch,) = await env.db.watches.open()
    assert watch.failures == 0, "flood control is not the provider's failure"
    await force_due(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len([m for m in env.tg.bot_messages(UID) if expected in m.text]) == 1
    assert await env.db.watches.open() == []


async def test_a_ready_message_held_back_past_the_timeout_still_says_ready(
    quiet_env: BotEnv,
) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    await start_install(env, customer)
    env.sim.complete_installs()
    env.tg.rate_limit(UID, retry_after=int(MAX_FLOOD_WAIT) + 5)  # longer than the session waits
    watcher = watcher_of(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert ready_messages(env) == []
    await age_watches(env, 3600)
    await force_due(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    assert not [m for m in env.tg.bot_messages(UID) if "longer than usual" in m.text]
    assert await env.db.watches.open() == []


async def test_flood_control_waits_as_long_as_telegram_asks(tmp_path: Path) -> None:
    async with running_bot(tmp_path, watch_interval=3600.0) as env:
        customer = await env.linked(UID)
        await start_install(env, customer)
        env.sim.complete_installs()
        assert env.services is not None
        # Polls every second: only retry_after can push the next pass further out.
        watcher = InstallWatcher(
            db=env.db,
            inferno=env.services.inferno,
            hub=env.services.hub,
            interval=1.0,
            timeout=60.0,
            concurrency=4,
        )
        retry_after = int(MAX_FLOOD_WAIT) + 5
        env.tg.rate_limit(UID, retry_after=retry_after)
        before = time.time()
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
        (watch,) = await env.db.watches.open()
        assert watch.next_poll_at >= before + retry_after
        assert watch.failures == 0


async def test_a_progress_edit_keeps_the_queued_messages_buttons(tmp_path: Path) -> None:
    async with running_bot(tmp_path, watch_interval=3600.0, watch_timeout=7200.0) as env:
        await _progress_edit_keeps_the_buttons(env)


async def _progress_edit_keeps_the_buttons(env: BotEnv) -> None:
    assert env.bot is not None and env.services is not None
    customer = await env.linked(UID)
    order_id = await start_install(env, customer)
    (watch,) = await env.db.watches.open()
    i18n = env.services.hub.get("en")
    queued = await env.bot.send_message(
        UID, "Install queued", reply_markup=status_keyboard(i18n, order_id)
    )
    await env.db.watches.set_status_message(watch.id, queued.message_id)
    await age_watches(env, 600)
    await force_due(env)
    await watcher_of(env).sweep(env.bot)  # type: ignore[arg-type]
    message = env.tg.message(UID, queued.message_id)
    assert message.text != "Install queued", "the progress was written into the message"
    assert [b.text for b in message.buttons()] == [
        b.text for row in status_keyboard(i18n, order_id).inline_keyboard for b in row
    ]
    assert env.tg.errors == []
