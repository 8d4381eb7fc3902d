"""Waits out short flood control and sends the request again.

A 429 means Telegram did nothing, so sending the same request again is safe for every method,
and a user who tapped a little too fast then gets the screen a moment later instead of never.
Only short waits are taken here, once per request, for every caller of the session (the
watcher's and the cleaner's requests too): a longer one, or a second 429, goes to the caller,
and the background services, which know better what can wait, move that work to a later pass.
"typing…" is never waited for: a late hint is worthless, and the wait would hold up the answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendChatAction, TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)

MAX_FLOOD_WAIT = 5.0


class FloodWait(BaseRequestMiddleware):
    def __init__(
        self,
        max_wait: float = MAX_FLOOD_WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._max_wait = max_wait
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            if exc.retry_after > self._max_wait or isinstance(method, SendChatAction):
                raise
            log.info("flood control on %s: waiting %ss", method.__api_method__, exc.retry_after)
            await self._sleep(exc.retry_after)
        return await make_request(bot, method)
