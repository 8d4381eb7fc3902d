"""Every tap is answered first thing, before the database or the provider is asked anything.

The client's spinner stops at once, and a tap whose handling fails — even in a middleware
further in, where aiogram's inner CallbackAnswerMiddleware would never have run — is still
answered. Strangers are answered by the access check before this one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update

log = logging.getLogger(__name__)


class AnswerTapsMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update) and event.callback_query is not None:
            query = event.callback_query
            try:
                await query.answer()
            except TelegramAPIError as exc:
                # Too late to stop the spinner (a tap queued while the bot was down, say):
                # the tap itself is still handled.
                log.info("user=%s tap not answered: %s", query.from_user.id, exc.message)
        return await handler(event, data)
