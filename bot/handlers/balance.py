"""Balance screen: the account's money, with Refresh."""

from __future__ import annotations

import logging

from aiogram import Bot, F
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.handlers.common import load_or_explain
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import MenuCb, Screen, back_to_menu_button, menu_data, menu_taps
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.models import Balance, Credentials
from bot.ui import show

log = logging.getLogger(__name__)


# Refresh simply opens the screen again: it always shows the provider's current figure.


def money(balance: Balance) -> str:
    """Amount and currency ("12.34 USD"), or the bare amount when the provider names no currency."""
    return f"{balance.amount} {balance.currency}" if balance.currency else balance.amount


async def balance_screen(
    query: CallbackQuery,
    i18n: Translator,
    bot: Bot,
    inferno: InfernoClient,
    account: Credentials,
) -> None:
    # On failure: Retry is the same tap, i.e. this screen again.
    balance = await load_or_explain(
        query, i18n, bot, lambda: inferno.balance(account), log=log, action="balance"
    )
    if balance is None:
        return
    text = i18n("balance-text", cid=str(account.cid), amount=money(balance))
    refresh = InlineKeyboardButton(
        text=i18n("btn-refresh"), callback_data=menu_data(Screen.BALANCE)
    )
    await show(
        query, text, InlineKeyboardMarkup(inline_keyboard=[[refresh], [back_to_menu_button(i18n)]])
    )


def create_linked_area() -> LinkedArea:
    """The balance screen."""
    area = linked_area(__name__, DataPrefix(exact=menu_taps(Screen.BALANCE)))
    router = area.router
    router.callback_query.register(balance_screen, MenuCb.filter(F.screen == Screen.BALANCE))
    return area
