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
from aiogram.types import CallbackQuery, TelegramObject, Update

log = logging.getLogger(__name__)


class AnswerTapsMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update) and event.callback_query is not None:
            await answer_tap(event.callback_query)
        return await handler(event, data)


async def answer_tap(query: CallbackQuery) -> None:
    """Stops the tap's spinner. A refusal is only logged: too late to stop it (a tap queued
    while the bot was down, say), the tap itself is still handled."""
    try:
        await query.answer()
    except TelegramAPIError as exc:
        log.info("user=%s tap not answered: %s", query.from_user.id, exc.message)
