"""Demo mode marks every screen, so nobody mistakes the simulator for their real account."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType

DEMO_MARK = "🧪 <b>DEMO</b>\n"


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
            method.text = DEMO_MARK + method.text
        return await make_request(bot, method)


def strip_demo_mark(text: str) -> str:
    return text.removeprefix(DEMO_MARK)


__all__ = ["DEMO_MARK", "DemoMarkMiddleware", "strip_demo_mark"]
