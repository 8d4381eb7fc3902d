"""Services: the billing view of what the account has (``services``) and one service's card."""

from __future__ import annotations

import html
import logging

from aiogram import Bot, F
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton

from bot.config import Settings
from bot.formatting import format_date
from bot.handlers.balance import amount_text, fallback_currency
from bot.handlers.callbacks import ServerCb, ServiceCb
from bot.handlers.common import (
    button,
    is_provider_id,
    load_or_explain,
    newest_first,
    one_per_row_then_menu,
    paged_keyboard,
    plain,
)
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import MenuCb, Screen, menu_taps
from bot.handlers.orders import OrderCb, is_status, orders_button, status_label
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.models import Credentials, Service
from bot.ui import (
    PAGE_SIZE,
    Page,
    clip,
    page_bounds,
    show,
)

log = logging.getLogger(__name__)


class ServicesPageCb(CallbackData, prefix="svl"):
    page: Page = 0


def services_button(i18n: Translator, page: int = 0) -> InlineKeyboardButton:
    return button(i18n("services-btn-list"), ServicesPageCb(page=page))


def _name(i18n: Translator, service: Service) -> str:
    if service.name:
        return clip(service.name, 60)
    return plain(i18n("services-unnamed", id=clip(service.id, 24)))


def service_line(i18n: Translator, service: Service, currency: str | None = None) -> str:
    """One service in the list; ``currency`` is for an amount whose answer names none."""
    parts = [i18n("services-line", id=clip(service.id, 24), name=_name(i18n, service))]
    if service.status:
        parts.append(html.escape(status_label(i18n, service.status), quote=False))
    if service.ip:
        parts.append(f"<code>{html.escape(clip(service.ip, 45), quote=False)}</code>")
    if service.amount:
        amount = amount_text(service.amount, service.currency or currency)
        parts.append(html.escape(amount, quote=False))
    if service.next_due:
        parts.append(i18n("services-line-due", date=format_date(i18n, clip(service.next_due, 40))))
    return " · ".join(parts)


async def _load(
    query: CallbackQuery,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    creds: Credentials,
    back: InlineKeyboardButton,
) -> list[Service] | None:
    return await load_or_explain(
        query, i18n, bot, lambda: inferno.services(creds), log=log, action="services", back=(back,)
    )


async def services_page(
    query: CallbackQuery,
    callback_data: MenuCb | ServicesPageCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    account: Credentials,
    settings: Settings,
) -> None:
    services = await _load(query, i18n, inferno, bot, account, orders_button(i18n))
    if services is None:
        return
    if not services:
        await show(query, i18n("services-empty"), one_per_row_then_menu(i18n, orders_button(i18n)))
        return
    services = sorted(services, key=lambda s: newest_first(s.id), reverse=True)
    page = callback_data.page if isinstance(callback_data, ServicesPageCb) else 0
    page, pages, start = page_bounds(len(services), page)
    chunk = services[start : start + PAGE_SIZE]
    currency = await fallback_currency(inferno, account, settings, chunk)
    lines = (service_line(i18n, s, currency) for s in chunk)
    text = "\n".join([i18n("services-title", count=len(services)), "", *lines])
    rows = [
        [button(f"#{s.id} · {_name(i18n, s)}", ServiceCb(service_id=s.id))]
        for s in chunk
        if is_provider_id(s.id)
    ]
    refresh = button(i18n("btn-refresh"), ServicesPageCb(page=page))
    markup = paged_keyboard(
        i18n, rows, page, pages, lambda p: ServicesPageCb(page=p), [orders_button(i18n), refresh]
    )
    await show(query, text, markup)


