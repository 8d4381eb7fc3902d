"""Every filter and handler runs on the event loop, and the coroutine filters test what they say."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.handler import CallableObject, HandlerObject
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.types import CallbackQuery, Chat, Message, User

from bot.handlers import errors, fallback, include_areas, start
from bot.handlers.area import AreaRouter
from bot.handlers.filters import (
    DataPrefix,
    NotCommand,
    NoText,
    NotLinked,
    TextMatches,
    TypedText,
    data_prefix,
)
from bot.handlers.navigation import MenuCb, Screen, menu_data, menu_taps
from bot.handlers.servers import ServerListCb
from bot.inferno.models import Credentials


def _dispatcher() -> Dispatcher:
    dp = Dispatcher()
    include_areas(dp)
    return dp


def _callables(router: Router) -> Iterator[tuple[str, CallableObject]]:
    for name, observer in router.observers.items():
        where = f"{router.name}.{name}"
        for handler in observer.handlers:
            yield f"{where} handler {handler.callback!r}", handler
            for event_filter in handler.filters or ():
                yield f"{where} filter {event_filter.callback!r}", event_filter
        for event_filter in observer._handler.filters or ():
            yield f"{where} router filter {event_filter.callback!r}", event_filter
    for child in router.sub_routers:
        yield from _callables(child)


def test_no_filter_or_handler_is_sent_to_a_thread() -> None:
    # aiogram hands anything that is not a coroutine to asyncio.to_thread: on every update that
    # reaches it, a thread round trip for what is usually a string comparison.
    offenders = [where for where, obj in _callables(_dispatcher()) if not obj.awaitable]
    assert offenders == []


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


def _prefixes_of(handler: HandlerObject) -> set[str] | None:
    """The callback prefixes a handler's filters accept; None if it takes any data."""
    for event_filter in handler.filters or ():
        callback = event_filter.callback
        if isinstance(callback, CallbackQueryFilter):
            return {data_prefix(callback.callback_data)}
        if isinstance(callback, DataPrefix):
            return set(callback.prefixes)
    return None


async def _menu_taps_of(handler: HandlerObject) -> set[str]:
    """The main-menu buttons a handler answers, found by asking its filter about each one."""
    for event_filter in handler.filters or ():
        callback = event_filter.callback
        if isinstance(callback, CallbackQueryFilter) and callback.callback_data is MenuCb:
            return {menu_data(s) for s in Screen if await callback(_query(menu_data(s)))}
    return set()


async def test_each_area_turns_away_only_taps_it_cannot_handle() -> None:
    for router in _dispatcher().sub_routers:
        observer = router.callback_query
        if not observer.handlers:
            continue
        assert isinstance(router, AreaRouter), router.name
        guards = [guard for guard in router.tap_guards if isinstance(guard, DataPrefix)]
        if router is fallback.router:
            assert [_prefixes_of(h) for h in observer.handlers] == [None] and not guards, (
                "the fallback takes every tap"
            )
            continue
        assert len(guards) == 1, f"{router.name}: no DataPrefix guard on callback_query"
        (guard,) = guards
        for handler in observer.handlers:
            menu_taps = await _menu_taps_of(handler)
            if menu_taps:
                # Menu buttons are let in one by one: each area takes only its own screens.
                assert menu_taps <= guard.exact, (router.name, menu_taps - guard.exact)
                continue
            prefixes = _prefixes_of(handler)
            assert prefixes is not None, f"{router.name} has a catch-all tap handler"
            assert prefixes <= set(guard.prefixes), (router.name, prefixes)


async def test_each_menu_screen_is_let_into_one_area_only() -> None:
    # Two areas taking the same screen would mean the second one's handler is never reached.
    for screen in Screen:
        takers = [
            router.name
            for router in _dispatcher().sub_routers
            for guard in getattr(router, "tap_guards", ())
            if isinstance(guard, DataPrefix)
            and menu_data(screen) in guard.exact
            and router is not start.linked_only_router
        ]
        assert len(takers) == 1, (screen, takers)


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


def test_the_fallback_and_the_error_handler_come_last() -> None:
    assert [router.name for router in _dispatcher().sub_routers][-2:] == [
        fallback.router.name,
        errors.router.name,
    ]


async def test_linked_only_screens_stop_unlinked_users_before_the_areas() -> None:
    gate = start.linked_only_router
    assert any(isinstance(guard, NotLinked) for guard in gate.tap_guards)
    routers = _dispatcher().sub_routers
    takers = {
        router
        for router in routers
        for guard in getattr(router, "tap_guards", ())
        if isinstance(guard, DataPrefix)
        and router is not gate
        and guard.exact & {menu_data(screen) for screen in start.LINKED_ONLY_SCREENS}
    }
    assert takers, "the areas showing those screens"
    assert all(routers.index(gate) < routers.index(router) for router in takers)
