"""An alert's buttons act on exactly the server or order it is about (issue 17), however old
the alert is: after the user switched to another account they still act on the alert's account
(the rule of every button, bot/account_scope.py); once that account is unlinked they are
refused with the translated message; an unpaid reminder's Cancel for an order that has been
paid or cancelled since is refused and sends nothing to the provider."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.inferno.simulator import Customer
from bot.services.alerts import GRACE
from tests.fakes.telegram import FakeMessage
from tests.harness import ALERT_PASSES_BY_TEST, BotEnv, Production, creds_of, running_bot
from tests.storage_helpers import stored_account
from tests.test_alerts import account_pass, later, monitor_pass, order_of, running_server
from tests.test_flow_accounts import add_account, calls_for, open_accounts, tap_on

UID = 7201


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path,
        production=engines,
        **ALERT_PASSES_BY_TEST,
        read_cache_ttl=0.0,
    ) as bot_env:
        yield bot_env


def alerts(env: BotEnv, needle: str) -> list[FakeMessage]:
    return [m for m in env.tg.bot_messages(UID) if needle in m.text]


def powered(customer: Customer, order_id: str) -> bool:
    return bool(order_of(customer, order_id).server.powered)


async def test_a_down_alerts_boot_acts_on_its_account_after_a_switch_and_not_after_unlinking(
    env: BotEnv,
) -> None:
    a = await env.linked(UID)
    order_a = await running_server(env, a)
    await account_pass(env)
    await monitor_pass(env)
    b = env.customer(email="b@example.com")
    await add_account(env, UID, b)
    order_b = await running_server(env, b)
    active = await stored_account(env.db, UID)
    assert active is not None and active.cid == b.cid, "B is the active account now"

    env.sim.set_power(order_a, False)
    await monitor_pass(env)
    await monitor_pass(env)
    (alert,) = alerts(env, "is down")
    assert str(a.cid) in alert.text and order_a in alert.text

    # B is active; the alert's Boot boots A's server, and nothing of B's.
    env.sim.reset_counters()
    await tap_on(env, UID, alert.message_id, "Boot")
    assert calls_for(env, "boot", a) == 1 and calls_for(env, "boot", b) == 0
    assert powered(a, order_a) and powered(b, order_b)

    # Down again, long after that boot: a second alert; then A is unlinked.
    await monitor_pass(env)
    later(env, GRACE + 60)
    env.sim.set_power(order_a, False)
    await monitor_pass(env)
    await monitor_pass(env)
    second = alerts(env, "is down")[-1]
    assert second.message_id != alert.message_id
    await open_accounts(env, UID)
    await env.tap(UID, str(a.cid))
    await env.tap(UID, "Unlink")
    gone = await env.tap(UID, "Yes, unlink")
    assert "unlinked" in gone.text

    env.sim.reset_counters()
    refused = await tap_on(env, UID, second.message_id, "Boot")
    assert "belongs to an account you can no longer use" in refused.text
    assert env.sim.calls["boot"] == 0 and env.sim.calls["getinfo"] == 0
    assert not powered(a, order_a)
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


@pytest.mark.parametrize("since", ["paid", "cancelled"])
async def test_an_unpaid_reminders_cancel_for_an_order_no_longer_unpaid_sends_nothing(
    env: BotEnv, since: str
) -> None:
    customer = await env.linked(UID, balance="0.00")
    assert env.services is not None
    created = await env.services.inferno.create(creds_of(customer), "102")
    order = order_of(customer, created.order_id)
    order.date = order.date - dt.timedelta(hours=2)
    await account_pass(env)
    (reminder,) = alerts(env, "is still unpaid")

    if since == "paid":
        env.sim.add_funds(customer, "100")
    else:
        # Cancelled in the provider's panel, behind the bot's back.
        await env.services.inferno.cancel(creds_of(customer), created.order_id)
    assert order.status == ("Active" if since == "paid" else "Cancelled")
    env.sim.reset_counters()
    answer = await tap_on(env, UID, reminder.message_id, "Cancel order")
    if since == "paid":
        assert f"Order #{created.order_id} is not unpaid" in answer.text
    else:
        # The provider no longer lists a cancelled order as the account's.
        assert "may have been cancelled" in answer.text
    assert env.sim.calls["cancel"] == 0
    assert order.status == ("Active" if since == "paid" else "Cancelled")
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []
