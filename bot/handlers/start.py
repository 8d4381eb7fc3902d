"""Onboarding: /start, linking an Inferno account (cid + API key, or email + password), /cancel.

Secrets typed here — the API key and the password — are deleted from the chat first thing, are
checked with a real provider call before anything is saved, and never reach FSM data, a log line
or a reply. Only the client id and the email (not secrets) wait in FSM data between steps.
"""

from __future__ import annotations

import logging
import math
import re

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.config import Settings
from bot.handlers import members
from bot.handlers.balance import money
from bot.handlers.callbacks import LinkAction, LinkCb
from bot.handlers.common import (
    delete_pasted_secret,
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
from bot.storage import Database, LinkAttempt, LinkLimits, LinkRefusal
from bot.storage.accounts import Access
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
# Words people put in front of what they paste ("cid: 777", "API key = …", "email: …"); a label
# glued to its value ("key=…", "cid:777") is taken off it too.
PASTE_LABELS = frozenset(
    {
        *("cid", "client", "clientid", "client_id", "client-id", "id", "клиент", "номер"),
        *("key", "apikey", "api_key", "api-key", "api", "x-key", "ключ", "api-ключ"),
        *("email", "e-mail", "mail", "login", "почта", "логин"),
        *("password", "pass", "pwd", "пароль"),
    }
)
_PASTE_SEPARATORS = re.compile(r"[\s,;]+")
_GLUED_LABEL = re.compile(r"([^\W\d][\w-]*)[:=](.+)", re.DOTALL)
_EMAIL_LABEL = r"(?:email|e-mail|mail|login|почта|логин)"
# "pass: x" and "password x" are labels; "pass word" may be the password itself.
_PASSWORD_LABEL = r"(?:(?:password|pass|pwd|пароль)\s*[:=]\s*|(?:password|пароль)\s+)"


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


def demo_rows(i18n: Translator, demo: bool) -> list[list[InlineKeyboardButton]]:
    """In demo mode, the way in that always works, under a rejected key or password."""
    if not demo:
        return []
    data = LinkCb(action=LinkAction.DEMO).pack()
    return [[InlineKeyboardButton(text=i18n("link-btn-demo"), callback_data=data)]]


def cancel_keyboard(i18n: Translator, *, demo: bool = False) -> InlineKeyboardMarkup:
    # The main menu clears the dialog on its own: cancelling needs no handler of its own.
    cancel = InlineKeyboardButton(text=i18n("btn-cancel"), callback_data=menu_data(Screen.MAIN))
    return InlineKeyboardMarkup(inline_keyboard=[*demo_rows(i18n, demo), [cancel]])


def retry_keyboard(
    i18n: Translator, action: LinkAction, *, demo: bool = False
) -> InlineKeyboardMarkup:
    """After a failed attempt: start this way of linking over, or leave."""
    again = InlineKeyboardButton(
        text=i18n("link-btn-again"), callback_data=LinkCb(action=action).pack()
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[[again], *demo_rows(i18n, demo), [back_to_menu_button(i18n)]]
    )


def linked_text(
    i18n: Translator, creds: Credentials, balance: Balance | None, currency: str
) -> str:
    """``currency`` (the setting) names the balance when its own answer names none."""
    text = i18n("link-done", cid=str(creds.cid), masked=creds.masked_key)
    if balance is not None:
        text += "\n" + i18n("link-done-balance", amount=money(balance, currency))
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


def plausible_key(key: str) -> bool:
    """What :func:`key_problem` lets through, without saying why not."""
    return (
        KEY_MIN <= len(key) <= KEY_MAX
        and key.isascii()
        and key.isprintable()
        and not any(ch.isspace() for ch in key)
    )


def pasted_values(text: str) -> list[str]:
    """The words of a message, without the labels in front of them."""
    values = []
    for word in _PASTE_SEPARATORS.split(text):
        if not word or word.rstrip(":=").lower() in PASTE_LABELS:
            continue
        glued = _GLUED_LABEL.fullmatch(word)
        if glued is not None and glued.group(1).lower() in PASTE_LABELS:
            word = glued.group(2)
        values.append(word)
    return values


def cid_and_key(text: str) -> tuple[int, str] | None:
    """A client id and an API key pasted in one message (``777 <key>``, on two lines,
    ``cid 777 key <key>``), or None. A key never holds a space, so the two cannot blur."""
    values = pasted_values(text)
    if len(values) != 2:
        return None
    cids = [value for value in values if CID_RE.fullmatch(value)]
    if len(cids) != 1:
        return None
    key = values[1] if values[0] == cids[0] else values[0]
    return (int(cids[0]), key) if plausible_key(key) else None


def holds_credential(text: str) -> bool:
    """Whether any word of ``text`` may be a key or a password."""
    return any(looks_like_credential(value) for value in pasted_values(text))


def password_after_email(text: str, email: str) -> str | None:
    """The password of an "email password" paste (two lines, labels allowed) sent to the
    password step; None when the message does not start with the dialog's email."""
    pattern = (
        rf"\s*(?:{_EMAIL_LABEL}\s*[:=]?\s*)?{re.escape(email)}[\s,;]+"
        rf"{_PASSWORD_LABEL}?(?P<password>.+?)\s*"
    )
    match = re.fullmatch(pattern, text, re.IGNORECASE | re.DOTALL)
    return match.group("password") if match is not None else None


def link_limits(settings: Settings) -> LinkLimits:
    return LinkLimits(
        per_user=settings.link_attempts_per_user,
        per_minute=settings.link_failures_per_minute,
    )


def wait_text(i18n: Translator, seconds: float) -> str:
    """How long a wait is, in words: seconds under a minute, then minutes, then hours."""
    total = max(1, math.ceil(seconds))
    if total < 60:
        return i18n("link-wait-seconds", count=total)
    minutes = math.ceil(total / 60)
    if minutes < 60:
        return i18n("link-wait-minutes", count=minutes)
    hours, minutes = divmod(minutes, 60)
    text = i18n("link-wait-hours", count=hours)
    return f"{text} {i18n('link-wait-minutes', count=minutes)}" if minutes else text


def refusal_text(i18n: Translator, refusal: LinkRefusal) -> str:
    wait = wait_text(i18n, refusal.wait)
    if refusal.everyone:
        return i18n("link-wait-everyone", wait=wait)
    return i18n("link-wait-user", wait=wait)


async def begin_attempt(
    message: Message,
    i18n: Translator,
    db: Database,
    settings: Settings,
    method: str,
    *,
    first: str = "",
) -> LinkAttempt | None:
    """Reserves one check of typed credentials with the provider, or says how long to wait
    (after ``first``) and returns ``None``. The dialog stays on its step either way: after the
    wait, the secret can simply be sent again."""
    user_id = user_id_of(message)
    attempt = await db.link_attempts.begin(user_id, link_limits(settings))
    if isinstance(attempt, LinkRefusal):
        # Many refusals for everyone mean someone is guessing credentials through the bot.
        log.log(
            logging.WARNING if attempt.everyone else logging.INFO,
            "user=%s action=link method=%s result=refused wait=%.0f everyone=%s",
            user_id,
            method,
            attempt.wait,
            attempt.everyone,
        )
        await show(message, first + refusal_text(i18n, attempt), cancel_keyboard(i18n))
        return None
    return attempt


async def end_attempt(
    i18n: Translator,
    db: Database,
    settings: Settings,
    attempt: LinkAttempt,
    exc: InfernoError,
    demo_account: Credentials | None,
) -> str:
    """A check that did not link: a failure unless the provider did not answer at all (an
    outage says nothing about the credentials). Returns what follows the failure's text: the
    wait it started, and in demo mode the demo button."""
    if isinstance(exc, ProviderUnavailable):
        await db.link_attempts.not_counted(attempt)
        wait = 0.0
    else:
        wait = await db.link_attempts.failed(attempt, link_limits(settings))
    lines = []
    if wait:
        lines.append(i18n("link-wait-after-failure", wait=wait_text(i18n, wait)))
    if demo_account is not None and not isinstance(exc, ProviderUnavailable):
        lines.append(i18n("link-demo-hint"))
    return "".join("\n" + line for line in lines)


async def refused_up_front(
    query: CallbackQuery, state: FSMContext, i18n: Translator, db: Database, settings: Settings
) -> bool:
    """A user who must wait is told so before typing anything secret."""
    refusal = await db.link_attempts.check(query.from_user.id, link_limits(settings))
    if refusal is None:
        return False
    await state.clear()
    await show(query, refusal_text(i18n, refusal), back_to_menu(i18n))
    return True


async def store_account(db: Database, user_id: int, creds: Credentials) -> None:
    """Saves checked credentials as one of the user's accounts (the same cid again gets the new
    key) and makes it the active one; the user's other accounts stay."""
    await db.users.link(user_id, creds.cid, creds.key)


# --------------------------------------------------------------------------- choosing a way


async def link_options(
    query: CallbackQuery, state: FSMContext, i18n: Translator, demo_account: Credentials | None
) -> None:
    await state.clear()
    await show(
        query, i18n("start-link-intro"), link_options_keyboard(i18n, demo=demo_account is not None)
    )


async def link_by_key(
    query: CallbackQuery, state: FSMContext, i18n: Translator, db: Database, settings: Settings
) -> None:
    if await refused_up_front(query, state, i18n, db, settings):
        return
    await state.set_state(LinkStates.cid)
    await state.set_data({})
    await show(query, i18n("link-ask-cid"), cancel_keyboard(i18n))


async def link_by_email(
    query: CallbackQuery, state: FSMContext, i18n: Translator, db: Database, settings: Settings
) -> None:
    if await refused_up_front(query, state, i18n, db, settings):
        return
    await state.set_state(LinkStates.email)
    await state.set_data({})
    await show(query, i18n("link-ask-email"), cancel_keyboard(i18n))


async def new_key_warning(
    query: CallbackQuery, state: FSMContext, i18n: Translator, db: Database, settings: Settings
) -> None:
    if await refused_up_front(query, state, i18n, db, settings):
        return
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
    settings: Settings,
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
    await show(
        query, linked_text(i18n, demo_account, balance, settings.currency), back_to_menu(i18n)
    )


# --------------------------------------------------------------------------- client id + API key


async def cid_entered(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    db: Database,
    inferno: InfernoClient,
    settings: Settings,
    demo_account: Credentials | None,
) -> None:
    text = (message.text or "").strip()
    values = pasted_values(text)
    # The digits alone, or under a label ("cid: 777", "Client ID 777").
    if CID_RE.fullmatch(text) or (len(values) == 1 and CID_RE.fullmatch(values[0])):
        cid = int(values[0])
        await state.update_data(cid=cid)
        await state.set_state(LinkStates.key)
        await show(message, i18n("link-ask-key", cid=str(cid)), cancel_keyboard(i18n))
        return
    pasted = cid_and_key(text)
    if pasted is not None:
        # Both at once: the key must leave the chat, and asking for it again would only make
        # the user paste it a second time. The check counts as an attempt like any other.
        await delete_secret(message, i18n)
        cid, key = pasted
        await state.update_data(cid=cid)
        await state.set_state(LinkStates.key)
        await _check_key(
            message,
            state,
            i18n,
            bot,
            db,
            inferno,
            settings,
            demo_account,
            cid,
            key,
            note=i18n("link-pasted-together"),
        )
        return
    # The key pasted one step early, alone or among other words, must not stay in the chat.
    if holds_credential(text):
        await delete_pasted_secret(message, i18n, i18n("link-bad-cid"), cancel_keyboard(i18n))
        return
    await show(message, i18n("link-bad-cid"), cancel_keyboard(i18n))


async def key_entered(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    db: Database,
    inferno: InfernoClient,
    settings: Settings,
    demo_account: Credentials | None,
) -> None:
    await delete_secret(message, i18n)
    cid = (await state.get_data()).get("cid")
    text = message.text.strip() if message.text is not None else None
    # A key holds no space, so only a message with one can be a client id and a key.
    spaced = text is not None and any(ch.isspace() for ch in text)
    pasted = cid_and_key(text) if spaced and text is not None else None
    if pasted is not None:
        # The client id came along with the key: the one pasted now is the one meant.
        cid, text = pasted
        await state.update_data(cid=cid)
    if not isinstance(cid, int):
        # The dialog lost its first step (e.g. an old state); never guess a client id.
        await state.set_state(LinkStates.cid)
        await show(message, i18n("link-ask-cid"), cancel_keyboard(i18n))
        return
    problem = key_problem(i18n, text)
    if problem is not None or text is None:
        await show(message, problem or i18n("link-key-not-text"), cancel_keyboard(i18n))
        return
    await _check_key(message, state, i18n, bot, db, inferno, settings, demo_account, cid, text)


async def _check_key(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    db: Database,
    inferno: InfernoClient,
    settings: Settings,
    demo_account: Credentials | None,
    cid: int,
    key: str,
    *,
    note: str | None = None,
) -> None:
    """One check of a client id and key with the provider, within the attempt limits; the
    dialog stays on the key step unless it links. ``note`` comes first in whatever is shown."""
    user_id = user_id_of(message)
    first = f"{note}\n\n" if note else ""
    attempt = await begin_attempt(message, i18n, db, settings, "key", first=first)
    if attempt is None:
        return
    creds = Credentials(cid=cid, key=key)
    await typing(bot, message.chat.id)
    try:
        balance = await inferno.balance(creds)
    except InfernoError as exc:
        # Nothing is saved; the dialog stays on this step so the user can send the key again.
        more = await end_attempt(i18n, db, settings, attempt, exc, demo_account)
        log.info("user=%s action=link method=key result=%s", user_id, type(exc).__name__)
        text = first + _key_failure_text(i18n, exc, cid) + more
        demo = demo_account is not None
        await show(message, text, retry_keyboard(i18n, LinkAction.KEY, demo=demo))
        return
    await db.link_attempts.succeeded(attempt)
    await _save_linked(
        message,
        state,
        i18n,
        db,
        inferno,
        creds,
        settings.currency,
        method="key",
        balance=balance,
        note=note,
    )


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
    text = (message.text or "").strip()
    if len(text) <= EMAIL_MAX and EMAIL_RE.fullmatch(text):
        await state.update_data(email=text)
        await state.set_state(LinkStates.password)
        await show(message, i18n("link-ask-password"), cancel_keyboard(i18n))
        return
    values = pasted_values(text)
    emails = [value for value in values if len(value) <= EMAIL_MAX and EMAIL_RE.fullmatch(value)]
    if len(emails) == 1 and len(values) > 1:
        # The address with more: perhaps the password pasted along. Its words cannot be told
        # apart from a password with spaces, so the message goes and the password is asked
        # for on its own.
        email = emails[0]
        await state.update_data(email=email)
        await state.set_state(LinkStates.password)
        note = i18n("link-email-pasted-together", email=email)
        await delete_secret(
            message, i18n, cancel_keyboard(i18n), then=f"{note}\n\n{i18n('link-ask-password')}"
        )
        return
    # So is the password sent before the address: here any one word that is not an address
    # may be it ("sunshine1" too), and so is any word among others that looks like one.
    if (len(text) >= 6 and not any(c.isspace() for c in text)) or holds_credential(text):
        await delete_pasted_secret(message, i18n, i18n("link-bad-email"), cancel_keyboard(i18n))
        return
    await show(message, i18n("link-bad-email"), cancel_keyboard(i18n))


async def password_entered(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    db: Database,
    inferno: InfernoClient,
    locks: UserLocks,
    settings: Settings,
    demo_account: Credentials | None,
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
    if password:
        # The email pasted again in front of the password: the password is what follows it.
        password = password_after_email(password, email) or password
    if not password:
        await show(message, i18n("link-password-not-text"), cancel_keyboard(i18n))
        return
    if len(password) > PASSWORD_MAX:
        await show(message, i18n("link-password-too-long"), cancel_keyboard(i18n))
        return
    if isinstance(token, str):
        await _issue_new_key(
            message,
            state,
            i18n,
            bot,
            db,
            inferno,
            locks,
            settings,
            demo_account,
            email,
            password,
            token,
        )
        return
    # Refused, the dialog stays on the password step: after the wait it is simply sent again.
    attempt = await begin_attempt(message, i18n, db, settings, "email")
    if attempt is None:
        return
    await typing(bot, message.chat.id)
    try:
        creds = await inferno.get_api_key(email, password, generate=False)
    except InfernoError as exc:
        more = await end_attempt(i18n, db, settings, attempt, exc, demo_account)
        log.info("user=%s action=link method=email result=%s", user_id, type(exc).__name__)
        demo = demo_account is not None
        if isinstance(exc, InvalidCredentials):
            # Either half may be wrong, so the dialog starts again from the email.
            await state.set_state(LinkStates.email)
            text = i18n("link-wrong-password") + more
            await show(message, text, cancel_keyboard(i18n, demo=demo))
        else:
            await state.clear()
            text = _email_failure_text(i18n, exc) + more
            await show(message, text, retry_keyboard(i18n, LinkAction.EMAIL, demo=demo))
        return
    await db.link_attempts.succeeded(attempt)
    await _save_linked(message, state, i18n, db, inferno, creds, settings.currency, method="email")


async def _issue_new_key(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    bot: Bot,
    db: Database,
    inferno: InfernoClient,
    locks: UserLocks,
    settings: Settings,
    demo_account: Credentials | None,
    email: str,
    password: str,
    token: str,
) -> None:
    """``getApiKey`` with generate=1 — revokes the current key, so at most once per confirmation."""
    user_id = user_id_of(message)
    async with locks.hold(user_id):
        # Before the token is spent: a user who must wait keeps the confirmation for later.
        attempt = await begin_attempt(message, i18n, db, settings, "newkey")
        if attempt is None:
            return
        confirmation = await db.confirmations.consume(user_id, token, {NEW_KEY_ACTION})
        await state.clear()
        if confirmation is None:
            await db.link_attempts.not_counted(attempt)
            await show(message, i18n("expired"), back_to_menu(i18n))
            return
        await typing(bot, message.chat.id)
        try:
            creds = await inferno.get_api_key(email, password, generate=True)
        except InfernoError as exc:
            more = await end_attempt(i18n, db, settings, attempt, exc, demo_account)
            log.info("user=%s action=newkey result=%s", user_id, type(exc).__name__)
            await db.actions.record(user_id, NEW_KEY_ACTION, None, type(exc).__name__)
            if isinstance(exc, InvalidCredentials):
                text = i18n("link-wrong-password-new-key")
            elif isinstance(exc, ProviderUnavailable):
                text = i18n("link-new-key-unknown")
            else:
                text = _email_failure_text(i18n, exc)
            text += more
            demo = demo_account is not None
            await show(message, text, retry_keyboard(i18n, LinkAction.NEW_KEY, demo=demo))
            return
        await db.link_attempts.succeeded(attempt)
        # On the account of that cid (the key it had is revoked now), if it is linked already.
        await db.actions.record(
            user_id,
            NEW_KEY_ACTION,
            None,
            "ok",
            account_id=await db.accounts.find(user_id, creds.cid),
        )
    await _save_linked(message, state, i18n, db, inferno, creds, settings.currency, method="newkey")


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
    currency: str,
    *,
    method: str,
    balance: Balance | None = None,
    note: str | None = None,
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
    text = linked_text(i18n, creds, balance, currency)
    await show(message, f"{note}\n\n{text}" if note else text, back_to_menu(i18n))


# --------------------------------------------------------------------------- commands


async def start_command(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    access: Access | None,
    demo_account: Credentials | None,
) -> None:
    await state.clear()
    name = message.from_user.first_name if message.from_user else ""
    greeting = i18n("start-greeting", name=name)
    if access is not None:
        await show(message, greeting + "\n\n" + menu_text(i18n, access), main_menu_keyboard(i18n))
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


# The taps this area reads; taps meant for other areas are turned away before any handler here
# is tried.
TAPS = DataPrefix(LinkCb, NewKeyCb)


def create_router() -> Router:
    """/start, /cancel and the ways of linking an account."""
    router = Router(name=__name__)
    router.callback_query.filter(TAPS)
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
    # An invite link (members.py): after the steps, like /start itself.
    router.message.register(
        members.invite_opened,
        CommandStart(deep_link=True, magic=F.args.regexp(members.INVITE_PAYLOAD.pattern)),
    )
    router.message.register(start_command, CommandStart())
    router.message.register(cancel_command, Command("cancel"))
    return router
