"""Orders: the account's active and unpaid orders, an order's card, cancelling an unpaid one.

Order ids in callback data are untrusted (anyone can forge a button), so every screen that names
an order first finds it in the pressing user's own ``orders()``, fetched with their own key.
"""

from __future__ import annotations

import html
import logging
from enum import StrEnum

from aiogram import Bot, F
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton

from bot.config import Settings
from bot.formatting import format_date
from bot.handlers.balance import amount_text, fallback_currency
from bot.handlers.callbacks import OrdersPageCb, ServerCb, ServiceCb
from bot.handlers.common import (
    button,
    failure_note,
    is_provider_id,
    load_or_explain,
    newest_first,
    one_per_row_then_menu,
    paged_keyboard,
    run_confirmed,
)
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import MenuCb, Screen, menu_data, menu_taps
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, ProviderFail, ProviderUnavailable, UnreadableAnswer
from bot.inferno.models import Credentials, Order, Service
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


class OrderAction(StrEnum):
    CARD = "c"


class OrderCb(CallbackData, prefix="o"):
    action: OrderAction = OrderAction.CARD
    order_id: str
    # The list page to come back to.
    page: Page = 0


class OrderAskCancelCb(CallbackData, prefix="ox"):
    """Asking to cancel an order: a class of its own, as it needs the admin's role (the card
    does not)."""

    order_id: str
    page: Page = 0


class OrderCancelCb(CallbackData, prefix="oc"):
    """The confirmed cancel: only a one-shot token, the order id stays in the database."""

    token: str


def status_label(i18n: Translator, status: str | None) -> str:
    """Known statuses in the user's language, unknown ones as the provider wrote them."""
    match (status or "").strip().lower():
        case "pending":
            return i18n("orders-status-pending")
        case "active":
            return i18n("orders-status-active")
        case "cancelled" | "canceled":
            return i18n("orders-status-cancelled")
        case "suspended":
            return i18n("orders-status-suspended")
        case "terminated":
            return i18n("orders-status-terminated")
        case "fraud":
            return i18n("orders-status-fraud")
        case "":
            return i18n("orders-status-unknown")
        case _:
            return clip(status or "", 40)


def is_status(item: Order | Service, status: str) -> bool:
    return (item.status or "").strip().lower() == status


def orders_button(i18n: Translator, page: int = 0) -> InlineKeyboardButton:
    return button(i18n("orders-btn-orders"), OrdersPageCb(page=page))


def order_line(i18n: Translator, order: Order, currency: str | None = None) -> str:
    """One order in a list; ``currency`` is for an amount whose answer names none."""
    parts = [i18n("orders-line", id=clip(order.id, 24), status=status_label(i18n, order.status))]
    if order.product_name:
        parts.append(html.escape(clip(order.product_name, 60), quote=False))
    if order.amount:
        amount = amount_text(order.amount, order.currency or currency)
        parts.append(html.escape(amount, quote=False))
    if order.date:
        parts.append(html.escape(format_date(i18n, clip(order.date, 40)), quote=False))
    return " · ".join(parts)


def order_button_text(i18n: Translator, order: Order) -> str:
    parts = [f"#{order.id}"]
    if order.product_name:
        parts.append(clip(order.product_name, 30))
    parts.append(status_label(i18n, order.status))
    return " · ".join(parts)


async def _load_orders(
    query: CallbackQuery,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    creds: Credentials,
    back: InlineKeyboardButton | None,
) -> list[Order] | None:
    """The user's orders, or None after showing the provider error with Retry."""
    return await load_or_explain(
        query,
        i18n,
        bot,
        lambda: inferno.orders(creds),
        log=log,
        action="orders",
        back=(back,) if back is not None else (),
    )


# ------------------------------------------------------------------------------ the list


