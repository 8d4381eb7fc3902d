"""The install watcher against the simulator and the fake Bot API, through the running bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.inferno.models import ServerInfo
from bot.inferno.simulator import Customer, Server, Simulator
from bot.middlewares.flood_wait import MAX_FLOOD_WAIT
from bot.services.watcher import (
    REINSTALL_SETTLE,
    UNKNOWN_GRACE,
    WATCHER_TASK,
    InstallWatcher,
    status_keyboard,
)
from bot.storage import Watch, WatchIntent, WatchPoll
from tests.harness import PASSWORD, BotEnv, Production, creds_of, paid_order, running_bot
from tests.push_helpers import flood_is_over
from tests.storage_helpers import start_watch, watches_of
from tests.watch_helpers import age_watches, force_due, watcher_of

UID = 5001


async def start_install(env: BotEnv, customer: Customer, kind: str = "install") -> str:
    """A paid order with an install queued at the provider and watched by the bot."""
    assert env.services is not None
    order_id = await paid_order(env, customer)
    await env.services.inferno.install(creds_of(customer), order_id, "debian12", [], run=True)
    await start_watch(env.db, UID, UID, order_id, kind, "debian12")
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


@pytest.fixture
async def quiet_env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """The background loop sleeps for an hour: the test runs sweeps itself, deterministically."""
    async with running_bot(tmp_path, production=engines, watch_interval=3600.0) as env:
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


async def test_restart_mid_install_still_notifies_once(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, sim=Simulator(install_delay=1.0)) as env:
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
    await force_due(env.db)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1


async def test_a_sweep_sleeps_until_the_soonest_watch_due_or_not(
    tmp_path: Path, engines: Production | None
) -> None:
    sim = Simulator(install_delay=3600.0)  # no install finishes during the test
    async with running_bot(tmp_path, production=engines, sim=sim, watch_interval=3600.0) as env:
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
    await force_due(env.db)
    delay = await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert delay is not None and 3590 < delay <= 3600, "the polled watch, one interval on"


async def test_timeout_is_reported_once_and_polling_stops(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(
        tmp_path, production=engines, watch_interval=3600.0, watch_timeout=0.3
    ) as env:
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
    await start_watch(env.db, UID, UID, order_id, "reinstall", "ubuntu2404")
    assert len(await watches_of(env.db, UID)) == 1
    env.sim.complete_installs()
    watcher = watcher_of(env)
    for _ in range(3):
        await force_due(env.db)
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
    await start_watch(env.db, UID, UID, order_id, "reinstall", "ubuntu2404")
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    assert env.services is not None
    await env.services.inferno.reinstall(creds_of(customer), order_id, "ubuntu2404", [], run=True)
    await force_due(env.db)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    env.sim.complete_installs()
    await force_due(env.db)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 2


async def test_hundred_watches_never_exceed_the_concurrency_bound(quiet_env: BotEnv) -> None:
    env = quiet_env
    customer = await env.linked(UID, balance="10000.00")
    for _ in range(100):
        order_id = await paid_order(env, customer)
        await start_watch(env.db, UID, UID, order_id, "install", "debian12")
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
        await age_watches(env.db, 3600)
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
    flood_is_over(env)
    await force_due(env.db)
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
    flood_is_over(env)
    await age_watches(env.db, 3600)
    await force_due(env.db)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    assert not [m for m in env.tg.bot_messages(UID) if "longer than usual" in m.text]
    assert await env.db.watches.open() == []


async def test_flood_control_waits_as_long_as_telegram_asks(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, watch_interval=3600.0) as env:
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


async def test_a_progress_edit_keeps_the_queued_messages_buttons(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(
        tmp_path, production=engines, watch_interval=3600.0, watch_timeout=7200.0
    ) as env:
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
    await age_watches(env.db, 600)
    await force_due(env.db)
    await watcher_of(env).sweep(env.bot)  # type: ignore[arg-type]
    message = env.tg.message(UID, queued.message_id)
    assert message.text != "Install queued", "the progress was written into the message"
    assert [b.text for b in message.buttons()] == [
        b.text for row in status_keyboard(i18n, order_id).inline_keyboard for b in row
    ]
    assert env.tg.errors == []


# --------------------------------------------------------------------------- reinstalls


async def watch_as_confirmed(
    env: BotEnv,
    order_id: str,
    kind: str,
    *,
    before: ServerInfo | None = None,
    accepted: bool = True,
    status_message_id: int | None = None,
) -> Watch:
    """A watch written as the install handler writes it: with the spent confirmation, the
    server as it was just before (for a reinstall), then accepted — or, with
    ``accepted=False``, as a process that died waiting for the provider's answer left it."""
    token = await env.db.confirmations.issue(UID, kind, {"order": order_id, "template": "x"})
    intent = WatchIntent(
        order_id=order_id,
        template="ubuntu2404",
        known_ip=before.ip if before else None,
        password=before.password if before else None,
    )
    started = await env.db.watches.start_confirmed(
        UID,
        token,
        {kind},
        chat_id=UID,
        status_message_id=status_message_id,
        intent=lambda _confirmation: intent,
    )
    assert started is not None
    _, watch = started
    if accepted:
        await env.db.watches.accepted(watch.id)
    return watch


