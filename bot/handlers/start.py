"""Onboarding: /start, linking an Inferno account (cid + API key, or email + password), /cancel.

Secrets typed here — the API key and the password — are deleted from the chat first thing, are
checked with a real provider call before anything is saved, and never reach FSM data, a log line
or a reply. Only the client id and the email (not secrets) wait in FSM data between steps.
"""

from __future__ import annotations

import logging
import re

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers.balance import money
from bot.handlers.callbacks import LinkAction, LinkCb
from bot.handlers.common import (
    delete_secret,
    looks_like_credential,
    user_id_of,
)
from bot.handlers.filters import DataPrefix
from bot.handlers.menu import menu_text
from bot.handlers.navigation import (
    Screen,
    back_to_menu,
    back_to_menu_button,
    main_menu_keyboard,
    menu_data,
)
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import AccessDenied, InfernoError, InvalidCredentials, ProviderUnavailable
from bot.inferno.models import Balance, Credentials
from bot.services.locks import UserLocks
from bot.storage import Database
from bot.ui import provider_error_text, show, typing

log = logging.getLogger(__name__)

CID_RE = re.compile(r"\d{1,12}")
KEY_MIN, KEY_MAX = 8, 128
EMAIL_MAX = 254
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,253}")
PASSWORD_MAX = 256
# The bot's commands, in the order its menu lists them. During a secret-entry step anything else
# — even text starting with "/", or one of these commands with more text after it ("/start
# <key>") — is treated as the secret and deleted, so a password like "/hunter2" never stays in
# the chat.
BOT_COMMANDS = ("start", "menu", "servers", "keys", "help", "cancel", "logout")
PASS_THROUGH_COMMANDS = frozenset(BOT_COMMANDS)
_BARE_COMMAND_RE = re.compile(r"\s*/([A-Za-z0-9_]{1,32})(?:@\w+)?\s*")
NEW_KEY_ACTION = "newkey"


class LinkStates(StatesGroup):
    cid = State()
    key = State()
    email = State()
    password = State()


class NewKeyCb(CallbackData, prefix="nk"):
    """The confirmed "issue a new key" choice; the token is spent when the password arrives."""

    token: str


def is_known_command(message: Message) -> bool:
    """One of our commands and nothing else: what may leave a secret-entry step."""
    match = _BARE_COMMAND_RE.fullmatch(message.text or "")
    return match is not None and match.group(1).lower() in PASS_THROUGH_COMMANDS


async def not_a_command(message: Message) -> bool:
    return not is_known_command(message)


# --------------------------------------------------------------------------- keyboards and texts


def link_options_keyboard(i18n: Translator, *, demo: bool) -> InlineKeyboardMarkup:
    options = [
        ("link-btn-key", LinkAction.KEY),
        ("link-btn-email", LinkAction.EMAIL),
        ("link-btn-new-key", LinkAction.NEW_KEY),
        *([("link-btn-demo", LinkAction.DEMO)] if demo else []),
    ]
    rows = [
        [InlineKeyboardButton(text=i18n(key), callback_data=LinkCb(action=action).pack())]
        for key, action in options
    ]
    help_button = InlineKeyboardButton(text=i18n("btn-help"), callback_data=menu_data(Screen.HELP))
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [help_button]])


def cancel_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    # The main menu clears the dialog on its own: cancelling needs no handler of its own.
    cancel = InlineKeyboardButton(text=i18n("btn-cancel"), callback_data=menu_data(Screen.MAIN))
    return InlineKeyboardMarkup(inline_keyboard=[[cancel]])


def retry_keyboard(i18n: Translator, action: LinkAction) -> InlineKeyboardMarkup:
    """After a failed attempt: start this way of linking over, or leave."""
    again = InlineKeyboardButton(
        text=i18n("link-btn-again"), callback_data=LinkCb(action=action).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[again], [back_to_menu_button(i18n)]])


def linked_text(i18n: Translator, creds: Credentials, balance: Balance | None) -> str:
    text = i18n("link-done", cid=str(creds.cid), masked=creds.masked_key)
    if balance is not None:
        text += "\n" + i18n("link-done-balance", amount=money(balance))
    return text


