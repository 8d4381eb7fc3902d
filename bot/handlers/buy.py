"""Buying a server: plans → plan card → confirmation → ``create``, once per confirmation.

``create`` spends the customer's money, so it is never retried and never sent twice for one
confirmation: the confirm button carries only a one-shot token, consumed under the user's lock.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Settings
from bot.handlers.balance import amount_text, currency_for, money
from bot.handlers.callbacks import InstallStartCb, ServerCb
from bot.handlers.common import (
    button,
    failure_note,
    is_provider_id,
    load_or_explain,
    one_per_row_then_menu,
    paged_keyboard,
    plain,
    run_confirmed,
)
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import MenuCb, Screen, menu_taps
from bot.handlers.orders import is_status, orders_button, status_label
from bot.i18n import Translator, fit
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, ProviderFail, ProviderUnavailable, UnreadableAnswer
from bot.inferno.models import Balance, Catalog, CreatedOrder, Credentials, Order, Product
from bot.middlewares.user_lock import USER_LOCK
from bot.services.locks import UserLocks
from bot.storage import Database
from bot.storage.accounts import Role
from bot.ui import (
    PAGE_SIZE,
    Page,
    as_page,
    clip,
    page_bounds,
    provider_error_text,
    show,
    translate_fail,
)

log = logging.getLogger(__name__)


class BuyAction(StrEnum):
    PAGE = "l"
    PLAN = "p"
    ASK = "a"


class BuyCb(CallbackData, prefix="by"):
    action: BuyAction = BuyAction.PAGE
    # plan_ref() of the product id; empty on list pages.
    ref: str = ""
    # The list page to come back to.
    page: Page = 0


class BuyConfirmCb(CallbackData, prefix="bc"):
    """The confirmed purchase: only a one-shot token; what to buy stays in the database."""

    token: str


def plan_ref(product_id: str) -> str:
    """A short, separator-free stand-in for a product id that may not fit in a button."""
    if is_provider_id(product_id):
        return product_id
    # "~" is not a digit, so a digest never collides with a real id.
    return "~" + hashlib.sha256(product_id.encode()).hexdigest()[:16]


def find_plan(catalog: Catalog, ref: str) -> Product | None:
    return next((p for p in catalog.products if plan_ref(p.id) == ref), None)


def _price(i18n: Translator, product: Product, currency: str | None) -> str:
    """The plan's price in the currency its answer names, else ``currency``."""
    if not product.price:
        return i18n("buy-price-unknown")
    return amount_text(product.price, product.currency or currency)


async def _plans_currency(
    inferno: InfernoClient, creds: Credentials | None, settings: Settings, plans: list[Product]
) -> str | None:
    """The currency for the prices among ``plans`` whose answer names none, if any do: the
    account's when the user has one, else the setting."""
    if any(p.price and not p.currency for p in plans):
        return await currency_for(inferno, creds, settings)
    return None


def plan_line(i18n: Translator, product: Product, currency: str | None) -> str:
    price = _price(i18n, product, currency)
    line = i18n("buy-plan-line", name=clip(product.name, 80), price=price)
    if product.description:
        line += "\n" + i18n("buy-plan-description", description=clip(product.description, 200))
    return line


async def _catalog(
    query: CallbackQuery, i18n: Translator, inferno: InfernoClient, bot: Bot, page: int
) -> Catalog | None:
    back = button(i18n("buy-btn-plans"), BuyCb(page=page))
    return await load_or_explain(
        query, i18n, bot, inferno.list_catalog, log=log, action="list", back=(back,)
    )


async def _find_plan(
    query: CallbackQuery, callback_data: BuyCb, i18n: Translator, inferno: InfernoClient, bot: Bot
) -> Product | None:
    """The plan named by the button if the provider still offers it; else says so."""
    catalog = await _catalog(query, i18n, inferno, bot, callback_data.page)
    if catalog is None:
        return None
    product = find_plan(catalog, callback_data.ref)
    if product is None:
        plans = button(i18n("buy-btn-plans"), BuyCb(page=callback_data.page))
        await show(query, i18n("buy-plan-gone"), one_per_row_then_menu(i18n, plans))
    return product


# ------------------------------------------------------------------------------ plans


