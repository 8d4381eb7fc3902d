"""Buying a server, driven as a user through the real dispatcher, fake Telegram and simulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import SendMessage

from bot.handlers import buy as buy_module
from bot.handlers.buy import BuyAction, BuyCb, BuyConfirmCb
from bot.handlers.callbacks import InstallStartCb, ServerCb
from bot.inferno.simulator import Product as SimProduct
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, hold_second_call
from tests.storage_helpers import actions_of

UID = 5101


# Shortcuts for UID (also used by test_flow_orders.py and test_flow_services.py).


async def open_menu(env: BotEnv, uid: int = UID) -> FakeMessage:
    return await env.command(uid, "/menu")


async def tap(env: BotEnv, text: str, uid: int = UID) -> FakeMessage:
    return await env.tap(uid, text)


async def forge(
    env: BotEnv, data: str, uid: int = UID, message_id: int | None = None
) -> FakeMessage:
    return await env.forge(uid, data, message_id)


async def open_plans(env: BotEnv, uid: int = UID) -> FakeMessage:
    await open_menu(env, uid)
    return await tap(env, "Buy a server", uid)


async def confirmation(env: BotEnv, plan: str, price: str, uid: int = UID) -> FakeMessage:
    await open_plans(env, uid)
    await tap(env, plan, uid)
    return await tap(env, f"Buy for {price}", uid)


def plan_buttons(message: FakeMessage) -> list[str]:
    return [
        b.text
        for b in message.buttons()
        if b.callback_data and b.callback_data.startswith(f"by:{BuyAction.PLAN.value}:")
    ]


def add_plans(env: BotEnv, count: int) -> None:
    for n in range(count):
        pid = str(200 + n)
        env.sim.products[pid] = SimProduct(pid, f"Plan {n:02d}", Decimal("3.00"), f"plan {n}")


# --------------------------------------------------------------------------- the plan list


async def test_plans_are_paginated_eight_per_page(env: BotEnv) -> None:
    add_plans(env, 20)  # 23 with the three default plans: pages of 8, 8 and 7
    await env.linked(UID)
    first = await open_plans(env)
    assert len(plan_buttons(first)) == 8
    assert "VPS Start" in first.text and "5.00" in first.text
    assert "1 vCPU, 1 GB RAM" in first.text
    assert first.button("1/3")
    assert not [b for b in first.buttons() if "Prev" in b.text]

    second = await tap(env, "Next")
    assert second.message_id == first.message_id, "pages are edited in place"
    assert len(plan_buttons(second)) == 8
    assert second.button("2/3")
    third = await tap(env, "Next")
    assert len(plan_buttons(third)) == 7
    assert not [b for b in third.buttons() if "Next" in b.text]
    back = await tap(env, "Prev")
    assert back.button("2/3")
    # The page indicator re-shows the same page: no "message is not modified" error.
    await env.tg.tap_button(UID, "2/3")
    await env.tg.wait_idle()

    # A forged page number is clamped, not an empty or broken screen.
    clamped = await forge(env, BuyCb(page=99).pack())
    assert clamped.button("3/3")
    assert all(len(b.callback_data.encode()) <= 64 for b in third.buttons() if b.callback_data)
    assert env.tg.errors == []


async def test_plan_card_shows_price_and_description(env: BotEnv) -> None:
    await env.linked(UID)
    await open_plans(env)
    card = await tap(env, "VPS Pro")
    assert "VPS Pro" in card.text and "12.00" in card.text
    assert "2 vCPU, 4 GB RAM, 60 GB NVMe" in card.text
    assert card.button("Buy for 12.00")
    plans = await tap(env, "Plans")
    assert "VPS Start" in plans.text
    assert env.sim.calls["create"] == 0
    assert env.tg.errors == []


# --------------------------------------------------------------------------- buying


async def test_buy_with_enough_balance_is_active_and_offers_install(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="100.00")
    confirm = await confirmation(env, "VPS Start", "5.00")
    assert "Confirm the purchase" in confirm.text
    assert "100.00 USD" in confirm.text, "the balance hint is shown"
    assert env.sim.calls["create"] == 0, "nothing is bought before the confirmation"

    result = await tap(env, "Confirm the purchase")
    assert env.sim.calls["create"] == 1
    assert len(customer.orders) == 1
    order = customer.orders[0]
    assert order.status == "Active"
    assert customer.balance == Decimal("95.00")
    assert "Order created" in result.text
    assert str(order.id) in result.text
    assert str(order.invoice_id) in result.text
    assert "5.00" in result.text
    assert "paid and active" in result.text
    datas = [b.callback_data for b in result.buttons()]
    assert InstallStartCb(order_id=str(order.id)).pack() in datas
    assert ServerCb(order_id=str(order.id)).pack() in datas
    assert result.button("Orders")

    actions = await actions_of(env.db, UID)
    assert [(a.action, a.order_id) for a in actions] == [("create", str(order.id))]
    assert customer.key not in actions[0].result
    assert env.tg.errors == []


async def test_buy_without_enough_balance_explains_how_to_pay(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="1.00")
    await confirmation(env, "Dedicated XL", "500.00")
    result = await tap(env, "Confirm the purchase")
    assert env.sim.calls["create"] == 1
    order = customer.orders[0]
    assert order.status == "Pending"
    assert "waiting for payment" in result.text
    assert "control panel" in result.text
    assert str(order.invoice_id) in result.text
    assert "500.00" in result.text
    assert not [b for b in result.buttons() if "Install" in b.text]
    orders = await tap(env, "Orders")
    assert f"#{order.id}" in orders.text and "Unpaid" in orders.text
    assert env.tg.errors == []


async def test_two_fast_taps_on_confirm_create_one_order(env: BotEnv) -> None:
    customer = await env.linked(UID)
    confirm = await confirmation(env, "VPS Start", "5.00")
    data = confirm.button("Confirm the purchase").callback_data
    assert data is not None
    # A little provider latency keeps the first create in flight while the second tap arrives.
    env.sim.faults.latency = 0.2
    await env.tg.tap(UID, confirm.message_id, data)
    await env.tg.tap(UID, confirm.message_id, data)
    await env.tg.wait_for(lambda: env.sim.calls["create"] >= 1)
    await env.tg.wait_for_bot_message(UID, lambda m: "already used" in m.text)
    await env.tg.wait_for(lambda: "Order created" in env.tg.message(UID, confirm.message_id).text)
    env.sim.faults.latency = 0.0
    await env.tg.wait_idle()

    assert env.sim.calls["create"] == 1
    assert len(customer.orders) == 1
    # The first tap's result stays on screen; the second tap is answered in a new message.
    assert "Order created" in env.tg.message(UID, confirm.message_id).text
    notices = [m for m in env.tg.bot_messages(UID) if "already used" in m.text]
    assert len(notices) == 1
    assert env.tg.unanswered_callbacks() == []
    assert env.tg.errors == []


async def test_tap_on_an_old_confirmation_after_success_creates_nothing(env: BotEnv) -> None:
    customer = await env.linked(UID)
    confirm = await confirmation(env, "VPS Start", "5.00")
    data = confirm.button("Confirm the purchase").callback_data
    assert data is not None
    await tap(env, "Confirm the purchase")
    assert env.sim.calls["create"] == 1

    # The button is gone from the edited message; an old client may still send it.
    notice = await forge(env, data, message_id=confirm.message_id)
    assert "already used" in notice.text
    assert "Order created" in env.tg.message(UID, confirm.message_id).text
    assert env.sim.calls["create"] == 1
    assert len(customer.orders) == 1
    assert env.tg.errors == []


async def test_forged_confirmation_token_creates_nothing(env: BotEnv) -> None:
    await env.linked(UID)
    await open_plans(env)
    notice = await forge(env, BuyConfirmCb(token="AAAAAAAAAAA").pack())
    assert "already used or has expired" in notice.text
    assert env.sim.calls["create"] == 0
    assert env.tg.errors == []


async def test_a_plan_gone_since_the_confirmation_is_not_bought(env: BotEnv) -> None:
    customer = await env.linked(UID)
    await confirmation(env, "VPS Pro", "12.00")
    del env.sim.products["102"]
    result = await tap(env, "Confirm the purchase")
    assert "no longer offered" in result.text and result.button("Plans")
    assert env.sim.calls["create"] == 0 and customer.orders == []
    assert env.tg.errors == []


async def test_provider_refusal_on_create_is_shown_and_not_retried(env: BotEnv) -> None:
    customer = await env.linked(UID)
    await confirmation(env, "VPS Pro", "12.00")
    # The plan disappears, and the catalog cannot be read to notice: the purchase goes on as
    # confirmed, and the provider refuses.
    del env.sim.products["102"]
    env.sim.faults.http_500_next, env.sim.faults.only_action = 10, "list"
    result = await tap(env, "Confirm the purchase")
    assert env.sim.calls["create"] == 1
    assert "not created" in result.text
    assert "Product not found" in result.text, "an unknown refusal is shown as the provider said"
    assert customer.orders == []
    assert not [b for b in result.buttons() if "Retry" in b.text]
    actions = await actions_of(env.db, UID)
    assert actions[0].action == "create" and actions[0].result.startswith("fail")
    assert env.tg.errors == []


async def test_create_timeout_is_never_retried_and_says_the_outcome_is_unknown(
    env: BotEnv,
) -> None:
    await env.linked(UID)
    await confirmation(env, "VPS Start", "5.00")
    env.sim.faults.http_500_next, env.sim.faults.only_action = 1, "create"
    result = await tap(env, "Confirm the purchase")
    assert env.sim.calls["create"] == 1, "a write is never retried"
    assert "unknown whether the order was created" in result.text
    assert result.button("Orders")
    assert env.tg.errors == []


async def test_catalog_errors_offer_retry_that_works_after_recovery(env: BotEnv) -> None:
    await env.linked(UID)
    await open_menu(env)
    env.sim.faults.http_500_next = 100
    await env.tg.tap_button(UID, "Buy a server")
    error = await env.tg.wait_for_bot_message(UID, lambda m: "not answering" in m.text)
    await env.tg.wait_idle()
    assert error.button("Retry") and error.button("Main menu")
    env.sim.faults.clear()
    plans = await tap(env, "Retry")
    assert "VPS Start" in plans.text
    assert env.tg.errors == []


async def test_whitelist_refusal_is_explained(env: BotEnv) -> None:
    await env.linked(UID)
    await open_menu(env)
    env.sim.faults.whitelist_denied = True
    message = await tap(env, "Buy a server")
    assert "whitelist" in message.text
    assert message.button("Retry")
    assert env.tg.errors == []


async def test_provider_strings_are_escaped_and_long_texts_fit(env: BotEnv) -> None:
    env.sim.products["666"] = SimProduct(
        "666", "<b>Evil</b> & Co", Decimal("7.00"), "<script>x</script> " + "long " * 2000
    )
    customer = await env.linked(UID)
    plans = await open_plans(env)
    assert "<b>Evil</b> & Co" in plans.text
    assert "<script>x</script>" in plans.text
    # The whole name is bold as our markup says; the provider's own tags are only text.
    assert "<b>Evil</b> & Co" in plans.entity_texts("bold")
    card = await tap(env, "Evil")
    assert "<b>Evil</b> & Co" in card.text
    assert len(card.text) <= 4096
    await tap(env, "Buy for 7.00")
    await tap(env, "Confirm the purchase")
    assert customer.orders[0].product_name == "<b>Evil</b> & Co"
    orders = await tap(env, "Orders")
    assert "<b>Evil</b> & Co" in orders.text
    assert env.tg.errors == []


async def test_not_linked_user_cannot_buy(env: BotEnv) -> None:
    env.tg.add_user(UID)
    # Buttons of an old plan card or confirmation, tapped after an unlink, buy nothing.
    for data in (
        BuyCb(action=BuyAction.ASK, ref="101").pack(),
        BuyConfirmCb(token="AAAAAAAAAAA").pack(),
    ):
        await open_menu(env)
        message = await forge(env, data)
        assert "not linked" in message.text
    assert env.sim.calls["create"] == 0
    assert env.tg.errors == []


async def test_install_and_server_buttons_reach_their_screens(env: BotEnv) -> None:
    """The entry points into the server-control area are handled there, not dropped."""
    customer = await env.linked(UID)
    await confirmation(env, "VPS Start", "5.00")
    result_text = (await tap(env, "Confirm the purchase")).text
    order_id = str(customer.orders[0].id)
    wizard = await tap(env, "Install OS")
    assert wizard.text != result_text
    assert "went wrong" not in wizard.text
    await open_menu(env)
    await tap(env, "Orders")
    await tap(env, f"#{order_id}")
    server = await tap(env, "Open the server")
    assert "went wrong" not in server.text
    assert order_id in server.text
    assert env.tg.unanswered_callbacks() == []
    assert env.tg.errors == []


async def test_buying_before_linking_offers_the_way_to_link(env: BotEnv) -> None:
    env.tg.add_user(UID)
    await open_menu(env)
    await tap(env, "Buy a server")  # the plans need no account
    await tap(env, "VPS Start")
    screen = await tap(env, "Buy for 5.00")
    assert "not linked" in screen.text
    linking = await tap(env, "Link account")
    labels = {b.text for b in linking.buttons()}
    assert {"🔑 Client id + API key", "📧 Email + password"} <= labels
    assert env.sim.calls["create"] == 0
    assert env.tg.errors == []


async def test_a_slow_second_buy_tap_never_draws_a_confirmation_over_the_new_order(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await env.linked(UID)
    await open_plans(env)
    card = await tap(env, "VPS Start")
    assert env.services is not None
    inferno = env.services.inferno
    reads, release = hold_second_call(monkeypatch, inferno, "balance")
    # A double tap: both land before the bot has drawn anything.
    await env.double_tap_past_held_call(UID, "Buy for 5.00", card.message_id, reads, "Confirm")
    # Taken in and on its way to the lock: the purchase would go through now, were it not for
    # the lock.
    await env.tap_then_release(UID, "Confirm the purchase", card.message_id, release)

    final = env.tg.message(UID, card.message_id)
    assert "Order created" in final.text, final.text
    assert env.sim.calls["create"] == 1 and len(customer.orders) == 1


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [(0, "Order created"), (1, "unknown whether the order was created")],
    ids=["created", "unknown"],
)
async def test_a_purchase_outcome_whose_screen_cannot_be_drawn_is_still_told(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch, fault: int, outcome: str
) -> None:
    await env.linked(UID)
    asked = await confirmation(env, "VPS Start", "5.00")
    env.sim.faults.http_500_next, env.sim.faults.only_action = fault, "create"
    show, failed = buy_module.show, []

    async def network_trouble_on_the_result(event: Any, text: str, *args: Any) -> Any:
        if outcome in text:
            failed.append(text)
            raise TelegramNetworkError(method=SendMessage(chat_id=UID, text="-"), message="reset")
        return await show(event, text, *args)

    monkeypatch.setattr(buy_module, "show", network_trouble_on_the_result)
    before = env.tg.message(UID, asked.message_id).edit_count
    await tap(env, "Confirm the purchase")
    assert len(failed) == 1, "the outcome's screen was to be drawn once, and failed"
    texts = [m.text for m in env.tg.bot_messages(UID)]
    assert any(outcome in t for t in texts), "told in a new message"
    # Not by an edit of the confirmation: that edit is the one that failed.
    told = [m for m in env.tg.bot_messages(UID) if outcome in m.text]
    assert [m.message_id > asked.message_id for m in told] == [True], told
    confirm_screen = env.tg.message(UID, asked.message_id)
    assert outcome not in confirm_screen.text and confirm_screen.edit_count == before
    assert not any("Something went wrong" in t for t in texts)
    assert env.sim.calls["create"] == 1


async def test_the_question_asked_again_is_drawn_under_the_user_s_lock(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    await env.linked(UID)
    await confirmation(env, "VPS Start", "5.00")
    start = env.sim.products["101"]
    env.sim.products["101"] = SimProduct(start.id, start.name, Decimal("7.00"), start.description)
    assert env.services is not None
    inferno = env.services.inferno
    balance, held = inferno.balance, []

    async def watched(*args: Any, **kwargs: Any) -> Any:
        # The question reads the balance while it is drawn.
        held.append(await env.user_lock_held(UID))
        return await balance(*args, **kwargs)

    monkeypatch.setattr(inferno, "balance", watched)
    asked = await tap(env, "Confirm the purchase")
    assert "changed from 5.00 USD to 7.00 USD" in asked.text
    assert held and all(held)


async def test_a_price_changed_since_the_confirmation_is_asked_again(env: BotEnv) -> None:
    customer = await env.linked(UID)
    first = await confirmation(env, "VPS Start", "5.00")
    old_confirm = first.button("Confirm the purchase").callback_data
    start = env.sim.products["101"]
    env.sim.products["101"] = SimProduct(start.id, start.name, Decimal("7.00"), start.description)
    # The bot's own list cache still holds the old price: the purchase asks the provider.
    asked = await tap(env, "Confirm the purchase")
    assert "changed from 5.00 USD to 7.00 USD" in asked.text
    assert env.sim.calls["create"] == 0
    created = await tap(env, "Confirm the purchase")
    assert "Order created" in created.text
    assert env.sim.calls["create"] == 1 and customer.orders[0].amount == Decimal("7.00")
    # The confirmation of the old price is spent.
    assert old_confirm is not None
    replayed = await forge(env, old_confirm)
    assert "already used" in replayed.text
    assert env.sim.calls["create"] == 1
