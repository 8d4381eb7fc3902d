"""The main menu: one message, edited in place as the user navigates."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.account_scope import drawing_for, names_account
from bot.handlers.common import account_name
from bot.handlers.filters import DataPrefix
from bot.handlers.navigation import MenuBelowCb, MenuCb, Screen, main_menu_keyboard, menu_taps
from bot.i18n import Translator
from bot.storage.accounts import Access
from bot.ui import show


def menu_text(i18n: Translator, access: Access | None) -> str:
    if access is None:
        return i18n("menu-title-unlinked")
    return i18n("menu-title", account=account_name(i18n, access.account))


async def draw_menu(
    event: Message | CallbackQuery, i18n: Translator, access: Access | None, note: str = ""
) -> None:
    """The main menu of ``access``'s account (its buttons drawn for it)."""
    text = menu_text(i18n, access)
    named = access is not None and names_account(access.accounts, access.role)
    with drawing_for(
        access.account.id if access is not None and named else None,
        access.role if access is not None else None,
    ):
        await show(event, f"{note}\n\n{text}" if note else text, main_menu_keyboard(i18n))


async def main_menu(
    event: Message | CallbackQuery, state: FSMContext, i18n: Translator, access: Access | None
) -> None:
    await state.clear()
    await show(event, menu_text(i18n, access), main_menu_keyboard(i18n))


async def main_menu_below(
    query: CallbackQuery, state: FSMContext, i18n: Translator, access: Access | None, bot: Bot
) -> None:
    await state.clear()
    await bot.send_message(
        query.from_user.id, menu_text(i18n, access), reply_markup=main_menu_keyboard(i18n)
    )


# The taps this area reads; taps meant for other areas are turned away before any handler here
# is tried.
TAPS = DataPrefix(MenuBelowCb, exact=menu_taps(Screen.MAIN))


def create_router() -> Router:
    """The main menu and /menu."""
    router = Router(name=__name__)
    router.callback_query.filter(TAPS)
    router.callback_query.register(main_menu, MenuCb.filter(F.screen == Screen.MAIN))
    router.message.register(main_menu, Command("menu"))
    router.callback_query.register(main_menu_below, MenuBelowCb.filter())
    return router
