"""The main menu: one message, edited in place as the user navigates."""

from __future__ import annotations

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.handlers.area import AreaRouter
from bot.handlers.filters import DataPrefix
from bot.handlers.navigation import MenuBelowCb, MenuCb, Screen, main_menu_keyboard, menu_taps
from bot.i18n import Translator
from bot.inferno.models import Credentials
from bot.ui import show

router = AreaRouter(name=__name__)


def menu_text(i18n: Translator, creds: Credentials | None) -> str:
    if creds is None:
        return i18n("menu-title-unlinked")
    return i18n("menu-title", cid=str(creds.cid))


# Taps meant for other areas are turned away before any handler here is tried.
router.guard_taps(DataPrefix(MenuBelowCb, exact=menu_taps(Screen.MAIN)))


@router.message(Command("menu"))
@router.callback_query(MenuCb.filter(F.screen == Screen.MAIN))
async def main_menu(
    event: Message | CallbackQuery, state: FSMContext, i18n: Translator, creds: Credentials | None
) -> None:
    await state.clear()
    await show(event, menu_text(i18n, creds), main_menu_keyboard(i18n))


@router.callback_query(MenuBelowCb.filter())
async def main_menu_below(
    query: CallbackQuery, state: FSMContext, i18n: Translator, creds: Credentials | None, bot: Bot
) -> None:
    await state.clear()
    await bot.send_message(
        query.from_user.id, menu_text(i18n, creds), reply_markup=main_menu_keyboard(i18n)
    )
