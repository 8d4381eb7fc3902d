"""Step 3 of the install wizard: the summary, checked by the provider's dry run, and for a
reinstall the warning that names the IP to be erased."""

from __future__ import annotations

import html
import logging
from functools import partial
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery

from bot.handlers.callbacks import InstallMode
from bot.handlers.common import own_order
from bot.handlers.install import keyboards
from bot.handlers.install.common import (
    expired,
    header,
    not_own_order,
    open_wizard,
    wizard_load,
)
from bot.handlers.install.keys import drop_vanished_keys, render_keys
from bot.handlers.install.send import send_install
from bot.handlers.install.templates import render_templates
from bot.handlers.install.wizard import InstallWizard, Wizard, load_wizard, save_wizard
from bot.i18n import Html, Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, ProviderFail
from bot.inferno.models import Credentials, SshKey
from bot.storage import Database
from bot.ui import clip, provider_error_text, show, translate_fail

log = logging.getLogger(__name__)

SUMMARY_KEYS = 10


def _key_names(i18n: Translator, wizard: Wizard, keys: list[SshKey]) -> Html:
    """HTML: provider names escaped here, so the translated parts are not escaped twice."""
    if not wizard.keys:
        return Html(i18n("install-summary-no-keys"))
    names = {k.id: k.name or f"#{k.id}" for k in keys}
    shown = ", ".join(
        html.escape(clip(names.get(key_id, f"#{key_id}"), 32), quote=False)
        for key_id in wizard.keys[:SUMMARY_KEYS]
    )
    hidden = len(wizard.keys) - SUMMARY_KEYS
    if hidden <= 0:
        return Html(shown)
    # Long lists are cut so the summary always fits one message with its buttons.
    more = i18n("install-summary-more-keys", count=hidden)
    return Html(f"{shown} {more}")


def summary_text(i18n: Translator, wizard: Wizard, keys: list[SshKey]) -> str:
    return "\n\n".join(
        (
            header(i18n, wizard),
            i18n(
                "install-summary",
                os=wizard.os_label,
                template=wizard.template or "",
                keys=_key_names(i18n, wizard, keys),
            ),
        )
    )


async def summary_step(
    query: CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
    db: Database,
) -> None:
    if (wizard := await open_wizard(query, state, i18n)) is None:
        return
    if wizard.template is None:
        await state.set_state(InstallWizard.template)
        await render_templates(query, i18n, bot, inferno, wizard)
        return
    keys = await wizard_load(query, i18n, bot, partial(inferno.sshkey_list, account))
    if keys is None:
        return
    if await drop_vanished_keys(state, wizard, keys):
        await state.set_state(InstallWizard.keys)
        notice = i18n("install-keys-vanished")
        await render_keys(
            query, state, i18n, bot, account, inferno, wizard, notice=notice, keys=keys
        )
        return
    text = summary_text(i18n, wizard, keys)
    wizard.checked, wizard.token = False, None
    await state.set_state(InstallWizard.summary)
    try:
        # The wizard's order was the user's when it started; it must still be before the
        # provider is asked anything about it.
        if await own_order(inferno, account, wizard.order_id) is None:
            await state.clear()
            await not_own_order(query, i18n, wizard.order_id)
            return
        result = await send_install(inferno, account, wizard, run=False)
    except InfernoError as exc:
        code = exc.code if isinstance(exc, ProviderFail) else None
        log.info(
            "user=%s action=%s-check order=%s result=%s code=%s",
            query.from_user.id,
            wizard.kind,
            wizard.order_id,
            type(exc).__name__,
            code,
        )
        await save_wizard(state, wizard)
        failed = (
            i18n("install-check-failed", reason=translate_fail(i18n, exc))
            if isinstance(exc, ProviderFail)
            else provider_error_text(i18n, exc)
        )
        await show(query, f"{text}\n\n{failed}", keyboards.check_failed(i18n))
        return
    wizard.checked = True
    passed = i18n("install-check-ok", message=result.message or "OK")
    if wizard.mode is InstallMode.INSTALL:
        wizard.token = await db.confirmations.issue(
            query.from_user.id, wizard.kind, _payload(wizard)
        )
        footer = i18n("install-confirm-install")
    else:
        footer = i18n("install-confirm-reinstall")
    await save_wizard(state, wizard)
    await show(query, f"{text}\n\n{passed}\n\n{footer}", keyboards.summary(i18n, wizard))


def _payload(wizard: Wizard) -> dict[str, Any]:
    return {
        "order": wizard.order_id,
        "template": wizard.template,
        "title": wizard.title,
        "keys": list(wizard.keys),
    }


async def reinstall_warning(
    query: CallbackQuery, state: FSMContext, i18n: Translator, db: Database
) -> None:
    wizard = await load_wizard(state)
    if wizard is None or wizard.mode is not InstallMode.REINSTALL or not wizard.ip:
        await expired(query, i18n)
        return
    if not wizard.checked:
        # Only reachable from a summary whose check passed; anything else re-checks first.
        await show(
            query,
            i18n("install-check-needed"),
            keyboards.check_needed(i18n),
        )
        return
    wizard.token = await db.confirmations.issue(query.from_user.id, wizard.kind, _payload(wizard))
    await save_wizard(state, wizard)
    text = i18n(
        "install-erase-warning",
        ip=wizard.ip,
        order=wizard.order_id,
        os=wizard.os_label,
    )
    await show(query, text, keyboards.erase_warning(i18n, wizard.ip, wizard.token))
