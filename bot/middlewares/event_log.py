"""One log line per update: who, what kind, which action — never what the user typed.

Typed text can be an API key or a password (secret-entry steps), so for messages only a
command name is logged; for taps only the callback prefix (the rest may carry tokens or ids).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

log = logging.getLogger("bot.events")


def describe(update: Update) -> tuple[str, str]:
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return "tap", data.split(":", 1)[0] or "-"
    if update.message is not None:
        text = update.message.text or ""
        if text.startswith("/"):
            return "command", text.split()[0].split("@")[0][:32]
        return "message", "-"
    return update.event_type, "-"


class EventLogMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        user = data.get("event_from_user")
        kind, action = describe(event)
        started = time.monotonic()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "ok"
            return result
        finally:
            log.info(
                "user=%s event=%s action=%s result=%s %.0fms",
                user.id if user else "-",
                kind,
                action,
                outcome,
                (time.monotonic() - started) * 1000,
            )
