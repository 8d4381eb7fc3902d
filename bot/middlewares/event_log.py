"""One log line per update: who, what kind, which action — never what the user typed.

Typed text can be an API key or a password (secret-entry steps), so for messages only the name
of one of the bot's own commands is logged (a password may well start with "/"); for taps only
the callback prefix (the rest may carry tokens or ids).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

log = logging.getLogger("bot.events")


def describe(update: Update, commands: frozenset[str]) -> tuple[str, str]:
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return "tap", data.split(":", 1)[0] or "-"
    if update.message is not None:
        text = update.message.text or ""
        if text.startswith("/"):
            words = text[1:].split(maxsplit=1)
            name = words[0].split("@")[0] if words else ""
            return "command", f"/{name}" if name in commands else "unknown"
        return "message", "-"
    return update.event_type, "-"


class EventLogMiddleware(BaseMiddleware):
    def __init__(self, commands: frozenset[str]) -> None:
        self._commands = commands

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        user = data.get("event_from_user")
        kind, action = describe(event, self._commands)
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