async def installed_server(env: BotEnv, customer: Customer) -> tuple[str, ServerInfo]:
    """A paid order with a finished server, and what ``getinfo`` says of it."""
    assert env.services is not None
    order_id = await paid_order(env, customer)
    await env.services.inferno.install(creds_of(customer), order_id, "debian12", [], run=True)
    env.sim.complete_installs()
    info = await env.services.inferno.get_info(creds_of(customer), order_id)
    assert info.is_ready and info.password
    return order_id, info


def database_bytes(database: Path) -> bytes:
    """The database and its WAL/SHM companions, raw."""
    return b"".join(f.read_bytes() for f in database.parent.glob(f"{database.name}*"))


def sim_server(customer: Customer, order_id: str) -> Server:
    order = customer.order(order_id)
    assert order is not None and order.server is not None
    return order.server


async def test_a_reinstall_finished_while_the_provider_was_unreachable_is_announced_once(
    tmp_path: Path,
    engines: Production | None,
) -> None:
    sim = Simulator(install_delay=3600.0)
    async with running_bot(
        tmp_path, production=engines, sim=sim, watch_interval=3600.0, watch_timeout=600.0
    ) as env:
        assert env.services is not None
        customer = await env.linked(UID)
        order_id, before = await installed_server(env, customer)
        watch = await watch_as_confirmed(env, order_id, "reinstall", before=before)
        assert before.password and watch.password_mac
        stored = database_bytes(env.settings.database_path)
        assert before.password.encode() not in stored, "only a keyed digest is stored"
        await env.services.inferno.reinstall(
            creds_of(customer), order_id, "ubuntu2404", [], run=True
        )
        # The provider is unreachable while the reinstall runs and finishes.
        sim.faults.only_action = "getinfo"
        sim.faults.http_500_next = 1000
        watcher = watcher_of(env)
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
        sim.complete_installs()
        assert sim_server(customer, order_id).password != before.password, "a new password"
        await force_due(env.db)
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
        assert env.tg.bot_messages(UID) == []
        (watch,) = await env.db.watches.open()
        assert watch.failures == 2 and watch.last_state is None, "never seen down"

        sim.faults.clear()
        await force_due(env.db)
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
        assert len(ready_messages(env)) == 1
        (ended,) = await watches_of(env.db, UID)
        assert ended.notified and ended.password_mac is None, "no digest kept once it ended"
        # Past the watch's time: nothing more, no "taking longer than usual".
        await age_watches(env.db, 3600)
        for _ in range(2):
            await force_due(env.db)
            await watcher.sweep(env.bot)  # type: ignore[arg-type]
        assert len(ready_messages(env)) == 1
        assert not [m for m in env.tg.bot_messages(UID) if "longer than usual" in m.text]
        assert env.tg.errors == []


async def test_a_reinstall_without_a_password_to_compare_is_ready_after_a_while(
    tmp_path: Path,
    engines: Production | None,
) -> None:
    sim = Simulator(install_delay=3600.0)
    async with running_bot(
        tmp_path, production=engines, sim=sim, watch_interval=3600.0, watch_timeout=7200.0
    ) as env:
        assert env.services is not None
        customer = await env.linked(UID)
        order_id, before = await installed_server(env, customer)
        # A provider that shows no root password: only the time since it accepted can tell.
        sim_server(customer, order_id).password = ""
        await watch_as_confirmed(env, order_id, "reinstall", before=None)
        await env.services.inferno.reinstall(
            creds_of(customer), order_id, "ubuntu2404", [], run=True
        )
        sim.complete_installs()
        sim_server(customer, order_id).password = ""
        watcher = watcher_of(env)
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
        assert ready_messages(env) == [], "running, as before the reinstall: not yet"
        await age_watches(env.db, REINSTALL_SETTLE)
        await force_due(env.db)
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
        assert len(ready_messages(env)) == 1
        assert before.ip and before.ip in ready_messages(env)[0]


