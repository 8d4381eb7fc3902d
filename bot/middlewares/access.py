"""Who may use the bot: private chats only, and with ALLOWED_USERS only those users.

Strangers get one short refusal and leave no trace in the database. Anything from a group or a
channel is ignored, and the bot leaves one as soon as it is added: it asks for API keys and shows
root passwords, which must never be typed or shown where other people read along.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    CallbackQuery,
    Chat,
    ChatMemberUpdated,
    Message,
    TelegramObject,
    Update,
    User,
)

from bot.i18n import TranslatorHub
from bot.middlewares.answer_taps import answer_tap

log = logging.getLogger(__name__)

_GONE = frozenset({ChatMemberStatus.LEFT, ChatMemberStatus.KICKED})


class AccessMiddleware(BaseMiddleware):
    def __init__(self, allowed_users: frozenset[int], hub: TranslatorHub) -> None:
        self._allowed = allowed_users
        self._hub = hub

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is not None and chat.type != ChatType.PRIVATE:
            if isinstance(event, Update) and _joined(event.my_chat_member):
                await _leave(data["bot"], chat)
                return None
            log.info("chat=%s type=%s action=ignored reason=not-private", chat.id, chat.type)
            if isinstance(event, Update) and event.callback_query is not None:
                # Every tap is answered, even one on an old message in a group.
                await answer_tap(event.callback_query)
            return None
        user: User | None = data.get("event_from_user")
        if not self._allowed or (user is not None and user.id in self._allowed):
            return await handler(event, data)
        if user is None or not isinstance(event, Update):
            return None
        log.info("user=%s action=refused reason=not-in-allowlist", user.id)
        text = self._hub.get(self._hub.pick_locale(user.language_code))("access-denied")
        try:
            if isinstance(event.message, Message):
                await event.message.answer(text)
            elif isinstance(event.callback_query, CallbackQuery):
                await answer_tap(event.callback_query, text, alert=True)
        except TelegramAPIError as exc:
            log.info("user=%s refusal not delivered: %s", user.id, exc.message)
        return None


def _joined(change: ChatMemberUpdated | None) -> bool:
    # Any status but left or kicked is a membership (restricted included): the bot leaves.
    return change is not None and change.new_chat_member.status not in _GONE


async def _leave(bot: Bot, chat: Chat) -> None:
    try:
        await bot.leave_chat(chat.id)
    except TelegramAPIError as exc:
        log.info("chat=%s type=%s not left: %s", chat.id, chat.type, exc.message)
        return
    log.info("chat=%s type=%s action=left reason=not-private", chat.id, chat.type)
