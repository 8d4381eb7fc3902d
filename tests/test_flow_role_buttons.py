"""A member never sees a button their role does not allow, on any screen they can open.

A viewer and an operator walk, through the real dispatcher, every screen reachable from their
main menu (each button tapped once, breadth first), on an account with a running server, a
paid order and an unpaid one. Every button shown is checked against the role the gate itself
needs for its data (the linked areas of bot/handlers, the same table the gate is built from,
not a list written here), and every tap must be answered without "not allowed".
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.account_scope import split
from bot.handlers import linked_areas
from bot.handlers.buy import BuyCb
from bot.handlers.callbacks import LinkCb
from bot.handlers.filters import data_prefix
from bot.handlers.linked import LinkedArea
from bot.handlers.navigation import Screen, menu_data
from bot.handlers.servers import PowerCb, PowerStep
from bot.handlers.settings import LanguageCb, SettingsAction, SettingsCb
from bot.handlers.start import NewKeyCb
from bot.inferno.simulator import Simulator
from bot.storage.accounts import Role
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, paid_order, running_bot
from tests.test_alerts import account_pass
from tests.test_flow_members import MATE, OWNER, bound, open_members, shared

# Taps the walk does not take: they change the member's own state (the language, giving up
# their access) or act on the server, which the walk is not about; the screens before them
# (the unlink question, the power confirmation) are walked.
_LANGUAGE = data_prefix(LanguageCb)
_UNLINK = SettingsCb(action=SettingsAction.UNLINK_CONFIRM).pack().rsplit(":", 1)[0]
_POWER = data_prefix(PowerCb)
# Linking another account of their own is the member's business, not their role's.
_LINKING = (data_prefix(LinkCb), data_prefix(NewKeyCb))


def _acts(data: str) -> bool:
    if data.startswith((_LANGUAGE, _UNLINK, *_LINKING)):
        return True
    if data.startswith(_POWER):
        return PowerCb.unpack(data).step != PowerStep.ASK
    return False


@functools.cache
def _areas() -> tuple[LinkedArea, ...]:
    """Read, never attached to a dispatcher: built once, not for each button (20 ms)."""
    return linked_areas()


def needed_role(data: str) -> Role:
    """The least role the gate lets tap ``data``: the highest of the areas that take it (an
    area of a higher role refuses a lower one's tap before any area of its own could)."""
    roles = [area.role for area in _areas() if area.guards.matches(data)]
    order = (Role.VIEWER, Role.OPERATOR, Role.ADMIN, Role.OWNER)
    return max(roles, key=order.index, default=Role.VIEWER)


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path, production=engines, sim=Simulator(install_delay=60.0)
    ) as bot_env:
        yield bot_env


Snapshot = tuple[int, str, tuple[tuple[str, str | None], ...]]


def snapshot(message: FakeMessage) -> Snapshot:
    """The message as it shows now (a later tap edits the same message)."""
    buttons = tuple((b.text, b.callback_data) for b in message.buttons())
    return message.message_id, message.text, buttons


async def tap(env: BotEnv, data: str, message_id: int) -> FakeMessage:
    """Taps ``data`` on the message and waits until the tap is handled; the screen it leaves
    (the same one when it was already shown: nothing is edited then)."""
    before = env.screen(MATE)
    query_id = await env.tg.tap(MATE, message_id, data, verify=False)
    await env.tg.wait_for(lambda: query_id in env.tg.callback_answers, message="the tap's answer")
    await env.settle()
    after = env.screen(MATE)
    changed = [i for i, state in after.items() if before.get(i) != state and not state[1]]
    return env.tg.message(MATE, max(changed, default=message_id))


async def walk(env: BotEnv, role: Role) -> tuple[set[str], list[str]]:
    """Every button data (without its account) the member was shown, and the texts of the
    screens they reached."""
    menu = snapshot(await env.command(MATE, "/menu"))
    shown: set[str] = set()
    texts: list[str] = [menu[1]]
    queue: list[Snapshot] = [menu]
    tapped: set[str] = set()
    while queue:
        message_id, text, buttons = queue.pop(0)
        for label, data in buttons:
            if data is None:
                continue
            _, plain = split(data)
            shown.add(plain)
            assert role.allows(needed_role(plain)), (
                f"{role.value} shown {label!r} ({plain}) on: {text[:80]!r}"
            )
            if plain in tapped or _acts(plain):
                continue
            tapped.add(plain)
            again = snapshot(await tap(env, data, message_id))
            assert "Not allowed" not in again[1], (label, plain)
            texts.append(again[1])
            queue.append(again)
    return shown, texts


async def prepare(env: BotEnv, role: str) -> None:
    customer, _ = await shared(env, role)
    assert env.services is not None
    # An unpaid order beside the paid one (the customer cannot afford a second plan).
    customer.balance = customer.balance * 0
    await paid_order(env, customer)
    await env.command(OWNER, "/menu")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
async def test_a_member_is_shown_only_what_their_role_may_use(env: BotEnv, role: Role) -> None:
    await prepare(env, role.value.capitalize())
    shown, texts = await walk(env, role)
    joined = "\n".join(texts)
    # The walk reached every screen the issue names: servers and a card, orders and an order,
    # services, settings, the accounts list and the account's card, history, notifications.
    for prefix in ("m:srv", "s:", "m:ord", "o:", "m:svc", "m:set", "ac:", "hy:", "nt:"):
        assert any(data.startswith(prefix) for data in shown), prefix
    assert "Stop" in joined or role == Role.VIEWER
    # What the role does not allow never appears, Buy included.
    assert "m:buy" not in shown and "m:keys" not in shown
    assert not any(data.startswith(("by:", "bc:", "ox:", "pw:", "is:", "k:")) for data in shown)
    if role == Role.VIEWER:
        assert not any(data.startswith(("pa:", "sn:")) for data in shown)
    else:
        assert any(data.startswith("pa:") for data in shown)
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


async def test_a_forged_buy_or_plans_tap_is_refused_below_admin_and_an_admin_buys(
    env: BotEnv,
) -> None:
    customer, _ = await shared(env, "Operator")
    # The account's first alerts check (which the join may start in the background) is over
    # before the provider calls are counted: a pass holds the account lock to its end.
    await account_pass(env)
    env.sim.reset_counters()
    for data in (menu_data(Screen.BUY), BuyCb(page=0).pack()):
        menu = await env.command(MATE, "/menu")
        refused = await env.forge(MATE, bound(menu, data), menu.message_id)
        assert "Not allowed" in refused.text, data
    assert list(env.sim.calls.elements()) == [], "no provider call"

    # Raised to admin, the member is shown Buy and the plans with their buttons.
    await open_members(env, customer)
    await env.tap(OWNER, "Mate")
    await env.tap(OWNER, "Make admin")
    await env.command(MATE, "/menu")
    plans = await env.tap(MATE, "Buy")
    assert any(split(b.callback_data or "")[1].startswith("by:p") for b in plans.buttons())
    assert env.tg.errors == []
