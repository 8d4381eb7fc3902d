"""Strangers cannot guess credentials through the bot: failed link attempts are limited per user
and across all users, the provider never receives more than the limits allow (counted at the
simulator), and the limits survive a restart."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.handlers.start import link_limits, wait_text
from bot.i18n import TranslatorHub
from bot.storage import LinkAttempt
from bot.storage.startup import open_storage
from tests import harness
from tests.harness import PASSWORD, BotEnv, Production, running_bot
from tests.test_flow_link import (
    all_bot_text,
    assert_not_linked,
    begin_email_link,
    begin_key_link,
    command,
    say,
    tap,
)

UID = 521
WRONG_KEY = "wrong-key-" + "x" * 20


class Clock:
    """The database's clock, moved on by the test instead of waiting minutes."""

    def __init__(self) -> None:
        self.now = 2_000_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    # The harness opens the database on every (re)start; each open gets this clock.
    monkeypatch.setattr(harness, "open_storage", functools.partial(open_storage, clock=clock))
    return clock


@pytest.fixture
async def env(tmp_path: Path, clock: Clock, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(tmp_path, production=engines) as bot_env:
        yield bot_env


def balance_calls(env: BotEnv) -> int:
    return env.sim.calls["balance"]


async def test_one_user_hammering_wrong_keys_reaches_the_provider_five_times(
    env: BotEnv, clock: Clock
) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    # Few enough messages for Telegram's burst allowance of the chat: no flood wait.
    for attempt in range(1, 8):
        await say(env, UID, f"{WRONG_KEY}{attempt}")
        reply = env.tg.last_bot_message(UID).text
        if attempt < 5:
            assert "rejected this key" in reply and "try again in" not in reply, attempt
        elif attempt == 5:
            assert "rejected this key" in reply and "try again in 1 minute." in reply
        else:
            assert "Too many failed attempts" in reply and "Nothing was sent" in reply
            assert "1 minute" in reply
    assert balance_calls(env) == 5

    # A restart forgets nothing: still waiting, still no request.
    await env.restart()
    await say(env, UID, WRONG_KEY)
    assert "Too many failed attempts" in env.tg.last_bot_message(UID).text
    # Even the right key waits: nobody learns whether a guess was right while waiting.
    await say(env, UID, customer.key)
    assert "Too many failed attempts" in env.tg.last_bot_message(UID).text
    assert balance_calls(env) == 5
    await assert_not_linked(env, UID)

    # After the minute one more try goes through; failing again doubles the wait.
    clock.now += 30
    await say(env, UID, WRONG_KEY)
    assert "try again in 30 seconds" in env.tg.last_bot_message(UID).text
    clock.now += 30
    await say(env, UID, WRONG_KEY)
    assert "try again in 2 minutes." in env.tg.last_bot_message(UID).text
    assert balance_calls(env) == 6
    # Starting the dialog over tells the user at once, before anything secret is typed.
    await command(env, UID, "/start")
    await tap(env, UID, "Client id + API key")
    assert "try again in 2 minutes" in env.tg.last_bot_message(UID).text
    clock.now += 120
    await begin_key_link(env, UID, customer.cid)
    await say(env, UID, customer.key)
    assert "is linked" in env.tg.last_bot_message(UID).text
    await env.first_alert_check(UID)
    assert balance_calls(env) == 8  # the link's check, then the alerts' first account check
    assert customer.key not in all_bot_text(env, UID)
    assert env.tg.errors == []


async def test_key_password_and_new_key_failures_count_together(env: BotEnv, clock: Clock) -> None:
    customer = env.customer(email="anna@example.com")
    old_key = customer.key
    await begin_key_link(env, UID, customer.cid)
    await say(env, UID, WRONG_KEY)
    await say(env, UID, WRONG_KEY)
    await begin_email_link(env, UID, customer.email)
    await say(env, UID, "not-the-password")
    await say(env, UID, customer.email)
    await say(env, UID, "still-not-it")
    await command(env, UID, "/start")
    await tap(env, UID, "Issue a new API key")
    await tap(env, UID, "Yes, revoke")
    await say(env, UID, customer.email)
    await say(env, UID, "wrong-again")
    reply = env.tg.last_bot_message(UID).text
    assert "No new key was issued" in reply and "try again in 1 minute" in reply
    assert balance_calls(env) + env.sim.calls["getApiKey"] == 5
    # Every way in now waits, without a request.
    for way in ("Client id + API key", "Email + password", "Issue a new API key"):
        await command(env, UID, "/start")
        await tap(env, UID, way)
        assert "Too many failed attempts" in env.tg.last_bot_message(UID).text, way
    assert balance_calls(env) + env.sim.calls["getApiKey"] == 5
    assert customer.key == old_key
    assert env.tg.errors == []


async def test_a_confirmed_new_key_waits_without_spending_the_confirmation(
    env: BotEnv, clock: Clock
) -> None:
    customer = env.customer(email="anna@example.com")
    await command(env, UID, "/start")
    await tap(env, UID, "Issue a new API key")
    await tap(env, UID, "Yes, revoke")
    await say(env, UID, customer.email)
    # Meanwhile twenty other users fail within the minute.
    limits = link_limits(env.settings)
    for uid in range(900, 920):
        attempt = await env.db.link_attempts.begin(uid, limits)
        assert isinstance(attempt, LinkAttempt)
        await env.db.link_attempts.failed(attempt, limits)
    await say(env, UID, PASSWORD)
    assert "from all its users" in env.tg.last_bot_message(UID).text
    assert env.sim.calls["getApiKey"] == 0
    # The confirmation was not spent: after the minute the password goes through.
    clock.now += 60
    await say(env, UID, PASSWORD)
    assert "is linked" in env.tg.last_bot_message(UID).text
    assert env.sim.calls["getApiKey"] == 1
    assert env.tg.errors == []


async def test_many_users_hammering_at_once_reach_the_provider_twenty_times_a_minute(
    env: BotEnv, clock: Clock
) -> None:
    customer = env.customer()
    users = list(range(700, 730))
    for uid in users:
        await begin_key_link(env, uid, customer.cid)
    # All thirty keys at once, each check slow enough for them all to be under way together.
    env.sim.faults.latency = 0.3
    for uid in users:
        await env.tg.send_text(uid, f"{WRONG_KEY}{uid}")
    await env.settle(timeout=30)
    assert balance_calls(env) == 20
    replies = [env.tg.last_bot_message(uid).text for uid in users]
    assert sum("rejected this key" in text for text in replies) == 20
    told = [text for text in replies if "from all its users" in text]
    assert len(told) == 10 and all("try again in 1 minute" in text for text in told)

    # A newcomer waits too, also after a restart: the minute is not over.
    await env.restart()
    env.sim.faults.latency = 0.0
    await command(env, 800, "/start")
    await tap(env, 800, "Client id + API key")
    assert "from all its users" in env.tg.last_bot_message(800).text
    # And one who was already on the key step is refused there.
    await say(env, 701, customer.key)
    assert "from all its users" in env.tg.last_bot_message(701).text
    assert balance_calls(env) == 20
    clock.now += 60
    await begin_key_link(env, 800, customer.cid)
    await say(env, 800, customer.key)
    assert "is linked" in env.tg.last_bot_message(800).text
    await env.first_alert_check(800)
    assert balance_calls(env) == 22  # the link's check, then the alerts' first account check
    assert env.tg.errors == []


async def test_a_provider_outage_is_not_a_failed_attempt(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    env.sim.faults.http_500_next = 1000
    env.sim.faults.only_action = "balance"
    for _ in range(6):
        sent = await env.tg.send_text(UID, customer.key)
        reply = await env.tg.wait_for_bot_message(UID, after=sent.message_id)
        await env.settle()
        assert "not answering" in reply.text and "Too many" not in reply.text
    env.sim.faults.http_500_next = 0
    await say(env, UID, customer.key)
    assert "is linked" in env.tg.last_bot_message(UID).text
    assert env.tg.errors == []


@pytest.mark.parametrize(
    ("seconds", "en", "ru"),
    [
        (1, "1 second", "1 секунду"),
        (3, "3 seconds", "3 секунды"),
        (11, "11 seconds", "11 секунд"),
        (21.2, "22 seconds", "22 секунды"),
        (59.5, "1 minute", "1 минуту"),
        (120, "2 minutes", "2 минуты"),
        (300, "5 minutes", "5 минут"),
        (21 * 60, "21 minutes", "21 минуту"),
        (3600, "1 hour", "1 час"),
        (2 * 3600 + 60, "2 hours 1 minute", "2 часа 1 минуту"),
        (5 * 3600 + 25 * 60, "5 hours 25 minutes", "5 часов 25 минут"),
        (86_400, "24 hours", "24 часа"),
    ],
)
def test_the_wait_in_words(seconds: float, en: str, ru: str) -> None:
    hub = TranslatorHub(default_locale="en", strict=True)
    assert wait_text(hub.get("en"), seconds) == en
    assert wait_text(hub.get("ru"), seconds) == ru


async def test_the_wait_is_told_in_russian(env: BotEnv) -> None:
    customer = env.customer()
    await command(env, UID, "/start", language_code="ru")
    await tap(env, UID, "Номер клиента")
    await say(env, UID, str(customer.cid), language_code="ru")
    for _ in range(6):
        await say(env, UID, WRONG_KEY, language_code="ru")
    assert "через 1 минуту" in env.tg.last_bot_message(UID).text
    assert balance_calls(env) == 5
