"""Callback data shared by every area: the main-menu screens and the "back to menu" button."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator, per_locale


class Screen(StrEnum):
    MAIN = "main"
    SERVERS = "srv"
    BUY = "buy"
    ORDERS = "ord"
    SERVICES = "svc"
    KEYS = "keys"
    BALANCE = "bal"
    SETTINGS = "set"
    HELP = "help"


class MenuCb(CallbackData, prefix="m"):
    screen: Screen


class MenuBelowCb(CallbackData, prefix="mb"):
    """The main menu in a new message, from a notice that must stay as it is (the install
    progress message the watcher keeps editing)."""


def menu_data(screen: Screen) -> str:
    return _MENU_DATA[screen]


def menu_taps(*screens: Screen) -> tuple[str, ...]:
    """The packed data of these screens' menu buttons, for an area's ``DataPrefix(exact=…)``."""
    return tuple(_MENU_DATA[screen] for screen in screens)


_MENU_DATA = {screen: MenuCb(screen=screen).pack() for screen in Screen}

# Two buttons a row, the last one alone.
_MAIN_MENU_LAYOUT = (
    ((Screen.SERVERS, "btn-servers"), (Screen.BUY, "btn-buy")),
    ((Screen.ORDERS, "btn-orders"), (Screen.KEYS, "btn-keys")),
    ((Screen.BALANCE, "btn-balance"), (Screen.SETTINGS, "btn-settings")),
    ((Screen.HELP, "btn-help"),),
)


@per_locale
def back_to_menu_button(i18n: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=i18n("btn-menu"), callback_data=_MENU_DATA[Screen.MAIN])


@per_locale
def menu_below_button(i18n: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=i18n("btn-menu"), callback_data=MenuBelowCb().pack())


@per_locale
def back_to_menu(i18n: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[back_to_menu_button(i18n)]])


@per_locale
def main_menu_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    # Built directly: InlineKeyboardBuilder deep-copies every button on each one it adds.
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=i18n(key), callback_data=_MENU_DATA[screen])
                for screen, key in row
            ]
            for row in _MAIN_MENU_LAYOUT
        ]
    )
