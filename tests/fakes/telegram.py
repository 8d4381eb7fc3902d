"""A strict fake Telegram Bot API server for tests.

aiogram talks to it over real HTTP (``AiohttpSession(api=TelegramAPIServer.from_base(url))``), so
everything between the bot's handlers and the wire is exercised. The fake is deliberately strict:
it enforces Telegram's limits with Telegram's exact error texts (see
``/work/shared/telegram-rules.md``), because a lenient fake hides the bugs real users would meet.

Tests act as users (``send_text``, ``edit_text``, ``send_command``, ``tap``, ``tap_button``),
observe the private chats (``chat``, ``bot_messages``, ``wait_for_bot_message``, ``requests``,
``errors``) and inject faults (``block``, ``rate_limit``, ``fail_delete``, ``server_error``).
Flood control (a burst of 20 messages per chat, then one a second; 30 a second overall) is on
unless ``flood_limit=False``.

Webhook delivery: after ``setWebhook`` the fake POSTs each update to the URL (JSON, with the
``X-Telegram-Bot-Api-Secret-Token`` header when a secret was set), up to ``max_connections`` at
once, and delivers again after ``webhook_retry_delay`` any update whose answer is not a 2xx
within ``webhook_timeout`` (``lose_webhook_answer`` makes the next answers count as late although
the bot got the update); ``getUpdates`` answers 409 while a webhook is set. Every attempt is
recorded in ``deliveries``.

Known simplifications, chosen so that the fake is never *more* lenient than Telegram in ways that
matter for this bot:

* only private chats (chat id == user id); no groups, channels, media or inline mode;
* methods aiogram knows but the fake does not implement answer 501, so a test fails loudly
  instead of silently getting a wrong answer;
* plain URLs, mentions and commands in bot messages are not auto-detected as entities;
* leading and trailing whitespace of message text is trimmed, as Telegram does;
* a webhook URL must point at this machine (127.0.0.1, ::1 or localhost), where plain http and
  any port are allowed because a test cannot serve TLS; any other host is refused as
  unresolvable, after Telegram's https and port checks;
* a method carried in a webhook answer is not carried out (the bot never answers that way):
  it is recorded in ``errors``, so a test that meets it fails loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram import methods as aiogram_methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web
from yarl import URL

from tests.fakes.tg_html import (
    HTMLParseError,
    entity_text,
    parse_html,
    sort_entities,
    utf16_len,
)

__all__ = [
    "DELETE_WINDOW_SECONDS",
    "E_BLOCKED",
    "E_BUTTON_DATA",
    "E_CANT_DELETE",
    "E_CANT_EDIT",
    "E_CHAT_NOT_FOUND",
    "E_CONFLICT",
    "E_DELETE_NOT_FOUND",
    "E_EDIT_NOT_FOUND",
    "E_INLINE_EXPECTED",
    "E_MARKUP_TOO_LONG",
    "E_NOT_MODIFIED",
    "E_PARSE_PREFIX",
    "E_QUERY_TOO_OLD",
    "E_TEXT_BUTTONS",
    "E_TEXT_EMPTY",
    "E_TOO_LONG",
    "E_WEBHOOK_ACTIVE",
    "MAX_BUTTONS",
    "MAX_BUTTONS_PER_ROW",
    "MAX_CALLBACK_ANSWER_LENGTH",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_MESSAGE_LENGTH",
    "Button",
    "CallbackAnswer",
    "CallbackQueryRecord",
    "FakeMessage",
    "FakeTelegram",
    "FakeUser",
    "QueuedUpdate",
    "RecordedRequest",
    "TelegramError",
    "WebhookDelivery",
    "fake_telegram",
    "make_bot",
    "run_polling",
    "running_fake_telegram",
]

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100
MAX_BUTTONS_PER_ROW = 8
MAX_CALLBACK_ANSWER_LENGTH = 200
DELETE_WINDOW_SECONDS = 48 * 3600

# Texts from telegram-rules.md; tests compare against these constants.
E_TOO_LONG = "Bad Request: message is too long"
E_TEXT_EMPTY = "Bad Request: message text is empty"
E_BUTTON_DATA = "Bad Request: BUTTON_DATA_INVALID"
E_MARKUP_TOO_LONG = "Bad Request: reply markup is too long"
E_QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
E_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
E_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
E_CANT_EDIT = "Bad Request: message can't be edited"
E_DELETE_NOT_FOUND = "Bad Request: message to delete not found"
E_CANT_DELETE = "Bad Request: message can't be deleted"
E_CHAT_NOT_FOUND = "Bad Request: chat not found"
E_BLOCKED = "Forbidden: bot was blocked by the user"
E_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
E_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
E_WEBHOOK_HTTPS = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
E_WEBHOOK_PORT = "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
E_WEBHOOK_HOST = "Bad Request: bad webhook: Failed to resolve host: Name or service not known"
E_SECRET_CHARS = "Bad Request: secret token contains unallowed characters"
E_SECRET_LONG = "Bad Request: secret token is too long"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

E_TEXT_BUTTONS = (
    "Bad Request: can't parse inline keyboard button: "
    "Text buttons are unallowed in the inline keyboard"
)
E_INLINE_EXPECTED = "Bad Request: inline keyboard expected"
E_PARSE_PREFIX = "Bad Request: can't parse entities: "

_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
    "web_app",
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "entities",
        "caption_entities",
        "link_preview_options",
        "commands",
        "scope",
        "reply_parameters",
        "message_ids",
        "media",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Update types Telegram sends when allowed_updates is empty or was never given.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_TRIM_CHARS = " \t\n\r"

_KNOWN_METHODS = frozenset(
    str(getattr(cls, "__api_method__", "")).lower()
    for cls in vars(aiogram_methods).values()
    if inspect.isclass(cls) and isinstance(getattr(cls, "__api_method__", None), str)
)


class TelegramError(Exception):
    """An error the fake answers with; ``description`` is the full Bot API text."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _bad(reason: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {reason}")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None
    url: str | None
    raw: dict[str, Any]


