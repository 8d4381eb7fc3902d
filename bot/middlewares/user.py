"""Loads the user's row, language and decrypted credentials for every update."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import Chat, TelegramObject, Update, User

from bot.account_scope import Drawing, Guarded, drawing, names_account, split
from bot.i18n import Translator, TranslatorHub
from bot.inferno.models import Credentials
from bot.storage import Database, DecryptionError
from bot.storage.accounts import Access
from bot.storage.history import acting_as

log = logging.getLogger(__name__)

# The FSM data key of the account a dialog was started on.
DIALOG_ACCOUNT = "_account"


class UserContextMiddleware(BaseMiddleware):
    """Injects ``user_row``, ``i18n`` (a Translator), ``creds`` (Credentials or None),
    ``access`` (the user's :class:`Access` to the account the update acts on, or None) and
    ``refusal`` (the locale key of why a tap gets no account, or None).

    The account an update acts on (see :mod:`bot.account_scope`): the one a tapped button was
    drawn for, the one a dialog was started on, else the user's active account. Taps that
    ``follows_active`` accepts (the menu, settings, accounts, linking) always open the active
    one. The access is asked for on every update (from memory on SQLite, where every change
    of a membership or an account forgets it): a member whose access was revoked or lowered is
    refused on their very next tap, old buttons included.
    """

    def __init__(
        self,
        db: Database,
        hub: TranslatorHub,
        follows_active: Callable[[str], bool] = lambda data: False,
        guarded: Guarded = (),
    ) -> None:
        self._db = db
        self._hub = hub
        self._follows_active = follows_active
        # The taps each role above the viewer's needs: what a member's screens leave out.
        self._guarded = guarded
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
        query = event.callback_query if isinstance(event, Update) else None
        state: FSMContext | None = data.get("state")
        named: int | None = None
        personal = False
        if query is not None and query.data is not None:
            named, rest = split(query.data)
            if named is not None:
                # Routers see the data as the area packed it.
                assert isinstance(event, Update)
                query = query.model_copy(update={"data": rest})
                event = event.model_copy(update={"callback_query": query})
            personal = self._follows_active(rest)
        elif query is None and state is not None and data.get("raw_state") is not None:
            named = (await state.get_data()).get(DIALOG_ACCOUNT)
        wanted = None if personal else named
        access: Access | None = None
        refusal: str | None = None
        try:
            row, access = await self._db.users.ensure_with_access(user.id, language, wanted)
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
            if self._unreadable and access is not None:
                self._unreadable.discard(user.id)  # linked again
        if access is None and wanted is not None:
            refusal = "account-access-lost"
            log.info("user=%s account=%s action=refused reason=no-access", user.id, wanted)
        elif (
            query is not None
            and access is not None
            and named is None
            and not personal
            and names_account(access.accounts, access.role)
        ):
            # A plain button, drawn before the user had several accounts (a member's buttons
            # always name the account): which one it meant is not known, so it acts on none.
            access, refusal = None, "expired"
        data["user_row"] = row
        data["i18n"] = self._hub.get(row.language)
        data["creds"] = Credentials(cid=access.account.cid, key=access.api_key) if access else None
        data["access"] = access
        data["refusal"] = refusal
        drawn_for = (
            access.account.id
            if access is not None and names_account(access.accounts, access.role)
            else None
        )
        role = access.role if access is not None else None
        acted_on = access.account.id if access is not None else None
        with (
            drawing(Drawing(drawn_for, role, self._guarded)),
            acting_as(acted_on, user.full_name),
        ):
            result = await handler(event, data)
        # A dialog goes on with the account it was started on, whatever the user switches to
        # meanwhile.
        if (
            drawn_for is not None
            and state is not None
            and await state.get_state() is not None
            and (await state.get_data()).get(DIALOG_ACCOUNT) != drawn_for
        ):
            await state.update_data({DIALOG_ACCOUNT: drawn_for})
        return result

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
