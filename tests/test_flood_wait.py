"""Short flood control is waited out and the request sent again; long waits go to the caller."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendMessage

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


async def test_flood_control_longer_than_the_wait_is_told_not_traced(
    env: BotEnv, caplog: pytest.LogCaptureFixture
) -> None:
    await env.link(UID, env.customer())
    env.tg.rate_limit(UID, retry_after=1, times=2)  # the session's wait and one more
    notice = await env.command(UID, "/menu")
    assert "slow down" in notice.text and "1 s" in notice.text
    assert notice.button("Main menu")
    assert not [r for r in caplog.records if r.exc_info or "unexpected" in r.getMessage()]