@dataclass
class FakeMessage:
    message_id: int
    chat_id: int
    from_bot: bool
    text: str
    html: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    deleted: bool = False
    edit_count: int = 0
    protect_content: bool = False
    date: int = 0
    parse_mode: str | None = None
    link_preview_options: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    disable_notification: bool = False
    # monotonic timestamps, for benchmarks
    sent_at: float = 0.0
    edited_at: float | None = None
    edit_date: int | None = None  # unix time of the last edit, as Telegram reports it
    edit_times: list[float] = field(default_factory=list)
    deleted_at: float | None = None
    # (text, html, entities, reply_markup) before each edit, oldest first
    history: list[tuple[str, str | None, list[dict[str, Any]], dict[str, Any] | None]] = field(
        default_factory=list
    )

    @property
    def keyboard(self) -> list[list[Button]]:
        """Rows of the inline keyboard (empty without one)."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [
            [
                Button(
                    text=str(b.get("text", "")),
                    callback_data=b.get("callback_data"),
                    url=b.get("url"),
                    raw=b,
                )
                for b in row
            ]
            for row in self.reply_markup["inline_keyboard"]
        ]

    def buttons(self) -> list[Button]:
        return [b for row in self.keyboard for b in row]

    def button(self, text_contains: str) -> Button:
        """The single button whose text contains ``text_contains`` (case-insensitive).

        An exact (case-insensitive) match wins over substring matches; ambiguity or no match is an
        AssertionError listing the buttons, so a failing flow test says what was on screen.
        """
        needle = text_contains.casefold()
        buttons = self.buttons()
        exact = [b for b in buttons if b.text.casefold() == needle]
        found = exact or [b for b in buttons if needle in b.text.casefold()]
        if len(found) == 1:
            return found[0]
        shown = [b.text for b in buttons]
        if not found:
            raise AssertionError(
                f"no button containing {text_contains!r} in message {self.message_id}: {shown}"
            )
        raise AssertionError(
            f"{len(found)} buttons contain {text_contains!r} in message {self.message_id}: "
            f"{[b.text for b in found]}"
        )

    @property
    def has_spoiler(self) -> bool:
        return any(e["type"] == "spoiler" for e in self.entities)

    def entity_texts(self, entity_type: str) -> list[str]:
        """The text covered by each entity of ``entity_type`` (e.g. "bold", "code")."""
        return [entity_text(self.text, e) for e in self.entities if e["type"] == entity_type]


@dataclass
class RecordedRequest:
    method: str
    params: dict[str, Any]
    time: float  # monotonic, on arrival
    status: int | None = None  # None while in flight or if the client went away
    description: str | None = None
    result: Any = None
    finished_at: float | None = None
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200

    def __str__(self) -> str:
        shown = {k: v for k, v in self.params.items() if k != "reply_markup"}
        if "reply_markup" in self.params:
            shown["reply_markup"] = "..."
        outcome = "cancelled" if self.cancelled else f"{self.status} {self.description or ''}"
        return f"{self.method} {shown} -> {outcome}".rstrip()


@dataclass
class CallbackAnswer:
    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    answered_at: float  # monotonic


@dataclass
class CallbackQueryRecord:
    query_id: str
    user_id: int
    message_id: int
    data: str
    created_at: float
    update: QueuedUpdate


@dataclass
class QueuedUpdate:
    update_id: int
    type: str
    payload: dict[str, Any]
    queued_at: float
    handed_out_at: float | None = None  # first time getUpdates returned it
    confirmed: bool = False
    dropped: bool = False  # filtered out by allowed_updates


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    allowed_updates: frozenset[str] | None
    max_connections: int


@dataclass
class WebhookDelivery:
    """One POST of an update to the webhook."""

    update_id: int
    attempt: int
    url: str
    started_at: float
    status: int | None = None  # the bot's HTTP answer; None: none in time, or no connection
    error: str | None = None  # what getWebhookInfo would report; None: delivered
    finished_at: float | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.finished_at is not None


@dataclass
class FakeUser:
    id: int
    first_name: str = "Test"
    username: str | None = None
    language_code: str | None = "en"
    blocked: bool = False

    def as_user(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def as_chat(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class _Bucket:
    """Token bucket for flood control."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take a token; returns 0 on success, else seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


# --------------------------------------------------------------------------- helpers


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