def key_problem(i18n: Translator, key: str | None) -> str | None:
    """Why ``key`` cannot be an API key, in the user's language; ``None`` when it may be one."""
    if key is None:
        return i18n("link-key-not-text")
    if len(key) > KEY_MAX:
        return i18n("link-key-too-long", count=len(key))
    if any(ch.isspace() for ch in key):
        return i18n("link-key-spaces")
    if len(key) < KEY_MIN:
        return i18n("link-key-too-short")
    if not (key.isascii() and key.isprintable()):
        return i18n("link-key-bad-chars")
    return None


async def store_account(db: Database, user_id: int, creds: Credentials) -> None:
    """Saves checked credentials; switching to another account drops the old one's leftovers."""
    previous = await db.users.get(user_id)
    if previous is not None and previous.cid is not None and previous.cid != creds.cid:
        # Install watches and confirmations of the other account's orders mean nothing now.
        await db.users.unlink(user_id)
    await db.users.link(user_id, creds.cid, creds.key)


# --------------------------------------------------------------------------- choosing a way


async def link_options(
    query: CallbackQuery, state: FSMContext, i18n: Translator, demo_account: Credentials | None
) -> None:
    await state.clear()
    await show(
        query, i18n("start-link-intro"), link_options_keyboard(i18n, demo=demo_account is not None)
    )


