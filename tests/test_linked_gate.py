"""One gate for the screens that need a linked account, checked on the bot's real routers.

Every handler that asks for the ``account`` must sit behind the gate (elsewhere aiogram would
call it without one), and whatever sits behind the gate — its taps, its commands, its dialogs —
must get the "not linked" screen from the one fallback when the user has no account. Then a
user without one, tapping or typing anything those screens answer, is told to link, and
nothing behind the gate ever has to check.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiogram import Bot, Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State, StatesGroup

from bot.handlers import linked
from tests import routers

BOT = Bot("42:TEST")
NOT_LINKED_ANSWERS = {linked.not_linked_screen, linked.not_linked_below, linked.not_linked_dialog}


def _handlers(router: Router) -> Iterator[HandlerObject]:
    for observer in router.observers.values():
        yield from observer.handlers


def _not_linked_router(outside: list[Router]) -> Router:
    (found,) = [
        router
        for router in outside
        if any(handler.callback in NOT_LINKED_ANSWERS for handler in _handlers(router))
    ]
    return found


async def _answers(router: Router, text: str, raw_state: str | None = None) -> bool:
    """Whether one of the router's message handlers takes this text from a user without an
    account, in that dialog state."""
    event = routers.message(text)
    data: dict[str, Any] = {"creds": None, "raw_state": raw_state, "bot": BOT}
    passed, data = await router.message.check_root_filters(event, **data)
    if not passed:
        return False
    for handler in router.message.handlers:
        taken, _ = await handler.check(event, **data)
        if taken:
            return True
    return False


def _commands_and_states(handler: HandlerObject) -> tuple[list[str], list[str]]:
    commands: list[str] = []
    states: list[str] = []
    for event_filter in handler.filters or ():
        callback = event_filter.callback
        if isinstance(callback, Command):
            commands += [str(command) for command in callback.commands]
        elif isinstance(callback, StateFilter):
            for state in callback.states:
                if isinstance(state, State) and state.state is not None:
                    states.append(state.state)
                elif isinstance(state, type) and issubclass(state, StatesGroup):
                    states += [str(name) for name in state.__all_states_names__]
    return commands, states


async def test_there_is_one_gate_and_it_holds_the_account_screens() -> None:
    gates = [router for router in routers.walk() if await routers.is_gate(router)]
    assert len(gates) == 1
    behind, _ = await routers.behind_the_gate()
    asking = [h for router in behind for h in _handlers(router) if "account" in h.params]
    assert len(asking) > 25, "the servers, orders, keys, install… handlers"


async def test_every_handler_that_asks_for_the_account_is_behind_the_gate() -> None:
    behind, outside = await routers.behind_the_gate()
    stray = [
        f"{router.name}: {handler.callback.__name__}"
        for router in outside
        for handler in _handlers(router)
        if "account" in handler.params
    ]
    assert stray == []
    # Behind the gate the account is proven: nothing there asks for the optional creds.
    unsure = [
        f"{router.name}: {handler.callback.__name__}"
        for router in behind
        for handler in _handlers(router)
        if "creds" in handler.params
    ]
    assert unsure == []


async def test_every_tap_behind_the_gate_gets_the_not_linked_answer() -> None:
    behind, outside = await routers.behind_the_gate()
    fallback = _not_linked_router(outside)
    gated_taps: set[str] = set()
    for router in behind:
        gated_taps |= (await routers.taps_of(router)).samples()
    assert len(gated_taps) > 20
    for data in gated_taps:
        assert await routers.admits(fallback, data, creds=None), data
        assert not await routers.admits(fallback, data, creds=routers.ACCOUNT), data
    # And only those: a tap of an open screen is never answered "not linked".
    for router in outside:
        for data in (await routers.taps_of(router)).samples() - gated_taps:
            if any([await routers.admits(area, data) for area in behind]):
                continue  # a prefix shared with a screen behind the gate (buy, settings)
            assert not await routers.admits(fallback, data, creds=None), (router.name, data)


async def test_every_command_and_dialog_behind_the_gate_gets_the_not_linked_answer() -> None:
    behind, outside = await routers.behind_the_gate()
    fallback = _not_linked_router(outside)
    commands: set[str] = set()
    states: set[str] = set()
    for router in behind:
        for handler in _handlers(router):
            found_commands, found_states = _commands_and_states(handler)
            commands.update(found_commands)
            states.update(found_states)
    assert {"servers", "keys", "logout"} <= commands
    assert len(states) > 5
    for command in commands:
        assert await _answers(fallback, f"/{command}"), command
    for state in states:
        assert await _answers(fallback, "hello", raw_state=state), state
    # Commands and dialogs of the open screens are theirs alone.
    for router in outside:
        if router is fallback:
            continue
        for handler in _handlers(router):
            found_commands, found_states = _commands_and_states(handler)
            for command in set(found_commands) - commands:
                assert not await _answers(fallback, f"/{command}"), command
            for state in set(found_states) - states:
                assert not await _answers(fallback, "hello", raw_state=state), state