async def orders_page(
    query: CallbackQuery,
    callback_data: MenuCb | OrdersPageCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    account: Credentials,
    settings: Settings,
) -> None:
    orders = await _load_orders(query, i18n, inferno, bot, account, None)
    if orders is None:
        return
    services = button(i18n("orders-btn-services"), menu_data(Screen.SERVICES))
    if not orders:
        markup = one_per_row_then_menu(
            i18n, button(i18n("btn-buy"), menu_data(Screen.BUY)), services
        )
        await show(query, i18n("orders-empty"), markup)
        return
    orders = sorted(orders, key=lambda o: newest_first(o.id), reverse=True)
    page = callback_data.page if isinstance(callback_data, OrdersPageCb) else 0
    page, pages, start = page_bounds(len(orders), page)
    chunk = orders[start : start + PAGE_SIZE]
    currency = await fallback_currency(inferno, account, settings, chunk)
    lines = (order_line(i18n, o, currency) for o in chunk)
    text = "\n".join([i18n("orders-title", count=len(orders)), "", *lines])
    rows = [
        [button(order_button_text(i18n, o), OrderCb(order_id=o.id, page=page))]
        for o in chunk
        if is_provider_id(o.id)
    ]
    refresh = button(i18n("btn-refresh"), OrdersPageCb(page=page))
    markup = paged_keyboard(
        i18n, rows, page, pages, lambda p: OrdersPageCb(page=p), [services, refresh]
    )
    await show(query, text, markup)


# ------------------------------------------------------------------------------ one order


async def _service_of(
    inferno: InfernoClient, creds: Credentials, order_id: str, user_id: int
) -> str | None:
    """The service behind an order, for a link; the card is still useful without it."""
    try:
        services = await inferno.services(creds)
    except InfernoError as exc:
        log.info("user=%s action=services result=%s", user_id, type(exc).__name__)
        return None
    return next(
        (s.id for s in services if s.order_id == order_id and is_provider_id(s.id)),
        None,
    )


async def _find_order(
    query: CallbackQuery,
    callback_data: OrderCb | OrderAskCancelCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    creds: Credentials,
) -> Order | None:
    """The order named by the button if it is in this user's account; else says so."""
    back = orders_button(i18n, callback_data.page)
    orders = await _load_orders(query, i18n, inferno, bot, creds, back)
    if orders is None:
        return None
    order = next((o for o in orders if o.id == callback_data.order_id), None)
    if order is None:
        log.info(
            "user=%s action=order-lookup order=%s result=not-found",
            query.from_user.id,
            clip(callback_data.order_id, 24),
        )
        await show(query, i18n("orders-not-found"), one_per_row_then_menu(i18n, back))
    return order


def order_card_text(i18n: Translator, order: Order, currency: str | None = None) -> str:
    """The order's card; ``currency`` is for an amount whose answer names none."""
    lines = [i18n("orders-card", id=order.id, status=status_label(i18n, order.status))]
    if order.product_name:
        lines.append(i18n("orders-card-product", product=clip(order.product_name, 200)))
    if order.amount:
        amount = amount_text(order.amount, order.currency or currency)
        lines.append(i18n("orders-card-amount", amount=amount))
    if order.date:
        lines.append(i18n("orders-card-date", date=format_date(i18n, clip(order.date, 40))))
    if order.ordernum:
        lines.append(i18n("orders-card-number", number=clip(order.ordernum, 40)))
    if order.invoice_id:
        lines.append(i18n("orders-card-invoice", invoice=clip(order.invoice_id, 40)))
    if is_status(order, "pending"):
        lines += ["", i18n("orders-card-pending-hint")]
    elif is_status(order, "active"):
        lines += ["", i18n("orders-card-active-hint")]
    return "\n".join(lines)


async def order_card(
    query: CallbackQuery,
    callback_data: OrderCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    account: Credentials,
    settings: Settings,
) -> None:
    order = await _find_order(query, callback_data, i18n, inferno, bot, account)
    if order is None:
        return
    buttons: list[InlineKeyboardButton] = []
    if is_status(order, "pending"):
        cancel = OrderAskCancelCb(order_id=order.id, page=callback_data.page)
        buttons.append(button(i18n("orders-btn-cancel"), cancel))
    elif is_status(order, "active"):
        buttons.append(button(i18n("orders-btn-server"), ServerCb(order_id=order.id)))
        service_id = await _service_of(inferno, account, order.id, query.from_user.id)
        if service_id is not None:
            buttons.append(button(i18n("orders-btn-service"), ServiceCb(service_id=service_id)))
    buttons.append(orders_button(i18n, callback_data.page))
    currency = await fallback_currency(inferno, account, settings, [order])
    text = order_card_text(i18n, order, currency)
    await show(query, text, one_per_row_then_menu(i18n, *buttons))


