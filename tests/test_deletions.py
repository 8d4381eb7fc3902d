"""DeletionScheduler against the fake Bot API, with a clock the test controls."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot

from bot.services.deletions import REDACTED, DeletionScheduler
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, running_bot

UID = 7301


class Clock:
    """Far in the future, so the running bot's own cleaner (real time) never sees these rows
    as due and the test alone decides when they are."""

    def __init__(self) -> None:
        self.now = time.time() + 10_000_000

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(tmp_path, production=engines) as bot_env:
        bot_env.tg.add_user(UID)
        yield bot_env


def bot_of(env: BotEnv) -> Bot:
    assert env.bot is not None
    return env.bot


async def bot_message(env: BotEnv, text: str = "secret") -> FakeMessage:
    sent = await bot_of(env).send_message(UID, text)
    return env.tg.message(UID, sent.message_id)


async def test_nothing_scheduled_means_no_wakeup(env: BotEnv) -> None:
    scheduler = DeletionScheduler(env.db, clock=Clock())
    assert await scheduler.run_due(bot_of(env)) is None


async def test_due_messages_are_deleted_and_the_next_one_is_waited_for(env: BotEnv) -> None:
    clock = Clock()
    scheduler = DeletionScheduler(env.db, clock=clock)
    first, second = await bot_message(env), await bot_message(env)
    await scheduler.schedule(UID, first.message_id, 10)
    await scheduler.schedule(UID, second.message_id, 30)

    assert await scheduler.run_due(bot_of(env)) == pytest.approx(10)
    assert not first.deleted and not second.deleted

    clock.now += 10
    assert await scheduler.run_due(bot_of(env)) == pytest.approx(20)
    assert first.deleted and not second.deleted

    clock.now += 25
    assert await scheduler.run_due(bot_of(env)) is None
    assert second.deleted
    assert env.tg.errors == []


async def test_flood_control_holds_back_the_whole_pass(env: BotEnv) -> None:
    clock = Clock()
    scheduler = DeletionScheduler(env.db, clock=clock)
    first, second = await bot_message(env), await bot_message(env)
    await scheduler.schedule(UID, first.message_id, 0)
    await scheduler.schedule(UID, second.message_id, 0)
    env.tg.rate_limit_deletes(UID, retry_after=30)
    assert await scheduler.run_due(bot_of(env)) == pytest.approx(30)
    assert not first.deleted and not second.deleted
    assert [r.method for r in env.tg.requests].count("deleteMessage") == 1, "no second try"
    clock.now += 30
    assert await scheduler.run_due(bot_of(env)) is None
    assert first.deleted and second.deleted


async def test_gone_and_undeletable_messages_are_dropped(env: BotEnv) -> None:
    clock = Clock()
    scheduler = DeletionScheduler(env.db, clock=clock)
    stuck = await bot_message(env)
    await scheduler.schedule(UID, 999_999, 0)  # never existed
    await scheduler.schedule(UID, stuck.message_id, 0)
    env.tg.fail_delete(UID)  # "message can't be deleted"

    assert await scheduler.run_due(bot_of(env)) is None
    assert await env.db.deletions.next_due_at() is None
    # It could not be deleted, but the secret is gone from it.
    assert not stuck.deleted
    assert stuck.text == REDACTED
    assert [e.method for e in env.tg.errors] == ["deleteMessage", "deleteMessage"]


async def test_rows_outlive_the_scheduler(env: BotEnv) -> None:
    clock = Clock()
    message = await bot_message(env)
    await DeletionScheduler(env.db, clock=clock).schedule(UID, message.message_id, 5)
    clock.now += 6
    # A new scheduler (as after a restart) finds the row in the database.
    assert await DeletionScheduler(env.db, clock=clock).run_due(bot_of(env)) is None
    assert message.deleted
