"""Last line of defence: nobody sees a traceback, everybody gets a way back to the menu."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import ErrorEvent, User

from bot.handlers.navigation import back_to_menu
from bot.i18n import Translator, TranslatorHub, fit
from bot.inferno.errors import InfernoError
from bot.ui import provider_error_text

log = logging.getLogger(__name__)


async def on_error(
    event: ErrorEvent,
    bot: Bot,
    hub: TranslatorHub,
    event_from_user: User | None = None,
    **data: Any,
) -> None:
    update = event.update
    user_id = event_from_user.id if event_from_user else None
    i18n: Translator = data.get("i18n") or hub.get(None)
    exc = event.exception
    if isinstance(exc, InfernoError):
        log.warning("user=%s provider error %s: %s", user_id, type(exc).__name__, exc)
        text = provider_error_text(i18n, exc)
    elif isinstance(exc, TelegramForbiddenError):
        log.info("user=%s blocked the bot", user_id)
        return
    elif isinstance(exc, TelegramRetryAfter):
        # Longer than the session waits by itself (FloodWait): not a bug, nothing to trace, and
        # a notice now would only run into the same limit.
        log.warning("user=%s flood control: retry after %ss", user_id, exc.retry_after)
        return
    else:
        log.error(
            "user=%s unexpected error in update %s: %r",
            user_id,
            update.update_id,
            exc,
            exc_info=exc,
        )
        text = i18n("error-unexpected")
    if user_id is None:
        return
    try:
        await bot.send_message(user_id, fit(text), reply_markup=back_to_menu(i18n))
    except TelegramAPIError as send_error:
        log.warning("user=%s error notice not delivered: %s", user_id, send_error.message)


def create_router() -> Router:
    """The error handler, included last."""
    router = Router(name=__name__)
    router.errors.register(on_error)
    return router
