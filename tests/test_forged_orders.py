"""Every action on a server first finds its order among the user's own.

Two simulator customers: A (the user tapping) and B (the victim). A forges each kind of button
with B's order id, packed with the real CallbackData classes; every one is answered "not found
in your account", and the simulator's request log shows that no call named B's order. A stale
button (an order cancelled or terminated since its screen was drawn) is answered the same way.
A's own servers keep working throughout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.handlers.callbacks import (
    InstallMode,
    InstallStartCb,
    ServerAction,
    ServerCb,
    ShowPasswordCb,
)
from bot.handlers.servers import PowerCb, PowerOp, PowerStep
from bot.inferno.simulator import Customer, Simulator
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, creds_of, labels, paid_order, running_bot
from tests.storage_helpers import actions_of
from tests.test_flow_servers import installed_server, open_card, open_servers, sim_server_ip

UID = 6301
VICTIM_UID = 6302
# The answer to an order that is not the user's: the servers' and the install wizard's wording.
NOT_YOURS = ("was not found in your account", "is not in your account")


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path, production=engines, sim=Simulator(install_delay=60.0)
    ) as bot_env:
        yield bot_env


@pytest.fixture
async def uncached(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """No read cache: a change made at the provider is seen on the next tap."""
    sim = Simulator(install_delay=60.0)
    async with running_bot(tmp_path, production=engines, sim=sim, read_cache_ttl=0.0) as bot_env:
        yield bot_env


def asked_about(env: BotEnv, value: str) -> list[str]:
    """The actions of the provider calls so far that carried ``value`` as a parameter."""
    return [request.action for request in env.sim.requests if request.names(value)]


def says_not_yours(message: FakeMessage) -> bool:
    return any(phrase in message.text for phrase in NOT_YOURS)


async def victim_and_attacker(env: BotEnv) -> tuple[Customer, str, Customer, str]:
    """B with a running server (linked to its own Telegram user), and A with one too; the
    simulator's counters and request log start after that."""
    victim = await env.linked(VICTIM_UID)
    foreign = await installed_server(env, victim)
    attacker = await env.linked(UID)
    mine = await installed_server(env, attacker)
    env.sim.reset_counters()
    return victim, foreign, attacker, mine


def assert_untouched(victim: Customer, order_id: str) -> None:
    order = victim.order(order_id)
    assert order is not None and order.status == "Active"
    assert order.server is not None and order.server.powered and not order.server.installing


Forge = Callable[[BotEnv, str, str], Awaitable[str]]


def _packed(make: Callable[[str], str]) -> Forge:
    async def forge(env: BotEnv, foreign: str, mine: str) -> str:
        return make(foreign)

    return forge


def _with_own_token(action: str, op: PowerOp) -> Forge:
    """A confirmation the bot really issued to A, for A's own server, moved onto B's order."""

    async def forge(env: BotEnv, foreign: str, mine: str) -> str:
        token = await env.db.confirmations.issue(UID, action, {"order_id": mine})
        return PowerCb(step=PowerStep.DO, op=op, order_id=foreign, token=token).pack()

    return forge


FORGED: dict[str, Forge] = {
    "card": _packed(lambda o: ServerCb(order_id=o).pack()),
    "refresh": _packed(lambda o: ServerCb(action=ServerAction.REFRESH, order_id=o).pack()),
    "card as a new message": _packed(
        lambda o: ServerCb(action=ServerAction.NEW_MESSAGE, order_id=o).pack()
    ),
    "reboot question": _packed(
        lambda o: PowerCb(step=PowerStep.ASK, op=PowerOp.REBOOT, order_id=o).pack()
    ),
    "stop question": _packed(
        lambda o: PowerCb(step=PowerStep.ASK, op=PowerOp.STOP, order_id=o).pack()
    ),
    "confirmed stop, made-up token": _packed(
        lambda o: PowerCb(
            step=PowerStep.DO, op=PowerOp.STOP, order_id=o, token="AAAAAAAAAAA"
        ).pack()
    ),
    "confirmed reboot, A's own token": _with_own_token("reboot", PowerOp.REBOOT),
    "boot, A's own token": _with_own_token("boot", PowerOp.BOOT),
    "root password": _packed(lambda o: ShowPasswordCb(order_id=o).pack()),
    "reinstall": _packed(lambda o: InstallStartCb(order_id=o, mode=InstallMode.REINSTALL).pack()),
    "install": _packed(lambda o: InstallStartCb(order_id=o, mode=InstallMode.INSTALL).pack()),
}


