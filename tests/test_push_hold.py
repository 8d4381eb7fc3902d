"""Telegram's ``429 retry_after`` holds every push, not only the one it refused (issue 17): the
process's one pacer keeps a "not before" deadline that every background sender sets on a 429
and honours, so no alert, install message, teammate's copy or notice reaches Telegram before
it. The pacer's clock is a manual one the test moves: nothing here waits for wall time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.services.notices import NoticeSender
from bot.services.pacer import PushPacer
from bot.storage.startup import LINK_AGAIN
from tests.harness import EVERY_PASS_BY_TEST, BotEnv, Production, creds_of, paid_order, running_bot
from tests.storage_helpers import count_unsent, start_watch
from tests.test_alerts import account_pass, alerts_of, later, monitor_pass
from tests.test_flow_members import MATE, OWNER, invite, join
from tests.watch_helpers import force_due, watcher_of

RETRY_AFTER = 30
NOTICE_UID = 7480


class ManualClock:
    """The pacer's clock; its sleep moves the time on instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class SentAt(BaseRequestMiddleware):
    """Records, for every sendMessage Telegram took, the pacer's time it went at."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self.sent: list[tuple[int, float, str]] = []

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        at = self._clock()
        response = await make_request(bot, method)
        if isinstance(method, SendMessage):
            self.sent.append((int(method.chat_id), at, method.text))
        return response


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path,
        production=engines,
        **EVERY_PASS_BY_TEST,
        read_cache_ttl=0.0,
    ) as bot_env:
        yield bot_env


def test_a_hold_sleeps_wait_until_its_deadline_and_a_shorter_one_does_not_cut_it() -> None:
    clock = ManualClock()
    pacer = PushPacer(clock=clock, sleep=clock.sleep)
    pacer.hold(30)
    pacer.hold(5)  # a later, shorter 429 does not let pushes go sooner
    assert pacer.held() == 30
    asyncio.run(pacer.wait())
    assert clock.now >= 1030.0
    assert pacer.held() == 0


async def test_a_429_holds_every_background_sender_until_its_deadline(env: BotEnv) -> None:
    assert env.services is not None and env.bot is not None
    clock = ManualClock()
    pacer = env.services.pacer
    pacer.clock, pacer.sleep = clock, clock.sleep
    recorder = SentAt(clock)
    env.bot.session.middleware(recorder)

    # OWNER's account, shared with MATE; OWNER's install is about to be ready, the balance is
    # below OWNER's threshold, and a notice waits for a user who is not linked.
    customer = await env.linked(OWNER, balance="50.00")
    env.tg.add_user(OWNER, first_name="Olga")
    await join(env, await invite(env, customer, "Operator"))
    await env.first_alert_check(OWNER)  # the check the join starts, before the threshold is set
    order_id = await paid_order(env, customer)
    await env.services.inferno.install(creds_of(customer), order_id, "debian12", [], run=True)
    await start_watch(env.db, OWNER, OWNER, order_id, "install", "debian12")
    env.sim.complete_installs()
    await env.db.alerts.set_prefs(OWNER, low_balance=True, balance_threshold="100")
    env.tg.add_user(NOTICE_UID)
    await env.db._conn.execute(
        "INSERT INTO notices (user_id, kind, created_at) VALUES (?, ?, ?)",
        (NOTICE_UID, LINK_AGAIN, 1.0),
    )
    notices = NoticeSender(env.db, env.services.hub, pacer)
    before = len(recorder.sent)

    # The ready message reaches OWNER; MATE's copy is refused: retry after 30 s.
    env.tg.rate_limit(MATE, retry_after=RETRY_AFTER)
    watcher = watcher_of(env)
    await watcher.sweep(env.bot)
    deadline = clock.now + RETRY_AFTER
    assert [chat for chat, _, _ in recorder.sent[before:]] == [OWNER]
    assert pacer.held() == RETRY_AFTER

    # Every sender runs while the hold lasts: the checks go on, nothing is sent, and each
    # says how long is left.
    held_at = len(recorder.sent)
    later(env, 4000)
    await account_pass(env)  # finds the low balance: queued
    assert await alerts_of(env).deliver(env.bot) == RETRY_AFTER
    await monitor_pass(env)
    assert await notices.deliver(env.bot) == RETRY_AFTER
    assert not await watcher.deliver_team(env.bot)
    await force_due(env.db)
    await watcher.sweep(env.bot)
    clock.now += RETRY_AFTER - 1
    await account_pass(env)
    await monitor_pass(env)
    assert await notices.deliver(env.bot) == 1
    assert recorder.sent[held_at:] == []
    assert await count_unsent(env.db) == 1

    # Once it is over, each waiting push goes, once.
    clock.now += 1
    await alerts_of(env).deliver(env.bot)
    await watcher.sweep(env.bot)
    assert await notices.deliver(env.bot) is None
    after = recorder.sent[held_at:]
    assert sorted(chat for chat, _, _ in after) == sorted([OWNER, MATE, NOTICE_UID])
    assert all(at >= deadline for _, at, _ in after)
    assert await count_unsent(env.db) == 0
    assert [error.status for error in env.tg.errors] == [429]  # the one the test asked for


async def test_the_account_loop_does_not_retry_an_alert_before_retry_after(env: BotEnv) -> None:
    """The account loop wakes every ``ACCOUNT_TICK`` (20 s), sooner than a 30 s wait: its pass
    sends nothing until the hold is over, and asks to be run again when it is."""
    assert env.services is not None and env.bot is not None
    clock = ManualClock()
    pacer = env.services.pacer
    pacer.clock, pacer.sleep = clock, clock.sleep
    recorder = SentAt(clock)
    env.bot.session.middleware(recorder)
    await env.linked(OWNER, balance="5.00")
    await env.db.alerts.set_prefs(OWNER, low_balance=True, balance_threshold="10")
    env.tg.rate_limit(OWNER, retry_after=RETRY_AFTER)
    alerts = alerts_of(env)
    assert await alerts.account_pass(env.bot) == RETRY_AFTER
    clock.now += alerts.account_tick
    assert await alerts.account_pass(env.bot) == RETRY_AFTER - alerts.account_tick
    assert [m for m in env.tg.bot_messages(OWNER) if "below your threshold" in m.text] == []
    clock.now += RETRY_AFTER - alerts.account_tick
    assert await alerts.account_pass(env.bot) is None
    (sent,) = [(chat, at) for chat, at, text in recorder.sent if "below your threshold" in text]
    assert sent == (OWNER, 1000.0 + RETRY_AFTER)