async def link_by_key(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await state.set_state(LinkStates.cid)
    await state.set_data({})
    await show(query, i18n("link-ask-cid"), cancel_keyboard(i18n))


async def link_by_email(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await state.set_state(LinkStates.email)
    await state.set_data({})
    await show(query, i18n("link-ask-email"), cancel_keyboard(i18n))


async def new_key_warning(
    query: CallbackQuery, state: FSMContext, i18n: Translator, db: Database
) -> None:
    await state.clear()
    token = await db.confirmations.issue(query.from_user.id, NEW_KEY_ACTION, {})
    confirm = InlineKeyboardButton(
        text=i18n("link-btn-new-key-confirm"), callback_data=NewKeyCb(token=token).pack()
    )
    cancel = InlineKeyboardButton(
        text=i18n("btn-cancel"), callback_data=LinkCb(action=LinkAction.OPTIONS).pack()
    )
    await show(
        query,
        i18n("link-new-key-warning"),
        InlineKeyboardMarkup(inline_keyboard=[[confirm], [cancel]]),
    )


async def new_key_confirmed(
    query: CallbackQuery,
    callback_data: NewKeyCb,
    state: FSMContext,
    i18n: Translator,
    db: Database,
) -> None:
    # Only looked at here: the token is spent when the password arrives, right before the call,
    # so a second tap on this button cannot issue a second key.
    pending = await db.confirmations.peek(query.from_user.id, callback_data.token)
    if pending is None or pending.action != NEW_KEY_ACTION:
        await show(query, i18n("expired"), back_to_menu(i18n))
        return
    await state.set_state(LinkStates.email)
    await state.set_data({"token": callback_data.token})
    await show(query, i18n("link-ask-email-new-key"), cancel_keyboard(i18n))


async def link_demo(
    query: CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    db: Database,
    inferno: InfernoClient,
    demo_account: Credentials | None,
) -> None:
    if demo_account is None:
        await show(query, i18n("link-demo-unavailable"), back_to_menu(i18n))
        return
    await state.clear()
    await typing(bot, query.from_user.id)
    try:
        balance = await inferno.balance(demo_account)
    except InfernoError as exc:
        await show(query, provider_error_text(i18n, exc), retry_keyboard(i18n, LinkAction.DEMO))
        return
    await store_account(db, query.from_user.id, demo_account)
    log.info("user=%s action=link method=demo result=ok", query.from_user.id)
    await show(query, linked_text(i18n, demo_account, balance), back_to_menu(i18n))


# --------------------------------------------------------------------------- client id + API key


async def cid_entered(message: Message, state: FSMContext, i18n: Translator) -> None:
    text = (message.text or "").strip()
    if not CID_RE.fullmatch(text):
        # The key pasted one step early is a common slip: it must not stay in the chat.
        if looks_like_credential(text):
            await delete_secret(message, i18n)
        await show(message, i18n("link-bad-cid"), cancel_keyboard(i18n))
        return
    cid = int(text)
    await state.update_data(cid=cid)
    await state.set_state(LinkStates.key)
    await show(message, i18n("link-ask-key", cid=str(cid)), cancel_keyboard(i18n))


async def key_entered(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    db: Database,
    inferno: InfernoClient,
) -> None:
    await delete_secret(message, i18n)
    user_id = user_id_of(message)
    cid = (await state.get_data()).get("cid")
    if not isinstance(cid, int):
        # The dialog lost its first step (e.g. an old state); never guess a client id.
        await state.set_state(LinkStates.cid)
        await show(message, i18n("link-ask-cid"), cancel_keyboard(i18n))
        return
    key = message.text.strip() if message.text is not None else None
    problem = key_problem(i18n, key)
    if problem is not None or key is None:
        await show(message, problem or i18n("link-key-not-text"), cancel_keyboard(i18n))
        return
    creds = Credentials(cid=cid, key=key)
    await typing(bot, message.chat.id)
    try:
        balance = await inferno.balance(creds)
    except InfernoError as exc:
        # Nothing is saved; the dialog stays on this step so the user can send the key again.
        log.info("user=%s action=link method=key result=%s", user_id, type(exc).__name__)
        await show(message, _key_failure_text(i18n, exc, cid), retry_keyboard(i18n, LinkAction.KEY))
        return
    await _save_linked(message, state, i18n, db, inferno, creds, method="key", balance=balance)


def _key_failure_text(i18n: Translator, exc: InfernoError, cid: int) -> str:
    if isinstance(exc, InvalidCredentials):
        return i18n("link-invalid-key", cid=str(cid))
    if isinstance(exc, AccessDenied):
        return i18n("link-access-denied")
    if isinstance(exc, ProviderUnavailable):
        return i18n("link-unavailable")
    return provider_error_text(i18n, exc) + "\n" + i18n("link-send-key-again")


# --------------------------------------------------------------------------- email + password


async def email_entered(message: Message, state: FSMContext, i18n: Translator) -> None:
    email = (message.text or "").strip()
    if len(email) > EMAIL_MAX or not EMAIL_RE.fullmatch(email):
        # So is the password sent before the address: here any one word that is not an
        # address may be it ("sunshine1" too), so it goes.
        if len(email) >= 6 and not any(c.isspace() for c in email):
            await delete_secret(message, i18n)
        await show(message, i18n("link-bad-email"), cancel_keyboard(i18n))
        return
    await state.update_data(email=email)
    await state.set_state(LinkStates.password)
    await show(message, i18n("link-ask-password"), cancel_keyboard(i18n))


async def password_entered(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    db: Database,
    inferno: InfernoClient,
    locks: UserLocks,
) -> None:
    await delete_secret(message, i18n)
    user_id = user_id_of(message)
    data = await state.get_data()
    email, token = data.get("email"), data.get("token")
    if not isinstance(email, str):
        await state.set_state(LinkStates.email)
        await show(message, i18n("link-ask-email"), cancel_keyboard(i18n))
        return
    # The password lives only in this local variable, for the one call below.
    password = message.text
    if not password:
        await show(message, i18n("link-password-not-text"), cancel_keyboard(i18n))
        return
    if len(password) > PASSWORD_MAX:
        await show(message, i18n("link-password-too-long"), cancel_keyboard(i18n))
        return
    await typing(bot, message.chat.id)
    if isinstance(token, str):
        await _issue_new_key(message, state, i18n, db, inferno, locks, email, password, token)
        return
    try:
        creds = await inferno.get_api_key(email, password, generate=False)
    except InfernoError as exc:
        log.info("user=%s action=link method=email result=%s", user_id, type(exc).__name__)
        if isinstance(exc, InvalidCredentials):
            # Either half may be wrong, so the dialog starts again from the email.
            await state.set_state(LinkStates.email)
            await show(message, i18n("link-wrong-password"), cancel_keyboard(i18n))
        else:
            await state.clear()
            await show(
                message, _email_failure_text(i18n, exc), retry_keyboard(i18n, LinkAction.EMAIL)
            )
        return
    await _save_linked(message, state, i18n, db, inferno, creds, method="email")


async def _issue_new_key(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    db: Database,
    inferno: InfernoClient,
    locks: UserLocks,
    email: str,
    password: str,
    token: str,
) -> None:
    """``getApiKey`` with generate=1 — revokes the current key, so at most once per confirmation."""
    user_id = user_id_of(message)
    async with locks.hold(user_id):
        confirmation = await db.confirmations.consume(user_id, token, {NEW_KEY_ACTION})
        await state.clear()
        if confirmation is None:
            await show(message, i18n("expired"), back_to_menu(i18n))
            return
        try:
            creds = await inferno.get_api_key(email, password, generate=True)
        except InfernoError as exc:
            log.info("user=%s action=newkey result=%s", user_id, type(exc).__name__)
            await db.actions.record(user_id, NEW_KEY_ACTION, None, type(exc).__name__)
            if isinstance(exc, InvalidCredentials):
                text = i18n("link-wrong-password-new-key")
            elif isinstance(exc, ProviderUnavailable):
                text = i18n("link-new-key-unknown")
            else:
                text = _email_failure_text(i18n, exc)
            await show(message, text, retry_keyboard(i18n, LinkAction.NEW_KEY))
            return
        await db.actions.record(user_id, NEW_KEY_ACTION, None, "ok")
    await _save_linked(message, state, i18n, db, inferno, creds, method="newkey")


def _email_failure_text(i18n: Translator, exc: InfernoError) -> str:
    if isinstance(exc, AccessDenied):
        return i18n("link-access-denied-email")
    if isinstance(exc, ProviderUnavailable):
        return i18n("link-unavailable-email")
    return provider_error_text(i18n, exc)


async def _save_linked(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    db: Database,
    inferno: InfernoClient,
    creds: Credentials,
    *,
    method: str,
    balance: Balance | None = None,
) -> None:
    """Stores checked credentials and says so, with the balance (fetched when not known yet)."""
    user_id = user_id_of(message)
    await store_account(db, user_id, creds)
    await state.clear()
    log.info("user=%s action=link method=%s result=ok cid=%s", user_id, method, creds.cid)
    if balance is None:
        # The key came from the provider itself; the balance only completes the confirmation.
        try:
            balance = await inferno.balance(creds)
        except InfernoError as exc:
            log.info("user=%s balance after linking failed: %s", user_id, type(exc).__name__)
    await show(message, linked_text(i18n, creds, balance), back_to_menu(i18n))


# --------------------------------------------------------------------------- commands


async def start_command(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    creds: Credentials | None,
    demo_account: Credentials | None,
) -> None:
    await state.clear()
    name = message.from_user.first_name if message.from_user else ""
    greeting = i18n("start-greeting", name=name)
    if creds is not None:
        await show(message, greeting + "\n\n" + menu_text(i18n, creds), main_menu_keyboard(i18n))
        return
    await show(
        message,
        greeting + "\n\n" + i18n("start-link-intro"),
        link_options_keyboard(i18n, demo=demo_account is not None),
    )


async def cancel_command(message: Message, state: FSMContext, i18n: Translator) -> None:
    if await state.get_state() is None:
        await show(message, i18n("nothing-to-cancel"), back_to_menu(i18n))
        return
    await state.clear()
    await show(message, i18n("cancelled"), back_to_menu(i18n))


def create_router() -> Router:
    """/start, /cancel and the ways of linking an account."""
    router = Router(name=__name__)
    # Taps meant for other areas are turned away before any handler here is tried.
    router.callback_query.filter(DataPrefix(LinkCb, NewKeyCb))
    router.callback_query.register(link_options, LinkCb.filter(F.action == LinkAction.OPTIONS))
    router.callback_query.register(link_by_key, LinkCb.filter(F.action == LinkAction.KEY))
    router.callback_query.register(link_by_email, LinkCb.filter(F.action == LinkAction.EMAIL))
    router.callback_query.register(new_key_warning, LinkCb.filter(F.action == LinkAction.NEW_KEY))
    router.callback_query.register(new_key_confirmed, NewKeyCb.filter())
    router.callback_query.register(link_demo, LinkCb.filter(F.action == LinkAction.DEMO))
    router.message.register(cid_entered, StateFilter(LinkStates.cid), not_a_command)
    router.message.register(key_entered, StateFilter(LinkStates.key), not_a_command)
    router.message.register(email_entered, StateFilter(LinkStates.email), not_a_command)
    router.message.register(password_entered, StateFilter(LinkStates.password), not_a_command)
    # After the dialog steps: aiogram tries a router's handlers in the order they were
    # registered, and a step must see "/start <secret>" (it deletes it as the secret) before
    # /start does.
    router.message.register(start_command, CommandStart())
    router.message.register(cancel_command, Command("cancel"))
    return router
