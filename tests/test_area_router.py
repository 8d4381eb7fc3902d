"""Routing between areas, checked on the bot's real routers: each area's own filters let in the
taps its handlers read and turn away everything else, before any of its handlers is tried."""

from __future__ import annotations

from aiogram import Dispatcher, Router

from bot.handlers import errors, fallback, setup_routers
from bot.handlers.navigation import Screen, menu_data
from tests import routers


def _areas() -> list[Router]:
    """The routers that have tap handlers of their own."""
    return [router for router in routers.walk() if router.callback_query.handlers]


async def test_only_the_fallback_lets_in_any_tap() -> None:
    for router in _areas():
        let_in = [await routers.admits(router, "zzz", **who) for who in routers.WHO]
        if router.name == fallback.__name__:
            assert all(let_in), "the fallback takes every tap"
        else:
            assert not any(let_in), f"{router.name} lets in any tap"


async def test_an_area_lets_in_its_own_taps_and_no_other_areas() -> None:
    every_tap = await routers.all_taps()
    for router in _areas():
        taps = await routers.taps_of(router)
        if taps.catch_all:
            # The fallback, and the not-linked answer (tests/test_linked_gate.py).
            continue
        for data in every_tap:
            # Filters that ask for an account pass with one and refuse without; either way the
            # tap must be one the area reads.
            for who in routers.WHO:
                if await routers.admits(router, data, **who):
                    assert taps.holds(data), (router.name, data)
        for data in taps.samples():
            let_in = [await routers.admits(router, data, **who) for who in routers.WHO]
            assert any(let_in), (router.name, data)


async def test_each_menu_screen_is_let_into_one_area_only() -> None:
    # Two areas taking the same screen would mean the second one's handler is never reached.
    for screen in Screen:
        data = menu_data(screen)
        takers = [
            router.name
            for router in _areas()
            if not (await routers.taps_of(router)).catch_all
            and await routers.admits(router, data, creds=routers.ACCOUNT)
        ]
        assert len(takers) == 1, (screen, takers)


def test_the_fallback_and_the_error_handler_come_last() -> None:
    names = [router.name for router in setup_routers().sub_routers]
    assert names[-2:] == [fallback.__name__, errors.__name__]


async def test_every_dispatcher_gets_routers_of_its_own() -> None:
    # aiogram refuses to attach a router to a second parent: the bot, the tests and the demo
    # each build their dispatcher from fresh routers.
    first, second = Dispatcher(), Dispatcher()
    first.include_router(setup_routers())
    second.include_router(setup_routers())
    mine = {id(router) for router in routers.walk(first)}
    theirs = {id(router) for router in routers.walk(second)}
    assert mine.isdisjoint(theirs)
