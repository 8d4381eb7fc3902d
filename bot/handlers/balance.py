"""Balance screen: the account's money, with Refresh; and how every screen names a currency.

An amount shows the currency its own answer names; else the one the account's balance is kept
in (:meth:`InfernoClient.account_currency`, asked once per account); else the ``CURRENCY``
setting. :func:`currency_for` is that rule (:func:`fallback_currency` for a list of amounts),
:func:`amount_text` writes the result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from aiogram import Bot, F
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Settings
from bot.formatting import format_money
from bot.handlers.common import load_or_explain
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import MenuCb, Screen, back_to_menu_button, menu_data, menu_taps
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.models import Balance, Credentials
from bot.ui import clip, show

log = logging.getLogger(__name__)


# Refresh simply opens the screen again: it always shows the provider's current figure.


def amount_text(amount: str, currency: str | None) -> str:
    """``5.00 USD`` from provider text, each part shortened to what a screen line can hold."""
    return format_money(clip(amount, 24), clip(currency, 10) if currency else None)


def money(balance: Balance, currency: str | None = None) -> str:
    """The balance with the currency its answer names, else ``currency`` (the setting)."""
    return amount_text(balance.amount, balance.currency or currency)


async def currency_for(
    inferno: InfernoClient,
    creds: Credentials | None,
    settings: Settings,
    named: str | None = None,
) -> str:
    """The currency of an amount whose answer names ``named`` (None: names none).

    The balance is asked only when the answer names none and the account's currency is not
    known yet, so call this only for an amount that is going to be shown.
    """
    if named:
        return named
    if creds is not None and (account := await inferno.account_currency(creds)):
        return account
    return settings.currency


class Priced(Protocol):
    """An order, a service: an amount, and the currency its answer names."""

    @property
    def amount(self) -> str | None: ...

    @property
    def currency(self) -> str | None: ...


async def fallback_currency(
    inferno: InfernoClient, creds: Credentials, settings: Settings, items: Iterable[Priced]
) -> str | None:
    """The currency for the amounts among ``items`` whose answers name none; None (and no
    provider call) when every amount names its own."""
    if any(item.amount and not item.currency for item in items):
        return await currency_for(inferno, creds, settings)
    return None


async def balance_screen(
    query: CallbackQuery,
    i18n: Translator,
    bot: Bot,
    inferno: InfernoClient,
    account: Credentials,
    settings: Settings,
) -> None:
    # On failure: Retry is the same tap, i.e. this screen again.
    balance = await load_or_explain(
        query, i18n, bot, lambda: inferno.balance(account), log=log, action="balance"
    )
    if balance is None:
        return
    text = i18n("balance-text", cid=str(account.cid), amount=money(balance, settings.currency))
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
