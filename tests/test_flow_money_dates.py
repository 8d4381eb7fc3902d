"""Every amount names its currency and every date is written in the user's language.

The currency comes from the provider's answer where it names one, else from the balance answer,
else from the ``CURRENCY`` setting; a date never reaches a screen as raw ``2026-12-10``.
Driven as a user through the real dispatcher, the fake Telegram and the simulator, in English
and in Russian.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.inferno.models import Catalog, Order, Product
from bot.inferno.simulator import Customer
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, running_bot
from tests.test_flow_link import begin_key_link, say
from tests.test_flow_orders import place_order

UID = 5601
RAW_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
ORDERED = datetime(2026, 12, 10, 14, 3, 27)  # the simulator's next due date: 30 days later


@dataclass(frozen=True)
class Words:
    """What the user taps and reads in one language."""

    language: str
    buy: str
    buy_for: str
    confirm: str
    orders: str
    services: str
    balance: str
    cancel: str
    ordered: str  # ORDERED as the screens write it
    due: str  # the next due date in the services list


EN = Words(
    "en",
    "Buy a server",
    "Buy for",
    "Confirm the purchase",
    "Orders",
    "Services",
    "Balance",
    "Cancel the order",
    "10 Dec 2026",
    "due 9 Jan 2027",
)
RU = Words(
    "ru",
    "Купить сервер",
    "Купить за",
    "Подтвердить покупку",
    "Заказы",
    "Услуги",
    "Баланс",
    "Отменить заказ",
    "10 дек. 2026",
    "оплата до 9 янв. 2027",
)
LANGUAGES = pytest.mark.parametrize("words", [EN, RU], ids=["en", "ru"])


def no_raw_date(message: FakeMessage) -> None:
    texts = [message.text, *(b.text for b in message.buttons())]
    assert not [t for t in texts if RAW_DATE.search(t)], texts


def dated_orders(env: BotEnv, customer: Customer) -> tuple[str, str]:
    """A paid VPS Start and an unpaid Dedicated XL, both ordered on ORDERED."""
    active = place_order(env, customer, "101")
    pending = place_order(env, customer, "103")
    for order in customer.orders:
        order.date = ORDERED
    return active, pending


async def menu(env: BotEnv, uid: int = UID) -> FakeMessage:
    return await env.command(uid, "/menu")


# --------------------------------------------------------------------------- buying


@LANGUAGES
async def test_the_purchase_screens_name_the_currency(env: BotEnv, words: Words) -> None:
    env.sim.currency = "RUB"  # the balance's, not the setting's (USD)
    await env.linked(UID, balance="100.00", language=words.language)
    await menu(env)
    plans = await env.tap(UID, words.buy)
    assert "VPS Start — 5.00 RUB" in plans.text
    assert "Dedicated XL — 500.00 RUB" in plans.text
    assert plans.button("VPS Start · 5.00 RUB")

    card = await env.tap(UID, "VPS Start")
    assert "5.00 RUB" in card.text
    assert card.button(f"{words.buy_for} 5.00 RUB")

    question = await env.tap(UID, words.buy_for)
    assert "5.00 RUB" in question.text
    assert "100.00 RUB" in question.text, "the balance hint names its currency"

    created = await env.tap(UID, words.confirm)
    assert env.sim.calls["create"] == 1
    assert "5.00 RUB" in created.text
    for screen in (plans, card, question, created):
        assert "USD" not in screen.text
    assert env.tg.errors == []


async def test_a_visitor_without_an_account_sees_the_currency_setting(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, currency="EUR") as env:
        env.tg.add_user(UID)
        await menu(env)
        plans = await env.tap(UID, "Buy a server")
        assert "VPS Start — 5.00 EUR" in plans.text
        card = await env.tap(UID, "VPS Start")
        assert card.button("Buy for 5.00 EUR")
        assert env.sim.calls["balance"] == 0, "there is no account to ask"
        assert env.tg.errors == []


async def test_a_new_price_in_another_currency_is_asked_again(env: BotEnv) -> None:
    await env.linked(UID)
    await menu(env)
    await env.tap(UID, "Buy a server")
    await env.tap(UID, "VPS Start")
    await env.tap(UID, "Buy for 5.00 USD")
    env.sim.answer_currency = "EUR"  # same figure, another currency: not what was confirmed
    asked = await env.tap(UID, "Confirm the purchase")
    assert "changed from 5.00 USD to 5.00 EUR" in asked.text
    assert env.sim.calls["create"] == 0
    assert env.tg.errors == []


# --------------------------------------------------------------------------- orders and services


@LANGUAGES
async def test_orders_name_the_currency_and_write_dates_in_words(env: BotEnv, words: Words) -> None:
    env.sim.currency = "RUB"
    customer = await env.linked(UID, balance="10.00", language=words.language)
    active, pending = dated_orders(env, customer)
    await menu(env)
    listing = await env.tap(UID, words.orders)
    assert f"5.00 RUB · {words.ordered}" in listing.text
    assert f"500.00 RUB · {words.ordered}" in listing.text
    no_raw_date(listing)

    card = await env.tap(UID, f"#{pending}")
    assert "500.00 RUB" in card.text and words.ordered in card.text
    no_raw_date(card)

    question = await env.tap(UID, words.cancel)
    assert f"500.00 RUB · {words.ordered}" in question.text
    no_raw_date(question)

    await menu(env)
    await env.tap(UID, words.orders)
    card = await env.tap(UID, f"#{active}")
    assert "5.00 RUB" in card.text and words.ordered in card.text
    no_raw_date(card)
    assert env.sim.calls["balance"] == 1, "the account's currency is asked for once"
    assert env.tg.errors == []


@LANGUAGES
async def test_services_name_the_currency_and_the_next_due_date(env: BotEnv, words: Words) -> None:
    env.sim.currency = "RUB"
    customer = await env.linked(UID, balance="10.00", language=words.language)
    dated_orders(env, customer)
    await menu(env)
    await env.tap(UID, words.orders)
    listing = await env.tap(UID, words.services)
    assert f"5.00 RUB · {words.due}" in listing.text
    assert f"500.00 RUB · {words.due}" in listing.text
    no_raw_date(listing)
    assert env.tg.errors == []


@LANGUAGES
async def test_the_balance_names_its_currency(
    tmp_path: Path, words: Words, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, currency="GBP") as env:
        await env.linked(UID, balance="42.50", language=words.language)
        await menu(env)
        shown = await env.tap(UID, words.balance)
        assert "42.50 USD" in shown.text, "the balance answer's own currency first"
        env.sim.currency = None
        await menu(env)
        shown = await env.tap(UID, words.balance)
        assert "42.50 GBP" in shown.text, "then the setting"
        assert env.tg.errors == []


# --------------------------------------------------------------------------- which currency


async def test_the_currency_an_answer_names_comes_first(env: BotEnv) -> None:
    env.sim.currency = "RUB"
    env.sim.answer_currency = "EUR"  # plans, orders and services name their own
    customer = await env.linked(UID, balance="10.00")
    dated_orders(env, customer)
    await menu(env)
    plans = await env.tap(UID, "Buy a server")
    assert "5.00 EUR" in plans.text and "RUB" not in plans.text
    await menu(env)
    orders = await env.tap(UID, "Orders")
    assert "500.00 EUR" in orders.text and "RUB" not in orders.text
    services = await env.tap(UID, "Services")
    assert "500.00 EUR" in services.text and "RUB" not in services.text
    assert env.sim.calls["balance"] == 0, "no balance is asked for a currency already named"
    await menu(env)
    balance = await env.tap(UID, "Balance")
    assert "5.00 RUB" in balance.text  # 10.00 less the paid VPS Start
    assert env.tg.errors == []


async def test_the_setting_is_used_when_no_answer_names_a_currency(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, currency="GBP") as env:
        env.sim.currency = None
        customer = await env.linked(UID, balance="10.00")
        dated_orders(env, customer)
        await menu(env)
        plans = await env.tap(UID, "Buy a server")
        assert "5.00 GBP" in plans.text
        await menu(env)
        orders = await env.tap(UID, "Orders")
        assert "500.00 GBP" in orders.text
        services = await env.tap(UID, "Services")
        assert "500.00 GBP" in services.text
        # A balance that names no currency is remembered as such: not asked on every screen.
        assert env.sim.calls["balance"] == 1
        assert env.tg.errors == []


# --------------------------------------------------------------------------- the answers read


@pytest.mark.parametrize(
    ("entry", "price", "currency"),
    [
        ({"pid": 1, "name": "A", "price": "5.00"}, "5.00", None),
        ({"pid": 1, "name": "A", "price": "5.00", "currency": "EUR"}, "5.00", "EUR"),
        ({"pid": 1, "name": "A", "price": "5", "currencycode": {"code": "RUB"}}, "5", "RUB"),
        ({"pid": 1, "pricing": {"RUB": {"suffix": "руб", "monthly": "450.00"}}}, "450.00", "RUB"),
        ({"pid": 1, "pricing": {"monthly": "3.00"}}, "3.00", None),
        ({"pid": 1, "pricing": {"basic": {"monthly": "3.00"}}}, "3.00", None),
    ],
)
def test_a_plan_reads_the_currency_its_answer_names(
    entry: dict[str, Any], price: str, currency: str | None
) -> None:
    (product,) = Catalog.from_raw({"ostpls": [], "products": [entry]}).products
    assert (product.price, product.currency) == (price, currency)
    assert isinstance(product, Product)


def test_an_order_reads_the_currency_its_answer_names() -> None:
    named = Order.from_entry("7", {"amount": "5.00", "currency": "EUR"})
    unnamed = Order.from_entry("8", {"amount": "5.00"})
    assert named is not None and unnamed is not None
    assert (named.amount, named.currency) == ("5.00", "EUR")
    assert unnamed.currency is None


async def test_the_linked_message_names_the_setting_when_the_balance_names_none(
    tmp_path: Path,
    engines: Production | None,
) -> None:
    async with running_bot(tmp_path, production=engines, currency="GBP") as env:
        env.sim.currency = None
        customer = env.customer(balance="12.00")
        await begin_key_link(env, UID, customer.cid)
        await say(env, UID, customer.key)
        (linked,) = [m for m in env.tg.chat(UID) if m.from_bot and "is linked" in m.text]
        assert "12.00 GBP" in linked.text
        assert env.tg.errors == []
