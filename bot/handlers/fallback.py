"""Taps nobody else handled: buttons from an older version of the bot, or forged data.

A button must never answer with silence, so these get a short "expired" notice and a way back.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.handlers.navigation import back_to_menu
from bot.i18n import Translator
from bot.ui import show

log = logging.getLogger(__name__)

router = Router(name=__name__)


@router.callback_query()
async def unknown_button(query: CallbackQuery, i18n: Translator) -> None:
    log.info("user=%s action=unknown-button", query.from_user.id)
    await show(query, i18n("expired"), back_to_menu(i18n))
