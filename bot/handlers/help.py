"""Help: what the bot does, how to link, the IP whitelist, and what is stored (privacy)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.handlers.common import link_button
from bot.handlers.filters import DataPrefix
from bot.handlers.navigation import MenuCb, Screen, back_to_menu_button, menu_taps
from bot.i18n import Translator
from bot.inferno.models import Credentials
from bot.ui import show


def help_text(i18n: Translator) -> str:
    return "\n\n".join(
        (
            i18n("help-intro"),
            i18n("help-link"),
            i18n("help-whitelist"),
            i18n("help-privacy"),
            i18n("help-commands"),
        )
    )


def help_keyboard(i18n: Translator, creds: Credentials | None) -> InlineKeyboardMarkup:
    rows = [[link_button(i18n)]] if creds is None else []
    rows.append([back_to_menu_button(i18n)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def help_screen(
    event: Message | CallbackQuery, i18n: Translator, creds: Credentials | None
) -> None:
    await show(event, help_text(i18n), help_keyboard(i18n, creds))


# The taps this area reads; taps meant for other areas are turned away before any handler here
# is tried.
TAPS = DataPrefix(exact=menu_taps(Screen.HELP))


def create_router() -> Router:
    """The help screen and /help."""
    router = Router(name=__name__)
    router.callback_query.filter(TAPS)
    router.callback_query.register(help_screen, MenuCb.filter(F.screen == Screen.HELP))
    router.message.register(help_screen, Command("help"))
    return router
