"""Every filter and handler runs on the event loop, and the coroutine filters test what they say."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Chat, Message, User

from bot.handlers.filters import (
    DataPrefix,
    NotCommand,
    NoText,
    NotLinked,
    TextMatches,
    TypedText,
)
from bot.handlers.navigation import MenuCb, Screen, menu_data, menu_taps
from bot.handlers.servers import ServerListCb
from bot.inferno.models import Credentials
from tests import routers


def test_no_handler_or_handler_filter_is_sent_to_a_thread() -> None:
    # aiogram hands anything that is not a coroutine to asyncio.to_thread: on every update that
    # reaches it, a thread round trip for what is usually a string comparison.
    offenders = [
        f"{router.name}.{name}: {obj.callback!r}"
        for router in routers.walk()
        for name, observer in router.observers.items()
        for handler in observer.handlers
        for obj in (handler, *(handler.filters or ()))
        if not obj.awaitable
    ]
    assert offenders == []


async def test_no_router_filter_is_sent_to_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A router's own filters are asked about each of its taps and a few messages, by linked and
    unlinked users, with threads forbidden: a synchronous one fails the call."""

    async def no_thread(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a router filter went to a thread")

    monkeypatch.setattr(asyncio, "to_thread", no_thread)
    asked = 0
    for router in routers.walk():
        taps = (await routers.taps_of(router)).samples() | {"zzz"}
        for creds in (None, routers.ACCOUNT):
            for data in taps:
                await routers.admits(router, data, creds=creds)
                asked += 1
            for text in ("hello", "/servers", None):
                await _messages_admitted(router, text, creds=creds)
    assert asked > 100


async def _messages_admitted(router: Router, text: str | None, **data: Any) -> bool:
    passed, _ = await router.message.check_root_filters(routers.message(text), **data)
    return bool(passed)


def _query(data: str | None) -> CallbackQuery:
    user = User(id=1, is_bot=False, first_name="T")
    return CallbackQuery(id="1", from_user=user, chat_instance="c", data=data)


def _message(text: str | None) -> Message:
    return Message(
        message_id=1,
        date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        chat=Chat(id=1, type="private"),
        text=text,
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (MenuCb(screen=Screen.MAIN).pack(), True),
        ("m:garbage:more", True),
        (ServerListCb().pack(), True),
        ("mx:main", False),  # a longer prefix that merely starts the same
        ("m", True),  # the bare prefix: how a class without fields packs
        ("", False),
        (None, False),
    ],
)
async def test_data_prefix(data: str | None, expected: bool) -> None:
    assert await DataPrefix(MenuCb, ServerListCb)(_query(data)) is expected


async def test_data_prefix_takes_raw_prefixes() -> None:
    assert await DataPrefix("pw")(_query("pw:1")) is True
    assert await DataPrefix("pw")(_query("pwd:1")) is False


async def test_data_prefix_takes_a_class_without_fields() -> None:
    class Bare(CallbackData, prefix="bare"):
        pass

    assert Bare().pack() == "bare"
    assert await DataPrefix(Bare)(_query("bare")) is True
    assert await DataPrefix(Bare)(_query("barely")) is False


@pytest.mark.parametrize(
    ("text", "typed", "not_command", "no_text"),
    [
        ("hello", True, True, False),
        ("/start", False, False, False),
        ("", True, True, False),
        (None, False, True, True),
    ],
)
async def test_message_filters(
    text: str | None, typed: bool, not_command: bool, no_text: bool
) -> None:
    message = _message(text)
    assert await TypedText()(message) is typed
    assert await NotCommand()(message) is not_command
    assert await NoText()(message) is no_text


async def test_text_matches() -> None:
    shouting = TextMatches(str.isupper)
    assert await shouting(_message("LOUD")) is True
    assert await shouting(_message("quiet")) is False
    assert await shouting(_message(None)) is False


async def test_data_prefix_lets_in_exact_data() -> None:
    guard = DataPrefix(ServerListCb, exact=menu_taps(Screen.SERVERS))
    assert await guard(_query(menu_data(Screen.SERVERS))) is True
    assert await guard(_query(ServerListCb().pack())) is True
    assert await guard(_query(menu_data(Screen.MAIN))) is False
    assert await guard(_query(menu_data(Screen.SERVERS) + "x")) is False
    assert await DataPrefix(exact=["m:srv"])(_query("m:srvx")) is False


async def test_not_linked() -> None:
    query = _query("m:srv")
    assert await NotLinked()(query) is True
    assert await NotLinked()(query, creds=None) is True
    assert await NotLinked()(query, creds=Credentials(cid=1, key="k" * 16)) is False
