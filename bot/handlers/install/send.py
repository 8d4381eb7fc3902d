"""Sending the confirmed install or reinstall (``run=1``): at most once per confirmation, and
never again on its own when the outcome is unknown.

The watch is recorded with the spent confirmation, before the provider is asked, and marked
accepted when it says so; a refusal removes it, and an answer that never comes (or a process
that dies waiting) leaves it for the watcher to find out what happened."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.handlers.callbacks import InstallMode
from bot.handlers.common import own_order
from bot.handlers.install import keyboards
from bot.handlers.install.common import not_own_order
from bot.handlers.install.wizard import Wizard, WizCb, load_wizard, opt_str, save_wizard
from bot.handlers.navigation import back_to_menu
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, ProviderFail, ProviderUnavailable, UnreadableAnswer
from bot.inferno.models import Credentials, InstallResult, ServerInfo
from bot.services.background import BackgroundTasks
from bot.services.locks import UserLocks
from bot.services.watcher import WATCHER_TASK, InstallWatcher, status_keyboard
from bot.storage import Confirmation, Database, Watch, WatchIntent
from bot.storage.accounts import Access
from bot.ui import provider_error_text, retry_keyboard, show, translate_fail, typing

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
    watcher: InstallWatcher,
    scope: Access,
) -> None:
    user_id = query.from_user.id
    token = callback_data.value
    async with locks.hold(user_id):
        wizard = await load_wizard(state)
        if not token or wizard is None or wizard.token != token:
            await _confirmation_used(bot, i18n, user_id)
            return
        await typing(bot, user_id)
        # The order is checked before the confirmation is spent: after a failed check, Retry
        # taps the same button. A reinstall also reads its server as it is now: a different
        # root password afterwards shows that the reinstall happened, even if the watcher never
        # saw the server go down.
        before: ServerInfo | None = None
        try:
            order = await own_order(inferno, account, wizard.order_id)
            if order is not None and wizard.mode is InstallMode.REINSTALL:
                before = await inferno.get_info(account, wizard.order_id)
        except InfernoError as exc:
            log.info(
                "user=%s action=%s-confirm result=%s", user_id, wizard.kind, type(exc).__name__
            )
            markup = retry_keyboard(i18n, query.data, keyboards.cancel_button(i18n))
            await show(query, provider_error_text(i18n, exc), markup)
            return
        if order is None:
            await state.clear()
            await not_own_order(query, i18n, wizard.order_id)
            return
        message = query.message if isinstance(query.message, Message) else None
        # The watch is written in the transaction that spends the confirmation, before the
        # provider is asked: whatever happens to the call (or to this process), it is followed.
        started = await db.watches.start_confirmed(
            user_id,
            token,
            {"install", "reinstall"},
            chat_id=message.chat.id if message is not None else user_id,
            status_message_id=message.message_id if message is not None else None,
            intent=lambda confirmation: _intent(confirmation, wizard, before),
            account_id=scope.account.id,
            # Every replica's watcher leaves it alone until the call below ended.
            busy_for=watcher.busy_for,
        )
        if started is None:
            await _confirmation_used(bot, i18n, user_id)
            return
        confirmation, watch = started
        # What was confirmed is what is sent, whatever the wizard's data says now.
        payload = confirmation.payload
        wizard.template = str(payload.get("template") or "")
        wizard.title = opt_str(payload.get("title"))
        wizard.keys = [str(k) for k in payload.get("keys") or []]
        wizard.token, wizard.checked = None, False
        await save_wizard(state, wizard)
        kind = confirmation.action
        # Until its message is drawn, the watcher leaves the watch alone: it would otherwise
        # draw its own findings first, and the handler's screen would come after them.
        async with watcher.sending(watch.id):
            try:
                result = await send_install(inferno, account, wizard, run=True)
            except InfernoError as exc:
                await _run_failed(query, state, i18n, db, wizard, kind, exc, watch)
            else:
                await db.watches.accepted(watch.id)
                await db.actions.record(user_id, kind, wizard.order_id, "queued")
                await state.clear()
                # Still under the lock, so a second tap's notice comes only after all of this.
                await _queued(query, i18n, db, wizard, kind, result, watch)
        background.wake(WATCHER_TASK)


def _intent(
    confirmation: Confirmation, wizard: Wizard, before: ServerInfo | None
) -> WatchIntent | None:
    """What the confirmation is watched as — only for the order just checked, else None (it is
    then left unspent); ``before`` is a reinstall's server as it was just now."""
    payload = confirmation.payload
    if payload.get("order") != wizard.order_id:
        return None
    label = opt_str(payload.get("title")) or str(payload.get("template") or "")
    if before is None:
        return WatchIntent(order_id=wizard.order_id, template=label)
    return WatchIntent(
        order_id=wizard.order_id,
        template=label,
        known_ip=before.ip or wizard.ip,
        password=before.password or None,
    )


async def _confirmation_used(bot: Bot, i18n: Translator, user_id: int) -> None:
    # Sent as a new message: the first tap's "queued" message must stay as it is.
    await bot.send_message(
        user_id, i18n("install-confirmation-used"), reply_markup=back_to_menu(i18n)
    )


async def _queued(
    query: CallbackQuery,
    i18n: Translator,
    db: Database,
    wizard: Wizard,
    kind: str,
    result: InstallResult,
    watch: Watch,
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
    text = i18n(
        "install-reinstall-queued" if kind == "reinstall" else "install-queued",
        order=wizard.order_id,
        os=wizard.os_label,
        message=result.message or "",
    )
    await _show_status(query, text, i18n, db, watch)


async def _show_status(
    query: CallbackQuery, text: str, i18n: Translator, db: Database, watch: Watch
) -> None:
    """Draws the install's status message, which the watcher goes on editing."""
    try:
        shown = await show(query, text, status_keyboard(i18n, watch.order_id))
    except TelegramAPIError as exc:
        log.warning("user=%s install status not delivered: %s", query.from_user.id, exc.message)
        shown = None
    if shown is not None and shown.message_id != watch.status_message_id:
        await db.watches.set_status_message(watch.id, shown.message_id)


async def _run_failed(
    query: CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    db: Database,
    wizard: Wizard,
    kind: str,
    exc: InfernoError,
    watch: Watch,
) -> None:
    user_id = query.from_user.id
    order_id = wizard.order_id
    if isinstance(exc, ProviderUnavailable | UnreadableAnswer):
        # The request may have reached the provider: never resend blindly. The watch stays,
        # outcome unknown, and the watcher finds out and tells the user either way.
        result = f"unknown:{type(exc).__name__}"
        await state.clear()
        await db.actions.record(user_id, kind, order_id, result)
        log.info("user=%s action=%s order=%s result=%s", user_id, kind, order_id, result)
        await _show_status(query, i18n("install-outcome-unknown", order=order_id), i18n, db, watch)
        return
    # The provider answered: nothing was started, so there is nothing to watch.
    await db.watches.delete(watch.id)
    if isinstance(exc, ProviderFail) and exc.code == ALREADY_CREATING:
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
