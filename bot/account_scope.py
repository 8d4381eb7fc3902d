"""Which account a button acts on: the one it was drawn for.

A user with several accounts (their own, or shared with them) must never have a button drawn
for account A act on account B because they switched in between. So, once a user can use more
than one account, every callback button the bot draws for them carries the number of the
account it was drawn for, ``<id in base 36>|<data>``, added in one place: the session
middleware :class:`BindButtons` rewrites every keyboard the bot sends, with the account of the
update (or push) being handled — :func:`drawing_for` — and :func:`bot.ui.show` binds a screen
the same way before comparing it with what the message shows. The user middleware
(:mod:`bot.middlewares.user`) reads the number back, strips it before any router sees the
data, and checks on every tap that the user still has access to that account.

A user with one account gets plain buttons (there is nothing to tell apart); a plain tap that
is not a "personal" screen (menu, settings, accounts, linking) from a user with several is
refused as expired rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

SEPARATOR = "|"
_BOUND = re.compile(r"([0-9a-z]{1,8})\|")
# Telegram's limit on callback data, in bytes.
MAX_DATA = 64

_drawing: ContextVar[int | None] = ContextVar("drawing_for", default=None)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def bind(data: str, account_id: int) -> str:
    """``data`` naming ``account_id``; data that already names one is left as it is."""
    if _BOUND.match(data):
        return data
    bound = f"{_base36(account_id)}{SEPARATOR}{data}"
    if len(bound.encode()) > MAX_DATA:
        raise ValueError(f"callback data too long once bound to an account: {bound!r}")
    return bound


def split(data: str) -> tuple[int | None, str]:
    """The account a tap's data names (None: none) and the data without it."""
    found = _BOUND.match(data)
    if found is None:
        return None, data
    return int(found.group(1), 36), data[found.end() :]


def current() -> int | None:
    """The account the screens drawn now are bound to (None: plain buttons)."""
    return _drawing.get()


@contextmanager
def drawing_for(account_id: int | None) -> Iterator[None]:
    """Buttons drawn inside name ``account_id`` (None: plain)."""
    token = _drawing.set(account_id)
    try:
        yield
    finally:
        _drawing.reset(token)


def set_drawing(account_id: int | None) -> None:
    """For the rest of the current task (an update's handling): buttons name ``account_id``."""
    _drawing.set(account_id)


def bind_markup(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """A copy of ``markup`` whose callback buttons name the account drawn for (if any)."""
    account_id = _drawing.get()
    if account_id is None or markup is None:
        return markup
    changed = False
    rows: list[list[InlineKeyboardButton]] = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            data = button.callback_data
            if data is not None:
                bound = bind(data, account_id)
                if bound != data:
                    button = button.model_copy(update={"callback_data": bound})
                    changed = True
            new_row.append(button)
        rows.append(new_row)
    return InlineKeyboardMarkup(inline_keyboard=rows) if changed else markup


class BindButtons(BaseRequestMiddleware):
    """Binds the keyboard of every message the bot sends or edits (see the module's doc).

    Registered first of the session middlewares, so that what the others remember (the drawn
    screens) is what Telegram shows."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup) and _drawing.get() is not None:
            bound = bind_markup(markup)
            if bound is not markup:
                method = method.model_copy(update={"reply_markup": bound})
        return await make_request(bot, method)
