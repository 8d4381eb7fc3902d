"""A message the user edits: only a secret in it is dealt with.

Telegram sends an edit as an ``edited_message`` update, and only when the bot asks for that
kind, which handling it here does. The bot answered the message as first sent, so an edit never
moves a dialog on; but a message edited into a password, an API key or a private key would stay
in the chat, so it is deleted by the same rule as such a paste. Only private chats get here
(AccessMiddleware).
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.handlers.common import delete_secret, looks_like_credential, user_id_of
from bot.handlers.sshkeys import refuse_private_key
from bot.handlers.start import LinkStates
from bot.i18n import Translator
from bot.services.sshkey_format import looks_like_private_key

log = logging.getLogger(__name__)

# At these steps the next message is a password: any one word this long may be it.
_PASSWORD_STEPS = frozenset({LinkStates.email.state, LinkStates.password.state})
_PASSWORD_MIN = 6


def holds_secret(text: str, step: str | None) -> bool:
    """A pasted secret outside a dialog (the whole text looks like one), or, at a step of the
    linking dialog, anything credential-like in it: a word that looks like a key or a password,
    and at the email and password steps a lone word that is not an address."""
    if looks_like_credential(text):
        return True
    if step not in LinkStates:
        return False
    words = text.split()
    if any(looks_like_credential(word) for word in words):
        return True
    return (
        step in _PASSWORD_STEPS
        and len(words) == 1
        and len(words[0]) >= _PASSWORD_MIN
        and "@" not in words[0]
    )


async def message_edited(message: Message, state: FSMContext, i18n: Translator) -> None:
    # Logged without the text, which is what may be secret.
    text = message.text or message.caption or ""
    if looks_like_private_key(text):
        await refuse_private_key(message, i18n)
        return
    if not holds_secret(text, await state.get_state()):
        return
    deleted = await delete_secret(message, i18n, then=i18n("input-secret-deleted"))
    log.info("user=%s action=edited-message secret-like deleted=%s", user_id_of(message), deleted)


def create_router() -> Router:
    """Edited messages, checked for a secret only."""
    router = Router(name=__name__)
    router.edited_message.register(message_edited)
    return router