@pytest.mark.parametrize("forge", list(FORGED.values()), ids=list(FORGED))
async def test_a_button_forged_with_another_customers_order_is_refused(
    env: BotEnv, forge: Forge
) -> None:
    victim, foreign, attacker, mine = await victim_and_attacker(env)
    listing = await open_servers(env, UID)
    data = await forge(env, foreign, mine)
    assert len(data.encode()) <= 64

    answer = await env.forge(UID, data, listing.message_id)
    assert says_not_yours(answer), answer.text
    assert asked_about(env, foreign) == [], "the provider heard of B's order from A"
    assert_untouched(victim, foreign)
    assert victim.orders[0].server is not None
    assert victim.orders[0].server.password not in answer.text
    assert env.sim.calls["reboot"] + env.sim.calls["stop"] + env.sim.calls["boot"] == 0
    assert env.sim.runs["install"] + env.sim.runs["reinstall"] == 0
    assert env.tg.unanswered_callbacks() == []

    # A's own server still works from the same chat: its card, and a confirmed reboot.
    card = await open_card(env, mine, UID)
    assert "🟢 running" in card.text and sim_server_ip(attacker, mine) in card.text
    question = await env.tap(UID, "Reboot")
    assert "Yes, reboot" in " ".join(labels(question))
    done = await env.tap(UID, "Yes, reboot")
    assert "The reboot command was sent" in done.text
    assert env.sim.calls["reboot"] == 1
    assert asked_about(env, foreign) == []
    assert env.tg.errors == []


async def test_a_forged_token_is_kept_for_the_button_it_belongs_to(env: BotEnv) -> None:
    """Refused before the confirmation is looked at: A's own token is not spent by the forgery."""
    _, foreign, _, mine = await victim_and_attacker(env)
    listing = await open_servers(env, UID)
    token = await env.db.confirmations.issue(UID, "boot", {"order_id": mine})
    forged = PowerCb(step=PowerStep.DO, op=PowerOp.BOOT, order_id=foreign, token=token)
    answer = await env.forge(UID, forged.pack(), listing.message_id)
    assert says_not_yours(answer)
    assert await env.db.confirmations.peek(UID, token) is not None
    assert env.sim.calls["boot"] == 0


async def test_the_refusal_is_translated(env: BotEnv) -> None:
    victim = await env.linked(VICTIM_UID)
    foreign = await installed_server(env, victim)
    await env.linked(UID, language="ru")
    env.sim.reset_counters()
    listing = await open_servers(env, UID)
    for data in (
        ServerCb(order_id=foreign).pack(),
        InstallStartCb(order_id=foreign, mode=InstallMode.REINSTALL).pack(),
    ):
        answer = await env.forge(UID, data, listing.message_id)
        assert "нет в вашем аккаунте" in answer.text, answer.text
    assert asked_about(env, foreign) == []


# --------------------------------------------------------------------------- find by IP


async def find(env: BotEnv, ip: str) -> FakeMessage:
    await open_servers(env, UID)
    await env.tap(UID, "Find by IP")
    return await env.say(UID, ip)


async def test_find_by_ip_of_another_customers_server_says_not_found(env: BotEnv) -> None:
    victim, foreign, attacker, mine = await victim_and_attacker(env)
    foreign_ip = sim_server_ip(victim, foreign)

    answer = await find(env, foreign_ip)
    assert f"No server with the IP address {foreign_ip} in your account" in answer.text
    assert asked_about(env, foreign) == []
    # The address itself went out only in the lookup made with A's own key.
    assert asked_about(env, foreign_ip) == ["getinfo"]

    own_ip = sim_server_ip(attacker, mine)
    card = await env.say(UID, own_ip)
    assert "🟢 running" in card.text and own_ip in card.text


async def test_find_by_ip_ignores_a_provider_that_answers_with_another_account(
    env: BotEnv,
) -> None:
    """Should the provider's lookup by IP ever search beyond the caller's account, its answer
    is still not shown, and B's order is not asked about."""
    victim, foreign, _, _ = await victim_and_attacker(env)
    foreign_ip = sim_server_ip(victim, foreign)
    env.sim.faults.ip_lookup_any_account = True

    answer = await find(env, foreign_ip)
    assert f"No server with the IP address {foreign_ip} in your account" in answer.text
    victim_order = victim.order(foreign)
    assert victim_order is not None and victim_order.server is not None
    screens = " ".join(m.text for m in env.tg.bot_messages(UID))
    assert victim_order.server.vps_name not in screens
    assert asked_about(env, foreign) == []
    assert_untouched(victim, foreign)
    assert env.tg.errors == []


# --------------------------------------------------------------------------- stale buttons


