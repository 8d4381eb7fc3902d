"""Loads the user's row, language and decrypted credentials for every update."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.i18n import TranslatorHub
from bot.inferno.models import Credentials
from bot.storage import Account, Database, DecryptionError

log = logging.getLogger(__name__)


class UserContextMiddleware(BaseMiddleware):
    """Injects ``user_row``, ``i18n`` (a Translator) and ``creds`` (Credentials or None)."""

    def __init__(self, db: Database, hub: TranslatorHub) -> None:
        self._db = db
        self._hub = hub

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return await handler(event, data)
        language = self._hub.pick_locale(user.language_code)
        account: Account | None = None
        try:
            row, account = await self._db.users.ensure_with_account(user.id, language)
        except DecryptionError:
            # A row we cannot decrypt (lost key file, tampering) must not lock the user out:
            # they can link again. Logged without any secret.
            log.exception("user=%s stored credentials could not be decrypted", user.id)
            row = await self._db.users.ensure(user.id, language)
        data["user_row"] = row
        data["i18n"] = self._hub.get(row.language)
        creds = Credentials(cid=account.cid, key=account.api_key) if account else None
        data["creds"] = creds
        return await handler(event, data)
