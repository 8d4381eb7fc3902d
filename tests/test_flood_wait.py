"""Short flood control is waited out and the request sent again; long waits go to the caller."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendChatAction, SendMessage

from bot.middlewares.flood_wait import MAX_FLOOD_WAIT, FloodWait
from tests.harness import BotEnv

UID = 3301
METHOD = SendMessage(chat_id=UID, text="hi")


class Telegram:
    """Answers 429 with the given waits, then True."""

    def __init__(self, *waits: int) -> None:
        self.waits = list(waits)
        self.requests = 0

    async def __call__(self, _bot: Bot, method: Any) -> Any:
        self.requests += 1
        if self.waits:
            raise TelegramRetryAfter(method, "Too Many Requests", self.waits.pop(0))
        return True


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


async def test_a_short_wait_is_waited_out_and_the_request_sent_again() -> None:
    telegram, sleeps = Telegram(2), Sleeps()
    assert await FloodWait(sleep=sleeps)(telegram, None, METHOD) is True  # type: ignore[arg-type]
    assert (telegram.requests, sleeps) == (2, [2])


@pytest.mark.parametrize("waits", [(int(MAX_FLOOD_WAIT) + 1,), (1, 1)])
async def test_a_long_wait_or_a_second_429_goes_to_the_caller(waits: tuple[int, ...]) -> None:
    telegram, sleeps = Telegram(*waits), Sleeps()
    with pytest.raises(TelegramRetryAfter):
        await FloodWait(sleep=sleeps)(telegram, None, METHOD)  # type: ignore[arg-type]
    assert telegram.requests == len(sleeps) + 1


async def test_a_rate_limited_reply_still_arrives(env: BotEnv) -> None:
    await env.link(UID, env.customer())
    env.tg.rate_limit(UID, retry_after=1)
    menu = await env.command(UID, "/menu")
    assert menu.button("My servers")
    assert [e.method for e in env.tg.errors] == ["sendMessage"]


@pytest.mark.parametrize(
    ("retry_after", "times"),
    [(int(MAX_FLOOD_WAIT) + 1, 1), (1, 2)],
    ids=["longer than the session waits", "a second 429 after the wait"],
)
async def test_flood_control_the_session_cannot_wait_out_is_logged_not_traced(
    env: BotEnv, caplog: pytest.LogCaptureFixture, retry_after: int, times: int
) -> None:
    await env.link(UID, env.customer())
    env.tg.rate_limit(UID, retry_after=retry_after, times=times)
    await env.tg.send_command(UID, "/menu")
    await env.settle()
    # Nothing more is sent into the limit: a notice would only be refused as well.
    assert [e.method for e in env.tg.errors] == ["sendMessage"] * times
    assert env.tg.bot_messages(UID) == []
    assert any("flood control" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info or "unexpected" in r.getMessage()]


async def test_typing_is_never_waited_for() -> None:
    telegram, sleeps = Telegram(1), Sleeps()
    typing = SendChatAction(chat_id=UID, action="typing")
    with pytest.raises(TelegramRetryAfter):
        await FloodWait(sleep=sleeps)(telegram, None, typing)  # type: ignore[arg-type]
    assert (telegram.requests, sleeps) == (1, [])
