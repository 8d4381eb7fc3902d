"""The install / reinstall wizard: OS template → SSH keys → summary and dry run → confirm → queued.

Everything the wizard remembers lives in FSM data (SQLite), so a restart in the middle changes
nothing for the user. The data stays small: the order, the mode, the chosen template, the selected
key ids, a page, a filter and the current confirmation token. Buttons carry only short references:
a template's catalogue index plus a 6-hex hash of its name (names can be 60+ bytes), or one key id.

``run=1`` is sent at most once per confirmation: the token is consumed under the user's lock and
must also be the wizard's current one, so a double tap or a button on an old summary says so
instead of installing again. A reinstall asks twice, the second time on a button naming the IP.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers import sshkeys
from bot.handlers.callbacks import InstallMode, InstallStartCb, ServerCb
from bot.handlers.common import (
    delete_secret,
    is_provider_id,
    load_or_explain,
    looks_like_credential,
    plain,
)
from bot.handlers.filters import DataPrefix, NotCommand, NoText, TypedText
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import back_to_menu, back_to_menu_button
from bot.i18n import Html, Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, ProviderFail, ProviderUnavailable, UnreadableAnswer
from bot.inferno.models import Credentials, InstallResult, SshKey, Template
from bot.middlewares.user_lock import USER_LOCK
from bot.services.background import BackgroundTasks
from bot.services.locks import UserLocks
from bot.services.watcher import WATCHER_TASK, status_keyboard
from bot.storage import Database
from bot.ui import (
    clip,
    cyclic_pager_row,
    page_bounds,
    provider_error_text,
    retry_keyboard,
    show,
    translate_fail,
    typing,
)

log = logging.getLogger(__name__)


T = TypeVar("T")

TEMPLATES_PER_PAGE = 8
KEYS_PER_PAGE = 10
SUMMARY_KEYS = 10
LABEL_MAX = 48
FILTER_MAX = 40
PAGE_RE = re.compile(r"[0-9]{1,4}")
TEMPLATE_REF_RE = re.compile(r"([0-9]{1,5})\.([0-9a-f]{6})")
ALREADY_CREATING = 904


class WizAction(StrEnum):
    PAGE = "p"
    PICK = "t"
    CLEAR_FILTER = "c"
    TEMPLATES = "b"
    KEYS = "k"
    TOGGLE = "g"
    ADD_KEY = "a"
    SKIP_NAME = "s"
    SAVE_KEY = "v"
    SUMMARY = "m"
    WARN = "w"
    CONFIRM = "y"
    CANCEL = "x"


class WizCb(CallbackData, prefix="iw"):
    action: WizAction
    value: str = ""


class InstallWizard(StatesGroup):
    template = State()
    keys = State()
    summary = State()
    key_paste = State()
    key_name = State()


@dataclass
class Wizard:
    order_id: str
    mode: InstallMode
    ip: str | None = None
    template: str | None = None
    title: str | None = None
    keys: list[str] = field(default_factory=list)
    page: int = 0
    filter: str = ""
    key_page: int = 0
    # The dry run passed for exactly this template and these keys.
    checked: bool = False
    token: str | None = None

    @property
    def kind(self) -> str:
        return "reinstall" if self.mode is InstallMode.REINSTALL else "install"

    @property
    def os_label(self) -> str:
        return self.title or self.template or ""

    def to_data(self) -> dict[str, Any]:
        return {
            "o": self.order_id,
            "m": self.mode.value,
            "ip": self.ip,
            "t": self.template,
            "tt": self.title,
            "k": self.keys,
            "p": self.page,
            "f": self.filter,
            "kp": self.key_page,
            "ok": self.checked,
            "c": self.token,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Wizard | None:
        order_id, mode = data.get("o"), data.get("m")
        if not isinstance(order_id, str) or mode not in {m.value for m in InstallMode}:
            return None
        keys = data.get("k")
        return cls(
            order_id=order_id,
            mode=InstallMode(mode),
            ip=_opt_str(data.get("ip")),
            template=_opt_str(data.get("t")),
            title=_opt_str(data.get("tt")),
            keys=[str(k) for k in keys] if isinstance(keys, list) else [],
            page=_int(data.get("p")),
            filter=str(data.get("f") or ""),
            key_page=_int(data.get("kp")),
            checked=data.get("ok") is True,
            token=_opt_str(data.get("c")),
        )


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def load_wizard(state: FSMContext) -> Wizard | None:
    return Wizard.from_data(await state.get_data())


async def save_wizard(state: FSMContext, wizard: Wizard) -> None:
    # update_data, not set_data: a key waiting in the add-key steps must survive.
    await state.update_data(**wizard.to_data())


def _button(text: str, action: WizAction, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=WizCb(action=action, value=value).pack())


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=list(rows))


def _page_of(action: WizAction) -> Callable[[int], WizCb]:
    return lambda page: WizCb(action=action, value=str(page))


def _page(value: str) -> int | None:
    # Button data is untrusted: only plain ASCII digits, and few of them, make a page number.
    return int(value) if PAGE_RE.fullmatch(value) else None


def template_ref(index: int, name: str) -> str:
    return f"{index}.{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def resolve_template(templates: list[Template], ref: str) -> Template | None:
    """The template a button meant, checked against today's catalogue (it may have changed)."""
    match = TEMPLATE_REF_RE.fullmatch(ref)
    if match is None:
        return None
    index, digest = int(match[1]), match[2]
    if index < len(templates) and template_ref(index, templates[index].name) == ref:
        return templates[index]
    moved = [t for i, t in enumerate(templates) if template_ref(i, t.name).endswith(digest)]
    return moved[0] if len(moved) == 1 else None


