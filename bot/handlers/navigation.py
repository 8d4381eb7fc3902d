"""Callback data shared by every area: the main-menu screens and the "back to menu" button."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import Translator


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


def back_to_menu_button(i18n: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=i18n("btn-menu"), callback_data=MenuCb(screen=Screen.MAIN).pack()
    )


def back_to_menu(i18n: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[back_to_menu_button(i18n)]])


def main_menu_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for screen, key in (
        (Screen.SERVERS, "btn-servers"),
        (Screen.BUY, "btn-buy"),
        (Screen.ORDERS, "btn-orders"),
        (Screen.KEYS, "btn-keys"),
        (Screen.BALANCE, "btn-balance"),
        (Screen.SETTINGS, "btn-settings"),
        (Screen.HELP, "btn-help"),
    ):
        builder.button(text=i18n(key), callback_data=MenuCb(screen=screen))
    builder.adjust(2, 2, 2, 1)
    return builder.as_markup()
