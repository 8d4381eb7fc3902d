"""Orders: list, card, cancelling an unpaid order, forged buttons, provider errors."""

from __future__ import annotations

import re
from decimal import Decimal

from bot.handlers.callbacks import OrdersPageCb, ServerCb
from bot.handlers.orders import OrderAction, OrderAskCancelCb, OrderCancelCb, OrderCb
from bot.inferno.simulator import Customer
from bot.inferno.simulator import Product as SimProduct
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv
from tests.storage_helpers import actions_of
from tests.test_flow_buy import UID, forge, open_menu, tap

OTHER_UID = 5202
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
RAW_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def place_order(env: BotEnv, customer: Customer, pid: str) -> str:
    """An order made outside the bot (e.g. in the control panel), through the simulator's API."""
    reply = env.sim.handle("create", {"cid": str(customer.cid), "pid": pid}, customer.key)
    assert '"success"' in reply.body, reply.body
    return str(customer.orders[-1].id)


async def open_orders(env: BotEnv, uid: int = UID) -> FakeMessage:
    await open_menu(env, uid)
    return await tap(env, "Orders", uid)


async def test_orders_list_shows_status_amount_date_and_plan(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="10.00")
    active = place_order(env, customer, "101")
    pending = place_order(env, customer, "103")
    listing = await open_orders(env)
    assert "2 orders" in listing.text
    assert f"#{active}" in listing.text and f"#{pending}" in listing.text
    assert "Active" in listing.text and "Unpaid" in listing.text
    assert "VPS Start" in listing.text and "Dedicated XL" in listing.text
    assert "500.00 USD" in listing.text
    today = customer.orders[0].date
    assert f"{today.day} {MONTHS_EN[today.month - 1]} {today.year}" in listing.text
    assert not RAW_DATE.search(listing.text), "never a raw date"
    assert listing.button(f"#{pending}").callback_data == OrderCb(order_id=pending).pack()
    assert listing.button("Services") and listing.button("Main menu")
    assert env.tg.errors == []


async def test_orders_are_paginated(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="0.00")
    ids = [place_order(env, customer, "101") for _ in range(11)]
    first = await open_orders(env)
    order_buttons = [b for b in first.buttons() if (b.callback_data or "").startswith("o:")]
    assert len(order_buttons) == 8
    assert f"#{ids[-1]}" in first.text, "newest first"
    assert first.button("1/2")
    second = await tap(env, "Next")
    order_buttons = [b for b in second.buttons() if (b.callback_data or "").startswith("o:")]
    assert len(order_buttons) == 3
    assert f"#{ids[0]}" in second.text
    # A forged page number is clamped to a real page; one no button can carry has expired.
    assert "expired" in (await forge(env, "op:-5")).text
    clamped = await forge(env, OrdersPageCb(page=9999).pack())
    assert clamped.button("2/2")
    assert env.tg.errors == []


async def test_empty_orders_offer_buying(env: BotEnv) -> None:
    await env.linked(UID)
    listing = await open_orders(env)
    assert "no active or unpaid orders" in listing.text
    assert listing.button("Buy a server")
    assert env.tg.errors == []


async def test_cancel_a_pending_order_after_confirmation(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="0.00")
    order_id = place_order(env, customer, "102")
    await open_orders(env)
    card = await tap(env, f"#{order_id}")
    assert "Unpaid" in card.text and "12.00" in card.text
    assert "control panel" in card.text, "the card says how to pay"
    confirm = await tap(env, "Cancel the order")
    assert f"Cancel order #{order_id}?" in confirm.text
    assert env.sim.calls["cancel"] == 0, "nothing is cancelled before the confirmation"

    done = await tap(env, "Yes, cancel")
    assert env.sim.calls["cancel"] == 1
    assert f"Order #{order_id} is cancelled" in done.text
    assert customer.order(order_id) is not None
    assert customer.orders[0].status == "Cancelled"
    actions = await actions_of(env.db, UID)
    assert [(a.action, a.order_id, a.result) for a in actions] == [("cancel", order_id, "ok")]

    listing = await tap(env, "Orders")
    assert f"#{order_id}" not in listing.text
    assert "no active or unpaid orders" in listing.text
    assert env.tg.errors == []


