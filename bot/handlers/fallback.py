"""What nobody else handled: buttons from an older version of the bot or forged data, and
messages no dialog is waiting for.

Neither may be answered with silence: a tap gets a short "expired" notice, a message a hint at
what the bot understands, each with a way back to the menu.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.handlers.navigation import back_to_menu
from bot.i18n import Translator
from bot.ui import show

log = logging.getLogger(__name__)

router = Router(name=__name__)


@router.callback_query()
async def unknown_button(query: CallbackQuery, i18n: Translator) -> None:
    log.info("user=%s action=unknown-button", query.from_user.id)
    await show(query, i18n("expired"), back_to_menu(i18n))


@router.message()
async def unknown_message(message: Message, i18n: Translator) -> None:
    # Only the kind is logged: the text could be anything, a secret pasted too late included.
    command = (message.text or "").startswith("/")
    log.info("user=%s action=unknown-%s", message.chat.id, "command" if command else "message")
    await show(
        message, i18n("unknown-command" if command else "unknown-message"), back_to_menu(i18n)
    )
