"""Settings → 👥 Accounts: every Inferno account the user may use (their own and those shared
with them), which one is active, adding one (the same linking flows as the first), naming one.

The list and the cards are the user's own view, whatever account the tapped button was drawn
for (:data:`FOLLOWS_ACTIVE`); a card's buttons that change the account are drawn for that
account (:mod:`bot.account_scope`), so they act on it, behind the gate, whatever is active.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.account_scope import drawing_for, names_account
from bot.handlers.callbacks import (
    AccountAction,
    AccountCb,
    AccountsAction,
    AccountsCb,
    JoinCb,
    LinkAction,
    LinkCb,
    MembersCb,
)
from bot.handlers.common import account_name, button, role_name
from bot.handlers.filters import DataPrefix, NotCommand
from bot.handlers.history import HistoryCb
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.menu import draw_menu
from bot.handlers.navigation import MenuBelowCb, Screen, back_to_menu_button, menu_data, menu_taps
from bot.handlers.settings import SettingsAction, SettingsCb
from bot.i18n import Html, Translator
from bot.storage import Database
from bot.storage.accounts import Access, Membership, Role
from bot.ui import show

log = logging.getLogger(__name__)

LABEL_MAX = 32


class AccountStates(StatesGroup):
    label = State()


def valid_label(text: str | None) -> str | None:
    if text is None:
        return None
    label = text.strip()
    if not label or len(label) > LABEL_MAX or "\n" in label:
        return None
    return label


# --- the list and the cards (the user's own view) ----------------------------------------------


async def _active_id(db: Database, user_id: int) -> int | None:
    access = await db.accounts.access(user_id)
    return access.account.id if access is not None else None


def _list_view(
    i18n: Translator, memberships: list[Membership], active: int | None
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [i18n("accounts-title")]
    rows: list[list[InlineKeyboardButton]] = []
    if not memberships:
        lines.append(i18n("accounts-none"))
    for membership in memberships:
        name = account_name(i18n, membership.account)
        lines.append(
            i18n(
                "accounts-line",
                active="yes" if membership.account.id == active else "no",
                account=name,
                role=role_name(i18n, membership.role),
            )
        )
        label = membership.account.label or str(membership.account.cid)
        rows.append(
            [
                button(
                    f"{'✅ ' if membership.account.id == active else ''}{label}",
                    AccountsCb(action=AccountsAction.OPEN, account=membership.account.id),
                )
            ]
        )
    if len(memberships) > 1:
        lines.append("\n" + i18n("accounts-hint"))
    rows.append([button(i18n("accounts-btn-add"), LinkCb(action=LinkAction.OPTIONS))])
    rows.append([button(i18n("btn-back"), menu_data(Screen.SETTINGS)), back_to_menu_button(i18n)])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def accounts_screen(
    query: CallbackQuery, state: FSMContext, i18n: Translator, db: Database
) -> None:
    await state.clear()
    user_id = query.from_user.id
    memberships = await db.accounts.memberships(user_id)
    text, markup = _list_view(i18n, memberships, await _active_id(db, user_id))
    await show(query, text, markup)


async def account_card(
    query: CallbackQuery, callback_data: AccountsCb, i18n: Translator, db: Database
) -> None:
    user_id = query.from_user.id
    memberships = await db.accounts.memberships(user_id)
    found = next((m for m in memberships if m.account.id == callback_data.account), None)
    if found is None:
        await _gone(query, i18n, db)
        return
    await _show_card(query, i18n, found, await _active_id(db, user_id), len(memberships))


async def _show_card(
    event: CallbackQuery | Message,
    i18n: Translator,
    membership: Membership,
    active: int | None,
    accounts: int,
) -> None:
    account = membership.account
    lines = [
        i18n(
            "account-card",
            account=account_name(i18n, account),
            role=role_name(i18n, membership.role),
        )
    ]
    rows: list[list[InlineKeyboardButton]] = []
    if account.id == active:
        lines.append(i18n("account-card-active"))
    else:
        rows.append(
            [
                button(
                    i18n("account-btn-switch"),
                    AccountsCb(action=AccountsAction.SWITCH, account=account.id),
                )
            ]
        )
    rows.append([button(i18n("account-btn-history"), HistoryCb())])
    if membership.role == Role.OWNER:
        rows.append([button(i18n("account-btn-members"), MembersCb())])
        rows.append([button(i18n("account-btn-rename"), AccountCb(action=AccountAction.RENAME))])
        rows.append([button(i18n("settings-btn-unlink"), SettingsCb(action=SettingsAction.UNLINK))])
    rows.append([button(i18n("accounts-btn-back"), AccountsCb()), back_to_menu_button(i18n)])
    # The card's buttons act on the account it shows, whichever is active.
    named = names_account(accounts, membership.role)
    with drawing_for(account.id if named else None, membership.role):
        await show(event, "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))


async def _gone(query: CallbackQuery, i18n: Translator, db: Database) -> None:
    memberships = await db.accounts.memberships(query.from_user.id)
    text, markup = _list_view(i18n, memberships, await _active_id(db, query.from_user.id))
    await show(query, i18n("account-access-lost") + "\n\n" + text, markup)


async def switch_account(
    query: CallbackQuery,
    callback_data: AccountsCb,
    state: FSMContext,
    i18n: Translator,
    db: Database,
) -> None:
    user_id = query.from_user.id
    if not await db.accounts.switch(user_id, callback_data.account):
        await _gone(query, i18n, db)
        return
    # A dialog of the account left behind ends here.
    await state.clear()
    log.info("user=%s action=switch-account account=%s", user_id, callback_data.account)
    access = await db.accounts.access(user_id, callback_data.account)
    if access is None:
        await _gone(query, i18n, db)
        return
    await draw_menu(query, i18n, access, note=i18n("account-switched", account=_name(i18n, access)))


def _name(i18n: Translator, access: Access) -> Html:
    return account_name(i18n, access.account)


# --- changing the account a card was drawn for (behind the gate) -------------------------------


async def rename_asked(
    query: CallbackQuery, state: FSMContext, i18n: Translator, scope: Access
) -> None:
    # Only the owner gets here: the area sits behind the owner's role gate.
    await state.set_state(AccountStates.label)
    await show(
        query,
        i18n("account-ask-label", account=_name(i18n, scope)),
        InlineKeyboardMarkup(inline_keyboard=[[button(i18n("btn-cancel"), AccountsCb())]]),
    )


async def label_entered(
    message: Message, state: FSMContext, i18n: Translator, db: Database, scope: Access
) -> None:
    label = valid_label(message.text)
    if label is None:
        await show(message, i18n("account-label-bad"))
        return
    await db.accounts.set_label(scope.account.id, label)
    await state.clear()
    log.info("user=%s action=rename-account account=%s", scope.user_id, scope.account.id)
    memberships = await db.accounts.memberships(scope.user_id)
    found = next((m for m in memberships if m.account.id == scope.account.id), None)
    if found is None:
        await show(message, i18n("account-access-lost"))
        return
    await message.answer(i18n("account-label-saved", account=account_name(i18n, found.account)))
    await _show_card(message, i18n, found, await _active_id(db, scope.user_id), len(memberships))


# Taps that open the user's own view (the menu, settings, accounts, linking) whatever account
# their button was drawn for: they act on no account but the active one.
FOLLOWS_ACTIVE = DataPrefix(
    AccountsCb,
    JoinCb,
    LinkCb,
    MenuBelowCb,
    "lg",  # the language switch (settings.LanguageCb)
    "nk",  # issuing a new key while linking (start.NewKeyCb)
    exact=menu_taps(Screen.MAIN, Screen.SETTINGS, Screen.HELP),
)


def create_router() -> Router:
    """The list of accounts, a card, and making one active."""
    router = Router(name=__name__)
    router.callback_query.filter(DataPrefix(AccountsCb))
    router.callback_query.register(
        accounts_screen, AccountsCb.filter(F.action == AccountsAction.LIST)
    )
    router.callback_query.register(account_card, AccountsCb.filter(F.action == AccountsAction.OPEN))
    router.callback_query.register(
        switch_account, AccountsCb.filter(F.action == AccountsAction.SWITCH)
    )
    return router


def create_linked_area() -> LinkedArea:
    """Naming the account a card was drawn for."""
    area = linked_area(
        f"{__name__}.manage", DataPrefix(AccountCb), dialogs=[AccountStates], role=Role.OWNER
    )
    area.router.callback_query.register(
        rename_asked, AccountCb.filter(F.action == AccountAction.RENAME)
    )
    area.router.message.register(label_entered, StateFilter(AccountStates.label), NotCommand())
    return area
