"""The main menu: one message, edited in place as the user navigates."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.handlers.filters import DataPrefix
from bot.handlers.navigation import MenuBelowCb, MenuCb, Screen, main_menu_keyboard, menu_taps
from bot.i18n import Translator
from bot.inferno.models import Credentials
from bot.ui import show


def menu_text(i18n: Translator, creds: Credentials | None) -> str:
    if creds is None:
        return i18n("menu-title-unlinked")
    return i18n("menu-title", cid=str(creds.cid))


async def main_menu(
    event: Message | CallbackQuery, state: FSMContext, i18n: Translator, creds: Credentials | None
) -> None:
    await state.clear()
    await show(event, menu_text(i18n, creds), main_menu_keyboard(i18n))


async def main_menu_below(
    query: CallbackQuery, state: FSMContext, i18n: Translator, creds: Credentials | None, bot: Bot
) -> None:
    await state.clear()
    await bot.send_message(
        query.from_user.id, menu_text(i18n, creds), reply_markup=main_menu_keyboard(i18n)
    )


def create_router() -> Router:
    """The main menu and /menu."""
    router = Router(name=__name__)
    # Taps meant for other areas are turned away before any handler here is tried.
    router.callback_query.filter(DataPrefix(MenuBelowCb, exact=menu_taps(Screen.MAIN)))
    router.callback_query.register(main_menu, MenuCb.filter(F.screen == Screen.MAIN))
    router.message.register(main_menu, Command("menu"))
    router.callback_query.register(main_menu_below, MenuBelowCb.filter())
    return router
