"""One gate for the screens that need a linked account, checked on the bot's real routers.

Every handler that asks for the ``account`` must sit behind the gate (elsewhere aiogram would
call it without one), and whatever sits behind the gate — its taps, its commands, its dialogs —
must get the "not linked" screen from the one fallback when the user has no account. Then a
user without one, tapping or typing anything those screens answer, is told to link, and
nothing behind the gate ever has to check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from aiogram import Bot, Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State, StatesGroup

from bot.handlers import linked
from bot.storage.accounts import Access, Role
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


# --- roles -------------------------------------------------------------------------------------

# What each area behind the gate needs, as README's "Teams" section states it. A new area must
# be added here, with the role its screens need.
AREA_ROLES = {
    "bot.handlers.servers": Role.VIEWER,
    "bot.handlers.settings.unlink": Role.VIEWER,  # a member's "unlink" leaves the account
    "bot.handlers.balance": Role.VIEWER,
    "bot.handlers.orders": Role.VIEWER,
    "bot.handlers.services": Role.VIEWER,
    "bot.handlers.notifications": Role.VIEWER,  # each member's own alert settings
    "bot.handlers.history": Role.VIEWER,  # a viewer sees the server actions
    "bot.handlers.power": Role.OPERATOR,
    "bot.handlers.server_names": Role.OPERATOR,
    "bot.handlers.password.show": Role.ADMIN,
    "bot.handlers.buy.purchase": Role.ADMIN,
    "bot.handlers.orders.cancel": Role.ADMIN,
    "bot.handlers.install": Role.ADMIN,
    "bot.handlers.sshkeys": Role.ADMIN,
    "bot.handlers.accounts.manage": Role.OWNER,
    "bot.handlers.members.manage": Role.OWNER,
}


def member(role: Role) -> Access:
    return replace(routers.MEMBER, role=role)


async def _role_routers() -> dict[Role, Router]:
    (gate,) = [router for router in routers.walk() if await routers.is_gate(router)]
    found: dict[Role, Router] = {}
    for child in gate.sub_routers:
        # A role router lets in exactly the roles that allow its own.
        let_in = [
            role
            for role in Role
            if await routers.admits(child, "zzz", creds=routers.ACCOUNT, access=member(role))
        ]
        least = min(let_in, key=lambda role: role.rank)
        assert set(let_in) == {r for r in Role if r.allows(least)}, child.name
        refused, _ = await child.callback_query.check_root_filters(
            routers.query("zzz"), creds=routers.ACCOUNT, access=None
        )
        assert not refused, "no role, no way in"
        found[least] = child
    return found


async def test_every_area_behind_the_gate_sits_behind_the_role_it_needs() -> None:
    by_role = await _role_routers()
    placed = {area.name: role for role, router in by_role.items() for area in router.sub_routers}
    assert placed == AREA_ROLES
    behind, _ = await routers.behind_the_gate()
    role_routers = set(map(id, by_role.values()))
    gate_children = {id(router) for router in behind if router.name == linked.__name__}
    # Nothing behind the gate escapes the role routers: every handler is in one of them.
    for router in behind:
        if id(router) in role_routers or id(router) in gate_children:
            assert not any(True for _ in _handlers(router)), router.name


async def test_every_tap_command_and_dialog_a_role_lacks_gets_not_allowed() -> None:
    by_role = await _role_routers()
    _, outside = await routers.behind_the_gate()
    (refusals,) = [router for router in outside if router.name == f"{linked.__name__}.not_allowed"]
    viewer_taps: set[str] = set()
    for area in by_role[Role.VIEWER].sub_routers:
        viewer_taps |= (await routers.taps_of(area)).samples()
    checked = 0
    for needed, role_router in by_role.items():
        taps: set[str] = set()
        commands: set[str] = set()
        states: set[str] = set()
        for area in role_router.sub_routers:
            taps |= (await routers.taps_of(area)).samples()
            for handler in _handlers(area):
                found_commands, found_states = _commands_and_states(handler)
                commands.update(found_commands)
                states.update(found_states)
        for role in Role:
            allowed = role.allows(needed)
            who = {"creds": routers.ACCOUNT, "access": member(role)}
            for data in taps:
                if data in viewer_taps:
                    continue  # a viewer's screen with the same data
                refused = await _refused(refusals, data, who)
                assert refused is not allowed, (needed, role, data)
                checked += 1
            for command in commands:
                assert await _refuses_message(refusals, f"/{command}", None, who) is not allowed
            for state in states:
                assert await _refuses_message(refusals, "hello", state, who) is not allowed
    assert checked > 30


async def _refused(router: Router, data: str, who: dict[str, Any]) -> bool:
    passed, kwargs = await router.callback_query.check_root_filters(routers.query(data), **who)
    if not passed:
        return False
    event = routers.query(data)
    for handler in router.callback_query.handlers:
        taken, _ = await handler.check(event, **(who | kwargs))
        if taken:
            return True
    return False


async def _refuses_message(
    router: Router, text: str, raw_state: str | None, who: dict[str, Any]
) -> bool:
    data: dict[str, Any] = {"raw_state": raw_state, "bot": BOT} | who
    passed, data = await router.message.check_root_filters(routers.message(text), **data)
    if not passed:
        return False
    for handler in router.message.handlers:
        taken, _ = await handler.check(routers.message(text), **data)
        if taken:
            return True
    return False
