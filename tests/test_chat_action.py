"""Repeated "typing…" within Telegram's display window costs no request."""

from __future__ import annotations

from aiogram.enums import ChatAction

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