async def plans_page(
    query: CallbackQuery,
    callback_data: MenuCb | BuyCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    settings: Settings,
    creds: Credentials | None = None,
) -> None:
    page = callback_data.page if isinstance(callback_data, BuyCb) else 0
    catalog = await _catalog(query, i18n, inferno, bot, page)
    if catalog is None:
        return
    products = catalog.products
    if not products:
        markup = one_per_row_then_menu(i18n, button(i18n("btn-refresh"), BuyCb(page=0)))
        await show(query, i18n("buy-no-plans"), markup)
        return
    page, pages, start = page_bounds(len(products), page)
    chunk = products[start : start + PAGE_SIZE]
    currency = await _plans_currency(inferno, creds, settings, chunk)
    lines = (plan_line(i18n, p, currency) for p in chunk)
    text = "\n\n".join([i18n("buy-title", count=len(products)), *lines])
    rows = [
        [
            button(
                f"{clip(p.name, 40)} · {_price(i18n, p, currency)}",
                BuyCb(action=BuyAction.PLAN, ref=plan_ref(p.id), page=page),
            )
        ]
        for p in chunk
    ]
    await show(query, text, paged_keyboard(i18n, rows, page, pages, lambda p: BuyCb(page=p)))


async def plan_card(
    query: CallbackQuery,
    callback_data: BuyCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    settings: Settings,
    creds: Credentials | None = None,
) -> None:
    product = await _find_plan(query, callback_data, i18n, inferno, bot)
    if product is None:
        return
    currency = await _plans_currency(inferno, creds, settings, [product])
    price = _price(i18n, product, currency)
    lines = [i18n("buy-plan-card", name=clip(product.name, 200), price=price)]
    if product.description:
        lines += ["", i18n("buy-plan-description", description=clip(product.description, 1500))]
    buy_label = i18n("buy-btn-buy-for", price=price) if product.price else i18n("buy-btn-buy")
    ask = BuyCb(action=BuyAction.ASK, ref=callback_data.ref, page=callback_data.page)
    markup = one_per_row_then_menu(
        i18n,
        button(plain(buy_label), ask),
        button(i18n("buy-btn-plans"), BuyCb(page=callback_data.page)),
    )
    await show(query, "\n".join(lines), markup)


# ------------------------------------------------------------------------------ confirmation


async def ask_buy(
    query: CallbackQuery,
    callback_data: BuyCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    db: Database,
    account: Credentials,
    settings: Settings,
    notice: str | None = None,
) -> None:
    """The purchase question; ``notice`` (not dispatcher data) heads it when asked again."""
    product = await _find_plan(query, callback_data, i18n, inferno, bot)
    if product is None:
        return
    balance: Balance | None = None
    try:
        balance = await inferno.balance(account)
    except InfernoError as exc:
        # Only a hint on this screen; the purchase itself does not depend on it.
        log.info("user=%s action=balance result=%s", query.from_user.id, type(exc).__name__)
    # Known by now in the usual case: the balance just read, or the plan card before it.
    currency = await _plans_currency(inferno, account, settings, [product])
    lines = [notice, ""] if notice else []
    price = _price(i18n, product, currency)
    lines.append(i18n("buy-confirm", name=clip(product.name, 200), price=price))
    if balance is not None:
        shown = money(balance, settings.currency)
        lines.append(i18n("buy-confirm-balance", balance=shown))
    lines += ["", i18n("buy-confirm-note")]
    token = await db.confirmations.issue(
        query.from_user.id,
        "create",
        {
            "pid": product.id,
            "price": product.price,
            # As the answer named it: a change of currency is a change of price.
            "currency": product.currency,
            "cid": account.cid,
            "ref": callback_data.ref,
            "page": callback_data.page,
        },
    )
    back = BuyCb(action=BuyAction.PLAN, ref=callback_data.ref, page=callback_data.page)
    markup = one_per_row_then_menu(
        i18n,
        button(i18n("buy-btn-confirm"), BuyConfirmCb(token=token)),
        button(i18n("btn-cancel"), back),
    )
    await show(query, "\n".join(lines), markup)


def _plan_button_data(confirmed: dict[str, Any], action: BuyAction) -> BuyCb:
    """Back to the plan a confirmation was drawn for (its payload keeps where it came from)."""
    ref, page = confirmed.get("ref"), confirmed.get("page")
    return BuyCb(
        action=action,
        ref=ref if isinstance(ref, str) else "",
        page=as_page(page),
    )


