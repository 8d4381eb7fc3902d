"""Demo mode marks every screen, so nobody mistakes the simulator for their real account."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.i18n import MAX_TEXT, fit
from bot.ui import DEMO_MARK


class DemoMarkMiddleware(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if (
            isinstance(method, SendMessage | EditMessageText)
            and method.text is not None
            and not method.text.startswith(DEMO_MARK)
        ):
            # Fitted again: a screen already cut to Telegram's limit must still fit with the mark.
            method.text = DEMO_MARK + fit(method.text, MAX_TEXT - len(DEMO_MARK))
        return await make_request(bot, method)
