"""Alerts of a shared account (issue 18) through the running bot: the account is checked once
per pass whoever uses it, and every member whose role can see the subject is told, in their
own language, with only the buttons their role may use; the owner alone hears that the key was
refused; a member's own settings and mutes are theirs; a teammate's stop through the bot is no
outage; a revoked member hears nothing more."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.inferno.simulator import Customer, Simulator
from tests.fakes.telegram import FakeMessage
from tests.harness import (
    ALERT_PASSES_BY_TEST,
    BotEnv,
    Production,
    creds_of,
    labels,
    paid_order,
    running_bot,
)
from tests.test_alerts import account_pass, later, monitor_pass, order_of
from tests.test_flow_members import MATE, OWNER, invite, join, mate_card
from tests.test_flow_servers import installed_server

RU_MATE = 8203


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path,
        production=engines,
        sim=Simulator(install_delay=60.0),
        **ALERT_PASSES_BY_TEST,
        read_cache_ttl=0.0,
        payment_url_template="https://pay.example/invoice?id={invoice_id}",
    ) as bot_env:
        yield bot_env


async def team(env: BotEnv, mate_role: str = "Operator") -> tuple[Customer, str]:
    """OWNER's account with a running server, shared with MATE (``mate_role``) and with a
    Russian-speaking viewer RU_MATE."""
    customer = await env.linked(OWNER)
    env.tg.add_user(OWNER, first_name="Olga")
    order_id = await installed_server(env, customer)
    await join(env, await invite(env, customer, mate_role))
    payload = await invite(env, customer, "Viewer")
    env.tg.add_user(RU_MATE, first_name="Иван", language_code="ru")
    await env.db.users.set_language(RU_MATE, "ru")  # chosen in Settings → Language
    await env.command(RU_MATE, f"/start {payload}")
    await env.tap(RU_MATE, "Принять")
    return customer, order_id


def alerts_to(env: BotEnv, uid: int, needle: str) -> list[FakeMessage]:
    return [m for m in env.tg.bot_messages(uid) if needle in m.text]


async def take_down(env: BotEnv, order_id: str) -> None:
    await account_pass(env)  # learns the Active order
    await monitor_pass(env)  # running: up
    env.sim.set_power(order_id, False)
    await monitor_pass(env)
    await monitor_pass(env)


async def test_one_check_per_account_and_every_member_told_in_their_language(
    env: BotEnv,
) -> None:
    customer, order_id = await team(env)
    await env.first_alert_check(OWNER)  # the check a join starts
    order = order_of(customer, order_id)
    order.next_due = dt.date.today() + dt.timedelta(days=2)
    calls = {a: env.sim.calls[a] for a in ("orders", "services", "balance", "getinfo")}
    later(env, 4000)
    await account_pass(env)
    assert {a: env.sim.calls[a] - calls[a] for a in calls} == {
        "orders": 1,
        "services": 1,
        "balance": 1,
        "getinfo": 0,
    }, "three members, one check"
    (owner,) = alerts_to(env, OWNER, "due for renewal")
    (mate,) = alerts_to(env, MATE, "due for renewal")
    (ru,) = alerts_to(env, RU_MATE, "нужно продлить")
    assert str(customer.cid) in owner.text and str(customer.cid) in ru.text
    # A member's push names the account (its buttons are bound to it).
    assert mate.text.startswith("👤") and ru.text.startswith("👤")
    assert any("Open service" in label for label in labels(mate))

    # The monitor reads each server once per pass, however many members watch it.
    await monitor_pass(env)
    assert env.sim.calls["getinfo"] - calls["getinfo"] == 1


async def test_down_and_up_reach_each_member_with_their_roles_buttons(env: BotEnv) -> None:
    _, order_id = await team(env)
    calls = env.sim.calls["getinfo"]
    await take_down(env, order_id)
    assert env.sim.calls["getinfo"] - calls == 3, "one down check per pass for three members"
    (owner,) = alerts_to(env, OWNER, "is down")
    (operator,) = alerts_to(env, MATE, "is down")
    (viewer,) = alerts_to(env, RU_MATE, "не работает")
    assert any("Boot" in label for label in labels(owner))
    assert any("Boot" in label for label in labels(operator))
    assert not any("Включить" in label for label in labels(viewer)), labels(viewer)
    assert any("Открыть сервер" in label for label in labels(viewer))

    # The operator boots it from the alert: once, and everyone hears it is back.
    await env.tg.tap_button(MATE, "Boot", message_id=operator.message_id)
    await env.settle()
    assert env.sim.calls["boot"] == 1
    await monitor_pass(env)
    assert len(alerts_to(env, OWNER, "is back up")) == 1
    assert len(alerts_to(env, MATE, "is back up")) == 1
    assert len(alerts_to(env, RU_MATE, "снова работает")) == 1


async def test_a_member_who_turns_a_server_off_is_not_told_the_others_are(env: BotEnv) -> None:
    _, order_id = await team(env)
    await account_pass(env)
    await monitor_pass(env)
    card = await mate_card(env, order_id)
    assert any("Alert me if it goes down: on" in label for label in labels(card))
    card = await env.tap(MATE, "Alert me if it goes down: on")
    assert any("Alert me if it goes down: off" in label for label in labels(card))
    # The owner's own card still shows it on: the setting is the member's.
    await env.command(OWNER, "/servers")
    owner_card = await env.tap(OWNER, "VPS Start")
    assert any("Alert me if it goes down: on" in label for label in labels(owner_card))

    env.sim.set_power(order_id, False)
    await monitor_pass(env)
    await monitor_pass(env)
    assert len(alerts_to(env, OWNER, "is down")) == 1
    assert len(alerts_to(env, RU_MATE, "не работает")) == 1
    assert alerts_to(env, MATE, "is down") == []
    env.sim.set_power(order_id, True)
    await monitor_pass(env)
    assert len(alerts_to(env, OWNER, "is back up")) == 1
    assert alerts_to(env, MATE, "is back up") == [], "back up only to those told it was down"


async def test_a_teammates_stop_through_the_bot_is_no_outage(env: BotEnv) -> None:
    _, order_id = await team(env)
    await account_pass(env)
    await monitor_pass(env)
    card = await mate_card(env, order_id)
    assert card.button("Stop") is not None
    await env.tap(MATE, "Stop")
    await env.tap(MATE, "Yes")
    assert env.sim.calls["stop"] == 1
    for _ in range(3):
        await monitor_pass(env)
    for uid in (OWNER, MATE):
        assert alerts_to(env, uid, "is down") == []
    assert alerts_to(env, RU_MATE, "не работает") == []


async def test_only_the_owner_hears_that_the_key_is_refused(env: BotEnv) -> None:
    customer, _ = await team(env)
    await account_pass(env)
    env.sim.faults.whitelist_denied = True
    later(env, 4000)
    await account_pass(env)
    blocked = alerts_to(env, OWNER, "refuses the bot's requests")
    assert len(blocked) == 1 and str(customer.cid) in blocked[0].text
    assert alerts_to(env, MATE, "refuses") == []
    assert alerts_to(env, RU_MATE, "отклоняет") == []


async def test_unpaid_order_reminder_offers_cancel_only_to_a_role_that_may_cancel(
    env: BotEnv,
) -> None:
    customer, _ = await team(env, mate_role="Admin")
    customer.balance = customer.balance.__class__("0.00")
    assert env.services is not None
    created = await env.services.inferno.create(creds_of(customer), "102")
    order = order_of(customer, created.order_id)
    order.date = order.date - dt.timedelta(hours=2)
    later(env, 4000)
    await account_pass(env)
    (admin,) = alerts_to(env, MATE, "is still unpaid")
    (viewer,) = alerts_to(env, RU_MATE, "всё ещё не оплачен")
    assert any("Cancel order" in label for label in labels(admin))
    assert any("Pay" in label for label in labels(admin))
    assert not any("Отменить" in label for label in labels(viewer)), labels(viewer)
    assert not any("Оплатить" in label for label in labels(viewer)), labels(viewer)
    # The admin cancels from their alert: the account's order, once.
    await env.tap(MATE, "Cancel order")
    await env.tap(MATE, "Yes")
    assert order.status == "Cancelled"


async def test_a_revoked_member_hears_nothing_more(env: BotEnv) -> None:
    customer, order_id = await team(env)
    await account_pass(env)
    await monitor_pass(env)
    env.sim.set_power(order_id, False)
    await monitor_pass(env)
    # Revoked between the two checks that make an outage.
    account = await env.db.accounts.active_id(OWNER)
    assert account is not None and await env.db.accounts.revoke(account, MATE)
    await monitor_pass(env)
    assert len(alerts_to(env, OWNER, "is down")) == 1
    assert alerts_to(env, MATE, "is down") == []
    order = order_of(customer, await paid_order(env, customer))
    order.next_due = dt.date.today() + dt.timedelta(days=1)
    later(env, 4000)
    await account_pass(env)
    assert len(alerts_to(env, OWNER, "due for renewal")) == 1
    assert alerts_to(env, MATE, "due for renewal") == []
