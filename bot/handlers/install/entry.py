"""Starting the install wizard from an order, and leaving it."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery

from bot.handlers.callbacks import InstallMode, InstallStartCb
from bot.handlers.common import is_provider_id, own_order
from bot.handlers.install import keyboards
from bot.handlers.install.common import expired, not_own_order
from bot.handlers.install.templates import render_templates
from bot.handlers.install.wizard import InstallWizard, Wizard, load_wizard
from bot.handlers.navigation import back_to_menu, back_to_menu_button
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, ProviderFail
from bot.inferno.models import Credentials
from bot.ui import provider_error_text, retry_keyboard, show, translate_fail, typing

log = logging.getLogger(__name__)


async def start_wizard(
    query: CallbackQuery,
    callback_data: InstallStartCb,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
) -> None:
    order_id = callback_data.order_id
    if not is_provider_id(order_id):
        await show(query, i18n("install-order-invalid"), back_to_menu(i18n))
        return
    await typing(bot, query.from_user.id)
    ip: str | None = None
    try:
        order = await own_order(inferno, account, order_id)
        if order is None:
            await not_own_order(query, i18n, order_id)
            return
        if callback_data.mode is InstallMode.INSTALL:
            if (order.status or "").casefold() != "active":
                text = i18n("install-order-not-paid", order=order_id, status=order.status or "?")
                await show(query, text, back_to_menu(i18n))
                return
            existing_ip = await _installed_ip(inferno, account, order_id)
            if existing_ip is not None:
                text = i18n("install-has-server", order=order_id, ip=existing_ip)
                await show(query, text, keyboards.reinstall_instead(i18n, order_id))
                return
        else:
            info = await inferno.get_info(account, order_id)
            if not info.vps_ok or not info.ip:
                reason = "install-no-server" if not info.vps_ok else "install-server-busy"
                markup = keyboards.server_then_menu(i18n, order_id)
                await show(query, i18n(reason, order=order_id), markup)
                return
            ip = info.ip
    except ProviderFail as exc:
        # The provider refuses an order of the user's own list (gone since the list was read).
        log.info("user=%s action=install-start order=%s result=fail", query.from_user.id, order_id)
        text = i18n("install-order-refused", order=order_id, reason=translate_fail(i18n, exc))
        await show(query, text, back_to_menu(i18n))
        return
    except InfernoError as exc:
        log.info("user=%s action=install-start result=%s", query.from_user.id, type(exc).__name__)
        markup = retry_keyboard(i18n, query.data, back_to_menu_button(i18n))
        await show(query, provider_error_text(i18n, exc), markup)
        return
    wizard = Wizard(order_id=order_id, mode=callback_data.mode, ip=ip)
    # A new wizard replaces whatever dialog was open, and any half-finished wizard.
    await state.clear()
    await state.set_state(InstallWizard.template)
    await state.set_data(wizard.to_data())
    log.info("user=%s action=%s-wizard order=%s", query.from_user.id, wizard.kind, order_id)
    await render_templates(query, i18n, bot, inferno, wizard)


async def _installed_ip(inferno: InfernoClient, creds: Credentials, order_id: str) -> str | None:
    """The IP of a finished server on the order, so "install" can point to "reinstall" early."""
    try:
        info = await inferno.get_info(creds, order_id)
    except InfernoError as exc:
        # Only a shortcut: the dry run at the end still catches an existing server (904).
        log.info("order=%s early server check skipped: %s", order_id, type(exc).__name__)
        return None
    return info.ip if info.vps_ok and info.ip else None


async def cancelled(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    wizard = await load_wizard(state)
    await state.clear()
    order_id = wizard.order_id if wizard is not None else None
    await show(query, i18n("install-cancelled"), keyboards.cancelled(i18n, order_id))


async def unreadable_button(query: CallbackQuery, i18n: Translator) -> None:
    """A forged or outdated wizard button that no other wizard handler could read (it is
    registered last)."""
    await expired(query, i18n)