async def test_two_fast_taps_on_cancel_confirm_cancel_once(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="0.00")
    order_id = place_order(env, customer, "102")
    await open_orders(env)
    await tap(env, f"#{order_id}")
    confirm = await tap(env, "Cancel the order")
    data = confirm.button("Yes, cancel").callback_data
    assert data is not None
    env.sim.faults.latency = 0.2
    await env.tg.tap(UID, confirm.message_id, data)
    await env.tg.tap(UID, confirm.message_id, data)
    await env.tg.wait_for_bot_message(UID, lambda m: "already used" in m.text)
    await env.tg.wait_for(lambda: "is cancelled" in env.tg.message(UID, confirm.message_id).text)
    env.sim.faults.latency = 0.0
    await env.tg.wait_idle()
    assert env.sim.calls["cancel"] == 1
    assert env.tg.errors == []


async def test_cancel_refused_by_the_provider_is_translated(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="0.00")
    order_id = place_order(env, customer, "102")
    await open_orders(env)
    await tap(env, f"#{order_id}")
    await tap(env, "Cancel the order")
    # Paid in the control panel while the confirmation was on screen: no longer cancellable.
    env.sim.add_funds(customer, "50.00")
    assert customer.orders[0].status == "Active"
    result = await tap(env, "Yes, cancel")
    assert env.sim.calls["cancel"] == 1
    assert f"Order #{order_id} was not cancelled" in result.text
    assert "no longer unpaid" in result.text, "a known refusal is shown in the user's words"
    assert "Status not Pending" not in result.text
    actions = await actions_of(env.db, UID)
    assert actions[0].result.startswith("fail ProviderFail")
    assert env.tg.errors == []


async def test_cancel_timeout_is_not_retried(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="0.00")
    order_id = place_order(env, customer, "102")
    await open_orders(env)
    await tap(env, f"#{order_id}")
    await tap(env, "Cancel the order")
    env.sim.faults.http_500_next = 1
    result = await tap(env, "Yes, cancel")
    assert env.sim.calls["cancel"] == 1
    assert "unknown whether order" in result.text
    assert result.button("Orders")
    assert env.tg.errors == []


async def test_forged_buttons_for_another_customers_order_are_refused(env: BotEnv) -> None:
    mine = await env.linked(UID, balance="0.00")
    theirs = await env.linked(OTHER_UID, balance="0.00")
    place_order(env, mine, "101")
    foreign = place_order(env, theirs, "102")

    forged = [OrderCb(action=action, order_id=foreign).pack() for action in OrderAction]
    forged += [OrderAskCancelCb(order_id=foreign).pack()]
    forged += [f"ox:{garbage}:0" for garbage in ("x' OR 1=1", "", "9" * 40)]
    for data in forged:
        await open_orders(env)
        refused = await forge(env, data)
        assert "not found in your account" in refused.text, data
        assert not [b for b in refused.buttons() if "Cancel" in b.text]
    expired = await forge(env, OrderCancelCb(token="AAAAAAAAAAA").pack())
    assert "already used or has expired" in expired.text

    assert env.sim.calls["cancel"] == 0
    assert theirs.orders[0].status == "Pending"
    assert await actions_of(env.db, UID) == []
    assert env.tg.errors == []


async def test_a_confirmation_of_another_user_does_not_work(env: BotEnv) -> None:
    mine = await env.linked(UID, balance="0.00")
    await env.linked(OTHER_UID, balance="0.00")
    order_id = place_order(env, mine, "102")
    await open_orders(env)
    await tap(env, f"#{order_id}")
    confirm = await tap(env, "Cancel the order")
    data = confirm.button("Yes, cancel").callback_data
    assert data is not None
    # The other user replays the token (e.g. from a forwarded screenshot of the data).
    await open_menu(env, OTHER_UID)
    replay = await forge(env, data, OTHER_UID)
    assert "already used or has expired" in replay.text
    assert env.sim.calls["cancel"] == 0
    # The owner's token was not burnt by the stranger.
    done = await tap(env, "Yes, cancel")
    assert "is cancelled" in done.text
    assert env.sim.calls["cancel"] == 1
    assert env.tg.errors == []


