"""What the bot last drew in each message, so that a screen already shown is not sent again.

Telegram refuses an edit that changes nothing (400 "message is not modified"). A tap carries
the message as it was when tapped, which is not what it shows after fast taps: the first one's
edit has changed it, and the next taps, compared with their older copies, would send the same
screen again. This session middleware sees every message the bot sends or edits and keeps a
fingerprint of its text and keyboard (and forgets a message once deleted, or once an edit's
outcome is unknown); :func:`bot.ui.show` compares a new screen with it, one tap at a time per
message (:meth:`DrawnScreens.drawing`).

The memory is bounded: the oldest entries go first, and a message no longer remembered is
compared with the tap's copy as before. A fingerprint is one int per message (about 200 bytes
with its key), so the default capacity costs under a megabyte. It is the same in every process
(not Python's salted ``hash``): replicas share it through Redis
(``bot.services.shared_state.SharedDrawnScreens``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    DeleteMessage,
    DeleteMessages,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InlineKeyboardMarkup, Message

CAPACITY = 4096
_NOT_MODIFIED = "message is not modified"
# A button with anything else (a login URL, a web app, a style) is not fingerprinted: such a
# keyboard is never taken for "the same".
_PLAIN_BUTTON = frozenset({"text", "callback_data", "url"})

_Key = tuple[int, int]


def fingerprint(text: str | None, markup: object) -> int | None:
    """The text (HTML as sent) and inline keyboard of a message; None if not comparable."""
    if text is None:
        return None
    if markup is None:
        return _digest((text, None))
    if not isinstance(markup, InlineKeyboardMarkup):
        return None
    rows = []
    for row in markup.inline_keyboard:
        buttons = []
        for button in row:
            if not button.model_fields_set <= _PLAIN_BUTTON:
                return None
            buttons.append((button.text, button.callback_data, button.url))
        rows.append(tuple(buttons))
    return _digest((text, tuple(rows)))


def _digest(value: tuple[Any, ...]) -> int:
    # repr of str, None and tuples of them is stable across processes and Python runs.
    return int.from_bytes(hashlib.blake2b(repr(value).encode(), digest_size=8).digest(), "big")


def _html(method: SendMessage | EditMessageText) -> bool:
    # Only what the bot's screens use: HTML by default, no explicit entities.
    mode = method.parse_mode
    return method.entities is None and (isinstance(mode, Default) or mode == ParseMode.HTML)


class DrawnScreens(BaseRequestMiddleware):
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._drawn: dict[_Key, int] = {}
        self._locks: dict[_Key, asyncio.Lock] = {}
        self._waiting: dict[_Key, int] = {}

    @staticmethod
    def of(bot: Bot) -> DrawnScreens | None:
        """The memory of the bot's session, if it has one (bots built by ``create_bot`` do)."""
        return next((m for m in bot.session.middleware if isinstance(m, DrawnScreens)), None)

    def __len__(self) -> int:
        return len(self._drawn)

    def shows(self, chat_id: int, message_id: int, text: str, markup: object) -> bool | None:
        """Whether the message shows exactly this; None when that is not known."""
        drawn = self._drawn.get((chat_id, message_id))
        if drawn is None:
            return None
        return drawn == fingerprint(text, markup)

    def remember(self, chat_id: int, message_id: int, text: str | None, markup: object) -> None:
        self._store((chat_id, message_id), fingerprint(text, markup))

    def forget(self, chat_id: int, message_id: int) -> None:
        self._drawn.pop((chat_id, message_id), None)

    def drawn(self, chat_id: int, message_id: int) -> int | None:
        """The fingerprint of what the message shows; None when it is not known."""
        return self._drawn.get((chat_id, message_id))

    def restore(self, chat_id: int, message_id: int, print_: int | None) -> None:
        """Takes a fingerprint another process drew (None: not known)."""
        self._store((chat_id, message_id), print_)

    @asynccontextmanager
    async def drawing(self, chat_id: int, message_id: int) -> AsyncIterator[None]:
        """One comparison and edit at a time per message: two taps handled side by side would
        both find the old screen and both send the new one."""
        key = (chat_id, message_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key], self._locks[key]

    def _store(self, key: _Key, print_: int | None) -> None:
        self._drawn.pop(key, None)
        if print_ is None:
            return
        if len(self._drawn) >= self._capacity:
            del self._drawn[next(iter(self._drawn))]
        self._drawn[key] = print_

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        # The fingerprint is taken before the request: a middleware further in may change the
        # text on its way out (demo mode's mark), and screens are compared without it.
        edit = method if isinstance(method, EditMessageText) else None
        if edit is not None and isinstance(edit.chat_id, int) and edit.message_id is not None:
            key = (edit.chat_id, edit.message_id)
            drawn = fingerprint(edit.text, edit.reply_markup) if _html(edit) else None
            try:
                result = await make_request(bot, method)
            except TelegramBadRequest as exc:
                self._store(key, drawn if _NOT_MODIFIED in exc.message else None)
                raise
            except BaseException:
                self._store(key, None)  # it may or may not have been applied
                raise
            self._store(key, drawn)
            return result
        send = method if isinstance(method, SendMessage) else None
        if send is not None:
            drawn = fingerprint(send.text, send.reply_markup) if _html(send) else None
            result = await make_request(bot, method)
            # The chain hands up the method's result (a Message here), whatever its annotation.
            sent: Any = result
            if isinstance(sent, Message):
                self._store((sent.chat.id, sent.message_id), drawn)
            return result
        for key in touched(method):
            self._drawn.pop(key, None)
        return await make_request(bot, method)


def touched(method: TelegramMethod[Any]) -> Sequence[_Key]:
    """Messages whose look another kind of request changes (or removes)."""
    if isinstance(
        method, DeleteMessage | EditMessageReplyMarkup | EditMessageCaption | EditMessageMedia
    ):
        if isinstance(method.chat_id, int) and method.message_id is not None:
            return [(method.chat_id, method.message_id)]
    elif isinstance(method, DeleteMessages) and isinstance(method.chat_id, int):
        return [(method.chat_id, message_id) for message_id in method.message_ids]
    return ()