async def test_a_button_of_an_order_cancelled_through_the_bot_is_refused(env: BotEnv) -> None:
    """The bot's own cancel drops the account's cached lists at once (with the read cache on)."""
    customer = await env.linked(UID, balance="0.00")
    pending = await paid_order(env, customer)  # no money: the order stays unpaid
    card = await open_card(env, pending, UID)
    assert "not paid" in card.text

    await env.command(UID, "/menu")
    await env.tap(UID, "Orders")
    await env.tap(UID, f"#{pending}")
    await env.tap(UID, "Cancel the order")
    cancelled = await env.tap(UID, "Yes, cancel")
    assert f"Order #{pending} is cancelled" in cancelled.text
    order = customer.order(pending)
    assert order is not None and order.status == "Cancelled"
    env.sim.reset_counters()

    # The card's link as any screen drew it before the cancel.
    for data in (
        ServerCb(order_id=pending).pack(),
        InstallStartCb(order_id=pending, mode=InstallMode.INSTALL).pack(),
    ):
        answer = await env.forge(UID, data, card.message_id)
        assert says_not_yours(answer), answer.text
    assert asked_about(env, pending) == []
    assert env.tg.errors == []


async def test_buttons_of_a_server_terminated_since_they_were_drawn_are_refused(
    uncached: BotEnv,
) -> None:
    env = uncached
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    card = await open_card(env, order_id, UID)
    stale = {
        name: card.button(name).callback_data
        for name in ("Refresh", "Show root password", "Reinstall OS", "Boot")
        if any(name in label for label in labels(card))
    }
    question = await env.tap(UID, "Reboot")
    yes = question.button("Yes, reboot").callback_data
    assert yes is not None

    order = customer.order(order_id)
    assert order is not None
    order.status = "Terminated"
    env.sim.reset_counters()

    for data in (yes, *(d for d in stale.values() if d)):
        # Each on a screen of its own, so that every answer must be drawn anew.
        screen = question if data == yes else await open_servers(env, UID)
        answer = await env.forge(UID, data, screen.message_id)
        assert says_not_yours(answer), (data, answer.text)
    assert asked_about(env, order_id) == []
    assert env.sim.calls["reboot"] == 0
    assert await actions_of(env.db, UID) == []
    assert env.tg.errors == []


async def test_a_reinstall_whose_order_was_terminated_meanwhile_is_not_sent(
    uncached: BotEnv,
) -> None:
    env = uncached
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    ip = sim_server_ip(customer, order_id)
    menu = await env.command(UID, "/menu")
    start = InstallStartCb(order_id=order_id, mode=InstallMode.REINSTALL).pack()
    await env.forge(UID, start, menu.message_id)
    await env.tap(UID, "Ubuntu 24.04")
    await env.tap(UID, "without a key")
    warning = await env.tap(UID, "Reinstall…")
    erase = warning.button(f"erase {ip}").callback_data
    assert erase is not None

    order = customer.order(order_id)
    assert order is not None
    order.status = "Terminated"
    env.sim.reset_counters()
    answer = await env.forge(UID, erase, warning.message_id)
    assert says_not_yours(answer), answer.text
    assert asked_about(env, order_id) == []
    assert env.sim.calls["reinstall"] == 0

    # The wizard is over: the same button again is only "already used".
    again = await env.forge(UID, erase, answer.message_id)
    assert "already used or has expired" in again.text
    assert env.sim.calls["reinstall"] == 0
    assert env.tg.errors == []


async def test_the_summary_check_refuses_an_order_terminated_meanwhile(uncached: BotEnv) -> None:
    env = uncached
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    menu = await env.command(UID, "/menu")
    start = InstallStartCb(order_id=order_id, mode=InstallMode.REINSTALL).pack()
    await env.forge(UID, start, menu.message_id)
    await env.tap(UID, "Ubuntu 24.04")

    order = customer.order(order_id)
    assert order is not None
    order.status = "Terminated"
    env.sim.reset_counters()
    answer = await env.tap(UID, "without a key")
    assert says_not_yours(answer), answer.text
    assert asked_about(env, order_id) == []
    assert env.tg.errors == []


# --------------------------------------------------------------------------- what is own


async def test_a_server_listed_only_among_the_services_is_still_the_users(env: BotEnv) -> None:
    """``orders`` lists active and unpaid orders; a suspended server may only be among the
    services, and the server list shows it: its card must open, not say "not found"."""
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    order = customer.order(order_id)
    assert order is not None
    order.status = "Suspended"
    env.sim.orders_hidden.add("Suspended")
    assert env.services is not None
    orders = await env.services.inferno.orders(creds_of(customer))
    assert all(o.id != order_id for o in orders)

    card = await open_card(env, order_id, UID)
    assert "This order is not active" in card.text, card.text
    assert not says_not_yours(card)