def filter_templates(templates: list[Template], words: str) -> list[tuple[int, Template]]:
    needles = words.casefold().split()
    found = []
    for index, template in enumerate(templates):
        haystack = f"{template.name} {template.title or ''}".casefold()
        if all(needle in haystack for needle in needles):
            found.append((index, template))
    return found


# --------------------------------------------------------------------------- common screens


def cancel_button(i18n: Translator) -> InlineKeyboardButton:
    return _button(i18n("install-btn-cancel"), WizAction.CANCEL)


async def expired(event: Message | CallbackQuery, i18n: Translator) -> None:
    await show(event, i18n("install-expired"), back_to_menu(i18n))


async def open_wizard(query: CallbackQuery, state: FSMContext, i18n: Translator) -> Wizard | None:
    """The open wizard, or ``None`` after saying the dialog has expired."""
    wizard = await load_wizard(state)
    if wizard is None:
        await expired(query, i18n)
    return wizard


async def wizard_load(
    event: Message | CallbackQuery,
    i18n: Translator,
    bot: Bot,
    load: Callable[[], Awaitable[T]],
    retry: str | None = None,
) -> T | None:
    """``load_or_explain`` with the wizard's Cancel beside Retry."""
    return await load_or_explain(
        event,
        i18n,
        bot,
        load,
        log=log,
        action="install-wizard",
        back=(cancel_button(i18n),),
        retry=retry,
    )


def header(i18n: Translator, wizard: Wizard) -> str:
    if wizard.mode is InstallMode.REINSTALL:
        return i18n("install-header-reinstall", order=wizard.order_id, ip=wizard.ip or "")
    return i18n("install-header-install", order=wizard.order_id)


# --------------------------------------------------------------------------- entry


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
        if callback_data.mode is InstallMode.INSTALL:
            orders = await inferno.orders(account)
            order = next((o for o in orders if o.id == order_id), None)
            if order is None:
                await show(
                    query, i18n("install-order-not-yours", order=order_id), back_to_menu(i18n)
                )
                return
            if (order.status or "").casefold() != "active":
                text = i18n("install-order-not-paid", order=order_id, status=order.status or "?")
                await show(query, text, back_to_menu(i18n))
                return
            existing_ip = await _installed_ip(inferno, account, order_id)
            if existing_ip is not None:
                reinstall = InlineKeyboardButton(
                    text=i18n("install-btn-reinstall-instead"),
                    callback_data=InstallStartCb(
                        order_id=order_id, mode=InstallMode.REINSTALL
                    ).pack(),
                )
                text = i18n("install-has-server", order=order_id, ip=existing_ip)
                await show(query, text, _markup([reinstall], [back_to_menu_button(i18n)]))
                return
        else:
            info = await inferno.get_info(account, order_id)
            if not info.vps_ok or not info.ip:
                reason = "install-no-server" if not info.vps_ok else "install-server-busy"
                markup = _markup([_server_button(i18n, order_id)], [back_to_menu_button(i18n)])
                await show(query, i18n(reason, order=order_id), markup)
                return
            ip = info.ip
    except ProviderFail as exc:
        # getinfo with the user's own key fails for an order that is not theirs.
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


