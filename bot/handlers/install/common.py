"""Screens every step of the install wizard shares."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.handlers.callbacks import InstallMode
from bot.handlers.common import load_or_explain
from bot.handlers.install.keyboards import cancel_button
from bot.handlers.install.wizard import Wizard, load_wizard
from bot.handlers.navigation import back_to_menu
from bot.i18n import Translator
from bot.ui import show

log = logging.getLogger(__name__)

T = TypeVar("T")


async def expired(event: Message | CallbackQuery, i18n: Translator) -> None:
    await show(event, i18n("install-expired"), back_to_menu(i18n))


async def not_own_order(query: CallbackQuery, i18n: Translator, order_id: str) -> None:
    """The order is not (or no longer) one of the user's: nothing is sent for it."""
    log.info("user=%s action=install order=%s result=not-own", query.from_user.id, order_id)
    await show(query, i18n("install-order-not-yours", order=order_id), back_to_menu(i18n))


async def open_wizard(
    event: Message | CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    *,
    clear: bool = False,
) -> Wizard | None:
    """The open wizard, or ``None`` after saying the dialog has expired. With ``clear``, the
    state left behind (a step that waits for typed text) is dropped as well."""
    wizard = await load_wizard(state)
    if wizard is None:
        if clear:
            await state.clear()
        await expired(event, i18n)
    return wizard


async def wizard_load(
    event: Message | CallbackQuery,
    i18n: Translator,
    bot: Bot,
    load: Callable[[], Awaitable[T]],
    retry: str | None = None,
) -> T | None:
    """``load_or_explain`` with the wizard's Cancel beside Retry."""
    return await load_or_explain(
        event,
        i18n,
        bot,
        load,
        log=log,
        action="install-wizard",
        back=(cancel_button(i18n),),
        retry=retry,
    )


def header(i18n: Translator, wizard: Wizard) -> str:
    if wizard.mode is InstallMode.REINSTALL:
        return i18n("install-header-reinstall", order=wizard.order_id, ip=wizard.ip or "")
    return i18n("install-header-install", order=wizard.order_id)
