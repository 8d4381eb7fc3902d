"""Every tap is answered first thing, before the database or the provider is asked anything.

The client's spinner stops at once, and a tap whose handling fails — even in a middleware
further in, where aiogram's inner CallbackAnswerMiddleware would never have run — is still
answered. Strangers are answered by the access check before this one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, TelegramObject, Update

from bot.ui import TRANSIENT

log = logging.getLogger(__name__)

# A 5xx or a network error is tried again after these pauses, all within ANSWER_WITHIN seconds:
# Telegram takes an answer only for some 10–15 s after the tap, and the tap's handling waits.
ANSWER_RETRY_PAUSES = (0.2, 0.5)
ANSWER_WITHIN = 5.0


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


async def answer_tap(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Stops the tap's spinner (showing ``text``, as an alert if asked). A refusal is only
    logged: too late to stop it (a tap queued while the bot was down, say), the tap itself is
    still handled. A failure another try may cure is tried again, briefly; if an answer that
    did arrive is sent again, Telegram's "query is too old" ends it."""
    reason = "not answered in time"
    try:
        async with asyncio.timeout(ANSWER_WITHIN):
            for pause in (*ANSWER_RETRY_PAUSES, None):
                try:
                    await query.answer(text, show_alert=alert or None)
                    return
                except TRANSIENT as exc:
                    reason = exc.message if isinstance(exc, TelegramAPIError) else "undecodable"
                except TelegramAPIError as exc:
                    reason = exc.message
                    break
                if pause is None:
                    break
                await asyncio.sleep(pause)
    except TimeoutError:
        pass
    log.info("user=%s tap not answered: %s", query.from_user.id, reason)
