"""Which account a button acts on: the one it was drawn for.

A user with several accounts (their own, or shared with them) must never have a button drawn
for account A act on account B because they switched in between. So, once a user can use more
than one account, every callback button the bot draws for them carries the number of the
account it was drawn for, ``<id in base 36>|<data>``, added in one place: the session
middleware :class:`BindButtons` rewrites every keyboard the bot sends, with the account of the
update (or push) being handled — :func:`drawing_for` — and :func:`bot.ui.show` binds a screen
the same way before comparing it with what the message shows. The same place leaves out the
buttons the member's role may not use: those the role gate (bot/handlers/linked.py) would
refuse, found by the same data prefixes. The user middleware
(:mod:`bot.middlewares.user`) reads the number back, strips it before any router sees the
data, and checks on every tap that the user still has access to that account.

A user with one account gets plain buttons (there is nothing to tell apart); a plain tap that
is not a "personal" screen (menu, settings, accounts, linking) from a user with several is
refused as expired rather than guessed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.storage.accounts import Role

log = logging.getLogger(__name__)

SEPARATOR = "|"
_BOUND = re.compile(r"([0-9a-z]{1,8})\|")
# Telegram's limit on callback data, in bytes.
MAX_DATA = 64

# Data predicates of the areas that need more than the viewer's role, with that role.
Guarded = tuple[tuple[Callable[[str], bool], Role], ...]


@dataclass(frozen=True, slots=True)
class Drawing:
    """What the buttons drawn now are for: the account they name (None: plain buttons) and the
    role there, whose forbidden buttons are left out (None: all shown)."""

    account_id: int | None = None
    role: Role | None = None
    guarded: Guarded = ()

    def withheld(self) -> tuple[Callable[[str], bool], ...]:
        """The data predicates of the taps the role may not use: none without a role, and
        none for the owner, whose keyboards are then not checked button by button."""
        role = self.role
        if role is None:
            return ()
        return tuple(matches for matches, needed in self.guarded if not role.allows(needed))


_NOTHING = Drawing()
_drawing: ContextVar[Drawing] = ContextVar("drawing_for", default=_NOTHING)
_KEEP = object()
# The taps each role above the viewer's needs, for pushes drawn outside any update (the
# alerts, the watcher): set once when the dispatcher is built (:func:`guard_pushes`).
_push_guarded: list[Guarded] = [()]


def guard_pushes(guarded: Guarded) -> None:
    """What a push drawn for a role leaves out (the same data the role gate refuses)."""
    _push_guarded[0] = guarded


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def bind(data: str, account_id: int) -> str:
    """``data`` naming ``account_id``; data that already names one is left as it is, and so is
    data with no room left (such a plain button is refused for a user with several accounts,
    never taken for another account; the log says which)."""
    if _BOUND.match(data):
        return data
    bound = f"{_base36(account_id)}{SEPARATOR}{data}"
    if len(bound.encode()) > MAX_DATA:
        log.warning("callback data %r has no room for its account", data.split(":", 1)[0])
        return data
    return bound


def split(data: str) -> tuple[int | None, str]:
    """The account a tap's data names (None: none) and the data without it."""
    found = _BOUND.match(data)
    if found is None:
        return None, data
    return int(found.group(1), 36), data[found.end() :]


def names_account(accounts: int, role: Role) -> bool:
    """Whether a user's buttons name the account: when they may use several, and always for a
    member (so that a revoked member's old buttons are refused, never taken for another)."""
    return accounts > 1 or role != Role.OWNER


def current() -> Drawing:
    return _drawing.get()


@contextmanager
def drawing(what: Drawing) -> Iterator[None]:
    token = _drawing.set(what)
    try:
        yield
    finally:
        _drawing.reset(token)


@contextmanager
def drawing_for(account_id: int | None, role: Role | object | None = _KEEP) -> Iterator[None]:
    """Buttons drawn inside name ``account_id`` (None: plain) and show what ``role`` may use
    (by default the role of the drawing around)."""
    outer = _drawing.get()
    kept = outer.role if role is _KEEP else role
    assert kept is None or isinstance(kept, Role)
    with drawing(Drawing(account_id, kept, outer.guarded or _push_guarded[0])):
        yield


def bind_markup(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """A copy of ``markup`` whose callback buttons name the account drawn for (if any), without
    the buttons the role drawn for may not use (the role gate would refuse them)."""
    what = _drawing.get()
    if markup is None or (what.account_id is None and what.role is None):
        return markup
    # Worked out once per keyboard, not per button and area.
    withheld = what.withheld()
    if not withheld and what.account_id is None:
        return markup  # an owner's plain buttons: nothing to bind or leave out
    changed = False
    rows: list[list[InlineKeyboardButton]] = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            data = button.callback_data
            if data is not None:
                if withheld and any(matches(data) for matches in withheld):
                    changed = True
                    continue
                if what.account_id is not None:
                    bound = bind(data, what.account_id)
                    if bound != data:
                        button = button.model_copy(update={"callback_data": bound})
                        changed = True
            new_row.append(button)
        if new_row:
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
        if isinstance(markup, InlineKeyboardMarkup) and _drawing.get() is not _NOTHING:
            bound = bind_markup(markup)
            if bound is not markup:
                method = method.model_copy(update={"reply_markup": bound})
        return await make_request(bot, method)
