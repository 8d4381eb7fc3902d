"""Screen helpers shared by every handler: edit-in-place, size limits, provider errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Annotated

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from pydantic import Field

from bot.account_scope import bind_markup
from bot.i18n import Html, Translator, fit, utf16_len, utf16_prefix
from bot.inferno.errors import (
    AccessDenied,
    InfernoError,
    InvalidCredentials,
    ProviderFail,
    ProviderUnavailable,
    UnreadableAnswer,
)
from bot.screens import DrawnScreens

log = logging.getLogger(__name__)

# Demo mode puts it on every screen (bot.middlewares.demo); screens are compared without it.
DEMO_MARK = "🧪 <b>DEMO</b>\n"
# Provider failures we can explain in the user's language; others are shown as sent.
KNOWN_FAIL_MESSAGES = {
    "order id not found or status not pending": "fail-not-pending",
    "order not found": "fail-order-not-found",
    "order not active": "fail-order-not-active",
    "unknown template": "fail-unknown-template",
    "insufficient funds": "fail-insufficient-funds",
}
KNOWN_FAIL_CODES = {904: "fail-already-creating"}


async def show(
    event: Message | CallbackQuery,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Edits the menu message in place on a tap, sends a new one for a typed message."""
    text = fit(text)
    # Bound as it will be sent (bot.account_scope), so it compares with what a message shows.
    markup = bind_markup(markup)
    if isinstance(event, CallbackQuery):
        message = event.message
        if isinstance(message, Message):
            screens = DrawnScreens.of(event.bot) if event.bot is not None else None
            if screens is None:
                edited = await _edit(message, text, markup, None)
            else:
                async with screens.drawing(message.chat.id, message.message_id):
                    edited = await _edit(message, text, markup, screens)
            if edited is not None:
                return edited
        if event.bot is None:
            return None
        return await event.bot.send_message(event.from_user.id, text, reply_markup=markup)
    return await event.answer(text, reply_markup=markup)


async def _edit(
    message: Message,
    text: str,
    markup: InlineKeyboardMarkup | None,
    screens: DrawnScreens | None,
) -> Message | None:
    """The message showing ``text`` and ``markup``, edited only if it shows something else;
    None when it can no longer be edited (gone, or too old)."""
    # What the bot last drew there, if remembered; else the tap's copy of the message.
    same = screens.shows(message.chat.id, message.message_id, text, markup) if screens else None
    if same is None:
        same = (
            _same_labels(message.reply_markup, markup)
            and message.html_text.removeprefix(DEMO_MARK) == text
            and _same_markup(message.reply_markup, markup)
        )
    if same:
        return message
    try:
        edited = await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" in exc.message:
            return message
        if "message to edit not found" in exc.message or "can't be edited" in exc.message:
            return None
        raise
    return edited if isinstance(edited, Message) else message


# Failures another try may cure: Telegram's 5xx (a proxy's 5xx page arrives as a body aiogram
# cannot decode) and the network. A 400 or 403 says the same the second time.
TRANSIENT = (TelegramServerError, TelegramNetworkError, ClientDecodeError)
# Deleting a secret is tried again after these pauses (then the user is asked to do it), all
# within SECRET_DELETE_WITHIN seconds: the handler waits for the outcome before it goes on.
SECRET_DELETE_BACKOFF = (0.5, 1.0, 2.0)
SECRET_DELETE_WITHIN = 10.0
_GONE = "message to delete not found"


async def delete_message(bot: Bot, chat_id: int, message_id: int) -> str | None:
    """Deletes a message that must not stay, such as one holding a secret: None once it is gone
    ("not found" included: a try whose answer was lost may have done it), else why not.

    Only what another try may cure is tried again, with backoff and a bound on the total time;
    deleting is idempotent, so a try that may have gone through is safe to repeat."""
    reason = "not tried"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SECRET_DELETE_WITHIN
    try:
        async with asyncio.timeout_at(deadline):
            for pause in (*SECRET_DELETE_BACKOFF, None):
                try:
                    await bot.delete_message(chat_id, message_id)
                    return None
                except TelegramBadRequest as exc:
                    return None if _GONE in exc.message else exc.message
                except TelegramRetryAfter as exc:
                    # Flood control longer than the session waits by itself.
                    reason, pause = exc.message, float(exc.retry_after)
                except TelegramAPIError as exc:
                    if not isinstance(exc, TRANSIENT):
                        return exc.message
                    reason = exc.message
                except ClientDecodeError:
                    reason = "undecodable answer"
                if pause is None or loop.time() + pause >= deadline:
                    break
                await asyncio.sleep(pause)
    except TimeoutError:
        reason = f"{reason}; gave up after {SECRET_DELETE_WITHIN:.0f} s"
    return reason


def _same_labels(current: InlineKeyboardMarkup | None, new: InlineKeyboardMarkup | None) -> bool:
    # A cheap first look: most taps change the keyboard, usually its shape, and then the text
    # (whose HTML aiogram rebuilds from entities) need not be compared at all.
    current_rows = current.inline_keyboard if current is not None else []
    new_rows = new.inline_keyboard if new is not None else []
    if len(current_rows) != len(new_rows):
        return False
    for old_row, new_row in zip(current_rows, new_rows, strict=True):
        if len(old_row) != len(new_row):
            return False
        for old, button in zip(old_row, new_row, strict=True):
            if old.text != button.text or old.callback_data != button.callback_data:
                return False
    return True


