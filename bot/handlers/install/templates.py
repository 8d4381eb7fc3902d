"""Step 1 of the install wizard: the OS template, from a paged list a typed word filters."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.handlers import sshkeys
from bot.handlers.common import delete_secret, looks_like_credential
from bot.handlers.install import keyboards
from bot.handlers.install.common import header, open_wizard, wizard_load
from bot.handlers.install.wizard import (
    InstallWizard,
    WizAction,
    Wizard,
    WizCb,
    filter_templates,
    page_number,
    save_wizard,
)
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError
from bot.ui import page_bounds, show

TEMPLATES_PER_PAGE = 8
FILTER_MAX = 40


async def render_templates(
    event: Message | CallbackQuery,
    i18n: Translator,
    bot: Bot,
    inferno: InfernoClient,
    wizard: Wizard,
    notice: str | None = None,
) -> None:
    retry = WizCb(action=WizAction.PAGE, value=str(wizard.page)).pack()
    catalog = await wizard_load(event, i18n, bot, inferno.list_catalog, retry)
    if catalog is None:
        return
    matches = filter_templates(catalog.templates, wizard.filter)
    page, pages, start = page_bounds(len(matches), wizard.page, TEMPLATES_PER_PAGE)
    shown = matches[start : start + TEMPLATES_PER_PAGE]
    parts = [header(i18n, wizard), i18n("install-step-template")]
    if wizard.filter:
        parts.append(i18n("install-filter-on", filter=wizard.filter, count=len(matches)))
        if not matches:
            parts.append(i18n("install-filter-nothing"))
    else:
        parts.append(i18n("install-filter-hint", count=len(matches)))
    if notice:
        parts.append(notice)
    markup = keyboards.templates(i18n, shown, page, pages, filtered=bool(wizard.filter))
    await show(event, "\n\n".join(parts), markup)


async def to_templates(
    event: Message | CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    inferno: InfernoClient,
    wizard: Wizard,
    notice: str | None = None,
) -> None:
    await state.set_state(InstallWizard.template)
    await save_wizard(state, wizard)
    await render_templates(event, i18n, bot, inferno, wizard, notice)


async def templates_page(
    query: CallbackQuery,
    callback_data: WizCb,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    inferno: InfernoClient,
) -> None:
    if (wizard := await open_wizard(query, state, i18n)) is None:
        return
    page = page_number(callback_data.value)
    if callback_data.action is WizAction.PAGE and page is not None:
        wizard.page = page
    wizard.token = None
    await sshkeys.forget_pending(state)
    await to_templates(query, state, i18n, bot, inferno, wizard)


async def clear_filter(
    query: CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    inferno: InfernoClient,
) -> None:
    if (wizard := await open_wizard(query, state, i18n)) is None:
        return
    wizard.filter, wizard.page, wizard.token = "", 0, None
    await to_templates(query, state, i18n, bot, inferno, wizard)


async def filter_typed(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    inferno: InfernoClient,
) -> None:
    text = message.text or ""
    if (wizard := await open_wizard(message, state, i18n, clear=True)) is None:
        return
    words = " ".join(text.split())
    # Before the length check: an API key is longer than any filter, and must go all the same.
    if looks_like_credential(words) and not (
        len(words) <= FILTER_MAX and await _names_a_template(inferno, words)
    ):
        # A password or key typed here by mistake: deleted, and never shown back as the filter.
        deleted = await delete_secret(message, i18n)
        wizard.page, wizard.token = 0, None
        notice = i18n("input-secret-deleted") if deleted else None
        await to_templates(message, state, i18n, bot, inferno, wizard, notice)
        return
    if not words or len(words) > FILTER_MAX or "\n" in text.strip():
        await show(message, i18n("install-filter-bad", max=FILTER_MAX), keyboards.only_cancel(i18n))
        return
    # Typing a word is a search from any step: it takes the user back to the list.
    wizard.filter, wizard.page, wizard.token = words, 0, None
    await to_templates(message, state, i18n, bot, inferno, wizard)


async def _names_a_template(inferno: InfernoClient, words: str) -> bool:
    """Whether a secret-looking word ("Windows2022") is part of an OS name after all; without
    the list, it is taken for a secret."""
    try:
        catalog = await inferno.list_catalog()
    except InfernoError:
        return False
    return bool(filter_templates(catalog.templates, words))


async def not_a_word(message: Message, i18n: Translator) -> None:
    await show(message, i18n("install-filter-bad", max=FILTER_MAX), keyboards.only_cancel(i18n))
