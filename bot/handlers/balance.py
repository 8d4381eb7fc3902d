"""Balance screen: the account's money, with Refresh."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.handlers.navigation import MenuCb, Screen, back_to_menu, back_to_menu_button
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError
from bot.inferno.models import Balance, Credentials
from bot.ui import provider_error_text, show, typing

log = logging.getLogger(__name__)

router = Router(name=__name__)

# Refresh and Retry simply open the screen again: it always shows the provider's current figure.
_REFRESH_DATA = MenuCb(screen=Screen.BALANCE).pack()


def money(balance: Balance) -> str:
    """Amount and currency ("12.34 USD"), or the bare amount when the provider names no currency."""
    return f"{balance.amount} {balance.currency}" if balance.currency else balance.amount


def balance_keyboard(i18n: Translator, label: str) -> InlineKeyboardMarkup:
    again = InlineKeyboardButton(text=label, callback_data=_REFRESH_DATA)
    return InlineKeyboardMarkup(inline_keyboard=[[again], [back_to_menu_button(i18n)]])


@router.callback_query(MenuCb.filter(F.screen == Screen.BALANCE))
async def balance_screen(
    query: CallbackQuery,
    i18n: Translator,
    bot: Bot,
    inferno: InfernoClient,
    creds: Credentials | None,
) -> None:
    if creds is None:
        await show(query, i18n("not-linked"), back_to_menu(i18n))
        return
    await typing(bot, query.from_user.id)
    try:
        balance = await inferno.balance(creds)
    except InfernoError as exc:
        log.info("user=%s action=balance result=%s", query.from_user.id, type(exc).__name__)
        await show(query, provider_error_text(i18n, exc), balance_keyboard(i18n, i18n("btn-retry")))
        return
    text = i18n("balance-text", cid=str(creds.cid), amount=money(balance))
    await show(query, text, balance_keyboard(i18n, i18n("btn-refresh")))
