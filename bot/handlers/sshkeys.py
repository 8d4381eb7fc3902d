"""SSH keys: list, add (paste a public key, then an optional name), remove with confirmation.

The add steps are also used by the install wizard (its "Add a key" button), so the pieces that
read the paste, ask for a name and save the key are plain functions taking the buttons to show;
this module never imports the wizard. A pasted key waits in FSM data (``pk`` and friends) between
the steps; public keys are not secrets, but a *private* key pasted by mistake is deleted from the
chat before anything else happens and never stored or logged.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers.common import (
    button,
    delete_pasted_secret,
    failure_note,
    is_provider_id,
    load_or_explain,
    looks_like_credential,
    plain,
    run_confirmed,
    user_id_of,
)
from bot.handlers.filters import DataPrefix, TextMatches
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import MenuCb, Screen, back_to_menu_button, menu_taps
from bot.i18n import Html, Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, ProviderFail
from bot.inferno.models import Credentials, SshKey
from bot.middlewares.user_lock import USER_LOCK
from bot.services.locks import UserLocks
from bot.services.sshkey_format import (
    InvalidPublicKey,
    KeyProblem,
    PublicKey,
    looks_like_private_key,
    parse_public_key,
)
from bot.storage import Database
from bot.storage.accounts import Role
from bot.ui import (
    Page,
    clip,
    cyclic_pager_row,
    delete_message,
    page_bounds,
    provider_error_text,
    show,
    translate_fail,
    typing,
)

log = logging.getLogger(__name__)


PAGE_SIZE = 8
NAME_MAX = 64
LABEL_MAX = 32
REMOVE_ACTION = "sshkey-remove"
# FSM data of a key waiting to be saved: line, fingerprint, default name, chosen name.
PENDING_FIELDS = ("pk", "pf", "pd", "pn")


class KeyAction(StrEnum):
    LIST = "l"
    ADD = "a"
    ASK_REMOVE = "r"
    REMOVE = "d"
    SKIP_NAME = "s"
    SAVE = "v"


class KeyCb(CallbackData, prefix="k"):
    action: KeyAction
    key_id: str = ""
    page: Page = 0
    token: str = ""


class KeyForm(StatesGroup):
    paste = State()
    name = State()


@dataclass(frozen=True)
class KeyFlowButtons:
    """What the add steps offer; the keys screen and the install wizard each bring their own."""

    back: InlineKeyboardButton
    skip: InlineKeyboardButton
    retry: InlineKeyboardButton
    again: InlineKeyboardButton


@dataclass(frozen=True)
class SavedKey:
    key_id: str | None
    name: str
    already_there: bool
    # The account's keys as last read (with the new one), so the next screen need not ask again.
    keys: list[SshKey] | None = None


def key_label(key: SshKey, limit: int = LABEL_MAX) -> str:
    return clip(key.name or f"#{key.id}", limit)


def own_buttons(i18n: Translator) -> KeyFlowButtons:
    return KeyFlowButtons(
        back=button(i18n("sshkeys-btn-back"), KeyCb(action=KeyAction.LIST)),
        skip=button(i18n("sshkeys-btn-skip-name"), KeyCb(action=KeyAction.SKIP_NAME)),
        retry=button(i18n("btn-retry"), KeyCb(action=KeyAction.SAVE)),
        again=button(i18n("sshkeys-btn-other-key"), KeyCb(action=KeyAction.ADD)),
    )


# --------------------------------------------------------------------------- steps shared with
# the install wizard


async def forget_pending(state: FSMContext) -> None:
    data = await state.get_data()
    if any(name in data for name in PENDING_FIELDS):
        await state.set_data({k: v for k, v in data.items() if k not in PENDING_FIELDS})


def back_markup(buttons: KeyFlowButtons) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[buttons.back]])


def name_markup(buttons: KeyFlowButtons) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[buttons.skip], [buttons.back]])


async def ask_for_key(
    event: Message | CallbackQuery, i18n: Translator, buttons: KeyFlowButtons
) -> None:
    await show(event, i18n("sshkeys-ask-key"), back_markup(buttons))


# What each problem is called; the ones with a detail to show are handled in problem_text.
_PROBLEM_KEYS = {
    KeyProblem.EMPTY: "sshkeys-bad-empty",
    KeyProblem.TOO_LONG: "sshkeys-bad-too-long",
    KeyProblem.SEVERAL_KEYS: "sshkeys-bad-several-keys",
    KeyProblem.SEVERAL_LINES: "sshkeys-bad-several-lines",
    KeyProblem.UNSUPPORTED_TYPE: "sshkeys-bad-type",
    KeyProblem.NO_BODY: "sshkeys-bad-no-body",
    KeyProblem.BAD_BASE64: "sshkeys-bad-base64",
    KeyProblem.PRIVATE_KEY: "sshkeys-private-deleted",
}


# A typed key name this long that looks like a credential is taken for a pasted API key.
SECRET_NAME_MIN = 16


def _holds_a_secret(text: str) -> bool:
    """The paste, or its first word (what would be named as the key type), looks like a password
    or an API key."""
    words = text.split()  # a credential is one word: the whole paste, or its first word
    return bool(words) and looks_like_credential(words[0])


def problem_text(i18n: Translator, error: InvalidPublicKey) -> str:
    if error.problem is KeyProblem.UNSUPPORTED_TYPE and error.detail:
        return i18n("sshkeys-bad-type-named", type=error.detail)
    if error.problem is KeyProblem.TYPE_MISMATCH:
        return i18n("sshkeys-bad-mismatch", type=error.detail)
    if error.problem is KeyProblem.WEAK_KEY:
        return i18n("sshkeys-bad-weak", bits=int(error.detail or 0))
    return i18n(_PROBLEM_KEYS.get(error.problem, "sshkeys-bad-data"))


async def refuse_private_key(message: Message, i18n: Translator) -> None:
    """Deletes the message first, then warns; the key must be treated as leaked anyway."""
    assert message.bot is not None, "a message from an update carries its bot"
    refusal = await delete_message(message.bot, message.chat.id, message.message_id)
    if refusal is not None:
        log.warning("user=%s private key message not deleted: %s", user_id_of(message), refusal)
    deleted = refusal is None
    log.info("user=%s action=sshkey-paste result=private-key-refused", user_id_of(message))
    text = i18n("sshkeys-private-deleted") if deleted else i18n("sshkeys-private-not-deleted")
    await message.answer(text)


async def accept_pasted_key(
    message: Message, state: FSMContext, i18n: Translator, buttons: KeyFlowButtons
) -> PublicKey | None:
    """The key from a paste, stored as pending; or ``None`` after explaining what is wrong."""
    retry_markup = back_markup(buttons)
    if message.text is None:
        hint = "sshkeys-bad-file" if message.document is not None else "sshkeys-bad-not-text"
        await show(message, i18n(hint), retry_markup)
        return None
    try:
        key = parse_public_key(message.text)
    except InvalidPublicKey as error:
        if error.problem is KeyProblem.PRIVATE_KEY:
            await refuse_private_key(message, i18n)
            return None
        log.info("user=%s action=sshkey-paste result=%s", user_id_of(message), error.problem)
        if error.problem is KeyProblem.UNSUPPORTED_TYPE and _holds_a_secret(message.text):
            # An API key or password pasted here by mistake: it must not stay in the chat, nor
            # come back as "the key type ... is not supported".
            again = i18n("sshkeys-bad-key", reason=Html(i18n("sshkeys-bad-type")))
            await delete_pasted_secret(message, i18n, again, retry_markup)
            return None
        await show(
            message, i18n("sshkeys-bad-key", reason=Html(problem_text(i18n, error))), retry_markup
        )
        return None
    default_name = key.comment or f"{key.short_type}-{key.fingerprint[7:15]}"
    await state.update_data(
        pk=key.line, pf=key.fingerprint, pd=default_name[:NAME_MAX].strip(), pn=None
    )
    return key


async def ask_for_name(
    event: Message | CallbackQuery, state: FSMContext, i18n: Translator, buttons: KeyFlowButtons
) -> None:
    data = await state.get_data()
    text = i18n(
        "sshkeys-ask-name",
        fingerprint=str(data.get("pf") or ""),
        default=str(data.get("pd") or ""),
        max=NAME_MAX,
    )
    await show(event, text, name_markup(buttons))


async def take_pasted_key(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    buttons: KeyFlowButtons,
    name_step: State,
) -> None:
    """The paste step: a usable key moves the dialog on to ``name_step``."""
    if await accept_pasted_key(message, state, i18n, buttons) is None:
        return
    await state.set_state(name_step)
    await ask_for_name(message, state, i18n, buttons)


async def take_name(
    event: Message | CallbackQuery, i18n: Translator, buttons: KeyFlowButtons
) -> tuple[bool, str | None]:
    """The name step: (go on, typed name). A tap (Skip / Retry) goes on with no new name; a typed
    name only when usable, after explaining the text otherwise."""
    if isinstance(event, CallbackQuery):
        return True, None
    typed = (event.text or "").strip()
    if len(typed) >= SECRET_NAME_MIN and looks_like_credential(typed):
        # A name is sent to the provider and shown back: a pasted key must be neither. Shorter
        # words ("WorkPC2024") are names people give.
        again = i18n("sshkeys-bad-name", max=NAME_MAX)
        await delete_pasted_secret(event, i18n, again, name_markup(buttons))
        return False, None
    name = clean_name(event.text or "")
    if name is None:
        await show(event, i18n("sshkeys-bad-name", max=NAME_MAX), name_markup(buttons))
    return name is not None, name


def clean_name(text: str) -> str | None:
    """A typed key name, or ``None`` when it is not usable as one."""
    if "\n" in text.strip():
        return None
    name = " ".join(text.split())
    if not name or len(name) > NAME_MAX or any(ord(ch) < 32 for ch in name):
        return None
    return name


async def save_pending_key(
    event: Message | CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    creds: Credentials,
    inferno: InfernoClient,
    db: Database,
    locks: UserLocks,
    buttons: KeyFlowButtons,
    name: str | None,
) -> SavedKey | None:
    """Adds the pending key once, then finds its new id; ``None`` after showing why not."""
    user_id = user_id_of(event)
    # The lock and the pending data together make a double tap on Skip add the key only once.
    async with locks.hold(user_id):
        data = await state.get_data()
        line = data.get("pk")
        if not isinstance(line, str):
            # A new message: a double tap must not overwrite what the first tap showed.
            await bot.send_message(
                user_id, i18n("sshkeys-nothing-pending"), reply_markup=back_markup(buttons)
            )
            return None
        fingerprint = str(data.get("pf") or "")
        chosen = name or data.get("pn") or data.get("pd") or None
        key_name = str(chosen) if chosen else None
        await state.update_data(pn=key_name)
        await typing(bot, user_id)
        try:
            before = await inferno.sshkey_list(creds)
        except InfernoError as exc:
            await _save_failed(event, i18n, user_id, buttons, exc)
            return None
        existing = next((k for k in before if fingerprint and k.fingerprint == fingerprint), None)
        if existing is not None:
            # Also what an earlier attempt that timed out but went through looks like.
            await forget_pending(state)
            return SavedKey(existing.id, existing.name, already_there=True, keys=before)
        try:
            await inferno.sshkey_add(creds, line, key_name)
        except InfernoError as exc:
            await db.actions.record(user_id, "sshkey-add", None, f"error:{type(exc).__name__}")
            await _save_failed(event, i18n, user_id, buttons, exc)
            return None
        await forget_pending(state)
        await db.actions.record(user_id, "sshkey-add", None, "ok")
        try:
            after = await inferno.sshkey_list(creds)
        except InfernoError as exc:
            log.info("user=%s action=sshkey-add relist=%s", user_id, type(exc).__name__)
            return SavedKey(None, key_name or "", already_there=False)
    new_key = _find_new_key(before, after, fingerprint, key_name)
    log.info(
        "user=%s action=sshkey-add result=ok key=%s",
        user_id,
        new_key.id if new_key else "unknown",
    )
    if new_key is None:
        return SavedKey(None, key_name or "", already_there=False, keys=after)
    return SavedKey(new_key.id, new_key.name or key_name or "", already_there=False, keys=after)


def _find_new_key(
    before: list[SshKey], after: list[SshKey], fingerprint: str, name: str | None
) -> SshKey | None:
    """The provider does not return the new id: it is the key that was not there before."""
    known = {k.id for k in before}
    fresh = [k for k in after if k.id not in known]
    for candidates in (
        [k for k in fresh if fingerprint and k.fingerprint == fingerprint],
        [k for k in after if fingerprint and k.fingerprint == fingerprint],
        fresh if len(fresh) == 1 else [],
        [k for k in fresh if name and k.name == name],
    ):
        if len(candidates) == 1:
            return candidates[0]
    return None


async def _save_failed(
    event: Message | CallbackQuery,
    i18n: Translator,
    user_id: int,
    buttons: KeyFlowButtons,
    exc: InfernoError,
) -> None:
    log.info("user=%s action=sshkey-add result=%s", user_id, type(exc).__name__)
    if isinstance(exc, ProviderFail):
        text = i18n("sshkeys-add-refused", reason=translate_fail(i18n, exc))
        rows = [[buttons.again], [buttons.back]]
    else:
        text = provider_error_text(i18n, exc)
        rows = [[buttons.retry], [buttons.back]]
    await show(event, text, InlineKeyboardMarkup(inline_keyboard=rows))


# --------------------------------------------------------------------------- the keys screen


async def show_keys(
    event: Message | CallbackQuery,
    i18n: Translator,
    bot: Bot,
    creds: Credentials,
    inferno: InfernoClient,
    page: int = 0,
    notice: str | None = None,
    keys: list[SshKey] | None = None,
) -> None:
    """The keys screen; ``keys`` is the list when the caller has just read it."""
    if keys is None:
        keys = await load_or_explain(
            event,
            i18n,
            bot,
            partial(inferno.sshkey_list, creds),
            log=log,
            action="sshkey-list",
            retry=KeyCb(action=KeyAction.LIST, page=page).pack(),
        )
        if keys is None:
            return
    page, pages, start = page_bounds(len(keys), page, PAGE_SIZE)
    shown = keys[start : start + PAGE_SIZE]
    parts = [notice] if notice else []
    if keys:
        parts.append(i18n("sshkeys-title", count=len(keys)))
        for number, key in enumerate(shown, start=start + 1):
            parts.append(
                i18n(
                    "sshkeys-item",
                    number=number,
                    name=key_label(key, NAME_MAX),
                    id=key.id,
                    details=Html(_key_details(key)),
                )
            )
    else:
        parts.append(i18n("sshkeys-empty"))
    rows: list[list[InlineKeyboardButton]] = []
    for key in shown:
        if is_provider_id(key.id):
            rows.append(
                [
                    button(
                        plain(i18n("sshkeys-btn-remove", name=key_label(key))),
                        KeyCb(action=KeyAction.ASK_REMOVE, key_id=key.id, page=page),
                    )
                ]
            )
    if pages > 1:
        rows.append(
            cyclic_pager_row(i18n, page, pages, lambda p: KeyCb(action=KeyAction.LIST, page=p))
        )
    rows.append([button(i18n("sshkeys-btn-add"), KeyCb(action=KeyAction.ADD))])
    rows.append([back_to_menu_button(i18n)])
    await show(event, "\n\n".join(parts), InlineKeyboardMarkup(inline_keyboard=rows))


def _key_details(key: SshKey) -> str:
    # No quote escaping, as in the HTML aiogram rebuilds of a shown message: show() compares
    # the two, and a difference would edit for nothing ("message is not modified").
    found = [html.escape(value, quote=False) for value in (key.key_type, key.fingerprint) if value]
    return " · ".join(f"<code>{value}</code>" for value in found)


async def keys_screen(
    event: Message | CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
) -> None:
    await state.clear()
    await show_keys(event, i18n, bot, account, inferno)


async def keys_page(
    query: CallbackQuery,
    callback_data: KeyCb,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
) -> None:
    # Also the Back button of the add steps: leaving them drops the half-entered key.
    if await state.get_state() in KeyForm:
        await state.clear()
    await show_keys(query, i18n, bot, account, inferno, page=callback_data.page)


async def add_start(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    # A fresh dialog: nothing of an earlier wizard or paste may leak into it.
    await state.clear()
    await state.set_state(KeyForm.paste)
    await ask_for_key(query, i18n, own_buttons(i18n))


async def key_pasted(message: Message, state: FSMContext, i18n: Translator) -> None:
    await take_pasted_key(message, state, i18n, own_buttons(i18n), KeyForm.name)


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
    """A typed name, or Skip / Retry (the default name, or the one typed before the failure)."""
    buttons = own_buttons(i18n)
    go_on, name = await take_name(event, i18n, buttons)
    if not go_on:
        return
    saved = await save_pending_key(
        event, state, i18n, bot, account, inferno, db, locks, buttons, name
    )
    if saved is None:
        return
    await state.clear()
    await show_keys(
        event, i18n, bot, account, inferno, notice=added_notice(i18n, saved), keys=saved.keys
    )


def added_notice(i18n: Translator, saved: SavedKey) -> str:
    name = clip(saved.name, NAME_MAX)
    if saved.already_there:
        return i18n("sshkeys-already-there", name=name)
    if saved.key_id is None:
        return i18n("sshkeys-added-no-id", name=name)
    return i18n("sshkeys-added", name=name, id=saved.key_id)


async def remove_ask(
    query: CallbackQuery,
    callback_data: KeyCb,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
    db: Database,
) -> None:
    back = button(i18n("sshkeys-btn-back"), KeyCb(action=KeyAction.LIST))
    keys = await load_or_explain(
        query,
        i18n,
        bot,
        partial(inferno.sshkey_list, account),
        log=log,
        action="sshkey-list",
        back=(back,),
    )
    if keys is None:
        return
    # The id comes from a button, so it is checked against the user's own keys.
    key = next((k for k in keys if k.id == callback_data.key_id), None)
    if key is None:
        await show_keys(
            query,
            i18n,
            bot,
            account,
            inferno,
            page=callback_data.page,
            notice=i18n("sshkeys-not-found"),
            keys=keys,
        )
        return
    token = await db.confirmations.issue(
        query.from_user.id, REMOVE_ACTION, {"key_id": key.id, "name": key.name, "cid": account.cid}
    )
    yes = button(i18n("sshkeys-btn-remove-yes"), KeyCb(action=KeyAction.REMOVE, token=token))
    no = button(i18n("btn-no"), KeyCb(action=KeyAction.LIST, page=callback_data.page))
    text = i18n(
        "sshkeys-remove-confirm", name=key_label(key, NAME_MAX), details=Html(_key_details(key))
    )
    await show(query, text, InlineKeyboardMarkup(inline_keyboard=[[yes], [no]]))


async def remove_confirmed(
    query: CallbackQuery,
    callback_data: KeyCb,
    i18n: Translator,
    bot: Bot,
    account: Credentials,
    inferno: InfernoClient,
    db: Database,
    locks: UserLocks,
) -> None:
    user_id = query.from_user.id
    back = InlineKeyboardMarkup(
        inline_keyboard=[[button(i18n("sshkeys-btn-back"), KeyCb(action=KeyAction.LIST))]]
    )
    done = await run_confirmed(
        bot,
        db,
        locks,
        account,
        user_id,
        callback_data.token,
        action=REMOVE_ACTION,
        key="key_id",
        call=lambda key_id: inferno.sshkey_remove(account, key_id),
        used_text=i18n("sshkeys-confirmation-used"),
        used_markup=back,
    )
    if done is None:
        return
    payload, outcome = done
    key_id: str = payload["key_id"]
    if isinstance(outcome, InfernoError):
        failure = failure_note(outcome)
        await db.actions.record(user_id, REMOVE_ACTION, None, failure)
        log.info("user=%s action=%s key=%s result=%s", user_id, REMOVE_ACTION, key_id, failure)
        await show(query, provider_error_text(i18n, outcome), back)
        return
    await db.actions.record(user_id, REMOVE_ACTION, None, "ok")
    log.info("user=%s action=%s key=%s result=ok", user_id, REMOVE_ACTION, key_id)
    name = str(payload.get("name") or f"#{key_id}")
    await show_keys(query, i18n, bot, account, inferno, notice=i18n("sshkeys-removed", name=name))


async def private_key_anywhere(message: Message, i18n: Translator) -> None:
    """A private key is leaked wherever it was pasted: delete it all the same."""
    await refuse_private_key(message, i18n)


def create_linked_area() -> LinkedArea:
    """The keys screen, adding and removing keys, and /keys."""
    area = linked_area(
        __name__,
        DataPrefix(KeyCb, exact=menu_taps(Screen.KEYS)),
        commands=["keys"],
        dialogs=[KeyForm],
        role=Role.ADMIN,
    )
    router = area.router
    router.callback_query.register(keys_screen, MenuCb.filter(F.screen == Screen.KEYS))
    router.message.register(keys_screen, Command("keys"))
    router.callback_query.register(keys_page, KeyCb.filter(F.action == KeyAction.LIST))
    router.callback_query.register(add_start, KeyCb.filter(F.action == KeyAction.ADD))
    router.message.register(key_pasted, StateFilter(KeyForm.paste))
    router.callback_query.register(
        key_named_or_skipped, KeyCb.filter(F.action.in_({KeyAction.SKIP_NAME, KeyAction.SAVE}))
    )
    router.message.register(key_named_or_skipped, StateFilter(KeyForm.name))
    router.callback_query.register(
        remove_ask, KeyCb.filter(F.action == KeyAction.ASK_REMOVE), flags={USER_LOCK: True}
    )
    router.callback_query.register(remove_confirmed, KeyCb.filter(F.action == KeyAction.REMOVE))
    return area


def create_private_key_router() -> Router:
    """Included before every other router (``bot/handlers/__init__.py``): whatever step the
    user is in — a search, the client id, a key name — a pasted private key is deleted before
    any handler could take it for something else and leave it in the chat."""
    router = Router(name=f"{__name__}.private_key")
    router.message.register(private_key_anywhere, TextMatches(looks_like_private_key))
    return router
