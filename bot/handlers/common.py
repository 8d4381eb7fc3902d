"""Pieces several areas' handlers share: whose event it is, buttons, provider ids fit for
callback data, whether an order is the user's own, the load-or-explain step in front of a
provider list (typing hint, Retry on failure) and the run of a confirmed action."""

from __future__ import annotations

import html
import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers.callbacks import LinkAction, LinkCb
from bot.handlers.navigation import back_to_menu_button
from bot.i18n import Html, Translator, per_locale
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError
from bot.inferno.models import Credentials
from bot.services.locks import UserLocks
from bot.storage import Database
from bot.storage.accounts import AccountInfo, Role
from bot.storage.history import current_account
from bot.ui import (
    clip,
    delete_message,
    pager_row,
    provider_error_text,
    retry_keyboard,
    show,
    typing,
)

T = TypeVar("T")
G = TypeVar("G")

log = logging.getLogger(__name__)

# Every id the provider hands out (orders, services, SSH keys, plans) is a decimal number in the
# API description and in the simulator. Ids ride in callback data and are sent back to the
# provider, so only ASCII digits (up to any 64-bit number) are trusted; anything else could hold
# the ":" separator or blow the 64-byte limit of callback data. An entry with another id is
# listed without a button.
_PROVIDER_ID = re.compile(r"[0-9]{1,20}")

# Order (and service) statuses that are not a server the user can have: unpaid or gone.
NOT_A_SERVER = frozenset({"pending", "cancelled", "terminated", "fraud"})

# Words a VPS customer types that are not secrets, though they mix letters and digits: host names
# (the last label is letters only) and IPv4 addresses, optionally with user@ and :port; versions
# ("ubuntu22.04").
_HOST_NAME = re.compile(
    r"(?:[\w.+-]+@)?(?:(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}|\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?",
    re.ASCII,
)
_VERSION = re.compile(r"[A-Za-z-]*\d+(?:\.\d+)+", re.ASCII)


def user_id_of(event: Message | CallbackQuery) -> int:
    user = event.from_user
    assert user is not None, "private chats always have a sender"
    return user.id


def looks_like_credential(text: str) -> bool:
    """A password or API key sent where no dialog waits for one (after the linking dialog was
    left, say): one word of 8+ characters with letters and digits (or, from 20 characters, mixed
    case); under 16 characters it must mix three of lower case, upper case, digits and symbols.
    Host names, versions, addresses, links and commands are spared. Some words that look the
    same ("Windows2022", a UUID) are taken for one too: deleting such a message costs the user
    little, leaving a password in the chat costs much."""
    word = text.strip()
    if not 8 <= len(word) <= 256 or any(c.isspace() for c in word) or word.startswith("/"):
        return False
    if "://" in word or _HOST_NAME.fullmatch(word) or _VERSION.fullmatch(word):
        return False
    try:
        ipaddress.ip_network(word, strict=False)
    except ValueError:
        pass
    else:
        return False
    lower, upper = any(c.islower() for c in word), any(c.isupper() for c in word)
    digit, symbol = any(c.isdigit() for c in word), any(not c.isalnum() for c in word)
    if not (lower or upper):
        return False
    if len(word) >= 20 and (digit or (lower and upper)):
        return True
    if len(word) >= 16:
        return digit
    return digit and lower + upper + digit + symbol >= 3


async def delete_secret(
    message: Message,
    i18n: Translator,
    markup: InlineKeyboardMarkup | None = None,
    *,
    then: str | None = None,
) -> bool:
    """Removes a message holding a secret, then shows ``then`` (if given) with ``markup``; if
    Telegram refuses (or keeps failing), asks the user to do it instead, with ``markup`` under
    that request."""
    assert message.bot is not None, "a message from an update carries its bot"
    refusal = await delete_message(message.bot, message.chat.id, message.message_id)
    if refusal is not None:
        # Telegram's description, never the deleted text.
        log.warning("user=%s secret message not deleted: %s", user_id_of(message), refusal)
        await message.answer(i18n("link-delete-failed"), reply_markup=markup)
        return False
    if then is not None:
        await show(message, then, markup)
    return True


async def delete_pasted_secret(
    message: Message, i18n: Translator, hint: str, markup: InlineKeyboardMarkup
) -> bool:
    """A password or key sent to a text step by mistake: deleted, then the step's ``hint`` again
    under a note saying why (if Telegram refuses, the request to delete it carries ``markup``)."""
    notice = "\n\n".join([i18n("input-secret-deleted"), hint])
    return await delete_secret(message, i18n, markup, then=notice)


def is_provider_id(value: str | None) -> bool:
    return value is not None and _PROVIDER_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class OwnOrder:
    """An order found among the user's own; ``status`` as their list gives it."""

    order_id: str
    status: str | None


async def own_order(inferno: InfernoClient, creds: Credentials, order_id: str) -> OwnOrder | None:
    """The order ``order_id`` if it is one of the account's own, else None.

    Every order id that came from a button, a confirmation or a provider's answer is checked
    here before any provider call names it (getinfo, power, password, reinstall…): the provider
    never hears about another customer's order from us, whatever it would answer. Own means in
    the account's ``orders`` list, or the order of one of its services that is still a server (a
    suspended one, which ``orders`` may leave out while the server list shows it).

    Both lists are read with the account's own key, from the client's read cache while it is
    fresh: the client drops an account's lists on each of its writes, so the bot's own actions
    (a cancel) are seen at once; a change made elsewhere may take ``READ_CACHE_TTL`` to be seen,
    and until then the provider's own refusal answers for that order. Raises ``InfernoError``
    when a list cannot be read.
    """
    if not is_provider_id(order_id):
        return None
    for order in await inferno.orders(creds):
        if order.id == order_id:
            return OwnOrder(order_id, order.status)
    for service in await inferno.services(creds):
        if service.order_id == order_id and (service.status or "").lower() not in NOT_A_SERVER:
            return OwnOrder(order_id, service.status)
    return None


