"""Alerts (issue 17) through the running bot: the simulator moves the account, the test runs
the passes the background loops run, and reads what reached the fake Telegram."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.inferno.simulator import Customer
from bot.services.alerts import AlertService
from bot.storage.alerts import CheckState
from tests.harness import (
    ALERT_PASSES_BY_TEST,
    BotEnv,
    Production,
    creds_of,
    labels,
    paid_order,
    running_bot,
)
from tests.push_helpers import flood_is_over
from tests.storage_helpers import check_state, count_unsent

UID = 7001
OTHER = 7002


@pytest.fixture
async def quiet(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """The loops wait an hour between account checks and down checks: the test runs them."""
    async with running_bot(
        tmp_path,
        production=engines,
        **ALERT_PASSES_BY_TEST,
        read_cache_ttl=0.0,
        payment_url_template="https://pay.example/invoice?id={invoice_id}",
    ) as env:
        yield env


def alerts_of(env: BotEnv) -> AlertService:
    assert env.dp is not None
    service = env.dp["alerts"]
    assert isinstance(service, AlertService)
    return service


def later(env: BotEnv, seconds: float) -> None:
    """Moves the alerts' clock on (every account is then due again after its interval)."""
    service = alerts_of(env)
    base = service.clock
    service.clock = lambda: base() + seconds


async def account_pass(env: BotEnv) -> None:
    assert env.bot is not None
    await alerts_of(env).account_pass(env.bot)


async def monitor_pass(env: BotEnv) -> None:
    assert env.bot is not None
    await alerts_of(env).monitor_pass(env.bot)


async def active_check_state(env: BotEnv, uid: int) -> CheckState | None:
    """How the checks of the user's active account stand."""
    account_id = await env.db.accounts.active_id(uid)
    assert account_id is not None
    return await check_state(env.db, account_id)


def texts(env: BotEnv, uid: int, needle: str) -> list[str]:
    return [m.text for m in env.tg.bot_messages(uid) if needle in m.text]


def order_of(customer: Customer, order_id: str) -> Any:
    order = customer.order(order_id)
    assert order is not None
    return order


async def running_server(env: BotEnv, customer: Customer) -> str:
    assert env.services is not None
    order_id = await paid_order(env, customer)
    await env.services.inferno.install(creds_of(customer), order_id, "debian12", [], run=True)
    env.sim.complete_installs()
    return order_id


# --------------------------------------------------------------------------- down / up


async def test_down_after_two_checks_once_then_back_up(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID)
    order_id = await running_server(env, customer)
    await account_pass(env)  # learns the Active order
    await monitor_pass(env)  # running: monitored from now on
    env.sim.set_power(order_id, False)
    await monitor_pass(env)
    assert texts(env, UID, "is down") == []  # one check is not enough
    await monitor_pass(env)
    await monitor_pass(env)
    down = texts(env, UID, "is down")
    assert len(down) == 1
    assert "state: Выключен" in down[0] and str(customer.cid) in down[0]
    message = next(m for m in env.tg.bot_messages(UID) if "is down" in m.text)
    assert labels(message) == ["▶️ Boot", "🖥 Open server"]

    env.sim.set_power(order_id, True)
    await monitor_pass(env)
    await monitor_pass(env)
    up = texts(env, UID, "is back up")
    assert len(up) == 1 and "0 minutes" in up[0]


async def test_boot_button_of_the_alert_boots_that_server_once(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID)
    order_id = await running_server(env, customer)
    await account_pass(env)
    await monitor_pass(env)
    env.sim.set_power(order_id, False)
    await monitor_pass(env)
    await monitor_pass(env)
    message = next(m for m in env.tg.bot_messages(UID) if "is down" in m.text)
    await env.tg.tap_button(UID, "Boot", message_id=message.message_id)
    await env.settle()
    await env.tg.tap_button(UID, "Boot", message_id=message.message_id)
    await env.settle()
    assert env.sim.calls["boot"] == 1
    assert order_of(customer, order_id).server.powered


