"""Services: the list (reached from Orders), a service's card, forged ids, provider errors."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.handlers.callbacks import ServerCb, ServiceCb
from bot.handlers.navigation import MenuCb, Screen
from bot.handlers.orders import OrderCb
from bot.handlers.services import ServicesPageCb
from bot.inferno.simulator import Customer
from bot.inferno.simulator import Product as SimProduct
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, running_bot
from tests.test_flow_buy import UID, forge, open_menu, tap
from tests.test_flow_orders import place_order

OTHER_UID = 5302


async def open_services(env: BotEnv, uid: int = UID) -> FakeMessage:
    await open_menu(env, uid)
    await tap(env, "Orders", uid)
    return await tap(env, "Services", uid)


async def test_services_list_and_card(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="10.00")
    active_order = place_order(env, customer, "101")
    place_order(env, customer, "103")  # unpaid
    active_service, pending_service = (str(o.service_id) for o in customer.orders)

    listing = await open_services(env)
    assert "2 services" in listing.text
    assert f"#{active_service}" in listing.text and f"#{pending_service}" in listing.text
    assert "VPS Start" in listing.text and "Dedicated XL" in listing.text
    assert "Active" in listing.text and "Unpaid" in listing.text
    assert listing.button(f"#{active_service}").callback_data == (
        ServiceCb(service_id=active_service).pack()
    )
    assert listing.button("Orders") and listing.button("Main menu")

    card = await tap(env, f"#{active_service}")
    assert env.sim.calls["getService"] == 1
    assert "VPS Start" in card.text
    assert f"Service #{active_service}" in card.text
    assert f"Order: #{active_order}" in card.text
    datas = [b.callback_data for b in card.buttons()]
    assert ServerCb(order_id=active_order).pack() in datas
    assert OrderCb(order_id=active_order).pack() in datas

    back = await tap(env, "Services")
    assert "2 services" in back.text
    assert env.tg.errors == []


async def test_services_screen_from_the_menu_callback_and_empty_state(env: BotEnv) -> None:
    await env.linked(UID)
    await open_menu(env)
    empty = await forge(env, MenuCb(screen=Screen.SERVICES).pack())
    assert "no services yet" in empty.text
    assert empty.button("Orders")
    assert env.tg.errors == []


async def test_services_are_paginated(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="0.00")
    for _ in range(9):
        place_order(env, customer, "101")
    first = await open_services(env)
    service_buttons = [b for b in first.buttons() if (b.callback_data or "").startswith("sv:")]
    assert len(service_buttons) == 8
    assert first.button("1/2")
    second = await tap(env, "Next")
    service_buttons = [b for b in second.buttons() if (b.callback_data or "").startswith("sv:")]
    assert len(service_buttons) == 1
    assert "expired" in (await forge(env, "svl:-3")).text
    clamped = await forge(env, ServicesPageCb(page=9999).pack())
    assert clamped.button("2/2")
    assert env.tg.errors == []


async def test_forged_service_ids_are_refused(env: BotEnv) -> None:
    mine = await env.linked(UID)
    theirs = await env.linked(OTHER_UID)
    place_order(env, mine, "101")
    place_order(env, theirs, "102")
    foreign = str(theirs.orders[0].service_id)
    for data in (ServiceCb(service_id=foreign).pack(), "sv:../../etc", "sv:"):
        await open_services(env)
        refused = await forge(env, data)
        assert "not found in your account" in refused.text, data
        assert foreign not in refused.text
    assert env.sim.calls["getService"] == 0
    assert env.tg.errors == []


async def test_service_errors_offer_retry_that_works_after_recovery(env: BotEnv) -> None:
    customer = await env.linked(UID)
    place_order(env, customer, "101")
    service_id = str(customer.orders[0].service_id)
    await open_services(env)
    env.sim.faults.http_500_next = 100
    await env.tg.tap_button(UID, f"#{service_id}")
    error = await env.tg.wait_for_bot_message(UID, lambda m: "not answering" in m.text)
    await env.tg.wait_idle()
    assert error.button("Retry") and error.button("Services") and error.button("Main menu")
    env.sim.faults.clear()
    card = await tap(env, "Retry")
    assert f"Service #{service_id}" in card.text
    assert env.tg.errors == []


async def test_service_names_are_escaped_and_the_card_fits(env: BotEnv) -> None:
    long_name = "<b>Evil</b> & <code>Co</code> " + "x" * 5000
    env.sim.products["666"] = SimProduct("666", long_name, Decimal("1.00"), "")
    customer = await env.linked(UID)
    place_order(env, customer, "666")
    service_id = str(customer.orders[0].service_id)
    listing = await open_services(env)
    assert "<b>Evil</b> & <code>Co</code>" in listing.text
    card = await tap(env, f"#{service_id}")
    assert "<b>Evil</b> & <code>Co</code>" in card.text
    assert len(card.text) <= 4096
    assert env.tg.errors == []


# --------------------------------------------------------------------------- the card's fields

REGISTERED = datetime(2026, 11, 10, 14, 30)  # the simulator's next due date is 30 days later


def dated_service(env: BotEnv, customer: Customer, **extra: Any) -> str:
    """A paid VPS Start service registered on 10 Nov 2026, with ``extra`` service fields."""
    place_order(env, customer, "101")
    order = customer.orders[-1]
    order.date = REGISTERED
    order.service_extra.update(extra)
    return str(order.service_id)


def raw_field_names_in(text: str) -> list[str]:
    return re.findall(r"(?m)^(?:regdate|nextduedate|billingcycle|status|amount)\s*:", text)


async def test_the_card_shows_known_fields_labelled_in_english(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="10.00")
    service_id = dated_service(env, customer)
    await open_services(env)
    card = await tap(env, f"#{service_id}")
    assert "Status: ✅ Active" in card.text
    assert "Billing cycle: monthly" in card.text
    assert "Recurring amount: 5.00 USD" in card.text
    assert "Registered: 10 Nov 2026" in card.text
    assert "Next payment due: 10 Dec 2026" in card.text
    assert raw_field_names_in(card.text) == [], card.text
    assert "2026-1" not in card.text, "a raw date is never shown"
    assert "Monthly" not in card.text
    assert env.tg.errors == []


async def test_the_card_shows_known_fields_labelled_in_russian(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="10.00", language="ru")
    service_id = dated_service(env, customer)
    await open_menu(env)
    await tap(env, "Заказы")
    await tap(env, "Услуги")
    card = await tap(env, f"#{service_id}")
    assert "Статус: ✅ Активен" in card.text
    assert "Период оплаты: ежемесячно" in card.text
    assert "Сумма за период: 5.00 USD" in card.text
    assert "Дата подключения: 10 нояб. 2026" in card.text
    assert "Следующая оплата: 10 дек. 2026" in card.text
    assert raw_field_names_in(card.text) == [], card.text
    for english in ("Monthly", "Active", "Status", "2026-1"):
        assert english not in card.text, english
    assert env.tg.errors == []


async def test_secret_and_unknown_fields_are_never_shown(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="10.00")
    service_id = dated_service(
        env,
        customer,
        rootpass="r00t-Pa55-word",
        vnc_password="vnc-Secret-77",
        ApiToken="tok-123456",
        internal_note="only-for-staff",
    )
    await open_services(env)
    card = await tap(env, f"#{service_id}")
    assert f"Service #{service_id}" in card.text
    for shown in ("r00t-Pa55-word", "vnc-Secret-77", "tok-123456", "only-for-staff"):
        assert shown not in card.text, shown
    for name in ("rootpass", "vnc_password", "ApiToken", "internal_note"):
        assert name not in card.text, name
    assert env.tg.errors == []


async def test_an_unreadable_date_is_shown_escaped_as_it_came(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="10.00")
    service_id = dated_service(env, customer, nextduedate="<b>soon</b> & later")
    await open_services(env)
    card = await tap(env, f"#{service_id}")
    assert "Next payment due: <b>soon</b> & later" in card.text
    assert "Registered: 10 Nov 2026" in card.text
    assert env.tg.errors == []


async def test_the_amount_takes_the_currency_the_service_names(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="10.00")
    service_id = dated_service(env, customer, currency="EUR")
    await open_services(env)
    env.sim.reset_counters()
    card = await tap(env, f"#{service_id}")
    assert "Recurring amount: 5.00 EUR" in card.text
    assert env.sim.calls["balance"] == 0, "no balance is asked for a currency already named"


async def test_the_amount_takes_the_balance_currency_once(env: BotEnv) -> None:
    env.sim.currency = "RUB"
    customer = await env.linked(UID, balance="10.00")
    service_id = dated_service(env, customer)
    listing = await open_services(env)
    assert "5.00 RUB" in listing.text
    card = await tap(env, f"#{service_id}")
    assert "Recurring amount: 5.00 RUB" in card.text
    await tap(env, "Services")
    card = await tap(env, f"#{service_id}")
    assert "Recurring amount: 5.00 RUB" in card.text
    assert env.sim.calls["balance"] == 1, "the account's currency is asked for once"


async def test_the_amount_takes_the_currency_setting_last(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, currency="GBP") as env:
        env.sim.currency = None  # the balance answer names none
        customer = await env.linked(UID, balance="10.00")
        service_id = dated_service(env, customer)
        await open_services(env)
        card = await tap(env, f"#{service_id}")
        assert "Recurring amount: 5.00 GBP" in card.text
        assert env.tg.errors == []