@dataclass(frozen=True)
class _PlanChanged:
    """The confirmed plan as offered now: at another price, or None when no longer offered."""

    product: Product | None


async def _plan_changed(inferno: InfernoClient, confirmed: dict[str, Any]) -> _PlanChanged | None:
    """Only the price the user saw may be charged. An unreadable catalog is no change: the
    purchase goes on as confirmed."""
    try:
        catalog = await inferno.list_catalog(fresh=True)
    except InfernoError:
        return None
    product = next((p for p in catalog.products if p.id == confirmed.get("pid")), None)
    if (
        product is not None
        and product.price == confirmed.get("price")
        and product.currency == confirmed.get("currency")
    ):
        return None
    return _PlanChanged(product)


def _created_text(
    i18n: Translator, created: CreatedOrder, order: Order | None, amount: str | None
) -> str:
    """``amount`` is what the order costs, with its currency, if known."""
    invoice = created.invoice_id or (order.invoice_id if order else None) or "—"
    lines = [
        i18n(
            "buy-created",
            order=clip(created.order_id, 24),
            invoice=clip(invoice, 24),
            amount=amount or "—",
        ),
        "",
    ]
    if order is None:
        lines.append(i18n("buy-status-unknown"))
    elif is_status(order, "active"):
        lines.append(i18n("buy-paid"))
    elif is_status(order, "pending"):
        lines.append(i18n("buy-unpaid", invoice=clip(invoice, 24)))
    else:
        lines.append(i18n("buy-status-other", status=status_label(i18n, order.status)))
    return "\n".join(lines)


async def _ask_again(
    query: CallbackQuery,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    db: Database,
    creds: Credentials,
    settings: Settings,
    confirmed: dict[str, Any],
    product: Product | None,
) -> None:
    """The plan changed after the purchase was confirmed: nothing is bought; the question is
    asked again at the new price, or the plans are offered when it is gone."""
    if product is None:
        plans = button(i18n("buy-btn-plans"), _plan_button_data(confirmed, BuyAction.PAGE))
        await show(query, i18n("buy-plan-gone"), one_per_row_then_menu(i18n, plans))
        return
    old_price, old_currency = _confirmed_price(confirmed)
    fallback = await currency_for(inferno, creds, settings)
    notice = i18n(
        "buy-price-changed",
        name=clip(product.name, 200),
        old=amount_text(old_price, old_currency or fallback) if old_price else "—",
        new=_price(i18n, product, fallback),
    )
    ask = _plan_button_data(confirmed, BuyAction.ASK)
    await ask_buy(query, ask, i18n, inferno, bot, db, creds, settings, notice=notice)


def _confirmed_price(confirmed: dict[str, Any]) -> tuple[str | None, str | None]:
    """The price a confirmation was issued at, and the currency its answer named."""
    price, currency = confirmed.get("price"), confirmed.get("currency")
    return (
        price if isinstance(price, str) else None,
        currency if isinstance(currency, str) else None,
    )