async def test_active_order_leads_to_its_server_and_service(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = place_order(env, customer, "101")
    service_id = str(customer.orders[0].service_id)
    await open_orders(env)
    card = await tap(env, f"#{order_id}")
    assert "Active" in card.text
    assert card.button("Open the server").callback_data == ServerCb(order_id=order_id).pack()
    assert not [b for b in card.buttons() if "Cancel" in b.text]
    service = await tap(env, "Service")
    assert f"Service #{service_id}" in service.text
    assert env.tg.errors == []


async def test_orders_errors_offer_retry_that_works_after_recovery(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="0.00")
    order_id = place_order(env, customer, "101")
    await open_menu(env)
    env.sim.faults.http_500_next = 100
    await env.tg.tap_button(UID, "Orders")
    error = await env.tg.wait_for_bot_message(UID, lambda m: "not answering" in m.text)
    await env.tg.wait_idle()
    assert error.button("Retry") and error.button("Main menu")
    env.sim.faults.clear()
    listing = await tap(env, "Retry")
    assert f"#{order_id}" in listing.text

    # The same on an order card: Back to the list, and Retry repeats the card. The list just
    # read is reused for a few seconds; drop it so the card has to ask the provider.
    assert env.services is not None
    env.services.inferno.forget(customer.cid)
    env.sim.faults.html_next = 100
    await env.tg.tap_button(UID, f"#{order_id}")
    await env.tg.wait_for_bot_message(UID, lambda m: "whitelist" in m.text)
    await env.tg.wait_idle()
    env.sim.faults.clear()
    card = await tap(env, "Retry")
    assert f"Order #{order_id}" in card.text
    assert env.tg.errors == []


async def test_order_product_names_are_escaped(env: BotEnv) -> None:
    env.sim.products["666"] = SimProduct("666", "<b>Evil</b> & <i>Co", Decimal("1.00"), "")
    customer = await env.linked(UID)
    order_id = place_order(env, customer, "666")
    listing = await open_orders(env)
    assert "<b>Evil</b> & <i>Co" in listing.text
    card = await tap(env, f"#{order_id}")
    assert "Plan: <b>Evil</b> & <i>Co" in card.text
    assert env.tg.errors == []


async def test_not_linked_user_gets_told_to_link(env: BotEnv) -> None:
    env.tg.add_user(UID)
    for data in (OrdersPageCb(page=0).pack(), OrderCb(order_id="47001").pack()):
        await open_menu(env)
        message = await forge(env, data)
        assert "not linked" in message.text
    assert env.sim.calls["orders"] == 0
    assert env.tg.errors == []


async def test_orders_in_russian(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="0.00", language="ru")
    order_id = place_order(env, customer, "102")
    await open_menu(env)
    listing = await tap(env, "Заказы")
    assert "1 заказ" in listing.text and "Не оплачен" in listing.text
    card = await tap(env, f"#{order_id}")
    assert f"Заказ #{order_id}" in card.text
    assert card.button("Отменить заказ")
    assert env.tg.errors == []


async def test_unreadable_buttons_say_they_expired(env: BotEnv) -> None:
    await env.linked(UID)
    for data in ("o:zz:1:0", "oc:", "op:many", "by:zz::0", "bc:a:b", "svl:x", "sv:1:2"):
        await open_menu(env)
        message = await forge(env, data)
        assert "expired" in message.text, data
    assert env.tg.unanswered_callbacks() == []
    assert env.sim.calls["cancel"] == env.sim.calls["create"] == 0
    assert env.tg.errors == []