async def test_a_reinstall_whose_answer_never_came_is_found_and_announced(
    quiet_env: BotEnv,
) -> None:
    env = quiet_env
    assert env.services is not None
    customer = await env.linked(UID)
    order_id, before = await installed_server(env, customer)
    await watch_as_confirmed(env, order_id, "reinstall", before=before, accepted=False)
    # The provider carried it out (and, quickly, finished it); the bot died before the answer.
    await env.services.inferno.reinstall(creds_of(customer), order_id, "ubuntu2404", [], run=True)
    env.sim.complete_installs()
    await watcher_of(env).sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    assert await env.db.watches.open() == []
    assert env.tg.errors == []


async def test_a_reinstall_that_never_reached_the_provider_may_not_have_been_sent(
    quiet_env: BotEnv,
) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    order_id, before = await installed_server(env, customer)
    await watch_as_confirmed(env, order_id, "reinstall", before=before, accepted=False)
    watcher = watcher_of(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert env.tg.bot_messages(UID) == [], "the same server, same password: no verdict yet"
    (watch,) = await env.db.watches.open()
    assert watch.outcome_unknown
    await age_watches(env.db, UNKNOWN_GRACE)
    await force_due(env.db)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    (notice,) = env.tg.bot_messages(UID)
    assert "reinstallation of order" in notice.text and "may not have been sent" in notice.text
    assert [b.text for b in notice.buttons()] == ["🖥 Open the server", "🔁 Reinstall again…"]
    assert ready_messages(env) == []
    assert await watches_of(env.db, UID) == []
    assert env.sim.runs["reinstall"] == 0


# --------------------------------------------------------------------------- the status message


async def status_message(env: BotEnv, order_id: str) -> int:
    """A message for the watch to draw into, as the install handler leaves one."""
    assert env.bot is not None and env.services is not None
    i18n = env.services.hub.get("en")
    queued = await env.bot.send_message(
        UID, "Install queued", reply_markup=status_keyboard(i18n, order_id)
    )
    (watch,) = await env.db.watches.open()
    await env.db.watches.set_status_message(watch.id, queued.message_id)
    return queued.message_id


async def test_a_ready_push_held_back_does_not_draw_the_status_again(quiet_env: BotEnv) -> None:
    env = quiet_env
    customer = await env.linked(UID)
    order_id = await start_install(env, customer)
    message_id = await status_message(env, order_id)
    env.sim.complete_installs()
    env.tg.rate_limit(UID, retry_after=int(MAX_FLOOD_WAIT) + 5)  # longer than the session waits
    watcher = watcher_of(env)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    status = env.tg.message(UID, message_id)
    assert "Installation finished" in status.text
    assert ready_messages(env) == []
    edits = status.edit_count

    flood_is_over(env)
    await force_due(env.db)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    assert status.edit_count == edits, "the same screen is not sent again"
    assert [e.method for e in env.tg.errors] == ["sendMessage"]


async def test_a_deleted_status_message_is_let_go_quietly(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(
        tmp_path, production=engines, watch_interval=3600.0, watch_timeout=7200.0
    ) as env:
        await _deleted_status_message_is_let_go(env)


async def _deleted_status_message_is_let_go(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await start_install(env, customer)
    message_id = await status_message(env, order_id)
    env.tg.message(UID, message_id).deleted = True  # the user deleted it
    watcher = watcher_of(env)
    for _ in range(3):
        await age_watches(env.db, 120)
        await force_due(env.db)
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
    edits = [
        r for r in env.tg.calls("editMessageText") if int(r.params["message_id"]) == message_id
    ]
    assert len(edits) == 1, "tried once, then let go"
    (watch,) = await env.db.watches.open()
    assert watch.status_message_id is None
    env.sim.complete_installs()
    await force_due(env.db)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert len(ready_messages(env)) == 1
    assert [e.description for e in env.tg.errors] == ["Bad Request: message to edit not found"]
