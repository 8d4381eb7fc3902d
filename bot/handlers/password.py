"""The root password: a spoiler in its own protected message that deletes itself."""

from __future__ import annotations

import logging
import math
from contextlib import suppress
from functools import partial

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Settings
from bot.handlers.callbacks import ShowPasswordCb
from bot.handlers.common import server_name
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import back_to_menu
from bot.handlers.servers import (
    View,
    card_button,
    for_own_order,
)
from bot.i18n import Html, Translator, fit
from bot.inferno.client import InfernoClient
from bot.inferno.models import Credentials
from bot.services.background import BackgroundTasks
from bot.services.deletions import DELETIONS_TASK, REDACTED, DeletionScheduler
from bot.storage import Database
from bot.storage.accounts import Role
from bot.ui import clip, delete_message, show, typing

log = logging.getLogger(__name__)


class DeletePasswordCb(CallbackData, prefix="pwd"):
    """ "Delete now" under a password message; the message itself is what gets deleted."""


def expiry_text(i18n: Translator, ttl: float) -> str:
    if ttl >= 60:
        return i18n("password-expiry-minutes", minutes=max(1, round(ttl / 60)))
    return i18n("password-expiry-seconds", seconds=max(1, math.ceil(ttl)))


async def show_password(
    query: CallbackQuery,
    callback_data: ShowPasswordCb,
    bot: Bot,
    i18n: Translator,
    account: Credentials,
    db: Database,
    inferno: InfernoClient,
    settings: Settings,
    deletions: DeletionScheduler,
    background: BackgroundTasks,
) -> None:
    # Everything here goes into a new message: the card (or the "ready" notice) the user
    # tapped on stays as it was.
    user_id = query.from_user.id
    chat_id = query.message.chat.id if query.message else user_id
    order_id = callback_data.order_id
    await typing(bot, chat_id)
    info = await for_own_order(
        i18n,
        user_id,
        order_id,
        partial(inferno.get_info, account),
        inferno=inferno,
        creds=account,
        action="show-password",
        retry=callback_data,
        back_to_card=True,
    )
    if isinstance(info, View):
        await bot.send_message(chat_id, fit(info.text), reply_markup=info.markup)
        return
    if not info.password:
        await bot.send_message(
            chat_id,
            i18n("password-unavailable"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[card_button(i18n, order_id)]]),
        )
        return
    shown = await server_name(db, order_id, info.name)
    text = i18n(
        "password-message",
        # Clipped, never fitted: cutting the whole text could cut the password.
        name=clip(shown, 64) if shown else i18n("servers-unnamed", order=order_id),
        ip=clip(info.ip, 64) if info.ip else i18n("servers-no-ip"),
        password=info.password,
        expiry=Html(expiry_text(i18n, settings.password_ttl)),
    )
    sent = await bot.send_message(
        chat_id,
        text,
        protect_content=True,
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=i18n("password-btn-delete"),
                        callback_data=DeletePasswordCb().pack(),
                    )
                ]
            ]
        ),
    )
    try:
        await deletions.schedule(chat_id, sent.message_id, settings.password_ttl)
    except BaseException:
        # Without a scheduled deletion the password would stay in the chat for good.
        with suppress(TelegramAPIError):
            await bot.delete_message(chat_id, sent.message_id)
        raise
    background.wake(DELETIONS_TASK)
    await db.actions.record(user_id, "show-password", order_id, "ok")
    log.info("user=%s action=show-password order=%s result=sent", user_id, order_id)


async def delete_now(
    query: CallbackQuery, bot: Bot, i18n: Translator, deletions: DeletionScheduler
) -> None:
    message = query.message
    if message is None:
        # Only inline messages come without one, and the password is never sent inline.
        await show(query, i18n("expired"), back_to_menu(i18n))
        return
    # By chat and message id: a message too old for the bot to see in the update
    # (InaccessibleMessage) still holds the secret and must go too.
    chat_id, message_id = message.chat.id, message.message_id
    refusal = await delete_message(bot, chat_id, message_id)
    if refusal is not None:
        refusal = await _redact(bot, chat_id, message_id, refusal)
    if refusal is None:
        # Deleted, already gone or redacted: nothing left for the cleaner, which would only
        # fail to delete it in turn and redact it again ("not modified").
        await deletions.cancel(chat_id, message_id)
        return
    log.warning("user=%s password message could not be removed: %s", chat_id, refusal)
    await bot.send_message(chat_id, i18n("password-delete-failed"))


async def _redact(bot: Bot, chat_id: int, message_id: int, refusal: str) -> str | None:
    """Too old to delete (48 h): a bot may still edit its own message, so the secret is hidden.
    None when it is (or the message is gone); else why not, after ``refusal``."""
    try:
        await bot.edit_message_text(REDACTED, chat_id=chat_id, message_id=message_id)
    except TelegramAPIError as exc:
        if "message to edit not found" in exc.message:
            return None
        return f"{refusal}; {exc.message}"
    return None


def create_router() -> Router:
    """The "Delete now" button under a password message. Outside the gate: a password sent
    before the account was unlinked must still be deletable."""
    router = Router(name=__name__)
    # Taps meant for other areas are turned away before any handler here is tried.
    router.callback_query.filter(DataPrefix(DeletePasswordCb))
    router.callback_query.register(delete_now, DeletePasswordCb.filter())
    return router


def create_linked_area() -> LinkedArea:
    """Showing the root password of one of the user's servers."""
    area = linked_area(f"{__name__}.show", DataPrefix(ShowPasswordCb), role=Role.ADMIN)
    area.router.callback_query.register(show_password, ShowPasswordCb.filter())
    return area
