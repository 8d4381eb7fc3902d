"""Reboot, stop and boot through the real dispatcher: confirmed, sent once, logged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.handlers.callbacks import ServerCb
from bot.handlers.servers import PowerCb, PowerOp, PowerStep
from bot.inferno.simulator import Simulator
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, creds_of, hold_second_call, labels, running_bot
from tests.storage_helpers import actions_of
from tests.test_flow_servers import (
    UID,
    installed_server,
    open_card,
    open_servers,
    sim_server_ip,
)


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path, sim=Simulator(install_delay=60.0), production=engines
    ) as bot_env:
        yield bot_env


def power_calls(env: BotEnv) -> dict[str, int]:
    return {name: env.sim.calls[name] for name in ("reboot", "stop", "boot")}


async def test_stop_asks_first_and_a_double_tap_stops_once(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    card = await open_card(env, order_id)
    await env.tg.tap_button(UID, "Stop", message_id=card.message_id)
    await env.settle()
    confirm = env.tg.message(UID, card.message_id)
    assert "Stop" in confirm.text and sim_server_ip(customer, order_id) in confirm.text
    assert power_calls(env) == {"reboot": 0, "stop": 0, "boot": 0}, "nothing before the yes"

    yes = confirm.button("Yes, stop").callback_data
    assert yes is not None
    # Two taps land before the bot has handled either.
    await env.tg.tap(UID, card.message_id, yes)
    await env.tg.tap(UID, card.message_id, yes)
    await env.settle()
    assert power_calls(env) == {"reboot": 0, "stop": 1, "boot": 0}
    final = env.tg.message(UID, card.message_id)
    assert "🔴 stopped" in final.text
    assert any("Boot" in t for t in labels(final))
    order = customer.order(order_id)
    assert order is not None and order.server is not None and not order.server.powered

    entries = await actions_of(env.db, UID)
    assert [(e.action, e.order_id, e.result) for e in entries] == [("stop", order_id, "ok")]
    assert env.tg.unanswered_callbacks() == []
    assert env.tg.errors == []


async def test_an_old_confirmation_tapped_again_sends_nothing(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    card = await open_card(env, order_id)
    await env.tg.tap_button(UID, "Stop", message_id=card.message_id)
    await env.settle()
    yes = env.tg.message(UID, card.message_id).button("Yes, stop").callback_data
    assert yes is not None
    await env.tg.tap_button(UID, "Yes, stop", message_id=card.message_id)
    await env.settle()
    assert "The stop command was sent" in env.tg.message(UID, card.message_id).text

    # Boot it again by other means, then tap the old "Yes, stop" (still on an old screen).
    assert env.services is not None
    await env.services.inferno.boot(creds_of(customer), order_id)
    await env.tg.tap(UID, card.message_id, yes, verify=False)
    await env.settle()
    screen = env.tg.message(UID, card.message_id)
    assert "already used or has expired" in screen.text
    assert "🟢 running" in screen.text
    assert env.sim.calls["stop"] == 1
    assert env.tg.errors == []


async def test_boot_is_sent_once_per_tap_without_confirmation(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    assert env.services is not None
    await env.services.inferno.stop(creds_of(customer), order_id)
    env.sim.reset_counters()
    card = await open_card(env, order_id)
    boot = card.button("Boot").callback_data
    assert boot is not None
    await env.tg.tap(UID, card.message_id, boot)
    await env.tg.tap(UID, card.message_id, boot)
    await env.settle()
    assert power_calls(env) == {"reboot": 0, "stop": 0, "boot": 1}
    screen = env.tg.message(UID, card.message_id)
    assert "🟢 running" in screen.text
    entries = await actions_of(env.db, UID)
    assert [(e.action, e.result) for e in entries] == [("boot", "ok")]

    # The same Boot button from an old screen: refused, not sent.
    await env.tg.tap(UID, card.message_id, boot, verify=False)
    await env.settle()
    assert env.sim.calls["boot"] == 1
    assert "already used or has expired" in env.tg.message(UID, card.message_id).text
    assert env.tg.errors == []


async def test_reboot_confirmation_no_then_yes(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    card = await open_card(env, order_id)
    await env.tg.tap_button(UID, "Reboot", message_id=card.message_id)
    await env.settle()
    assert "Reboot" in env.tg.message(UID, card.message_id).text
    await env.tg.tap_button(UID, "No", message_id=card.message_id)
    await env.settle()
    assert "🟢 running" in env.tg.message(UID, card.message_id).text
    assert env.sim.calls["reboot"] == 0

    await env.tg.tap_button(UID, "Reboot", message_id=card.message_id)
    await env.settle()
    await env.tg.tap_button(UID, "Yes, reboot", message_id=card.message_id)
    await env.settle()
    screen = env.tg.message(UID, card.message_id)
    assert "The reboot command was sent" in screen.text
    assert "🟢 running" in screen.text
    assert env.sim.calls["reboot"] == 1
    entries = await actions_of(env.db, UID)
    assert [(e.action, e.result) for e in entries] == [("reboot", "ok")]
    assert env.tg.errors == []


async def test_russian_confirmation(env: BotEnv) -> None:
    customer = await env.linked(UID, language="ru")
    order_id = await installed_server(env, customer)
    card = await open_card(env, order_id)
    await env.tg.tap_button(UID, "Выключить", message_id=card.message_id)
    await env.settle()
    await env.tg.tap_button(UID, "Да, выключить", message_id=card.message_id)
    await env.settle()
    assert "Команда выключения отправлена" in env.tg.message(UID, card.message_id).text
    assert env.sim.calls["stop"] == 1


async def test_forged_buttons_for_another_customers_server_are_refused(env: BotEnv) -> None:
    other = env.sim.add_customer(email="victim@example.com", password="pw-000000")
    foreign = await installed_server(env, other)
    customer = await env.linked(UID)
    mine = await installed_server(env, customer)
    listing = await open_servers(env)
    forged = [
        PowerCb(step=PowerStep.ASK, op=PowerOp.STOP, order_id=foreign).pack(),
        PowerCb(step=PowerStep.ASK, op=PowerOp.REBOOT, order_id=foreign).pack(),
    ]
    for data in forged:
        await env.tg.tap(UID, listing.message_id, data, verify=False)
        await env.settle()
        assert "not found" in env.tg.message(UID, listing.message_id).text, data

    # A confirmation token the user never got, and one of this user's boot tokens moved to
    # the victim's order: neither acts on the victim's server.
    token = await env.db.confirmations.issue(UID, "boot", {"order_id": mine})
    for data in (
        PowerCb(step=PowerStep.DO, op=PowerOp.STOP, order_id=foreign, token="AAAAAAAAAAA").pack(),
        PowerCb(step=PowerStep.DO, op=PowerOp.BOOT, order_id=foreign, token=token).pack(),
    ):
        await env.tg.tap(UID, listing.message_id, data, verify=False)
        await env.settle()
        assert "not found" in env.tg.message(UID, listing.message_id).text, data
    victim = other.order(foreign)
    assert victim is not None and victim.server is not None and victim.server.powered
    assert env.sim.calls["stop"] == 0
    assert env.sim.calls["reboot"] == 0
    # The moved boot token acts on nothing: the button names an order that is not the user's,
    # so it is refused before the token is looked at (and the token is left unspent).
    assert env.sim.calls["boot"] == 0
    assert await env.db.confirmations.peek(UID, token) is not None

    # Malformed power data says the button expired; so does asking about a boot (no button
    # asks: Boot carries its token), even for the user's own server.
    for data in ("pa:x:y:1", PowerCb(step=PowerStep.ASK, op=PowerOp.BOOT, order_id=mine).pack()):
        card = await open_card(env, mine)  # a fresh screen, so that "expired" must be drawn anew
        answer = await env.forge(UID, data, card.message_id)
        assert answer.message_id == card.message_id and "expired" in answer.text, data
    assert env.tg.unanswered_callbacks() == []
    assert env.tg.errors == []


def assert_outcome_unknown_screen(screen: FakeMessage, order_id: str, check: str) -> None:
    """The outcome is unknown: said so, nothing offered that repeats the command, only a look at
    the server."""
    for repeat in ("Retry", "Повторить", "Yes", "Да", "Stop", "Reboot", "Boot"):
        assert not any(repeat in label for label in labels(screen)), (repeat, labels(screen))
    assert screen.button(check).callback_data == ServerCb(order_id=order_id).pack()


async def test_a_stop_without_an_answer_is_not_retried_and_offers_the_server(
    env: BotEnv,
) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    card = await open_card(env, order_id)
    await env.tg.tap_button(UID, "Stop", message_id=card.message_id)
    await env.settle()
    # The stop alone: a background check of the account must not take the fault instead.
    env.sim.faults.http_500_next = 1
    env.sim.faults.only_action = "stop"
    await env.tg.tap_button(UID, "Yes, stop", message_id=card.message_id)
    await env.settle()
    screen = env.tg.message(UID, card.message_id)
    assert env.sim.calls["stop"] == 1, "a write is never retried"
    assert "may or may not have been carried out" in screen.text
    assert_outcome_unknown_screen(screen, order_id, "Check the server")
    entries = await actions_of(env.db, UID)
    assert entries[0].action == "stop" and entries[0].result.startswith("unknown:")

    await env.tg.tap_button(UID, "Check the server", message_id=card.message_id)
    await env.settle()
    assert "🟢 running" in env.tg.message(UID, card.message_id).text
    await env.tg.tap_button(UID, "Stop", message_id=card.message_id)
    await env.settle()
    assert env.sim.calls["stop"] == 1, "stopping again asks again"
    await env.tg.tap_button(UID, "Yes, stop", message_id=card.message_id)
    await env.settle()
    assert env.sim.calls["stop"] == 2
    assert "🔴 stopped" in env.tg.message(UID, card.message_id).text
    assert env.tg.errors == []


@pytest.mark.parametrize("op", ["Reboot", "Stop", "Boot"])
@pytest.mark.parametrize("fault", ["malformed_next", "warning_next"])
async def test_an_unreadable_answer_leaves_the_outcome_unknown(
    env: BotEnv, op: str, fault: str
) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    action = op.lower()
    if op == "Boot":
        assert env.services is not None
        await env.services.inferno.stop(creds_of(customer), order_id)
    card = await open_card(env, order_id)
    env.sim.reset_counters()
    # Only the command's own answer is unreadable; the reads around it go through.
    setattr(env.sim.faults, fault, 1)
    env.sim.faults.only_action = action
    await env.tg.tap_button(UID, op, message_id=card.message_id)
    await env.settle()
    if op != "Boot":
        await env.tg.tap_button(UID, f"Yes, {action}", message_id=card.message_id)
        await env.settle()
    screen = env.tg.message(UID, card.message_id)
    assert env.sim.calls[action] == 1
    assert "may or may not have been carried out" in screen.text
    assert "not carried out" not in screen.text
    assert_outcome_unknown_screen(screen, order_id, "Check the server")
    entries = await actions_of(env.db, UID)
    assert entries[0].action == action
    assert entries[0].result == "unknown:UnreadableAnswer"

    # The server card tells what happened (with the warning page: the command was carried out).
    env.sim.faults.clear()
    await env.tg.tap_button(UID, "Check the server", message_id=card.message_id)
    await env.settle()
    carried_out = fault == "warning_next"  # malformed_next answers before doing anything
    stopped = {"Reboot": False, "Stop": carried_out, "Boot": not carried_out}[op]
    expected = "🔴 stopped" if stopped else "🟢 running"
    assert expected in env.tg.message(UID, card.message_id).text
    assert env.sim.calls[action] == 1, "nothing was sent again"
    assert env.tg.unanswered_callbacks() == []
    assert env.tg.errors == []


async def test_an_unreadable_answer_in_russian(env: BotEnv) -> None:
    customer = await env.linked(UID, language="ru")
    order_id = await installed_server(env, customer)
    card = await open_card(env, order_id)
    await env.tg.tap_button(UID, "Перезагрузить", message_id=card.message_id)
    await env.settle()
    env.sim.faults.malformed_next = 1
    env.sim.faults.only_action = "reboot"
    await env.tg.tap_button(UID, "Да, перезагрузить", message_id=card.message_id)
    await env.settle()
    screen = env.tg.message(UID, card.message_id)
    assert "могла как выполниться, так и нет" in screen.text
    assert "Команда не выполнена" not in screen.text
    assert_outcome_unknown_screen(screen, order_id, "Проверить сервер")
    assert env.sim.calls["reboot"] == 1
    assert env.tg.errors == []


async def test_a_refused_boot_is_explained(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    assert env.services is not None
    await env.services.inferno.stop(creds_of(customer), order_id)
    card = await open_card(env, order_id)
    # The order is suspended between drawing the card and the tap.
    order = customer.order(order_id)
    assert order is not None
    order.status = "Suspended"
    await env.tg.tap_button(UID, "Boot", message_id=card.message_id)
    await env.settle()
    screen = env.tg.message(UID, card.message_id)
    assert "The command was not carried out" in screen.text
    assert "not paid yet" in screen.text  # the provider's "Order not active", translated
    assert {"🔄 Retry", "« Back"} <= set(labels(screen))
    entries = await actions_of(env.db, UID)
    assert entries[0].result == "failed:ProviderFail"
    assert env.tg.errors == []


async def test_a_slow_second_reboot_tap_never_asks_again_over_the_done_screen(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    card = await open_card(env, order_id)
    assert env.services is not None
    inferno = env.services.inferno
    reads, release = hold_second_call(monkeypatch, inferno, "get_info")
    await env.double_tap_past_held_call(UID, "Reboot", card.message_id, reads, "Yes, reboot")
    # Taken in and on its way to the lock: the reboot would go out now, were it not for it.
    await env.tap_then_release(UID, "Yes, reboot", card.message_id, release)
    assert "The reboot command was sent" in env.tg.message(UID, card.message_id).text
    assert env.sim.calls["reboot"] == 1
