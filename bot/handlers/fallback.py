"""What nobody else handled: buttons from an older version of the bot or forged data, and
messages no dialog is waiting for.

Neither may be answered with silence: a tap gets a short "expired" notice, a message a hint at
what the bot understands, each with a way back to the menu. A message that looks like a password
or an API key (sent after its dialog was left) is deleted first: secrets do not stay in the chat.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.enums import ChatMemberStatus
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from bot.handlers.common import delete_secret, looks_like_credential
from bot.handlers.navigation import back_to_menu
from bot.i18n import Translator
from bot.ui import show

log = logging.getLogger(__name__)


async def membership_changed(event: ChatMemberUpdated) -> None:
    # Only private chats get here (the bot leaves groups in AccessMiddleware). Handling the
    # update at all is what makes aiogram ask Telegram for it.
    blocked = event.new_chat_member.status == ChatMemberStatus.KICKED
    log.info("user=%s action=%s", event.chat.id, "blocked-bot" if blocked else "unblocked-bot")


async def unknown_button(query: CallbackQuery, i18n: Translator) -> None:
    log.info("user=%s action=unknown-button", query.from_user.id)
    await show(query, i18n("expired"), back_to_menu(i18n))


async def unknown_message(message: Message, i18n: Translator) -> None:
    # Only the kind is logged: the text could be anything, a secret pasted too late included.
    text = message.text or ""
    if looks_like_credential(text):
        # When Telegram refuses, the request to delete it carries the way back instead.
        notice = i18n("unknown-secret-deleted")
        deleted = await delete_secret(message, i18n, back_to_menu(i18n), then=notice)
        log.info("user=%s action=unknown-message secret-like deleted=%s", message.chat.id, deleted)
        return
    command = text.startswith("/")
    log.info("user=%s action=unknown-%s", message.chat.id, "command" if command else "message")
    await show(
        message, i18n("unknown-command" if command else "unknown-message"), back_to_menu(i18n)
    )


def create_router() -> Router:
    """Whatever no other area took: included after every area."""
    router = Router(name=__name__)
    router.my_chat_member.register(membership_changed)
    router.callback_query.register(unknown_button)
    router.message.register(unknown_message)
    return router
