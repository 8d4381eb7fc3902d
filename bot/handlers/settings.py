"""Settings: language switch, the linked account, and unlinking it (also /logout)."""

from __future__ import annotations

import logging
from enum import StrEnum

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers.callbacks import AccountsCb
from bot.handlers.common import (
    account_name,
    button,
    link_button,
    role_name,
    spend_confirmation,
    user_id_of,
)
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import (
    MenuCb,
    Screen,
    back_to_menu,
    back_to_menu_button,
    menu_data,
    menu_taps,
)
from bot.handlers.notifications import open_button as notifications_button
from bot.i18n import Translator, TranslatorHub
from bot.inferno.models import Credentials
from bot.services.locks import UserLocks
from bot.storage import Database
from bot.storage.accounts import Access, Role
from bot.ui import show

log = logging.getLogger(__name__)


UNLINK_ACTION = "unlink"


class Language(StrEnum):
    RU = "ru"
    EN = "en"


class LanguageCb(CallbackData, prefix="lg"):
    lang: Language


class SettingsAction(StrEnum):
    UNLINK = "u"
    UNLINK_CONFIRM = "y"


class SettingsCb(CallbackData, prefix="st"):
    action: SettingsAction
    # The one-shot confirmation token of UNLINK_CONFIRM.
    token: str = ""


def settings_text(i18n: Translator, access: Access | None) -> str:
    lines = [i18n("settings-title"), i18n("settings-language", language=i18n("settings-lang-name"))]
    if access is None:
        lines.append(i18n("settings-account-none"))
    elif access.role == Role.OWNER:
        lines.append(
            i18n("settings-account", cid=str(access.account.cid), masked=access.masked_key)
        )
    else:
        # A member never sees any part of the owner's key.
        lines.append(
            i18n(
                "settings-account-shared",
                cid=str(access.account.cid),
                role=role_name(i18n, access.role),
            )
        )
    return "\n".join(lines)


def settings_keyboard(i18n: Translator, access: Access | None) -> InlineKeyboardMarkup:
    creds = access
    languages = []
    for language, label in (
        (Language.RU, i18n("settings-btn-ru")),
        (Language.EN, i18n("settings-btn-en")),
    ):
        text = i18n("settings-btn-current", name=label) if language.value == i18n.locale else label
        languages.append(
            InlineKeyboardButton(text=text, callback_data=LanguageCb(lang=language).pack())
        )
    account = (
        link_button(i18n)
        if creds is None
        else InlineKeyboardButton(
            text=i18n("settings-btn-unlink"),
            callback_data=SettingsCb(action=SettingsAction.UNLINK).pack(),
        )
    )
    accounts = button(i18n("settings-btn-accounts"), AccountsCb())
    rows = [languages, [accounts], [account], [back_to_menu_button(i18n)]]
    if creds is not None:
        rows.insert(1, [notifications_button(i18n)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def settings_screen(query: CallbackQuery, i18n: Translator, access: Access | None) -> None:
    await show(query, settings_text(i18n, access), settings_keyboard(i18n, access))


async def switch_language(
    query: CallbackQuery,
    callback_data: LanguageCb,
    db: Database,
    hub: TranslatorHub,
    access: Access | None,
) -> None:
    await db.users.set_language(query.from_user.id, callback_data.lang.value)
    log.info("user=%s action=language result=%s", query.from_user.id, callback_data.lang.value)
    # The middleware picked the translator before the switch; redraw with the new one at once.
    i18n = hub.get(callback_data.lang.value)
    await show(query, settings_text(i18n, access), settings_keyboard(i18n, access))


async def _ask_unlink(
    event: Message | CallbackQuery,
    user_id: int,
    i18n: Translator,
    db: Database,
    account: Credentials,
    scope: Access,
) -> None:
    # Bound to this account: linking another one in between voids the button.
    token = await db.confirmations.issue(user_id, UNLINK_ACTION, {"cid": account.cid})
    yes = InlineKeyboardButton(
        text=i18n("settings-btn-unlink-confirm"),
        callback_data=SettingsCb(action=SettingsAction.UNLINK_CONFIRM, token=token).pack(),
    )
    no = InlineKeyboardButton(text=i18n("btn-no"), callback_data=menu_data(Screen.SETTINGS))
    # A member's "unlink" gives up their own access only; the owner's unlinks it for everyone.
    question = (
        i18n("settings-unlink-confirm", cid=str(account.cid))
        if scope.role == Role.OWNER
        else i18n("settings-leave-confirm", account=account_name(i18n, scope.account))
    )
    await show(event, question, InlineKeyboardMarkup(inline_keyboard=[[yes], [no]]))


async def unlink_asked(
    query: CallbackQuery, i18n: Translator, db: Database, account: Credentials, scope: Access
) -> None:
    await _ask_unlink(query, query.from_user.id, i18n, db, account, scope)


async def logout_command(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    db: Database,
    account: Credentials,
    scope: Access,
) -> None:
    await state.clear()
    await _ask_unlink(message, user_id_of(message), i18n, db, account, scope)


async def unlink_confirmed(
    query: CallbackQuery,
    callback_data: SettingsCb,
    state: FSMContext,
    i18n: Translator,
    db: Database,
    locks: UserLocks,
    creds: Credentials | None,
    access: Access | None,
) -> None:
    user_id = query.from_user.id
    async with locks.hold(user_id):
        # Outside the gate: an old copy of this button, tapped once the account is gone, says
        # it expired like any used confirmation.
        if (
            creds is None
            or access is None
            or (
                await spend_confirmation(db, user_id, callback_data.token, UNLINK_ACTION, creds)
                is None
            )
        ):
            await show(query, i18n("expired"), back_to_menu(i18n))
            return
        # The account the button was drawn for: its key, memberships and watches (or, for a
        # member, their access), the user's FSM state and pending confirmations, at once.
        await db.users.unlink(user_id, access.account.id)
        # The dialog store may not be the database (Redis with REDIS_URL): clear it here too.
        await state.clear()
        await db.actions.record(user_id, UNLINK_ACTION, None, "ok")
    log.info("user=%s action=unlink result=ok", user_id)
    await show(query, i18n("settings-unlinked"), back_to_menu(i18n))


def create_router() -> Router:
    """The settings screen, the language switch and the confirmed unlink."""
    router = Router(name=__name__)
    # Taps meant for other areas are turned away before any handler here is tried.
    router.callback_query.filter(
        DataPrefix(LanguageCb, SettingsCb, exact=menu_taps(Screen.SETTINGS))
    )
    router.callback_query.register(settings_screen, MenuCb.filter(F.screen == Screen.SETTINGS))
    router.callback_query.register(switch_language, LanguageCb.filter())
    router.callback_query.register(
        unlink_confirmed, SettingsCb.filter(F.action == SettingsAction.UNLINK_CONFIRM)
    )
    return router


def create_linked_area() -> LinkedArea:
    """Asking to unlink the account: the Unlink button and /logout."""
    area = linked_area(f"{__name__}.unlink", DataPrefix(SettingsCb), commands=["logout"])
    area.router.callback_query.register(
        unlink_asked, SettingsCb.filter(F.action == SettingsAction.UNLINK)
    )
    area.router.message.register(logout_command, Command("logout"))
    return area
