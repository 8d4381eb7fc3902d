"""Handlers flagged ``user_lock`` run under the user's lock (``bot.services.locks.UserLocks``).

A screen that leads to a confirmed action is drawn under the same lock as the action itself: a
slow second tap on its button then draws before a Confirm tap can act, never over the action's
result ("Order created", say), and never hands out a question for an action already done. The
dispatcher registers it once; a handler asks for the lock with ``flags={USER_LOCK: True}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import TelegramObject, User

from bot.services.locks import UserLocks

USER_LOCK = "user_lock"


class UserLockMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not get_flag(data, USER_LOCK):
            return await handler(event, data)
        locks: UserLocks = data["locks"]
        async with locks.hold(user.id):
            return await handler(event, data)
