"""Loads the user's row, language and decrypted credentials for every update."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, User

from bot.i18n import Translator, TranslatorHub
from bot.inferno.models import Credentials
from bot.storage import Account, Database, DecryptionError

log = logging.getLogger(__name__)


class UserContextMiddleware(BaseMiddleware):
    """Injects ``user_row``, ``i18n`` (a Translator) and ``creds`` (Credentials or None)."""

    def __init__(self, db: Database, hub: TranslatorHub) -> None:
        self._db = db
        self._hub = hub
        # Users whose stored key cannot be decrypted, once logged and told (per process).
        self._unreadable: set[int] = set()

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
        except DecryptionError as exc:
            # The row stays as it is (linking again replaces it); meanwhile the user counts as
            # not linked and is told why, once. Start-up refuses a missing master key, so this
            # is a damaged or tampered row.
            row = await self._db.users.ensure(user.id, language)
            if user.id not in self._unreadable:
                self._unreadable.add(user.id)
                log.warning("user=%s stored API key cannot be used: %s", user.id, exc)
                await self._tell(data, self._hub.get(row.language))
        else:
            if self._unreadable and account is not None:
                self._unreadable.discard(user.id)  # linked again
        data["user_row"] = row
        data["i18n"] = self._hub.get(row.language)
        creds = Credentials(cid=account.cid, key=account.api_key) if account else None
        data["creds"] = creds
        return await handler(event, data)

    @staticmethod
    async def _tell(data: dict[str, Any], i18n: Translator) -> None:
        chat: Chat | None = data.get("event_chat")
        bot: Bot | None = data.get("bot")
        if chat is None or bot is None or chat.type != ChatType.PRIVATE:
            return
        try:
            await bot.send_message(chat.id, i18n("credentials-unreadable"))
        except TelegramAPIError as exc:
            log.info("chat=%s could not be told to link again: %s", chat.id, exc.message)
