"""Step 2 of the install wizard: the SSH keys to put on the server, picked from the account's
keys or added on the way (with the add-key steps of the keys screen)."""

from __future__ import annotations

from functools import partial

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.handlers import sshkeys
from bot.handlers.common import is_provider_id
from bot.handlers.install import keyboards
from bot.handlers.install.common import header, open_wizard, wizard_load
from bot.handlers.install.templates import render_templates
from bot.handlers.install.wizard import (
    InstallWizard,
    WizAction,
    Wizard,
    WizCb,
    load_wizard,
    page_number,
    resolve_template,
    save_wizard,
)
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.models import Credentials, SshKey
from bot.services.locks import UserLocks
from bot.storage import Database
from bot.ui import page_bounds, show

KEYS_PER_PAGE = 10


async def template_picked(
    query: CallbackQuery,
    callback_data: WizCb,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
) -> None:
    """A template picked on step 1 (checked against the current catalogue) leads here."""
    if (wizard := await open_wizard(query, state, i18n)) is None:
        return
    catalog = await wizard_load(query, i18n, bot, inferno.list_catalog)
    if catalog is None:
        return
    template = resolve_template(catalog.templates, callback_data.value)
    if template is None:
        await state.set_state(InstallWizard.template)
        await render_templates(
            query, i18n, bot, inferno, wizard, notice=i18n("install-template-gone")
        )
        return
    if template.name != wizard.template:
        wizard.checked = False
        wizard.token = None
    wizard.template, wizard.title = template.name, template.title
    await to_keys(query, state, i18n, bot, account, inferno, wizard)


async def render_keys(
    event: Message | CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    creds: Credentials,
    inferno: InfernoClient,
    wizard: Wizard,
    notice: str | None = None,
    keys: list[SshKey] | None = None,
) -> None:
    """The keys step; ``keys`` is the list when the caller has just fetched it."""
    if wizard.template is None:
        await state.set_state(InstallWizard.template)
        await render_templates(event, i18n, bot, inferno, wizard)
        return
    if keys is None:
        retry = WizCb(action=WizAction.KEYS).pack()
        keys = await wizard_load(event, i18n, bot, partial(inferno.sshkey_list, creds), retry)
        if keys is None:
            return
    notices = [notice] if notice else []
    if await drop_vanished_keys(state, wizard, keys):
        notices.append(i18n("install-keys-vanished"))
    usable = [k for k in keys if is_provider_id(k.id)]
    page, pages, start = page_bounds(len(usable), wizard.key_page, KEYS_PER_PAGE)
    shown = usable[start : start + KEYS_PER_PAGE]
    parts = [header(i18n, wizard), i18n("install-step-keys", os=wizard.os_label)]
    if not keys:
        parts.append(i18n("install-keys-none-yet"))
    parts.append(
        i18n("install-keys-selected", count=len(wizard.keys))
        if wizard.keys
        else i18n("install-keys-password-hint")
    )
    parts.extend(notices)
    markup = keyboards.keys(i18n, wizard, shown, page, pages)
    await show(event, "\n\n".join(parts), markup)


async def to_keys(
    event: Message | CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    creds: Credentials,
    inferno: InfernoClient,
    wizard: Wizard,
    notice: str | None = None,
    keys: list[SshKey] | None = None,
) -> None:
    await state.set_state(InstallWizard.keys)
    await save_wizard(state, wizard)
    await render_keys(event, state, i18n, bot, creds, inferno, wizard, notice=notice, keys=keys)


async def drop_vanished_keys(state: FSMContext, wizard: Wizard, keys: list[SshKey]) -> bool:
    existing = {k.id for k in keys}
    kept = [k for k in wizard.keys if k in existing]
    if kept == wizard.keys:
        return False
    wizard.keys, wizard.checked, wizard.token = kept, False, None
    await save_wizard(state, wizard)
    return True


async def keys_step(
    query: CallbackQuery,
    callback_data: WizCb,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
) -> None:
    if (wizard := await open_wizard(query, state, i18n)) is None:
        return
    page = page_number(callback_data.value)
    if page is not None:
        wizard.key_page = page
    wizard.token = None
    # Also the Back button of the add-key steps: the half-entered key is dropped.
    await sshkeys.forget_pending(state)
    await to_keys(query, state, i18n, bot, account, inferno, wizard)


async def key_toggled(
    query: CallbackQuery,
    callback_data: WizCb,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
) -> None:
    if (wizard := await open_wizard(query, state, i18n)) is None:
        return
    key_id = callback_data.value
    keys = await wizard_load(query, i18n, bot, partial(inferno.sshkey_list, account))
    if keys is None:
        return
    notice = None
    if key_id in wizard.keys:
        wizard.keys.remove(key_id)
    elif any(k.id == key_id for k in keys):
        wizard.keys.append(key_id)
    else:
        # A forged button, or a key removed meanwhile: never let a foreign id reach the provider.
        notice = i18n("install-key-unknown")
    wizard.checked, wizard.token = False, None
    await to_keys(query, state, i18n, bot, account, inferno, wizard, notice=notice, keys=keys)


async def add_key(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    if (wizard := await open_wizard(query, state, i18n)) is None:
        return
    wizard.token = None
    await save_wizard(state, wizard)
    await sshkeys.forget_pending(state)
    await state.set_state(InstallWizard.key_paste)
    await sshkeys.ask_for_key(query, i18n, keyboards.key_flow_buttons(i18n))


async def key_pasted(message: Message, state: FSMContext, i18n: Translator) -> None:
    await sshkeys.take_pasted_key(
        message, state, i18n, keyboards.key_flow_buttons(i18n), InstallWizard.key_name
    )


async def key_named_or_skipped(
    event: Message | CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
    db: Database,
    locks: UserLocks,
) -> None:
    """Saves the pending key and comes back to the keys step with it selected."""
    buttons = keyboards.key_flow_buttons(i18n)
    go_on, name = await sshkeys.take_name(event, i18n, buttons)
    if not go_on:
        return
    if (wizard := await open_wizard(event, state, i18n, clear=True)) is None:
        return
    saved = await sshkeys.save_pending_key(
        event, state, i18n, bot, account, inferno, db, locks, buttons, name
    )
    if saved is None:
        return
    # Re-read: the wizard may have changed while the provider was being asked.
    wizard = await load_wizard(state) or wizard
    # Only an id that gets a toggle button is preselected: the user must be able to unselect it.
    key_id = saved.key_id if saved.key_id and is_provider_id(saved.key_id) else None
    if key_id is not None and key_id not in wizard.keys:
        wizard.keys.append(key_id)
        wizard.checked, wizard.token = False, None
    notice = sshkeys.added_notice(i18n, saved)
    if key_id is not None:
        notice = "\n".join((notice, i18n("install-key-preselected")))
    await to_keys(event, state, i18n, bot, account, inferno, wizard, notice=notice, keys=saved.keys)