def newest_first(item_id: str) -> tuple[int, str]:
    """Sort key (with ``reverse=True``) for provider ids: ids by value, anything else last.
    Only a real id (ASCII digits, bounded) is given to ``int``, which refuses "²" and numbers
    of thousands of digits."""
    return (int(item_id) if is_provider_id(item_id) else -1, item_id)


def plain(text: str) -> str:
    """Button labels are not HTML: undo the escaping the translator applied to the arguments."""
    return html.unescape(text)


def button(text: str, data: CallbackData | str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=data if isinstance(data, str) else data.pack()
    )


@per_locale
def link_button(i18n: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=i18n("link-btn-link"), callback_data=LinkCb(action=LinkAction.OPTIONS).pack()
    )


def one_per_row_then_menu(i18n: Translator, *buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[*([button] for button in buttons), [back_to_menu_button(i18n)]]
    )


def paged_keyboard(
    i18n: Translator,
    item_rows: list[list[InlineKeyboardButton]],
    page: int,
    pages: int,
    page_data: Callable[[int], CallbackData],
    *tail: list[InlineKeyboardButton],
) -> InlineKeyboardMarkup:
    """A list screen's keyboard: its items, the pager when there is more than one page, the
    screen's own ``tail`` rows, then the main menu."""
    nav = pager_row(i18n, page, pages, page_data)
    return InlineKeyboardMarkup(
        inline_keyboard=[*item_rows, *([nav] if nav else []), *tail, [back_to_menu_button(i18n)]]
    )


async def load_or_explain(
    event: Message | CallbackQuery,
    i18n: Translator,
    bot: Bot,
    load: Callable[[], Awaitable[T]],
    *,
    log: logging.Logger,
    action: str,
    back: tuple[InlineKeyboardButton, ...] = (),
    retry: str | None = None,
) -> T | None:
    """What ``load`` returns, or ``None`` after showing the provider error with Retry (``retry``,
    else the same tap again), ``back`` and the main menu. The caller's logger keeps the log line
    in its area."""
    user_id = user_id_of(event)
    await typing(bot, user_id)
    try:
        return await load()
    except InfernoError as exc:
        log.warning("user=%s action=%s result=%s", user_id, action, type(exc).__name__)
        if retry is None and isinstance(event, CallbackQuery):
            retry = event.data
        markup = retry_keyboard(i18n, retry, *back, back_to_menu_button(i18n))
        await show(event, provider_error_text(i18n, exc), markup)
        return None


async def spend_confirmation(
    db: Database, user_id: int, token: str, action: str, creds: Credentials
) -> dict[str, Any] | None:
    """The payload of the confirmation behind a tap, used up; None when there is nothing to do.

    Call it while holding the user's lock. Nothing is spent for a token of another action (a
    forged button must not burn another screen's confirmation), and a token issued for another
    linked account (unlink and link again in between) is void.
    """
    confirmation = await db.confirmations.consume(user_id, token, {action})
    if confirmation is None or confirmation.payload.get("cid") != creds.cid:
        return None
    return confirmation.payload


async def run_confirmed(
    bot: Bot,
    db: Database,
    locks: UserLocks,
    creds: Credentials,
    user_id: int,
    token: str,
    *,
    action: str,
    key: str,
    call: Callable[[str], Awaitable[T]],
    used_text: str,
    used_markup: InlineKeyboardMarkup,
    guard: Callable[[dict[str, Any]], Awaitable[G | None]] | None = None,
) -> tuple[dict[str, Any], T | G | InfernoError] | None:
    """Spends the confirmation behind a tap and makes its provider call exactly once.

    None after telling the user the confirmation was already used (or is not one of ``action``),
    in a new message so what the first tap showed stays; else the payload and what
    ``call(payload[key])`` returned or raised. A ``guard`` runs under the same lock, after the
    confirmation is spent: what it returns instead of None is returned in place of the call's
    outcome, and the call is not made (a purchase whose price moved since it was confirmed).
    """
    async with locks.hold(user_id):
        payload = await spend_confirmation(db, user_id, token, action, creds)
        if payload is None or not isinstance(payload.get(key), str):
            await bot.send_message(user_id, used_text, reply_markup=used_markup)
            return None
        await typing(bot, user_id)
        if guard is not None and (stopped := await guard(payload)) is not None:
            return payload, stopped
        try:
            return payload, await call(payload[key])
        except InfernoError as exc:
            return payload, exc


def failure_note(exc: InfernoError) -> str:
    """A provider failure for the action log (error texts never hold a key or a password)."""
    return f"{type(exc).__name__}: {clip(str(exc), 200)}"


def account_name(i18n: Translator, account: AccountInfo) -> Html:
    """The account as every screen and push names it: its label and cid, escaped."""
    if account.label:
        return Html(i18n("account-name-labeled", label=account.label, cid=str(account.cid)))
    return Html(i18n("account-name-plain", cid=str(account.cid)))


def role_name(i18n: Translator, role: Role) -> str:
    return i18n(f"role-{role.value}")


async def server_name(
    db: Database, order_id: str, provider: str | None, account_id: int | None = None
) -> str | None:
    """The name a server is shown by: the one its account's members gave it, else the
    provider's. The account is the one the update (or push) is for unless named."""
    account = account_id if account_id is not None else current_account()
    if account is not None:
        local = await db.server_names.get(account, order_id)
        if local is not None:
            return local
    return provider
