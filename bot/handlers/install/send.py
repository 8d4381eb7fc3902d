"""Sending the confirmed install or reinstall (``run=1``): at most once per confirmation, and
never again on its own when the outcome is unknown."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery

from bot.handlers.callbacks import InstallMode
from bot.handlers.install import keyboards
from bot.handlers.install.wizard import Wizard, WizCb, load_wizard, opt_str, save_wizard
from bot.handlers.navigation import back_to_menu
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, ProviderFail, ProviderUnavailable, UnreadableAnswer
from bot.inferno.models import Credentials, InstallResult
from bot.services.background import BackgroundTasks
from bot.services.locks import UserLocks
from bot.services.watcher import WATCHER_TASK, status_keyboard
from bot.storage import Database
from bot.ui import provider_error_text, show, translate_fail, typing

log = logging.getLogger(__name__)

# The provider's code for "an install is already running on this order".
ALREADY_CREATING = 904


async def send_install(
    inferno: InfernoClient,
    creds: Credentials,
    wizard: Wizard,
    *,
    run: bool,
) -> InstallResult:
    assert wizard.template is not None
    call = inferno.reinstall if wizard.mode is InstallMode.REINSTALL else inferno.install
    return await call(creds, wizard.order_id, wizard.template, wizard.keys, run=run)


async def confirmed(
    query: CallbackQuery,
    callback_data: WizCb,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
    db: Database,
    locks: UserLocks,
    background: BackgroundTasks,
) -> None:
    user_id = query.from_user.id
    token = callback_data.value
    async with locks.hold(user_id):
        confirmation = (
            await db.confirmations.consume(user_id, token, {"install", "reinstall"})
            if token
            else None
        )
        wizard = await load_wizard(state)
        if confirmation is None or wizard is None or wizard.token != token:
            # Sent as a new message: the first tap's "queued" message must stay as it is.
            await bot.send_message(
                user_id, i18n("install-confirmation-used"), reply_markup=back_to_menu(i18n)
            )
            return
        # What was confirmed is what is sent, whatever the wizard's data says now.
        payload = confirmation.payload
        wizard.template = str(payload.get("template") or "")
        wizard.title = opt_str(payload.get("title"))
        wizard.keys = [str(k) for k in payload.get("keys") or []]
        wizard.order_id = str(payload.get("order") or wizard.order_id)
        wizard.token, wizard.checked = None, False
        await save_wizard(state, wizard)
        kind = confirmation.action
        await typing(bot, user_id)
        try:
            result = await send_install(inferno, account, wizard, run=True)
        except InfernoError as exc:
            await _run_failed(query, state, i18n, db, wizard, kind, exc)
            return
        await db.actions.record(user_id, kind, wizard.order_id, "queued")
        await state.clear()
        # Still under the lock, so a second tap's notice comes only after all of this.
        await _queued(query, i18n, db, background, wizard, kind, result)


async def _queued(
    query: CallbackQuery,
    i18n: Translator,
    db: Database,
    background: BackgroundTasks,
    wizard: Wizard,
    kind: str,
    result: InstallResult,
) -> None:
    user_id = query.from_user.id
    log.info(
        "user=%s action=%s order=%s template=%s keys=%d result=queued",
        user_id,
        kind,
        wizard.order_id,
        wizard.template,
        len(wizard.keys),
    )
    chat_id = query.message.chat.id if query.message is not None else user_id
    # The watch first: the install is queued whatever happens to the message below.
    watch = await db.watches.replace(user_id, chat_id, wizard.order_id, kind, wizard.os_label)
    text = i18n(
        "install-queued",
        order=wizard.order_id,
        os=wizard.os_label,
        message=result.message or "",
    )
    try:
        shown = await show(query, text, status_keyboard(i18n, wizard.order_id))
    except TelegramAPIError as exc:
        log.warning("user=%s queued notice not delivered: %s", user_id, exc.message)
        shown = None
    if shown is not None:
        await db.watches.set_status_message(watch.id, shown.message_id)
    background.wake(WATCHER_TASK)


async def _run_failed(
    query: CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    db: Database,
    wizard: Wizard,
    kind: str,
    exc: InfernoError,
) -> None:
    user_id = query.from_user.id
    order_id = wizard.order_id
    if isinstance(exc, ProviderUnavailable | UnreadableAnswer):
        # The request may have reached the provider: never resend blindly, let the user look.
        result = f"unknown:{type(exc).__name__}"
        text = i18n("install-outcome-unknown", order=order_id)
        markup = keyboards.outcome_unknown(i18n, order_id)
    elif isinstance(exc, ProviderFail) and exc.code == ALREADY_CREATING:
        result = f"fail:{exc.code}"
        await state.clear()
        text = i18n("install-already-creating", order=order_id)
        markup = keyboards.server_then_menu(i18n, order_id)
    elif isinstance(exc, ProviderFail):
        result = f"fail:{exc.code}" if exc.code is not None else "fail"
        text = i18n("install-run-failed", reason=translate_fail(i18n, exc))
        markup = keyboards.run_failed(i18n)
    else:
        result = f"error:{type(exc).__name__}"
        text = provider_error_text(i18n, exc)
        markup = keyboards.run_failed(i18n)
    await db.actions.record(user_id, kind, order_id, result)
    log.info("user=%s action=%s order=%s result=%s", user_id, kind, order_id, result)
    await show(query, text, markup)