# ------------------------------------------------------------------------------ cancelling


async def ask_cancel(
    query: CallbackQuery,
    callback_data: OrderAskCancelCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    db: Database,
    account: Credentials,
    settings: Settings,
) -> None:
    order = await _find_order(query, callback_data, i18n, inferno, bot, account)
    if order is None:
        return
    card = OrderCb(order_id=order.id, page=callback_data.page)
    if not is_status(order, "pending"):
        markup = one_per_row_then_menu(i18n, button(i18n("btn-back"), card))
        await show(query, i18n("orders-cancel-not-pending", id=order.id), markup)
        return
    token = await db.confirmations.issue(
        query.from_user.id,
        "cancel",
        {"order_id": order.id, "cid": account.cid, "page": callback_data.page},
    )
    currency = await fallback_currency(inferno, account, settings, [order])
    text = "\n".join(
        [
            i18n("orders-cancel-confirm", id=order.id),
            "",
            order_line(i18n, order, currency),
            "",
            i18n("orders-cancel-warning"),
        ]
    )
    markup = one_per_row_then_menu(
        i18n,
        button(i18n("orders-btn-cancel-confirm"), OrderCancelCb(token=token)),
        button(i18n("orders-btn-cancel-keep"), card),
    )
    await show(query, text, markup)


async def confirm_cancel(
    query: CallbackQuery,
    callback_data: OrderCancelCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    db: Database,
    locks: UserLocks,
    account: Credentials,
) -> None:
    user_id = query.from_user.id
    done = await run_confirmed(
        bot,
        db,
        locks,
        account,
        user_id,
        callback_data.token,
        action="cancel",
        key="order_id",
        call=lambda order_id: inferno.cancel(account, order_id),
        used_text=i18n("orders-confirmation-used"),
        used_markup=one_per_row_then_menu(i18n, orders_button(i18n)),
    )
    if done is None:
        return
    payload, outcome = done
    order_id: str = payload["order_id"]
    error = outcome if isinstance(outcome, InfernoError) else None
    result = "ok" if error is None else f"fail {failure_note(error)}"
    await db.actions.record(user_id, "cancel", order_id, result)
    log.info("user=%s action=cancel order=%s result=%s", user_id, order_id, result)

    back = orders_button(i18n, as_page(payload.get("page")))
    markup = one_per_row_then_menu(i18n, back)
    if error is None:
        text = i18n("orders-cancelled", id=order_id)
    elif isinstance(error, ProviderFail):
        text = i18n("orders-cancel-failed", id=order_id, reason=translate_fail(i18n, error))
    elif isinstance(error, ProviderUnavailable | UnreadableAnswer):
        text = i18n("orders-cancel-unknown", id=order_id)
    else:
        text = provider_error_text(i18n, error)
    await show(query, text, markup)


def create_linked_area() -> LinkedArea:
    """The orders list, an order's card and cancelling."""
    area = linked_area(__name__, DataPrefix(OrderCb, OrdersPageCb, exact=menu_taps(Screen.ORDERS)))
    router = area.router
    router.callback_query.register(orders_page, OrdersPageCb.filter())
    router.callback_query.register(orders_page, MenuCb.filter(F.screen == Screen.ORDERS))
    router.callback_query.register(order_card, OrderCb.filter(F.action == OrderAction.CARD))
    return area


def create_cancel_area() -> LinkedArea:
    """Cancelling an order: admins and the owner."""
    area = linked_area(
        f"{__name__}.cancel", DataPrefix(OrderAskCancelCb, OrderCancelCb), role=Role.ADMIN
    )
    area.router.callback_query.register(
        ask_cancel, OrderAskCancelCb.filter(), flags={USER_LOCK: True}
    )
    area.router.callback_query.register(confirm_cancel, OrderCancelCb.filter())
    return area