def _server_button(i18n: Translator, order_id: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=i18n("install-btn-server"), callback_data=ServerCb(order_id=order_id).pack()
    )


# --------------------------------------------------------------------------- step 1: template


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
    rows = [
        [
            _button(
                clip(template.title or template.name, LABEL_MAX),
                WizAction.PICK,
                template_ref(index, template.name),
            )
        ]
        for index, template in shown
    ]
    if pages > 1:
        rows.append(cyclic_pager_row(i18n, page, pages, _page_of(WizAction.PAGE)))
    if wizard.filter:
        rows.append([_button(i18n("install-btn-clear-filter"), WizAction.CLEAR_FILTER)])
    rows.append([cancel_button(i18n)])
    await show(event, "\n\n".join(parts), _markup(*rows))


async def _to_templates(
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
    wizard = await load_wizard(state)
    if wizard is None:
        await expired(query, i18n)
        return
    page = _page(callback_data.value)
    if callback_data.action is WizAction.PAGE and page is not None:
        wizard.page = page
    wizard.token = None
    await sshkeys.forget_pending(state)
    await _to_templates(query, state, i18n, bot, inferno, wizard)


async def clear_filter(
    query: CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    inferno: InfernoClient,
) -> None:
    wizard = await load_wizard(state)
    if wizard is None:
        await expired(query, i18n)
        return
    wizard.filter, wizard.page, wizard.token = "", 0, None
    await _to_templates(query, state, i18n, bot, inferno, wizard)


async def filter_typed(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    inferno: InfernoClient,
) -> None:
    text = message.text or ""
    wizard = await load_wizard(state)
    if wizard is None:
        await state.clear()
        await expired(message, i18n)
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
        await _to_templates(message, state, i18n, bot, inferno, wizard, notice)
        return
    if not words or len(words) > FILTER_MAX or "\n" in text.strip():
        await show(
            message, i18n("install-filter-bad", max=FILTER_MAX), _markup([cancel_button(i18n)])
        )
        return
    # Typing a word is a search from any step: it takes the user back to the list.
    wizard.filter, wizard.page, wizard.token = words, 0, None
    await _to_templates(message, state, i18n, bot, inferno, wizard)


async def _names_a_template(inferno: InfernoClient, words: str) -> bool:
    """Whether a secret-looking word ("Windows2022") is part of an OS name after all; without
    the list, it is taken for a secret."""
    try:
        catalog = await inferno.list_catalog()
    except InfernoError:
        return False
    return bool(filter_templates(catalog.templates, words))


async def not_a_word(message: Message, i18n: Translator) -> None:
    await show(message, i18n("install-filter-bad", max=FILTER_MAX), _markup([cancel_button(i18n)]))


async def template_picked(
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
    await _to_keys(query, state, i18n, bot, account, inferno, wizard)


# --------------------------------------------------------------------------- step 2: keys


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
    if await _drop_vanished_keys(state, wizard, keys):
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
    selected = set(wizard.keys)
    rows = [
        [
            _button(
                plain(
                    i18n(
                        "install-btn-key-on" if key.id in selected else "install-btn-key-off",
                        name=sshkeys.key_label(key),
                    )
                ),
                WizAction.TOGGLE,
                key.id,
            )
        ]
        for key in shown
    ]
    if pages > 1:
        rows.append(cyclic_pager_row(i18n, page, pages, _page_of(WizAction.KEYS)))
    rows.append([_button(i18n("install-btn-add-key"), WizAction.ADD_KEY)])
    go = (
        i18n("install-btn-continue-keys", count=len(wizard.keys))
        if wizard.keys
        else i18n("install-btn-continue-no-key")
    )
    rows.append([_button(go, WizAction.SUMMARY)])
    rows.append([_button(i18n("install-btn-change-os"), WizAction.TEMPLATES), cancel_button(i18n)])
    await show(event, "\n\n".join(parts), _markup(*rows))


async def _to_keys(
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


async def _drop_vanished_keys(state: FSMContext, wizard: Wizard, keys: list[SshKey]) -> bool:
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
    page = _page(callback_data.value)
    if page is not None:
        wizard.key_page = page
    wizard.token = None
    # Also the Back button of the add-key steps: the half-entered key is dropped.
    await sshkeys.forget_pending(state)
    await _to_keys(query, state, i18n, bot, account, inferno, wizard)


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
    await _to_keys(query, state, i18n, bot, account, inferno, wizard, notice=notice, keys=keys)


# --------------------------------------------------------------------------- add a key, and back


def key_flow_buttons(i18n: Translator) -> sshkeys.KeyFlowButtons:
    return sshkeys.KeyFlowButtons(
        back=_button(i18n("install-btn-back-to-keys"), WizAction.KEYS),
        skip=_button(i18n("sshkeys-btn-skip-name"), WizAction.SKIP_NAME),
        retry=_button(i18n("btn-retry"), WizAction.SAVE_KEY),
        again=_button(i18n("sshkeys-btn-other-key"), WizAction.ADD_KEY),
    )


async def add_key(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    wizard = await load_wizard(state)
    if wizard is None:
        await expired(query, i18n)
        return
    wizard.token = None
    await save_wizard(state, wizard)
    await sshkeys.forget_pending(state)
    await state.set_state(InstallWizard.key_paste)
    await sshkeys.ask_for_key(query, i18n, key_flow_buttons(i18n))


async def key_pasted(message: Message, state: FSMContext, i18n: Translator) -> None:
    await sshkeys.take_pasted_key(
        message, state, i18n, key_flow_buttons(i18n), InstallWizard.key_name
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
    buttons = key_flow_buttons(i18n)
    go_on, name = await sshkeys.take_name(event, i18n, buttons)
    if not go_on:
        return
    wizard = await load_wizard(state)
    if wizard is None:
        await state.clear()
        await expired(event, i18n)
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
    await _to_keys(
        event, state, i18n, bot, account, inferno, wizard, notice=notice, keys=saved.keys
    )


# --------------------------------------------------------------------------- step 3: summary


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


def _fix_buttons(i18n: Translator) -> list[list[InlineKeyboardButton]]:
    return [
        [
            _button(i18n("install-btn-change-os"), WizAction.TEMPLATES),
            _button(i18n("install-btn-change-keys"), WizAction.KEYS),
        ],
        [cancel_button(i18n)],
    ]


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
    if await _drop_vanished_keys(state, wizard, keys):
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
        result = await _send(inferno, account, wizard, run=False)
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
        retry = _button(i18n("btn-retry"), WizAction.SUMMARY)
        await show(query, f"{text}\n\n{failed}", _markup([retry], *_fix_buttons(i18n)))
        return
    wizard.checked = True
    passed = i18n("install-check-ok", message=result.message or "OK")
    if wizard.mode is InstallMode.INSTALL:
        wizard.token = await db.confirmations.issue(
            query.from_user.id, wizard.kind, _payload(wizard)
        )
        go = _button(i18n("install-btn-install"), WizAction.CONFIRM, wizard.token)
        footer = i18n("install-confirm-install")
    else:
        go = _button(i18n("install-btn-reinstall"), WizAction.WARN)
        footer = i18n("install-confirm-reinstall")
    await save_wizard(state, wizard)
    await show(query, f"{text}\n\n{passed}\n\n{footer}", _markup([go], *_fix_buttons(i18n)))


def _payload(wizard: Wizard) -> dict[str, Any]:
    return {
        "order": wizard.order_id,
        "template": wizard.template,
        "title": wizard.title,
        "keys": list(wizard.keys),
    }


async def _send(
    inferno: InfernoClient,
    creds: Credentials,
    wizard: Wizard,
    *,
    run: bool,
) -> InstallResult:
    assert wizard.template is not None
    call = inferno.reinstall if wizard.mode is InstallMode.REINSTALL else inferno.install
    return await call(creds, wizard.order_id, wizard.template, wizard.keys, run=run)


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
            _markup([_button(i18n("install-btn-check"), WizAction.SUMMARY)], [cancel_button(i18n)]),
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
    erase = _button(plain(i18n("install-btn-erase", ip=wizard.ip)), WizAction.CONFIRM, wizard.token)
    keep = _button(i18n("install-btn-keep"), WizAction.CANCEL)
    await show(query, text, _markup([erase], [keep]))


# --------------------------------------------------------------------------- step 4: confirm


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
        wizard.title = _opt_str(payload.get("title"))
        wizard.keys = [str(k) for k in payload.get("keys") or []]
        wizard.order_id = str(payload.get("order") or wizard.order_id)
        wizard.token, wizard.checked = None, False
        await save_wizard(state, wizard)
        kind = confirmation.action
        await typing(bot, user_id)
        try:
            result = await _send(inferno, account, wizard, run=True)
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
    server = _server_button(i18n, order_id)
    if isinstance(exc, ProviderUnavailable | UnreadableAnswer):
        # The request may have reached the provider: never resend blindly, let the user look.
        result = f"unknown:{type(exc).__name__}"
        text = i18n("install-outcome-unknown", order=order_id)
        markup = _markup(
            [server],
            [_button(i18n("install-btn-back-to-summary"), WizAction.SUMMARY)],
            [back_to_menu_button(i18n)],
        )
    elif isinstance(exc, ProviderFail) and exc.code == ALREADY_CREATING:
        result = f"fail:{exc.code}"
        await state.clear()
        text = i18n("install-already-creating", order=order_id)
        markup = _markup([server], [back_to_menu_button(i18n)])
    elif isinstance(exc, ProviderFail):
        result = f"fail:{exc.code}" if exc.code is not None else "fail"
        text = i18n("install-run-failed", reason=translate_fail(i18n, exc))
        markup = _markup(*_fix_buttons(i18n))
    else:
        result = f"error:{type(exc).__name__}"
        text = provider_error_text(i18n, exc)
        markup = _markup(*_fix_buttons(i18n))
    await db.actions.record(user_id, kind, order_id, result)
    log.info("user=%s action=%s order=%s result=%s", user_id, kind, order_id, result)
    await show(query, text, markup)


async def cancelled(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    wizard = await load_wizard(state)
    await state.clear()
    rows = [[back_to_menu_button(i18n)]]
    if wizard is not None:
        rows.insert(0, [_server_button(i18n, wizard.order_id)])
    await show(query, i18n("install-cancelled"), _markup(*rows))


async def unreadable_button(query: CallbackQuery, i18n: Translator) -> None:
    """A forged or outdated wizard button that none of the handlers above could read."""
    await expired(query, i18n)


def create_linked_area() -> LinkedArea:
    """The install / reinstall wizard."""
    area = linked_area(__name__, DataPrefix(InstallStartCb, WizCb), dialogs=[InstallWizard])
    router = area.router
    router.callback_query.register(start_wizard, InstallStartCb.filter())
    router.callback_query.register(
        templates_page, WizCb.filter(F.action.in_({WizAction.PAGE, WizAction.TEMPLATES}))
    )
    router.callback_query.register(clear_filter, WizCb.filter(F.action == WizAction.CLEAR_FILTER))
    router.message.register(
        filter_typed,
        StateFilter(InstallWizard.template, InstallWizard.keys, InstallWizard.summary),
        TypedText(),
    )
    router.message.register(
        not_a_word,
        StateFilter(InstallWizard.template, InstallWizard.keys, InstallWizard.summary),
        NoText(),
    )
    router.callback_query.register(template_picked, WizCb.filter(F.action == WizAction.PICK))
    router.callback_query.register(keys_step, WizCb.filter(F.action == WizAction.KEYS))
    router.callback_query.register(key_toggled, WizCb.filter(F.action == WizAction.TOGGLE))
    router.callback_query.register(add_key, WizCb.filter(F.action == WizAction.ADD_KEY))
    # Commands pass through these steps (e.g. /keys, handled by a router further down).
    router.message.register(key_pasted, StateFilter(InstallWizard.key_paste), NotCommand())
    router.callback_query.register(
        key_named_or_skipped, WizCb.filter(F.action.in_({WizAction.SKIP_NAME, WizAction.SAVE_KEY}))
    )
    router.message.register(key_named_or_skipped, StateFilter(InstallWizard.key_name), NotCommand())
    # Under the user's lock, like the install itself: a slow second tap cannot draw a summary
    # (and save the wizard again) after the first one's confirmation has been carried out.
    router.callback_query.register(
        summary_step, WizCb.filter(F.action == WizAction.SUMMARY), flags={USER_LOCK: True}
    )
    router.callback_query.register(
        reinstall_warning, WizCb.filter(F.action == WizAction.WARN), flags={USER_LOCK: True}
    )
    router.callback_query.register(confirmed, WizCb.filter(F.action == WizAction.CONFIRM))
    router.callback_query.register(cancelled, WizCb.filter(F.action == WizAction.CANCEL))
    router.callback_query.register(unreadable_button, DataPrefix(WizCb, InstallStartCb))
    return area
