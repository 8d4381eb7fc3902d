"""Repeated "typing…" within Telegram's display window costs no request."""

from __future__ import annotations

import pytest
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendChatAction

from bot.middlewares.chat_action import ChatActionThrottle
from tests.fakes.telegram import FakeTelegram, make_bot


async def test_typing_is_sent_once_per_window_and_chat() -> None:
    now = [100.0]
    async with FakeTelegram() as tg:
        tg.add_user(1)
        tg.add_user(2)
        bot = make_bot(tg)
        bot.session.middleware(ChatActionThrottle(clock=lambda: now[0]))
        try:
            for _ in range(3):
                assert await bot.send_chat_action(1, ChatAction.TYPING) is True
            await bot.send_chat_action(2, ChatAction.TYPING)
            assert len(tg.calls("sendChatAction")) == 2
            now[0] += 5.0
            await bot.send_chat_action(1, ChatAction.TYPING)
            assert len(tg.calls("sendChatAction")) == 3
            await bot.send_message(1, "other methods pass through")
            assert len(tg.calls("sendMessage")) == 1
        finally:
            await bot.session.close()


async def test_typing_refused_by_flood_control_is_not_asked_again_at_once() -> None:
    throttle = ChatActionThrottle(clock=lambda: 100.0)
    requests: list[object] = []

    async def refuse(_bot: object, method: SendChatAction) -> bool:
        requests.append(method)
        raise TelegramRetryAfter(method, "Too Many Requests: retry after 3", 3)

    typing = SendChatAction(chat_id=1, action=ChatAction.TYPING)
    with pytest.raises(TelegramRetryAfter):
        await throttle(refuse, None, typing)  # type: ignore[arg-type]
    assert await throttle(refuse, None, typing) is True  # type: ignore[arg-type]
    assert len(requests) == 1