def _same_markup(current: InlineKeyboardMarkup | None, new: InlineKeyboardMarkup | None) -> bool:
    # Compared as data: a markup parsed from an update carries the Bot in a private field,
    # so ``==`` against a freshly built one is always False.
    def dump(markup: InlineKeyboardMarkup | None) -> object:
        return None if markup is None else markup.model_dump(exclude_none=True)

    return dump(current) == dump(new)


async def typing(bot: Bot, chat_id: int) -> None:
    """The "typing…" hint while the provider works; purely cosmetic, so never fatal."""
    with suppress(TelegramAPIError):
        await bot.send_chat_action(chat_id, ChatAction.TYPING)


def provider_error_text(i18n: Translator, exc: InfernoError) -> str:
    if isinstance(exc, InvalidCredentials):
        return i18n("error-invalid-credentials")
    if isinstance(exc, AccessDenied):
        return i18n("error-access-denied")
    if isinstance(exc, ProviderUnavailable):
        return i18n("error-provider-unavailable")
    if isinstance(exc, UnreadableAnswer):
        return i18n("error-unreadable")
    if isinstance(exc, ProviderFail):
        return i18n("error-provider-fail", reason=translate_fail(i18n, exc))
    return i18n("error-unexpected")


def translate_fail(i18n: Translator, exc: ProviderFail) -> str:
    """Our translation when we know the failure; the provider's words (escaped later) if not."""
    if exc.code is not None and exc.code in KNOWN_FAIL_CODES:
        return Html(i18n(KNOWN_FAIL_CODES[exc.code]))
    key = KNOWN_FAIL_MESSAGES.get((exc.message or "").strip().lower().rstrip("."))
    return Html(i18n(key)) if key else (exc.message or "")


# --------------------------------------------------------------------------- paging and clipping

PAGE_SIZE = 8
# The highest page number a button carries: four digits, so that no page number taken from a
# tap and packed again into a longer button can push it past 64 bytes. A longer list shows its
# first MAX_PAGE + 1 pages.
MAX_PAGE = 9999
# A page number field of callback data: a forged number out of range does not unpack, so the
# tap matches no handler and gets the "expired" screen.
Page = Annotated[int, Field(ge=0, le=MAX_PAGE)]


def as_page(value: object) -> int:
    """A page number kept elsewhere (a confirmation's payload, say), clamped to what a button
    may carry; 0 for anything else."""
    if not isinstance(value, int) or isinstance(value, bool):
        return 0
    return min(max(value, 0), MAX_PAGE)


def page_bounds(total: int, page: int, per_page: int = PAGE_SIZE) -> tuple[int, int, int]:
    """(page, pages, first index); the page comes from callback data, so it is clamped."""
    pages = min(max(1, -(-total // per_page)), MAX_PAGE + 1)
    page = min(max(page, 0), pages - 1)
    return page, pages, page * per_page


def pager_row(
    i18n: Translator, page: int, pages: int, make: Callable[[int], CallbackData]
) -> list[InlineKeyboardButton]:
    """Prev / "page/pages" / Next; empty when everything fits on one page. The page is clamped
    here too: it may come from a tap."""
    pages = min(pages, MAX_PAGE + 1)
    if pages <= 1:
        return []
    page = min(max(page, 0), pages - 1)
    row: list[InlineKeyboardButton] = []
    if page > 0:
        row.append(InlineKeyboardButton(text=i18n("btn-prev"), callback_data=make(page - 1).pack()))
    row.append(
        InlineKeyboardButton(
            text=i18n("page-indicator", page=page + 1, pages=pages),
            callback_data=make(page).pack(),
        )
    )
    if page < pages - 1:
        row.append(InlineKeyboardButton(text=i18n("btn-next"), callback_data=make(page + 1).pack()))
    return row


def cyclic_pager_row(
    i18n: Translator, page: int, pages: int, make: Callable[[int], CallbackData]
) -> list[InlineKeyboardButton]:
    """Prev / "page/pages" / Next, always all three: Prev on the first page goes to the last."""
    pages = min(max(pages, 1), MAX_PAGE + 1)
    page = min(max(page, 0), pages - 1)
    return [
        InlineKeyboardButton(text=i18n("btn-prev"), callback_data=make((page - 1) % pages).pack()),
        InlineKeyboardButton(
            text=i18n("page-indicator", page=page + 1, pages=pages),
            callback_data=make(page).pack(),
        ),
        InlineKeyboardButton(text=i18n("btn-next"), callback_data=make((page + 1) % pages).pack()),
    ]


def clip(text: str, limit: int) -> str:
    """One line of raw provider text, shortened *before* escaping so no entity is ever cut.
    The limit counts UTF-16 code units, as Telegram does: a name of emoji is half as long."""
    text = " ".join(text.split())
    if utf16_len(text) <= limit:
        return text
    return utf16_prefix(text, limit - 1).rstrip() + "…"


def retry_keyboard(
    i18n: Translator, retry_data: str | None, *more: InlineKeyboardButton
) -> InlineKeyboardMarkup:
    """The keyboard of a provider-error screen: Retry (the same tap again), then a way back."""
    rows: list[list[InlineKeyboardButton]] = []
    if retry_data:
        rows.append([InlineKeyboardButton(text=i18n("btn-retry"), callback_data=retry_data)])
    rows.extend([button] for button in more)
    return InlineKeyboardMarkup(inline_keyboard=rows)