def _norm_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip leading/trailing whitespace like Telegram, clipping entities (UTF-16 units)."""
    stripped = text.strip(_TRIM_CHARS)
    if stripped == text:
        return text, entities
    lead_chars = len(text) - len(text.lstrip(_TRIM_CHARS))
    lead = len(text[:lead_chars].encode("utf-16-le")) // 2  # whitespace is BMP, but be exact
    new_len = len(stripped.encode("utf-16-le")) // 2
    result = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, new_len)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


# --------------------------------------------------------------------------- the fake


class FakeTelegram:
    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        username: str = "inferno_test_bot",
        callback_answer_timeout: float = 15.0,
        flood_limit: bool = True,
        webhook_timeout: float = 10.0,
        webhook_retry_delay: float = 0.05,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.callback_answer_timeout = callback_answer_timeout
        self.flood_limit = flood_limit

        self.requests: list[RecordedRequest] = []
        self.errors: list[RecordedRequest] = []
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.updates: list[QueuedUpdate] = []
        self.users: dict[int, FakeUser] = {}

        self._chats: dict[int, list[FakeMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        # Telegram's update ids do not start at 1; starting elsewhere catches offset bugs.
        self._update_ids = itertools.count(700_000_001)
        self._query_ids = itertools.count(4_200_000_000_000_000_001)
        self._allowed_updates: frozenset[str] | None = None
        self._poll_waiter: asyncio.Future[str] | None = None
        self._in_flight = 0
        # The most bot requests (the long poll aside) ever in flight at once.
        self.peak_in_flight = 0
        # Seconds the fake takes to answer a method (lower-case name), as a slow Telegram would:
        # the bot's handlers stay in flight meanwhile.
        self.answer_delays: dict[str, float] = {}
        self._last_activity = time.monotonic()
        self._closing = False

        self.webhook_timeout = webhook_timeout
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook: Webhook | None = None
        self.deliveries: list[WebhookDelivery] = []
        self._webhook_error: tuple[int, str] | None = None  # (unix time, message)
        self._webhook_wakeup = asyncio.Event()
        self._deliverer: asyncio.Task[None] | None = None
        self._delivering: dict[int, asyncio.Task[None]] = {}
        self._retry_at: dict[int, float] = {}
        self._late_answers = 0
        self._http: aiohttp.ClientSession | None = None

        self._rate_limits: dict[int, list[int]] = {}
        self._delete_rate_limits: dict[int, list[int]] = {}
        self._fail_deletes: dict[int, int] = {}
        self._group_messages = 0
        self.groups: dict[int, str] = {}  # id → title of each group the bot is a member of
        self._fail_edits: dict[int, int] = {}
        # method (lower case) → pending faults, oldest first: (status, description, applied)
        self._server_errors: dict[str, list[tuple[int, str, bool]]] = {}
        self._chat_buckets: dict[int, _Bucket] = {}
        self._global_bucket = _Bucket(capacity=60, rate=30, tokens=60, updated=time.monotonic())

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "close": self._true,
            "logout": self._true,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setmydescription": self._set_my_description,
            "setmyshortdescription": self._set_my_short_description,
            "getchat": self._get_chat,
            "leavechat": self._leave_chat,
        }

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # handler_cancellation: when aiogram stops polling it drops the long-poll connection;
        # the handler must stop too, or it would later hand updates to nobody.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._closing = True
        self._wake_poller("closing")
        await self._stop_delivering()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Inferno Test Bot",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ----------------------------------------------------------------- acting as users

    def add_user(
        self,
        user_id: int,
        *,
        language_code: str | None = "en",
        first_name: str = "Test",
        username: str | None = None,
    ) -> None:
        user = self.users.get(user_id)
        if user is None:
            self.users[user_id] = FakeUser(user_id, first_name, username, language_code)
            self._chats[user_id] = []
            self._next_message_id[user_id] = 1
        else:
            user.language_code = language_code
            user.first_name = first_name
            if username is not None:
                user.username = username

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = "en",
        entities: list[dict[str, Any]] | None = None,
    ) -> FakeMessage:
        """The user writes ``text``; queues a ``message`` update and returns the user's message.

        Writing to the bot unblocks it, as Telegram's "Restart" button does.
        """
        if user_id not in self.users:
            self.add_user(user_id, language_code=language_code)
        user = self.users[user_id]
        user.language_code = language_code
        user.blocked = False
        msg = self._new_message(user_id, from_bot=False, text=text, entities=entities or [])
        self._queue_update("message", self._message_dict(msg))
        return msg

    async def edit_text(
        self, message: FakeMessage, text: str, *, entities: list[dict[str, Any]] | None = None
    ) -> FakeMessage:
        """The user edits their own ``message`` to ``text``; queues an ``edited_message``
        update carrying the whole message, with its ``edit_date``, as Telegram does."""
        msg = self.message(message.chat_id, message.message_id)
        if msg.from_bot or msg.deleted:
            raise AssertionError(f"the user cannot edit message {msg.message_id}")
        msg.history.append((msg.text, msg.html, msg.entities, msg.reply_markup))
        msg.text, msg.entities = text, entities or []
        msg.edit_count += 1
        msg.edited_at = time.monotonic()
        msg.edit_date = int(time.time())
        msg.edit_times.append(msg.edited_at)
        self._queue_update("edited_message", self._message_dict(msg))
        return msg

    def send_group_text(self, user_id: int, group_id: int, text: str) -> None:
        """The user writes ``text`` in a group the bot is a member of. The fake keeps no group
        chats, so any answer the bot tried there would fail with "chat not found"."""
        if user_id not in self.users:
            self.add_user(user_id)
        self._group_messages += 1
        self._queue_update(
            "message",
            {
                "message_id": self._group_messages,
                "date": int(time.time()),
                "chat": {"id": group_id, "type": "supergroup", "title": "Some group"},
                "from": self.users[user_id].as_user(),
                "text": text,
            },
        )

    def add_bot_to_group(self, user_id: int, group_id: int, title: str = "Some group") -> None:
        """The user adds the bot to a group: a ``my_chat_member`` update (left → member)."""
        if user_id not in self.users:
            self.add_user(user_id)
        self.groups[group_id] = title
        bot = self.bot_user()
        self._queue_update(
            "my_chat_member",
            {
                "chat": {"id": group_id, "type": "supergroup", "title": title},
                "from": self.users[user_id].as_user(),
                "date": int(time.time()),
                "old_chat_member": {"status": "left", "user": bot},
                "new_chat_member": {"status": "member", "user": bot},
            },
        )

    async def send_command(
        self,
        user_id: int,
        command: str,
        *,
        language_code: str | None = "en",
    ) -> FakeMessage:
        """Like send_text, with the ``bot_command`` entity a Telegram client adds."""
        if not command.startswith("/"):
            raise ValueError(f"a command starts with '/': {command!r}")
        word = command.split(maxsplit=1)[0]
        entity = {"type": "bot_command", "offset": 0, "length": len(word.encode("utf-16-le")) // 2}
        return await self.send_text(
            user_id, command, language_code=language_code, entities=[entity]
        )

    async def tap(
        self, user_id: int, message_id: int, callback_data: str, *, verify: bool = True
    ) -> str:
        """The user taps a callback button; returns the callback query id.

        With ``verify`` the button must be on the message's *current* keyboard, so tests cannot
        tap buttons the user no longer sees; ``verify=False`` forges arbitrary data.
        """
        chat = self._chats.get(user_id)
        if chat is None:
            raise AssertionError(f"user {user_id} has no chat with the bot")
        msg = next((m for m in chat if m.message_id == message_id), None)
        if verify:
            if msg is None or not msg.from_bot or msg.deleted:
                raise AssertionError(f"no visible bot message {message_id} in chat {user_id}")
            datas = [b.callback_data for b in msg.buttons()]
            if callback_data not in datas:
                raise AssertionError(
                    f"message {message_id} has no button with callback_data {callback_data!r}; "
                    f"buttons: {[(b.text, b.callback_data) for b in msg.buttons()]}"
                )
        user = self.users[user_id]
        query_id = str(next(self._query_ids))
        if msg is not None and not msg.deleted:
            message_payload = self._message_dict(msg)
        else:
            # Telegram sends an InaccessibleMessage (date 0) for messages the bot can't see.
            message_payload = {"chat": user.as_chat(), "message_id": message_id, "date": 0}
        payload = {
            "id": query_id,
            "from": user.as_user(),
            "message": message_payload,
            "chat_instance": str(-1_000_000 - user_id),
            "data": callback_data,
        }
        update = self._queue_update("callback_query", payload)
        self.callback_queries[query_id] = CallbackQueryRecord(
            query_id, user_id, message_id, callback_data, time.monotonic(), update
        )
        return query_id

    async def tap_button(
        self, user_id: int, text_contains: str, *, message_id: int | None = None
    ) -> str:
        """Tap the button whose text contains ``text_contains`` (case-insensitive).

        Looks at ``message_id`` or else the latest visible bot message that has an inline keyboard.
        """
        if message_id is None:
            with_keyboard = [m for m in self.bot_messages(user_id) if m.buttons()]
            if not with_keyboard:
                raise AssertionError(f"no bot message with a keyboard in chat {user_id}")
            msg = with_keyboard[-1]
        else:
            msg = self.message(user_id, message_id)
        button = msg.button(text_contains)
        if button.callback_data is None:
            raise AssertionError(f"button {button.text!r} is not a callback button: {button.raw}")
        return await self.tap(user_id, msg.message_id, button.callback_data)

    # ----------------------------------------------------------------- observing

    def chat(self, user_id: int) -> list[FakeMessage]:
        return list(self._chats.get(user_id, []))

    def bot_messages(self, user_id: int, *, include_deleted: bool = False) -> list[FakeMessage]:
        return [
            m
            for m in self._chats.get(user_id, [])
            if m.from_bot and (include_deleted or not m.deleted)
        ]

    def last_bot_message(self, user_id: int) -> FakeMessage:
        messages = self.bot_messages(user_id)
        if not messages:
            raise AssertionError(f"the bot has no visible message in chat {user_id}")
        return messages[-1]

    def message(self, chat_id: int, message_id: int) -> FakeMessage:
        for msg in self._chats.get(chat_id, []):
            if msg.message_id == message_id:
                return msg
        raise AssertionError(f"no message {message_id} in chat {chat_id}")

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests of one method (case-insensitive)."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def unanswered_callbacks(self) -> list[str]:
        """Ids of tapped callback queries the bot has not (successfully) answered."""
        return [q for q in self.callback_queries if q not in self.callback_answers]

    @property
    def polling_active(self) -> bool:
        """A getUpdates long poll is currently waiting."""
        return self._poll_waiter is not None and not self._poll_waiter.done()

    def dump_requests(self, limit: int = 30) -> str:
        """Recent requests, skipping empty getUpdates polls, for failure messages."""
        shown = [
            r
            for r in self.requests
            if not (r.method.lower() == "getupdates" and r.ok and not r.result)
        ][-limit:]
        return "\n".join(f"  {r}" for r in shown) or "  (no requests)"

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        message: str = "",
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting: {message or predicate!r}\n"
                    f"recent requests:\n{self.dump_requests()}"
                )
            await asyncio.sleep(0.01)

    async def wait_for_bot_message(
        self,
        user_id: int,
        predicate: Callable[[FakeMessage], bool] | None = None,
        *,
        timeout: float = 5.0,
        after: int = 0,
    ) -> FakeMessage:
        """Wait for a visible bot message with ``message_id > after`` matching ``predicate``.

        Messages are judged by their current content, so an edit that makes a message match counts.
        Returns the newest matching message. Pass ``after=user_msg.message_id`` to wait for a reply
        to that message rather than accepting something sent earlier.
        """
        found: list[FakeMessage] = []

        def check() -> bool:
            matching = [
                m
                for m in self.bot_messages(user_id)
                if m.message_id > after and (predicate is None or predicate(m))
            ]
            found[:] = matching[-1:]
            return bool(found)

        await self.wait_for(
            check, timeout, f"bot message in chat {user_id} after #{after} matching {predicate}"
        )
        return found[0]

    async def wait_idle(
        self,
        timeout: float = 5.0,
        quiet: float = 0.05,
    ) -> None:
        """Wait until every queued update was handed out and the bot has been quiet for ``quiet``.

        "Quiet" means no bot request other than the long poll is in flight and none arrived or
        finished, and no update was handed out, for ``quiet`` seconds: the handlers are done.
        """

        def idle() -> bool:
            if self.webhook is not None:
                # Delivered means answered with a 2xx; a failed delivery is still to come.
                pending = bool(self._delivering) or any(
                    not u.dropped and not u.confirmed and self._allowed(u) for u in self.updates
                )
            else:
                pending = any(
                    u.handed_out_at is None and not u.dropped and not u.confirmed
                    for u in self.updates
                )
            return (
                not pending
                and self._in_flight == 0
                and time.monotonic() - self._last_activity >= quiet
            )

        await self.wait_for(idle, timeout, "the bot to fetch all updates and go idle")

    # ----------------------------------------------------------------- faults

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends and edits to the chat answer 403."""
        if user_id not in self.users:
            self.add_user(user_id)
        self.users[user_id].blocked = True

    def unblock(self, user_id: int) -> None:
        self.users[user_id].blocked = False

    def rate_limit(self, user_id: int, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` sendMessage calls to the chat answer 429 with ``retry_after``."""
        self._rate_limits.setdefault(user_id, []).extend([retry_after] * times)

    def rate_limit_deletes(self, user_id: int, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` deleteMessage calls in the chat answer 429 with ``retry_after``."""
        self._delete_rate_limits.setdefault(user_id, []).extend([retry_after] * times)

    def fail_delete(self, user_id: int, times: int = 1) -> None:
        """The next ``times`` deleteMessage calls in the chat answer "message can't be deleted"."""
        self._fail_deletes[user_id] = self._fail_deletes.get(user_id, 0) + times

    def fail_edit(self, user_id: int, times: int = 1) -> None:
        """The next ``times`` edits of a message in the chat answer "message can't be edited"."""
        self._fail_edits[user_id] = self._fail_edits.get(user_id, 0) + times

    def server_error(
        self,
        method: str,
        times: int = 1,
        *,
        code: int = 500,
        description: str = "Internal Server Error",
        applied: bool = False,
    ) -> None:
        """The next ``times`` calls of ``method`` answer ``code`` (a 5xx by default), as Telegram
        does now and then. With ``applied`` the call takes effect first and only its answer is
        lost, as when the server fails after doing the work."""
        pending = self._server_errors.setdefault(method.lower(), [])
        pending.extend([(code, description, applied)] * times)

    def lose_webhook_answer(self, times: int = 1) -> None:
        """The next ``times`` webhook deliveries reach the bot, but their answers count as too
        late (``Read timeout expired``), so Telegram delivers those updates again."""
        self._late_answers += times

    def age_message(self, chat_id: int, message_id: int, seconds: float) -> None:
        """Pretend the message was sent ``seconds`` earlier (e.g. past the 48 h delete window)."""
        self.message(chat_id, message_id).date -= int(seconds)

    # ----------------------------------------------------------------- internals: state

    def _new_message(
        self,
        chat_id: int,
        *,
        from_bot: bool,
        text: str,
        entities: list[dict[str, Any]],
        html: str | None = None,
        reply_markup: dict[str, Any] | None = None,
    ) -> FakeMessage:
        message_id = self._next_message_id[chat_id]
        self._next_message_id[chat_id] = message_id + 1
        msg = FakeMessage(
            message_id=message_id,
            chat_id=chat_id,
            from_bot=from_bot,
            text=text,
            html=html,
            entities=entities,
            reply_markup=reply_markup,
            date=int(time.time()),
            sent_at=time.monotonic(),
        )
        self._chats[chat_id].append(msg)
        return msg

    def _message_dict(self, msg: FakeMessage) -> dict[str, Any]:
        user = self.users[msg.chat_id]
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.bot_user() if msg.from_bot else user.as_user(),
            "chat": user.as_chat(),
            "date": msg.date,
            "text": msg.text,
        }
        if msg.entities:
            data["entities"] = msg.entities
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        if msg.protect_content:
            data["has_protected_content"] = True
        if msg.link_preview_options:
            data["link_preview_options"] = msg.link_preview_options
        return data

    def _queue_update(self, kind: str, payload: dict[str, Any]) -> QueuedUpdate:
        update_id = next(self._update_ids)
        update = QueuedUpdate(
            update_id, kind, {"update_id": update_id, kind: payload}, time.monotonic()
        )
        self.updates.append(update)
        self._wake_poller("update")
        self._webhook_wakeup.set()
        return update

    def _wake_poller(self, reason: str) -> None:
        if self._poll_waiter is not None and not self._poll_waiter.done():
            self._poll_waiter.set_result(reason)

    # ----------------------------------------------------------------- internals: HTTP

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
            return params
        if request.method == "POST":
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
                else:  # an uploaded file: keep only a marker, tests never need the bytes
                    params[key] = f"<file {getattr(value, 'filename', key)}>"
        for key in _JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    raise _bad(f"can't parse {key} JSON object") from None
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        polling = method.lower() == "getupdates"
        record = RecordedRequest(method=method, params={}, time=time.monotonic())
        self.requests.append(record)
        if not polling:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            self._last_activity = record.time
        try:
            if request.match_info["token"] != self.token:
                raise TelegramError(401, "Unauthorized")
            delay = self.answer_delays.get(method.lower())
            if delay:
                await asyncio.sleep(delay)
            record.params = await self._read_params(request)
            handler = self._methods.get(method.lower())
            if handler is None:
                if method.lower() in _KNOWN_METHODS:
                    raise TelegramError(501, f"Not Implemented: the fake has no {method}")
                raise TelegramError(404, "Not Found: method not found")
            fault = self._next_server_error(method)
            if fault is not None and not fault[2]:
                raise TelegramError(fault[0], fault[1])
            result = await handler(record.params)
            if fault is not None:
                raise TelegramError(fault[0], fault[1])
        except TelegramError as exc:
            record.status = exc.code
            record.description = exc.description
            self.errors.append(record)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            headers = {}
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
                headers["Retry-After"] = str(exc.retry_after)
            return web.json_response(body, status=exc.code, headers=headers)
        except asyncio.CancelledError:
            record.cancelled = True
            raise
        except Exception as exc:  # a bug in the fake must fail the test, not hang it
            record.status = 500
            record.description = f"Internal Server Error: fake telegram crashed: {exc!r}"
            self.errors.append(record)
            return web.json_response(
                {"ok": False, "error_code": 500, "description": record.description}, status=500
            )
        finally:
            record.finished_at = time.monotonic()
            if not polling:
                self._in_flight -= 1
                self._last_activity = record.finished_at
        record.status = 200
        record.result = result
        return web.json_response({"ok": True, "result": result})

    def _next_server_error(self, method: str) -> tuple[int, str, bool] | None:
        pending = self._server_errors.get(method.lower())
        return pending.pop(0) if pending else None

    # ----------------------------------------------------------------- internals: validation

    def _user_for(self, params: dict[str, Any]) -> FakeUser:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            # "@username" addresses channels and groups only, never a private chat.
            raise _bad("chat not found") from None
        user = self.users.get(chat_id)
        if user is None:
            raise _bad("chat not found")
        return user

    @staticmethod
    def _check_not_blocked(user: FakeUser) -> None:
        if user.blocked:
            raise TelegramError(403, E_BLOCKED)

    @staticmethod
    def _int_param(params: dict[str, Any], name: str) -> int:
        raw = params.get(name)
        if raw is None or raw == "":
            raise _bad(f"{name} is empty")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def _format_text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]], str | None]:
        """Parse text + parse_mode/entities: (plain text, entities, html source or None)."""
        raw = params.get("text")
        if not isinstance(raw, str) or raw == "":
            raise _bad("message text is empty")
        parse_mode = params.get("parse_mode") or None
        given = params.get("entities")
        html: str | None = None
        if given is not None:
            if not isinstance(given, list) or not all(isinstance(e, dict) for e in given):
                raise _bad("can't parse entities JSON object")
            text, entities = raw, sort_entities([dict(e) for e in given])
        elif parse_mode is None:
            text, entities = raw, []
        elif str(parse_mode).lower() == "html":
            html = raw
            try:
                text, entities = parse_html(raw)
            except HTMLParseError as exc:
                raise _bad(f"can't parse entities: {exc.reason}") from None
        else:
            # Only HTML is used by this project; failing loudly beats pretending to parse.
            raise TelegramError(
                501, f"Not Implemented: the fake supports parse_mode HTML only, not {parse_mode}"
            )
        text, entities = _trim(text, entities)
        if not text:
            raise _bad("message text is empty")
        return text, entities, html

    @staticmethod
    def _check_length(text: str) -> None:
        # Counted in UTF-16 code units of the parsed text, as Telegram's clients and entity
        # offsets count it: an astral-plane emoji is two. Of the ways to count, this is the
        # strictest, so a bot that passes here passes on Telegram too.
        if utf16_len(text) > MAX_MESSAGE_LENGTH:
            raise _bad("message is too long")

    @staticmethod
    def _check_markup(markup: Any, *, inline_only: bool) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if inline_only:
                raise _bad("inline keyboard expected")
            if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
                raise _bad("can't parse reply keyboard markup JSON object")
            return markup
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad("can't parse reply keyboard markup JSON object")
        total = sum(len(r) for r in rows)
        if total > MAX_BUTTONS or any(len(r) > MAX_BUTTONS_PER_ROW for r in rows):
            raise _bad("reply markup is too long")
        for row in rows:
            for button in row:
                FakeTelegram._check_button(button)
        return markup

    @staticmethod
    def _check_button(button: Any) -> None:
        prefix = "can't parse inline keyboard button: "
        if not isinstance(button, dict):
            raise _bad(prefix + "expected an Object")
        if "text" not in button:
            raise _bad(prefix + 'Can\'t find field "text"')
        if not isinstance(button["text"], str):
            raise _bad(prefix + 'Field "text" must be of type String')
        if not button["text"].strip():
            raise _bad("BUTTON_TEXT_INVALID")
        # An empty callback_data counts as absent, exactly as in the Bot API.
        actions = [
            k
            for k in _INLINE_ACTIONS
            if k in button and not (k == "callback_data" and not button[k])
        ]
        if not actions:
            raise _bad(prefix + "Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            # The real server silently picks one; the fake rejects the ambiguity.
            raise _bad(prefix + f"exactly one action field must be used, got {actions}")
        if "callback_data" in actions:
            data = button["callback_data"]
            if not isinstance(data, str) or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                raise _bad("BUTTON_DATA_INVALID")
        if "url" in actions:
            url = button["url"]
            if not isinstance(url, str) or not url.lower().startswith(
                ("http://", "https://", "tg://")
            ):
                raise _bad("BUTTON_URL_INVALID")

    def _check_flood(self, chat_id: int, limits: dict[int, list[int]] | None = None) -> None:
        pending = (self._rate_limits if limits is None else limits).get(chat_id)
        if pending:
            retry_after = pending.pop(0)
            raise TelegramError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        if not self.flood_limit:
            return
        now = time.monotonic()
        bucket = self._chat_buckets.setdefault(
            chat_id, _Bucket(capacity=20, rate=1.0, tokens=20, updated=now)
        )
        wait = max(bucket.take(now), self._global_bucket.take(now))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TelegramError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def _find_message(self, chat_id: int, params: dict[str, Any]) -> FakeMessage | None:
        message_id = self._int_param(params, "message_id")
        for msg in self._chats.get(chat_id, []):
            if msg.message_id == message_id and not msg.deleted:
                return msg
        return None

    # ----------------------------------------------------------------- method handlers

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user()

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        pending = sum(1 for u in self.updates if not u.confirmed and not u.dropped)
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }
        if self.webhook is not None:
            info["ip_address"] = "127.0.0.1"
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = sorted(self.webhook.allowed_updates)
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise TelegramError(409, E_WEBHOOK_ACTIVE)
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), 50.0)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None

        # The older long poll loses (Telegram terminates it with 409).
        self._wake_poller("conflict")
        self._confirm(offset)
        deadline = time.monotonic() + timeout
        batch = self._collect(limit)
        while not batch and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._poll_waiter = waiter
            try:
                async with asyncio.timeout(remaining):
                    reason = await waiter
            except TimeoutError:
                break
            finally:
                if self._poll_waiter is waiter:
                    self._poll_waiter = None
            if reason == "conflict":
                raise TelegramError(409, E_CONFLICT)
            if reason == "webhook":
                raise TelegramError(409, E_WEBHOOK_ACTIVE)
            batch = self._collect(limit)
        now = time.monotonic()
        for update in batch:
            if update.handed_out_at is None:
                update.handed_out_at = now
        if batch:
            self._last_activity = now
        return [u.payload for u in batch]

    def _confirm(self, offset: int) -> None:
        live = [u for u in self.updates if not u.confirmed and not u.dropped]
        if offset > 0:
            for update in live:
                if update.update_id < offset:
                    update.confirmed = True
        elif offset < 0:
            # A negative offset keeps only the last -offset updates.
            for update in live[:offset]:
                update.confirmed = True

    def _collect(self, limit: int) -> list[QueuedUpdate]:
        batch: list[QueuedUpdate] = []
        for update in self.updates:
            if update.confirmed or update.dropped:
                continue
            if not self._allowed(update):
                update.dropped = True
                continue
            batch.append(update)
            if len(batch) >= limit:
                break
        return batch

    def _allowed(self, update: QueuedUpdate) -> bool:
        allowed = self._allowed_updates
        if allowed is None:
            return update.type not in _DEFAULT_EXCLUDED_UPDATES
        return update.type in allowed

    # ----------------------------------------------------------------- webhook

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        try:
            parsed = URL(url)
            host, port = parsed.host, parsed.port
        except ValueError:
            raise _bad("bad webhook: invalid URL") from None
        loopback = host in _LOOPBACK
        if parsed.scheme != "https" and not (loopback and parsed.scheme == "http"):
            raise TelegramError(400, E_WEBHOOK_HTTPS)
        if not loopback:
            if port not in _WEBHOOK_PORTS:
                raise TelegramError(400, E_WEBHOOK_PORT)
            raise TelegramError(400, E_WEBHOOK_HOST)
        secret = params.get("secret_token")
        if secret is not None:
            secret = str(secret)
            if len(secret) > 256:
                raise TelegramError(400, E_SECRET_LONG)
            if not set(secret) <= _SECRET_CHARS:
                raise TelegramError(400, E_SECRET_CHARS)
            secret = secret or None
        max_connections = int(params.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            if not isinstance(allowed, list):
                raise _bad("can't parse allowed_updates JSON object")
            self._allowed_updates = frozenset(allowed) if allowed else None
        if _as_bool(params.get("drop_pending_updates", False)):
            self._drop_pending()
        self.webhook = Webhook(url, secret, self._allowed_updates, max_connections)
        self._webhook_error = None
        # A waiting long poll ends with a conflict, as a second poller's would.
        self._wake_poller("webhook")
        if self._deliverer is None or self._deliverer.done():
            self._deliverer = asyncio.create_task(self._deliver_updates())
        self._webhook_wakeup.set()
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if _as_bool(params.get("drop_pending_updates", False)):
            self._drop_pending()
        self.webhook = None
        self._webhook_error = None
        await self._stop_delivering()
        return True

    def _drop_pending(self) -> None:
        for update in self.updates:
            if update.update_id not in self._delivering:
                update.confirmed = True

    async def _stop_delivering(self) -> None:
        tasks = [t for t in (self._deliverer, *self._delivering.values()) if t is not None]
        self._deliverer = None
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()
        await asyncio.gather(*(t for t in tasks if t is not current), return_exceptions=True)
        self._delivering.clear()

    async def _deliver_updates(self) -> None:
        """Hands each update to the webhook, oldest first, at most max_connections at once."""
        while self.webhook is not None and not self._closing:
            webhook = self.webhook
            self._webhook_wakeup.clear()
            now = time.monotonic()
            next_retry: float | None = None
            for update in self.updates:
                if update.confirmed or update.dropped or update.update_id in self._delivering:
                    continue
                if not self._allowed(update):
                    update.dropped = True
                    continue
                due = self._retry_at.get(update.update_id, 0.0)
                if due > now:
                    next_retry = due if next_retry is None else min(next_retry, due)
                    continue
                if len(self._delivering) >= webhook.max_connections:
                    break
                self._delivering[update.update_id] = asyncio.create_task(
                    self._deliver(update, webhook)
                )
            wait = None if next_retry is None else max(next_retry - now, 0.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._webhook_wakeup.wait()

    async def _deliver(self, update: QueuedUpdate, webhook: Webhook) -> None:
        attempt = 1 + sum(1 for d in self.deliveries if d.update_id == update.update_id)
        record = WebhookDelivery(update.update_id, attempt, webhook.url, time.monotonic())
        self.deliveries.append(record)
        if update.handed_out_at is None:
            update.handed_out_at = record.started_at
        self._last_activity = record.started_at
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token is not None:
            headers[SECRET_HEADER] = webhook.secret_token
        if self._http is None:
            self._http = aiohttp.ClientSession()
        try:
            try:
                async with (
                    asyncio.timeout(self.webhook_timeout),
                    self._http.post(
                        webhook.url, data=json.dumps(update.payload), headers=headers
                    ) as response,
                ):
                    body = await response.read()
                    record.status = response.status
                    reason = response.reason or ""
                if self._late_answers > 0:
                    self._late_answers -= 1
                    raise TimeoutError
            except TimeoutError:
                record.error = "Read timeout expired"
            except asyncio.CancelledError:
                record.error = "Delivery stopped"
                raise
            except aiohttp.ClientError as exc:
                record.error = f"Connection failed: {type(exc).__name__}"
            else:
                if not 200 <= record.status < 300:
                    record.error = f"Wrong response from the webhook: {record.status} {reason}"
                else:
                    self._check_webhook_answer(update, body)
        finally:
            record.finished_at = self._last_activity = time.monotonic()
            self._delivering.pop(update.update_id, None)
            if record.error is None:
                update.confirmed = True
                self._retry_at.pop(update.update_id, None)
            else:
                self._webhook_error = (int(time.time()), record.error)
                self._retry_at[update.update_id] = record.finished_at + self.webhook_retry_delay
            self._webhook_wakeup.set()

    def _check_webhook_answer(self, update: QueuedUpdate, body: bytes) -> None:
        try:
            answer = json.loads(body) if body.strip() else None
        except ValueError:
            return  # Telegram ignores a body it cannot read
        if isinstance(answer, dict) and "method" in answer:
            self.errors.append(
                RecordedRequest(
                    method=str(answer["method"]),
                    params=answer,
                    time=time.monotonic(),
                    status=501,
                    description=f"Not Implemented: the fake does not carry out a method in the "
                    f"answer to update {update.update_id}",
                )
            )

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = self._check_markup(params.get("reply_markup"), inline_only=False)
        text, entities, html = self._format_text(params)
        user = self._user_for(params)
        self._check_length(text)
        reply_to: int | None = None
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and reply.get("message_id") is not None:
            reply_to = int(reply["message_id"])
            exists = any(m.message_id == reply_to and not m.deleted for m in self._chats[user.id])
            if not exists and not reply.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
        self._check_not_blocked(user)
        self._check_flood(user.id)
        msg = self._new_message(
            user.id, from_bot=True, text=text, entities=entities, html=html, reply_markup=markup
        )
        msg.parse_mode = params.get("parse_mode")
        msg.protect_content = _as_bool(params.get("protect_content", False))
        msg.disable_notification = _as_bool(params.get("disable_notification", False))
        msg.link_preview_options = params.get("link_preview_options")
        msg.reply_to_message_id = reply_to
        return self._message_dict(msg)

    def _message_to_edit(self, params: dict[str, Any]) -> tuple[FakeUser, FakeMessage]:
        if params.get("inline_message_id"):
            raise TelegramError(501, "Not Implemented: the fake has no inline messages")
        user = self._user_for(params)
        msg = self._find_message(user.id, params)
        if msg is None:
            raise _bad("message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        self._check_not_blocked(user)
        if self._fail_edits.get(user.id):
            self._fail_edits[user.id] -= 1
            raise _bad("message can't be edited")
        return user, msg

    @staticmethod
    def _apply_edit(
        msg: FakeMessage,
        text: str,
        html: str | None,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
    ) -> None:
        same = (
            msg.text == text
            and _norm_json(msg.entities) == _norm_json(entities)
            and _norm_json(msg.reply_markup) == _norm_json(markup)
        )
        if same:
            raise _bad(E_NOT_MODIFIED.removeprefix("Bad Request: "))
        msg.history.append((msg.text, msg.html, msg.entities, msg.reply_markup))
        msg.text, msg.html, msg.entities, msg.reply_markup = text, html, entities, markup
        msg.edit_count += 1
        msg.edited_at = time.monotonic()
        msg.edit_date = int(time.time())
        msg.edit_times.append(msg.edited_at)

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        text, entities, html = self._format_text(params)
        _, msg = self._message_to_edit(params)
        self._check_length(text)
        # Omitting reply_markup removes the keyboard, as on Telegram.
        self._apply_edit(msg, text, html, entities, markup)
        msg.link_preview_options = params.get("link_preview_options")
        return self._message_dict(msg)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        _, msg = self._message_to_edit(params)
        self._apply_edit(msg, msg.text, msg.html, msg.entities, markup)
        return self._message_dict(msg)

    def _deletable(self, chat_id: int, message_id: int) -> FakeMessage:
        msg = next((m for m in self._chats.get(chat_id, []) if m.message_id == message_id), None)
        if msg is None or msg.deleted:
            raise _bad("message to delete not found")
        if time.time() - msg.date > DELETE_WINDOW_SECONDS:
            raise _bad("message can't be deleted")
        return msg

    @staticmethod
    def _mark_deleted(msg: FakeMessage) -> None:
        msg.deleted = True
        msg.deleted_at = time.monotonic()

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        user = self._user_for(params)
        message_id = self._int_param(params, "message_id")
        pending = self._delete_rate_limits.get(user.id)
        if pending:
            self._check_flood(user.id, self._delete_rate_limits)
        msg = self._deletable(user.id, message_id)
        if self._fail_deletes.get(user.id):
            self._fail_deletes[user.id] -= 1
            raise _bad("message can't be deleted")
        self._mark_deleted(msg)
        return True

    async def _delete_messages(self, params: dict[str, Any]) -> bool:
        user = self._user_for(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise _bad("message identifiers are not specified")
        if len(ids) > 100:
            raise _bad("too many message identifiers specified")
        # Like Telegram: messages that can't be found or deleted are skipped silently.
        for message_id in ids:
            with contextlib.suppress(TelegramError):
                self._mark_deleted(self._deletable(user.id, int(message_id)))
        return True

    async def _leave_chat(self, params: dict[str, Any]) -> bool:
        chat_id = self._int_param(params, "chat_id")
        if chat_id not in self.groups:
            raise _bad("chat not found")
        del self.groups[chat_id]
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self.callback_queries.get(query_id)
        now = time.monotonic()
        text = params.get("text")
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        if query is None or query_id in self.callback_answers:
            raise _bad(E_QUERY_TOO_OLD.removeprefix("Bad Request: "))
        # Telegram's clock starts at the tap, not when the bot fetches the update: a tap that
        # waited in the queue (the bot was down or busy) may already be too old to answer.
        if now - query.created_at > self.callback_answer_timeout:
            raise _bad(E_QUERY_TOO_OLD.removeprefix("Bad Request: "))
        self.callback_answers[query_id] = CallbackAnswer(
            query_id=query_id,
            text=text if isinstance(text, str) else None,
            show_alert=_as_bool(params.get("show_alert", False)),
            url=params.get("url"),
            cache_time=int(params.get("cache_time") or 0),
            answered_at=now,
        )
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        user = self._user_for(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._check_not_blocked(user)
        return True

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        scope_type = str(scope["type"])
        # Per-chat scopes get their own key, so two chats don't overwrite each other.
        if "chat_id" in scope:
            scope_type += f":{scope['chat_id']}"
        if "user_id" in scope:
            scope_type += f":{scope['user_id']}"
        language = str(params.get("language_code") or "")
        if language and (len(language) != 2 or not language.isalpha()):
            raise _bad("invalid language code specified")
        return scope_type, language

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand JSON object")
            command = str(item.get("command", ""))
            description = str(item.get("description", ""))
            valid = 1 <= len(command) <= 32 and all(
                c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in command
            )
            if not valid:
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self.commands[key] = [dict(c) for c in commands]
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _set_my_description(self, params: dict[str, Any]) -> bool:
        description = str(params.get("description") or "")
        if len(description) > 512:
            raise _bad("description is too long")
        self.descriptions[str(params.get("language_code") or "")] = description
        return True

    async def _set_my_short_description(self, params: dict[str, Any]) -> bool:
        description = str(params.get("short_description") or "")
        if len(description) > 120:
            raise _bad("short description is too long")
        self.short_descriptions[str(params.get("language_code") or "")] = description
        return True

    async def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(params)
        return {
            **user.as_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }


# --------------------------------------------------------------------------- test helpers


@contextlib.asynccontextmanager
async def running_fake_telegram(**kwargs: Any) -> AsyncIterator[FakeTelegram]:
    """``async with running_fake_telegram(flood_limit=True) as fake:`` — started and stopped."""
    fake = FakeTelegram(**kwargs)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A started FakeTelegram with default settings (import this into conftest.py)."""
    async with running_fake_telegram() as fake:
        yield fake


class _FastCloseSession(AiohttpSession):
    """AiohttpSession without the 250 ms pause on close.

    aiogram sleeps so that SSL connections can shut down gracefully; the fake speaks plain HTTP on
    localhost, and the pause would add a quarter second to every test that stops polling.
    """

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(fake: FakeTelegram, *, parse_mode: str | None = "HTML", **kwargs: Any) -> Bot:
    """A real aiogram Bot whose session points at the fake (parse_mode HTML by default)."""
    session = _FastCloseSession(api=TelegramAPIServer.from_base(fake.base_url))
    return Bot(
        fake.token,
        session=session,
        default=DefaultBotProperties(parse_mode=parse_mode),
        **kwargs,
    )


@contextlib.asynccontextmanager
async def run_polling(
    fake: FakeTelegram,
    dp: Dispatcher,
    bot: Bot,
    *,
    polling_timeout: int = 1,
    **kwargs: Any,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``dp.start_polling`` in a task until the block ends; yields the task.

    Waits until the first getUpdates reached the fake, so updates queued inside the block are
    certainly fetched by this dispatcher. Exceptions from polling surface when the block exits.
    """
    seen = len(fake.calls("getUpdates"))
    task = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=polling_timeout, **kwargs)
    )
    try:
        await fake.wait_for(
            lambda: len(fake.calls("getUpdates")) > seen or task.done(),
            message="polling to start",
        )
        if task.done():
            await task  # re-raises the startup error
        yield task
    finally:
        if not task.done():
            await dp.stop_polling()
        await task