async def test_no_alert_after_the_users_own_stop_or_when_the_provider_fails(
    quiet: BotEnv,
) -> None:
    env = quiet
    customer = await env.linked(UID)
    mine = await running_server(env, customer)
    other = await running_server(env, customer)
    await account_pass(env)
    await monitor_pass(env)
    # The user stopped one through the bot (what the power handler logs)…
    account = await env.db.accounts.active_id(UID)
    await env.db.actions.record(UID, "stop", mine, "ok", account_id=account)
    env.sim.set_power(mine, False)
    for _ in range(3):
        await monitor_pass(env)
    # …and the provider cannot be reached while the other is off.
    env.sim.set_power(other, False)
    env.sim.faults.http_500_next = 1000
    for _ in range(3):
        await monitor_pass(env)
    env.sim.faults.clear()
    assert texts(env, UID, "is down") == []


async def test_card_toggle_turns_down_alerts_off_for_that_server(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID)
    order_id = await running_server(env, customer)
    await account_pass(env)
    await monitor_pass(env)
    await env.command(UID, "/servers")
    await env.tap(UID, "VPS Start")
    card = await env.tap(UID, "Alert me if it goes down: on")
    assert any("Alert me if it goes down: off" in label for label in labels(card))
    account = await env.db.accounts.active_id(UID)
    assert account is not None
    assert not await env.db.alerts.is_monitored(UID, account, order_id)
    env.sim.set_power(order_id, False)
    await monitor_pass(env)
    await monitor_pass(env)
    assert texts(env, UID, "is down") == []
    assert env.sim.calls["getinfo"] >= 1


async def test_forged_toggle_for_another_accounts_server_is_refused(quiet: BotEnv) -> None:
    env = quiet
    await env.linked(UID)
    stranger = await env.linked(OTHER)
    theirs = await running_server(env, stranger)
    await env.command(UID, "/start")
    answer = await env.forge(UID, f"al:{theirs}:0")
    assert "not found" in answer.text.lower() or "expired" in answer.text.lower()
    for account in (await env.db.accounts.active_id(UID), await env.db.accounts.active_id(OTHER)):
        assert account is not None
        # Nothing stored for a forged id, under either account.
        assert await env.db.alerts.is_monitored(UID, account, theirs)


# --------------------------------------------------------------------------- renewals


async def test_renewal_inside_two_windows_gives_one_message_then_the_next_threshold(
    quiet: BotEnv,
) -> None:
    env = quiet
    customer = await env.linked(UID, balance="100.00")
    order_id = await paid_order(env, customer)
    customer.balance = customer.balance.__class__("1.00")
    order = order_of(customer, order_id)
    order.next_due = dt.date.today() + dt.timedelta(days=2)
    await account_pass(env)
    later(env, 4000)
    await account_pass(env)
    due = texts(env, UID, "due for renewal")
    assert len(due) == 1
    assert "in 2 days" in due[0] and "5.00 USD" in due[0] and "1.00 USD" in due[0]
    assert "Top up at least 4.00 USD" in due[0] and str(customer.cid) in due[0]
    order.next_due = dt.date.today() + dt.timedelta(days=1)
    later(env, 4000)
    await account_pass(env)
    assert len(texts(env, UID, "due for renewal")) == 2
    assert env.sim.calls["getinfo"] == 0  # an account check reads no server