async def confirm_buy(
    query: CallbackQuery,
    callback_data: BuyConfirmCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    db: Database,
    locks: UserLocks,
    account: Credentials,
    settings: Settings,
) -> None:
    user_id = query.from_user.id
    used = one_per_row_then_menu(i18n, orders_button(i18n))
    done = await run_confirmed(
        bot,
        db,
        locks,
        account,
        user_id,
        callback_data.token,
        action="create",
        key="pid",
        call=lambda product_id: inferno.create(account, product_id),
        used_text=i18n("orders-confirmation-used"),
        used_markup=used,
        guard=lambda confirmed: _plan_changed(inferno, confirmed),
    )
    if done is None:
        return
    payload, outcome = done
    if isinstance(outcome, _PlanChanged):
        result = "repriced" if outcome.product is not None else "plan-gone"
        log.info("user=%s action=create pid=%s result=%s", user_id, payload.get("pid"), result)
        # Drawn under the lock like every question that leads to a purchase (see user_lock):
        # a direct call does not pass ask_buy's flag, and run_confirmed has let go of it.
        async with locks.hold(user_id):
            await _ask_again(
                query, i18n, inferno, bot, db, account, settings, payload, outcome.product
            )
        return
    product_id: str = payload["pid"]
    if isinstance(outcome, InfernoError):
        order_id, result = None, f"fail pid={product_id} {failure_note(outcome)}"
    else:
        order_id, result = outcome.order_id, f"ok pid={product_id} invoice={outcome.invoice_id}"
    await db.actions.record(user_id, "create", order_id, clip(result, 300))
    log.info("user=%s action=create order=%s result=%s", user_id, order_id, result)

    if isinstance(outcome, InfernoError):
        if isinstance(outcome, ProviderFail):
            text = i18n("buy-failed", reason=translate_fail(i18n, outcome))
        elif isinstance(outcome, ProviderUnavailable | UnreadableAnswer):
            text = i18n("buy-outcome-unknown")
        else:
            text = provider_error_text(i18n, outcome)
        to_plan = _plan_button_data(payload, BuyAction.PLAN)
        # No Retry here: buying again must go through a fresh confirmation.
        markup = one_per_row_then_menu(
            i18n, orders_button(i18n), button(i18n("buy-btn-back-to-plan"), to_plan)
        )
        await _tell_outcome(query, bot, text, markup)
        return

    created = outcome
    order: Order | None = None
    try:
        orders = await inferno.orders(account)
    except InfernoError as exc:
        log.info("user=%s action=orders result=%s", user_id, type(exc).__name__)
    else:
        order = next((o for o in orders if o.id == created.order_id), None)
    price, named = _confirmed_price(payload)
    if order is not None and order.amount:
        price, named = order.amount, order.currency
    amount = None
    if price:
        amount = amount_text(price, named or await currency_for(inferno, account, settings))
    text = _created_text(i18n, created, order, amount)
    buttons: list[InlineKeyboardButton] = []
    if order is not None and is_status(order, "active") and is_provider_id(order.id):
        buttons.append(button(i18n("buy-btn-install"), InstallStartCb(order_id=order.id)))
        buttons.append(button(i18n("orders-btn-server"), ServerCb(order_id=order.id)))
    buttons.append(orders_button(i18n))
    await _tell_outcome(query, bot, text, one_per_row_then_menu(i18n, *buttons))


async def _tell_outcome(
    query: CallbackQuery, bot: Bot, text: str, markup: InlineKeyboardMarkup
) -> None:
    """A purchase's outcome must reach the user: an order may exist, and the error handler
    would only say "try again". If the screen cannot be edited, the outcome comes as a new
    message, plain if its buttons were what Telegram refused."""
    user_id = query.from_user.id
    try:
        await show(query, text, markup)
        return
    except TelegramAPIError as exc:
        log.warning("user=%s purchase outcome, screen not edited: %s", user_id, exc.message)
    for buttons in (markup, None):
        try:
            await bot.send_message(user_id, fit(text), reply_markup=buttons)
            return
        except TelegramAPIError as exc:
            log.warning("user=%s purchase outcome not sent: %s", user_id, exc.message)


def create_router() -> Router:
    """The plans and a plan's card: open to everyone, an account is needed only to buy."""
    router = Router(name=__name__)
    # Taps meant for other areas are turned away before any handler here is tried.
    router.callback_query.filter(DataPrefix(BuyCb, exact=menu_taps(Screen.BUY)))
    router.callback_query.register(plans_page, BuyCb.filter(F.action == BuyAction.PAGE))
    router.callback_query.register(plans_page, MenuCb.filter(F.screen == Screen.BUY))
    router.callback_query.register(plan_card, BuyCb.filter(F.action == BuyAction.PLAN))
    return router


def create_linked_area() -> LinkedArea:
    """The purchase question and the confirmed purchase. The catalog's screens (the menu's Buy,
    the plan pages: ``by:`` taps) are drawn by the public router, but serve only buying: a
    member whose role cannot buy is not shown them, and a forged one is refused
    (:mod:`bot.handlers.linked`)."""
    area = linked_area(
        f"{__name__}.purchase",
        DataPrefix(BuyCb, BuyConfirmCb),
        role=Role.ADMIN,
        leads_here=menu_taps(Screen.BUY),
    )
    area.router.callback_query.register(
        ask_buy, BuyCb.filter(F.action == BuyAction.ASK), flags={USER_LOCK: True}
    )
    area.router.callback_query.register(confirm_buy, BuyConfirmCb.filter())
    return area