def cycle_label(i18n: Translator, cycle: str) -> str:
    """Known billing cycles in the user's language, unknown ones as the provider wrote them."""
    match "".join(ch for ch in cycle.lower() if ch.isalpha()):
        case "monthly":
            return i18n("services-cycle-monthly")
        case "quarterly":
            return i18n("services-cycle-quarterly")
        case "semiannually":
            return i18n("services-cycle-semiannually")
        case "annually":
            return i18n("services-cycle-annually")
        case "biennially":
            return i18n("services-cycle-biennially")
        case "triennially":
            return i18n("services-cycle-triennially")
        case "onetime":
            return i18n("services-cycle-onetime")
        case "free" | "freeaccount":
            return i18n("services-cycle-free")
        case _:
            return clip(cycle, 40)


def service_card_text(i18n: Translator, service: Service, currency: str | None = None) -> str:
    """The known fields, labelled and formatted in the user's language; any other field the
    provider sends is left out (it may be a secret, and a raw name means nothing to a user).
    ``currency`` is for an amount whose answer names none."""
    name = _name(i18n, service)
    lines = [i18n("services-card", id=service.id, name=name)]
    if service.status:
        lines.append(i18n("services-card-status", status=status_label(i18n, service.status)))
    if service.product and clip(service.product, 60) != name:
        lines.append(i18n("services-card-product", product=clip(service.product, 60)))
    if service.domain and clip(service.domain, 60) != name:
        lines.append(i18n("services-card-domain", domain=clip(service.domain, 60)))
    if service.ip:
        lines.append(i18n("services-card-ip", ip=clip(service.ip, 45)))
    if service.billing_cycle:
        lines.append(i18n("services-card-cycle", cycle=cycle_label(i18n, service.billing_cycle)))
    if service.amount:
        amount = amount_text(service.amount, service.currency or currency)
        lines.append(i18n("services-card-amount", amount=amount))
    if service.registered:
        date = format_date(i18n, clip(service.registered, 40))
        lines.append(i18n("services-card-registered", date=date))
    if service.next_due:
        date = format_date(i18n, clip(service.next_due, 40))
        lines.append(i18n("services-card-next-due", date=date))
    if service.order_id:
        lines.append(i18n("services-card-order", order=clip(service.order_id, 24)))
    return "\n".join(lines)


async def service_card(
    query: CallbackQuery,
    callback_data: ServiceCb,
    i18n: Translator,
    inferno: InfernoClient,
    bot: Bot,
    account: Credentials,
    settings: Settings,
) -> None:
    back = services_button(i18n)
    listed = await _load(query, i18n, inferno, bot, account, back)
    if listed is None:
        return
    # The id in the button is untrusted: only a service of this user's own list is opened.
    if not any(s.id == callback_data.service_id for s in listed):
        log.info(
            "user=%s action=service-lookup service=%s result=not-found",
            query.from_user.id,
            clip(callback_data.service_id, 24),
        )
        await show(query, i18n("services-not-found"), one_per_row_then_menu(i18n, back))
        return
    service = await load_or_explain(
        query,
        i18n,
        bot,
        lambda: inferno.get_service(account, callback_data.service_id),
        log=log,
        action="getService",
        back=(back,),
    )
    if service is None:
        return
    buttons: list[InlineKeyboardButton] = []
    order_id = service.order_id
    if order_id is not None and is_provider_id(order_id):
        if is_status(service, "active"):
            buttons.append(button(i18n("orders-btn-server"), ServerCb(order_id=order_id)))
        order_label = plain(i18n("services-btn-order", order=order_id))
        buttons.append(button(order_label, OrderCb(order_id=order_id)))
    buttons.append(back)
    currency = await fallback_currency(inferno, account, settings, [service])
    text = service_card_text(i18n, service, currency)
    await show(query, text, one_per_row_then_menu(i18n, *buttons))


def create_linked_area() -> LinkedArea:
    """The services list and a service's card."""
    area = linked_area(
        __name__, DataPrefix(ServiceCb, ServicesPageCb, exact=menu_taps(Screen.SERVICES))
    )
    router = area.router
    router.callback_query.register(services_page, ServicesPageCb.filter())
    router.callback_query.register(services_page, MenuCb.filter(F.screen == Screen.SERVICES))
    router.callback_query.register(service_card, ServiceCb.filter())
    return area
