"""Sends "typing…" at most once per chat in Telegram's display window.

A chat action stays visible for about five seconds, so repeating it sooner only costs a request
(the benchmark measured one per menu tap). Handlers keep calling ``bot.ui.typing`` before each
provider call; this session middleware answers the redundant ones itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import SendChatAction, TelegramMethod
from aiogram.methods.base import Response, TelegramType

ACTION_VISIBLE_FOR = 4.0
_PRUNE_AT = 10_000


class ChatActionThrottle(BaseRequestMiddleware):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sent: dict[tuple[int | str, str], float] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        action = method if isinstance(method, SendChatAction) else None
        if action is None or action.message_thread_id is not None:
            return await make_request(bot, method)
        now = self._clock()
        key = (action.chat_id, str(action.action))
        if now - self._sent.get(key, -ACTION_VISIBLE_FOR) < ACTION_VISIBLE_FOR:
            # The session hands the method's result up the chain (True for sendChatAction),
            # despite the Response annotation on the middleware interface.
            return cast(Response[TelegramType], True)
        if len(self._sent) >= _PRUNE_AT:
            self._sent = {k: t for k, t in self._sent.items() if now - t < ACTION_VISIBLE_FOR}
        # Counted before the request: one refused (flood control, say) is not asked again at
        # once either, and for a cosmetic hint that is no loss.
        self._sent[key] = now
        return await make_request(bot, method)