async def test_a_suspended_service_is_told_once(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await account_pass(env)
    order_of(customer, order_id).service_status = "Suspended"
    for step in range(3):
        later(env, 4000 * (step + 1))
        await account_pass(env)
    assert len(texts(env, UID, "has been suspended")) == 1


# --------------------------------------------------------------------------- unpaid orders


async def test_unpaid_order_two_reminders_then_none_and_cancel_from_the_alert(
    quiet: BotEnv,
) -> None:
    env = quiet
    customer = await env.linked(UID, balance="0.00")
    assert env.services is not None
    created = await env.services.inferno.create(creds_of(customer), "102")
    order = order_of(customer, created.order_id)
    order.date = order.date - dt.timedelta(hours=2)
    await account_pass(env)
    first = texts(env, UID, "is still unpaid")
    assert len(first) == 1 and created.order_id in first[0]
    message = next(m for m in env.tg.bot_messages(UID) if "is still unpaid" in m.text)
    pay = message.button("Pay")
    assert pay.url == f"https://pay.example/invoice?id={created.invoice_id}"
    later(env, 4000)
    await account_pass(env)
    assert len(texts(env, UID, "is still unpaid")) == 1
    later(env, 90000)
    await account_pass(env)
    assert len(texts(env, UID, "last reminder")) == 1
    later(env, 200000)
    await account_pass(env)
    assert len(texts(env, UID, "is still unpaid")) == 2

    question = await env.tap(UID, "Cancel order")
    assert created.order_id in question.text
    await env.tap(UID, "Yes")
    assert order.status == "Cancelled"


# --------------------------------------------------------------------------- low balance


async def test_low_balance_once_and_rearmed_above_the_threshold(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID, balance="5.00")
    await env.db.alerts.set_prefs(UID, low_balance=True, balance_threshold="10.00")
    await account_pass(env)
    later(env, 4000)
    await account_pass(env)
    assert len(texts(env, UID, "below your threshold")) == 1
    env.sim.add_funds(customer, "20")
    later(env, 8000)
    await account_pass(env)
    customer.balance = customer.balance.__class__("3.00")
    later(env, 12000)
    await account_pass(env)
    low = texts(env, UID, "below your threshold")
    assert len(low) == 2 and "3.00 USD" in low[1] and "10.00 USD" in low[1]


# --------------------------------------------------------------------------- settings


async def test_notification_settings_screen(quiet: BotEnv) -> None:
    env = quiet
    await env.linked(UID)
    await env.command(UID, "/start")
    await env.tap(UID, "Settings")
    screen = await env.tap(UID, "Notifications")
    assert "✅ Server down / back up" in labels(screen)
    assert "▫️ Low balance" in labels(screen)
    screen = await env.tap(UID, "Unpaid orders")
    assert "▫️ Unpaid orders" in labels(screen)
    screen = await env.tap(UID, "Notice days: 7/3/1")
    assert any("14/7/3/1" in label for label in labels(screen))
    await env.tap(UID, "Threshold")
    answer = await env.say(UID, "lots")
    assert "not an amount" in answer.text
    answer = await env.say(UID, "25,5")
    assert "Threshold saved: 25.50" in answer.text
    prefs = await env.db.alerts.prefs(UID)
    assert not prefs.unpaid and prefs.notice_days == (14, 7, 3, 1)
    assert prefs.balance_threshold == "25.50"
    # A forged preset changes nothing.
    await env.forge(UID, "nt:n:0:99")
    assert (await env.db.alerts.prefs(UID)).notice_days == (14, 7, 3, 1)


# --------------------------------------------------------------------------- Telegram and unlink


async def test_blocked_user_gets_nothing_until_writing_again(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID, balance="5.00")
    await env.db.alerts.set_prefs(UID, low_balance=True, balance_threshold="10")
    env.tg.block(UID)
    await account_pass(env)
    assert texts(env, UID, "below your threshold") == []
    calls = env.sim.calls["orders"]
    later(env, 4000)
    await account_pass(env)
    assert env.sim.calls["orders"] == calls  # skipped while blocked
    await env.say(UID, "hello")  # writes again (and unblocks the bot)
    env.sim.add_funds(customer, "20")
    await account_pass(env)
    customer.balance = customer.balance.__class__("1.00")
    later(env, 8000)
    await account_pass(env)
    assert len(texts(env, UID, "below your threshold")) == 1


async def test_flood_control_keeps_the_alert_for_later_and_sends_it_once(quiet: BotEnv) -> None:
    env = quiet
    await env.linked(UID, balance="5.00")
    await env.db.alerts.set_prefs(UID, low_balance=True, balance_threshold="10")
    env.tg.rate_limit(UID, retry_after=30)
    await account_pass(env)
    assert texts(env, UID, "below your threshold") == []
    assert await count_unsent(env.db) == 1
    assert env.bot is not None
    assert await alerts_of(env).deliver(env.bot) == pytest.approx(30, abs=1)  # not before
    assert texts(env, UID, "below your threshold") == []
    flood_is_over(env)
    await alerts_of(env).deliver(env.bot)
    await alerts_of(env).deliver(env.bot)
    assert len(texts(env, UID, "below your threshold")) == 1


async def test_unlink_drops_queued_alerts_and_relinking_starts_fresh(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID, balance="5.00")
    await env.db.alerts.set_prefs(UID, low_balance=True, balance_threshold="10")
    env.tg.rate_limit(UID, retry_after=30)
    await account_pass(env)
    assert await count_unsent(env.db) == 1
    await env.db.users.unlink(UID)
    assert await count_unsent(env.db) == 0
    assert env.bot is not None
    await alerts_of(env).deliver(env.bot)
    later(env, 4000)
    await account_pass(env)
    assert texts(env, UID, "below your threshold") == []
    assert await env.db.alerts.monitored() == []
    await env.link(UID, customer)
    flood_is_over(env)
    await account_pass(env)
    assert len(texts(env, UID, "below your threshold")) == 1


async def test_refused_key_is_told_once_and_backs_off(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID)
    customer.key = "another-key-0000000000000000000000"
    await account_pass(env)
    for step in range(3):
        later(env, 3600 * 2 ** (step + 2))
        await account_pass(env)
    assert len(texts(env, UID, "no longer accepts")) == 1


async def test_whitelist_block_is_told_once_backs_off_and_checks_resume(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID, balance="5.00")
    order_id = await running_server(env, customer)
    await account_pass(env)
    await monitor_pass(env)
    env.sim.faults.whitelist_denied = True
    later(env, 4000)
    await account_pass(env)
    blocked = texts(env, UID, "refuses the bot's requests")
    assert len(blocked) == 1 and str(customer.cid) in blocked[0]
    state = await active_check_state(env, UID)
    assert state is not None and state.failures == 1 and state.refused_told

    # Backing off: another pass before the next (doubled) check asks the provider nothing,
    # and a blocked account's servers are not down-checked either.
    calls = sum(env.sim.calls[a] for a in ("orders", "services", "balance", "getinfo"))
    later(env, 1800)
    await account_pass(env)
    env.sim.set_power(order_id, False)
    await monitor_pass(env)
    await monitor_pass(env)
    assert sum(env.sim.calls[a] for a in ("orders", "services", "balance", "getinfo")) == calls

    for step in range(3):
        later(env, 3600 * 2 ** (step + 1))
        await account_pass(env)
    state = await active_check_state(env, UID)
    assert state is not None and state.failures == 4
    assert len(texts(env, UID, "refuses the bot's requests")) == 1, "told once"
    assert texts(env, UID, "is down") == [], "a blocked account is no outage"

    # Let through again: checks resume and the account is back to its normal interval.
    env.sim.faults.whitelist_denied = False
    later(env, 3600 * 16)
    await account_pass(env)
    state = await active_check_state(env, UID)
    assert state is not None and (state.failures, state.refused_told) == (0, False)
    assert len(texts(env, UID, "refuses the bot's requests")) == 1


async def test_a_terminated_service_is_told_once(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await account_pass(env)
    order_of(customer, order_id).service_status = "Terminated"
    for step in range(3):
        later(env, 4000 * (step + 1))
        await account_pass(env)
    terminated = texts(env, UID, "has been terminated")
    assert len(terminated) == 1 and str(customer.cid) in terminated[0]
    message = next(m for m in env.tg.bot_messages(UID) if "has been terminated" in m.text)
    assert labels(message) != []


async def test_an_alert_names_its_account_by_its_label(quiet: BotEnv) -> None:
    env = quiet
    await env.linked(UID, balance="5.00")
    (membership,) = await env.db.accounts.memberships(UID)
    await env.db.accounts.set_label(membership.account.id, "<Clients>")
    await env.db.alerts.set_prefs(UID, low_balance=True, balance_threshold="10.00")
    await account_pass(env)
    later(env, 4000)
    await account_pass(env)
    (alert,) = [m for m in env.tg.bot_messages(UID) if "below your threshold" in m.text]
    assert alert.text.startswith("👤 <Clients>")
    assert "&lt;Clients&gt;" in alert.html
