"""My servers: the list, "find by IP" and the server card that power and password build on."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TypeVar

from aiogram import Bot, F
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers.callbacks import (
    InstallMode,
    InstallStartCb,
    MonitorCb,
    ServerAction,
    ServerCb,
    ServerNameCb,
    ServiceCb,
    ShowPasswordCb,
)
from bot.handlers.common import (
    NOT_A_SERVER,
    delete_pasted_secret,
    is_provider_id,
    looks_like_credential,
    newest_first,
    own_order,
    paged_keyboard,
    server_name,
    user_id_of,
)
from bot.handlers.filters import DataPrefix, NoText, TypedText
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import MenuCb, Screen, back_to_menu_button, menu_data, menu_taps
from bot.i18n import Html, Translator, fit
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, ProviderFail
from bot.inferno.models import Credentials, Order, PowerState, ServerInfo, Service
from bot.storage import Database
from bot.storage.history import current_account
from bot.ui import (
    PAGE_SIZE,
    Page,
    clip,
    page_bounds,
    provider_error_text,
    retry_keyboard,
    show,
    typing,
)

log = logging.getLogger(__name__)


T = TypeVar("T")

# Longer input cannot be an address; checking first keeps a 10 KB paste away from the parser.
MAX_IP_INPUT = 64
BUTTON_LABEL_MAX = 48
# A server's name as the provider gives it, in the list and on the card (longer ones are clipped).
NAME_MAX = 64
# Power confirmations are answered within minutes; an older one is better asked again.
POWER_CONFIRMATION_TTL = 600.0


class ServersForm(StatesGroup):
    ip = State()


class ListAction(StrEnum):
    PAGE = "p"
    FIND = "f"


class ServerListCb(CallbackData, prefix="sl"):
    action: ListAction = ListAction.PAGE
    page: Page = 0


class PowerOp(StrEnum):
    REBOOT = "r"
    STOP = "s"
    BOOT = "b"

    @property
    def action(self) -> str:
        """The name used for confirmations, the action log and the provider call."""
        return {PowerOp.REBOOT: "reboot", PowerOp.STOP: "stop", PowerOp.BOOT: "boot"}[self]


class PowerStep(StrEnum):
    ASK = "a"
    DO = "d"


class PowerCb(CallbackData, prefix="pa"):
    """Power buttons: ASK shows a confirmation, DO carries a one-shot token and acts.

    The order id is only for navigation; the order acted on comes from the token's payload.
    """

    step: PowerStep
    op: PowerOp
    order_id: str
    token: str = ""


@dataclass(frozen=True)
class View:
    text: str
    markup: InlineKeyboardMarkup


def is_not_found(exc: InfernoError) -> bool:
    """The provider's answer to an order that is not in this account (or does not exist)."""
    return isinstance(exc, ProviderFail) and "not found" in (exc.message or "").lower()


def label(*parts: str | None) -> str:
    """Button text from provider strings: plain text (buttons are not HTML), kept short."""
    return clip(" · ".join(part for part in parts if part), BUTTON_LABEL_MAX)


def list_button(i18n: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=i18n("servers-btn-list"), callback_data=ServerListCb().pack())


def card_button(i18n: Translator, order_id: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=i18n("servers-btn-open"), callback_data=ServerCb(order_id=order_id).pack()
    )


def not_found_view(i18n: Translator) -> View:
    return View(
        i18n("servers-not-found"),
        InlineKeyboardMarkup(inline_keyboard=[[list_button(i18n)], [back_to_menu_button(i18n)]]),
    )


async def for_own_order(
    i18n: Translator,
    user_id: int,
    order_id: str,
    work: Callable[[str], Awaitable[T]],
    *,
    inferno: InfernoClient,
    creds: Credentials,
    action: str,
    retry: CallbackData,
    back_to_card: bool = False,
) -> T | View:
    """What ``work(order_id)`` gives for the order a button named, once it proved to be one of
    this user's own (:func:`~bot.handlers.common.own_order`); or the view to show instead:
    "not found in your account" for any other id, and for an order the provider does not find
    with the user's own key; else the provider error with Retry (``retry``), Back to the card if
    asked, and the server list. Nothing is packed from the id before it was checked: a forged
    one may not even fit in a button."""
    if not is_provider_id(order_id):
        return not_found_view(i18n)
    try:
        if await own_order(inferno, creds, order_id) is None:
            log.info("user=%s action=%s order=%s result=not-own", user_id, action, order_id)
            return not_found_view(i18n)
        return await work(order_id)
    except InfernoError as exc:
        not_found = is_not_found(exc)
        result = "not-found" if not_found else type(exc).__name__
        log.info("user=%s action=%s order=%s result=%s", user_id, action, order_id, result)
        if not_found:
            return not_found_view(i18n)
        back = (
            [
                InlineKeyboardButton(
                    text=i18n("btn-back"), callback_data=ServerCb(order_id=order_id).pack()
                )
            ]
            if back_to_card
            else []
        )
        markup = retry_keyboard(i18n, retry.pack(), *back, list_button(i18n))
        return View(provider_error_text(i18n, exc), markup)


# --------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class Entry:
    order_id: str | None
    service_id: str | None
    name: str
    ip: str | None
    status: str | None


def collect_servers(
    i18n: Translator, orders: list[Order], services: list[Service]
) -> tuple[list[Entry], int]:
    """The user's servers (active orders, matched with their services) and the unpaid count."""
    by_order = {s.order_id: s for s in services if s.order_id}
    pending = {o.id for o in orders if (o.status or "").lower() == "pending"}
    entries: list[Entry] = []
    seen: set[str] = set()
    for order in orders:
        if (order.status or "").lower() != "active":
            continue
        service = by_order.get(order.id)
        name = (service.name if service else None) or order.product_name
        entries.append(
            Entry(
                order_id=order.id,
                service_id=service.id if service else None,
                name=name or i18n("servers-unnamed", order=order.id),
                ip=service.ip if service else None,
                status=(service.status if service else None) or order.status,
            )
        )
        seen.add(order.id)
    # Services whose order the orders call does not list (e.g. suspended) are still servers.
    for service in services:
        if service.order_id in seen or service.order_id in pending:
            continue
        if (service.status or "").lower() in NOT_A_SERVER:
            continue
        entries.append(
            Entry(
                order_id=service.order_id,
                service_id=service.id,
                name=service.name or service.id,
                ip=service.ip,
                status=service.status,
            )
        )
    entries.sort(key=lambda e: newest_first(e.order_id or ""), reverse=True)
    return entries, len(pending)


async def list_view(
    i18n: Translator,
    creds: Credentials,
    inferno: InfernoClient,
    page: int,
    known_ips: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
) -> View:
    """The server list; ``known_ips`` (by order id) stand in for addresses the provider does
    not show while a server is being reinstalled, ``names`` (by order id) are the names the
    account's members gave its servers."""
    try:
        orders, services = await inferno.orders_and_services(creds)
    except InfernoError as exc:
        log.info("cid=%s servers list failed: %s", creds.cid, type(exc).__name__)
        retry = ServerListCb(page=max(page, 0)).pack()
        markup = retry_keyboard(i18n, retry, back_to_menu_button(i18n))
        return View(provider_error_text(i18n, exc), markup)
    entries, pending = collect_servers(i18n, orders, services)
    if names:
        entries = [
            replace(entry, name=names[entry.order_id])
            if entry.order_id is not None and entry.order_id in names
            else entry
            for entry in entries
        ]
    if known_ips:
        entries = [
            replace(entry, ip=known_ips.get(entry.order_id or ""))
            if not entry.ip and entry.order_id in known_ips
            else entry
            for entry in entries
        ]
    page, pages, start = page_bounds(len(entries), page, PAGE_SIZE)
    shown = entries[start : start + PAGE_SIZE]

    lines = [i18n("servers-title")]
    if entries:
        lines.append(i18n("servers-count", count=len(entries)))
    else:
        lines.append(i18n("servers-empty"))
    if shown:
        lines.append("")
    for entry in shown:
        status = i18n("servers-product-status", status=clip(entry.status or "—", 40))
        name = clip(entry.name, NAME_MAX)
        if entry.ip:
            lines.append(
                i18n("servers-item", name=name, ip=clip(entry.ip, 64), status=Html(status))
            )
        else:
            lines.append(i18n("servers-item-no-ip", name=name, status=Html(status)))
    if pages > 1:
        lines += ["", i18n("servers-page", page=page + 1, pages=pages)]
    if pending:
        lines += ["", i18n("servers-pending", count=pending)]

    rows: list[list[InlineKeyboardButton]] = []
    for entry in shown:
        callback: CallbackData
        if entry.order_id and is_provider_id(entry.order_id):
            callback = ServerCb(order_id=entry.order_id)
        elif entry.service_id and is_provider_id(entry.service_id):
            callback = ServiceCb(service_id=entry.service_id)
        else:
            continue
        rows.append(
            [InlineKeyboardButton(text=label(entry.name, entry.ip), callback_data=callback.pack())]
        )
    tail = [
        [
            InlineKeyboardButton(
                text=i18n("servers-btn-find"),
                callback_data=ServerListCb(action=ListAction.FIND, page=page).pack(),
            )
        ]
    ]
    if pending:
        tail.append(
            [InlineKeyboardButton(text=i18n("btn-orders"), callback_data=menu_data(Screen.ORDERS))]
        )
    if not entries:
        tail.append(
            [InlineKeyboardButton(text=i18n("btn-buy"), callback_data=menu_data(Screen.BUY))]
        )
    markup = paged_keyboard(i18n, rows, page, pages, lambda p: ServerListCb(page=p), *tail)
    return View("\n".join(lines), markup)


# --------------------------------------------------------------------------- the card


def power_text(i18n: Translator, info: ServerInfo) -> str:
    state = info.power_state
    if state is PowerState.UNKNOWN and info.real_state:
        # A word we do not know is shown as the panel sent it (the Translator escapes it).
        return i18n("servers-power", state=info.real_state)
    return i18n("servers-power", state=state.value)


async def service_id_of_order(
    inferno: InfernoClient, creds: Credentials, order_id: str
) -> str | None:
    """The service behind an order, for the card's link; the card is fine without it."""
    try:
        services = await inferno.services(creds)
    except InfernoError as exc:
        log.info("cid=%s services for the card failed: %s", creds.cid, type(exc).__name__)
        return None
    for service in services:
        if service.order_id == order_id and is_provider_id(service.id):
            return service.id
    return None


async def _names(db: Database) -> dict[str, str]:
    """Every name the members of the update's account gave its servers."""
    account = current_account()
    return await db.server_names.all(account) if account is not None else {}


async def render_card(
    *,
    i18n: Translator,
    info: ServerInfo,
    order_id: str,
    service_id: str | None,
    user_id: int,
    db: Database,
    notice: str | None = None,
) -> View:
    order = order_id
    order_status = (info.order_status or "").strip()
    status_text = Html(i18n("servers-order-status", status=order_status or "—"))
    refresh = InlineKeyboardButton(
        text=i18n("btn-refresh"),
        callback_data=ServerCb(action=ServerAction.REFRESH, order_id=order).pack(),
    )
    service_row = (
        [
            InlineKeyboardButton(
                text=i18n("servers-btn-service"),
                callback_data=ServiceCb(service_id=service_id).pack(),
            )
        ]
        if service_id
        else []
    )
    rows: list[list[InlineKeyboardButton]]
    state = info.power_state

    if order_status.lower() == "pending":
        text = i18n("servers-card-unpaid", order=order)
        rows = [
            [InlineKeyboardButton(text=i18n("btn-orders"), callback_data=menu_data(Screen.ORDERS))],
            [list_button(i18n)],
        ]
    elif order_status and order_status.lower() != "active":
        text = i18n("servers-card-inactive", order=order, order_status=status_text)
        rows = [service_row, [refresh, list_button(i18n)]]
    elif (info.real_state and state is PowerState.INSTALLING) or (
        not (info.vps_ok and info.ip) and await db.watches.is_open(user_id, order)
    ):
        text = i18n(
            "servers-card-installing",
            order=order,
            order_status=status_text,
            state=Html(power_text(i18n, info)),
        )
        rows = [[refresh, list_button(i18n)]]
    elif not (info.vps_ok and info.ip):
        text = i18n("servers-card-no-server", order=order, order_status=status_text)
        rows = [
            [
                InlineKeyboardButton(
                    text=i18n("servers-btn-install"),
                    callback_data=InstallStartCb(order_id=order).pack(),
                )
            ],
            service_row,
            [refresh, list_button(i18n)],
        ]
    else:
        shown_name = await server_name(db, order, info.name)
        text = i18n(
            "servers-card",
            name=clip(shown_name, NAME_MAX) if shown_name else i18n("servers-unnamed", order=order),
            ip=clip(info.ip, 64) if info.ip else info.ip,
            order=order,
            order_status=status_text,
            product_status=Html(i18n("servers-product-status", status=info.product_status or "—")),
            state=Html(power_text(i18n, info)),
        )
        power: list[InlineKeyboardButton] = []
        if state is not PowerState.STOPPED:
            power = [
                InlineKeyboardButton(
                    text=text,
                    callback_data=PowerCb(step=PowerStep.ASK, op=op, order_id=order).pack(),
                )
                for op, text in (
                    (PowerOp.REBOOT, i18n("servers-btn-reboot")),
                    (PowerOp.STOP, i18n("servers-btn-stop")),
                )
            ]
        if state is not PowerState.RUNNING:
            power.append(await boot_button(i18n, db, user_id, order))
        rows = [
            power,
            [
                InlineKeyboardButton(
                    text=i18n("servers-btn-reinstall"),
                    callback_data=InstallStartCb(order_id=order, mode=InstallMode.REINSTALL).pack(),
                ),
                InlineKeyboardButton(
                    text=i18n("servers-btn-password"),
                    callback_data=ShowPasswordCb(order_id=order).pack(),
                ),
            ],
            service_row,
            [
                InlineKeyboardButton(
                    text=i18n("servers-btn-name"),
                    callback_data=ServerNameCb(order_id=order).pack(),
                )
            ],
            [await monitor_button(i18n, db, user_id, order)],
            [refresh, list_button(i18n)],
        ]
    if notice:
        text = f"{notice}\n\n{text}"
    return View(text, InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row]))


async def monitor_button(
    i18n: Translator, db: Database, user_id: int, order_id: str
) -> InlineKeyboardButton:
    """The down-alert toggle (bot/handlers/notifications.py); on unless the user turned it off
    for this server of the account shown."""
    account = current_account()
    on = account is None or await db.alerts.is_monitored(user_id, account, order_id)
    return InlineKeyboardButton(
        text=i18n("alert-btn-monitor-on") if on else i18n("alert-btn-monitor-off"),
        callback_data=MonitorCb(order_id=order_id, on=not on).pack(),
    )


async def boot_button(
    i18n: Translator, db: Database, user_id: int, order_id: str, text: str | None = None
) -> InlineKeyboardButton:
    """Boot needs no "are you sure?", but a double tap must still boot once: one token per
    drawn button, consumed by the tap."""
    token = await db.confirmations.issue(
        user_id, PowerOp.BOOT.action, {"order_id": order_id}, ttl=POWER_CONFIRMATION_TTL
    )
    return InlineKeyboardButton(
        text=text or i18n("servers-btn-boot"),
        callback_data=PowerCb(
            step=PowerStep.DO, op=PowerOp.BOOT, order_id=order_id, token=token
        ).pack(),
    )


async def card_view(
    *,
    i18n: Translator,
    creds: Credentials,
    order_id: str,
    user_id: int,
    db: Database,
    inferno: InfernoClient,
    notice: str | None = None,
) -> View:
    """The card of a server, ``notice`` above it (or above what is shown instead)."""

    async def info_and_service(order_id: str) -> tuple[ServerInfo, str | None]:
        if inferno.has_fresh("services", creds):
            # The service id comes from the cache (first, while it is still fresh): no second
            # task to run it beside getinfo.
            service_id = await service_id_of_order(inferno, creds, order_id)
            return await inferno.get_info(creds, order_id), service_id
        return await asyncio.gather(
            inferno.get_info(creds, order_id), service_id_of_order(inferno, creds, order_id)
        )

    found = await for_own_order(
        i18n,
        user_id,
        order_id,
        info_and_service,
        inferno=inferno,
        creds=creds,
        action="card",
        retry=ServerCb(action=ServerAction.REFRESH, order_id=order_id),
    )
    if isinstance(found, View):
        return View(f"{notice}\n\n{found.text}", found.markup) if notice else found
    info, service_id = found
    return await render_card(
        i18n=i18n,
        info=info,
        order_id=order_id,
        service_id=service_id,
        user_id=user_id,
        db=db,
        notice=notice,
    )


# --------------------------------------------------------------------------- handlers


async def servers_command(
    message: Message,
    state: FSMContext,
    bot: Bot,
    i18n: Translator,
    account: Credentials,
    inferno: InfernoClient,
    db: Database,
) -> None:
    await state.clear()
    await typing(bot, message.chat.id)
    known = await db.watches.known_ips(user_id_of(message))
    view = await list_view(i18n, account, inferno, 0, known, await _names(db))
    await show(message, view.text, view.markup)


async def servers_page(
    query: CallbackQuery,
    callback_data: MenuCb | ServerListCb,
    state: FSMContext,
    i18n: Translator,
    account: Credentials,
    inferno: InfernoClient,
    db: Database,
) -> None:
    await state.clear()
    page = callback_data.page if isinstance(callback_data, ServerListCb) else 0
    known = await db.watches.known_ips(query.from_user.id)
    view = await list_view(i18n, account, inferno, page, known, await _names(db))
    await show(query, view.text, view.markup)


async def find_start(
    query: CallbackQuery, callback_data: ServerListCb, state: FSMContext, i18n: Translator
) -> None:
    await state.set_state(ServersForm.ip)
    await show(query, i18n("servers-find-prompt"), _find_markup(i18n, callback_data.page))


def _find_markup(i18n: Translator, page: int = 0) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=i18n("btn-cancel"), callback_data=ServerListCb(page=max(page, 0)).pack()
                )
            ]
        ]
    )


def parse_ip(text: str) -> str | None:
    candidate = text.strip()
    if not candidate or len(candidate) > MAX_IP_INPUT:
        return None
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


async def find_ip(
    message: Message,
    state: FSMContext,
    bot: Bot,
    i18n: Translator,
    account: Credentials,
    db: Database,
    inferno: InfernoClient,
) -> None:
    ip = parse_ip(message.text or "")
    if ip is None:
        if looks_like_credential(message.text or ""):
            # A password or key sent here by mistake must not stay in the chat. When Telegram
            # refuses, the request to delete it carries the way on instead.
            await delete_pasted_secret(
                message, i18n, i18n("servers-find-invalid"), _find_markup(i18n)
            )
            log.info("user=%s find-by-ip: a secret-like text", user_id_of(message))
            return
        await show(message, i18n("servers-find-invalid"), _find_markup(i18n))
        return
    await typing(bot, message.chat.id)
    user_id = user_id_of(message)
    try:
        # The address goes to the provider as typed, with the user's own key: a read that
        # changes nothing and names no order, which the provider answers from this account's
        # servers. Its answer is shown only when the order it names is one of the user's own,
        # so even a provider that looked further would reveal nothing through us. (Comparing
        # with the address of each own server instead would cost a getinfo per server.)
        info = await inferno.get_info_by_ip(account, ip)
        order_id = info.order_id or ""
        mine = await own_order(inferno, account, order_id) is not None
    except InfernoError as exc:
        # Stay in the step: the user can send another address (or the same one again).
        if is_not_found(exc):
            text = i18n("servers-find-not-found", ip=ip)
        else:
            text = provider_error_text(i18n, exc)
        log.info("user=%s find-by-ip result=%s", user_id, type(exc).__name__)
        await show(message, text, _find_markup(i18n))
        return
    if not mine:
        log.warning("user=%s find-by-ip: the answer names no order of the account", user_id)
        await show(message, i18n("servers-find-not-found", ip=ip), _find_markup(i18n))
        return
    await state.clear()
    view = await render_card(
        i18n=i18n,
        info=info,
        order_id=order_id,
        service_id=await service_id_of_order(inferno, account, order_id),
        user_id=user_id,
        db=db,
    )
    await show(message, view.text, view.markup)


async def find_ip_not_text(message: Message, i18n: Translator) -> None:
    await show(message, i18n("servers-find-invalid"), _find_markup(i18n))


async def server_card(
    query: CallbackQuery,
    callback_data: ServerCb,
    i18n: Translator,
    account: Credentials,
    db: Database,
    inferno: InfernoClient,
    bot: Bot,
) -> None:
    view = await card_view(
        i18n=i18n,
        creds=account,
        order_id=callback_data.order_id,
        user_id=query.from_user.id,
        db=db,
        inferno=inferno,
    )
    if callback_data.action is ServerAction.NEW_MESSAGE:
        await bot.send_message(query.from_user.id, fit(view.text), reply_markup=view.markup)
    else:
        await show(query, view.text, view.markup)


def create_linked_area() -> LinkedArea:
    """The server list, find by IP, the server card and /servers."""
    area = linked_area(
        __name__,
        DataPrefix(ServerCb, ServerListCb, exact=menu_taps(Screen.SERVERS)),
        commands=["servers"],
        dialogs=[ServersForm],
    )
    router = area.router
    router.message.register(servers_command, Command("servers"))
    router.callback_query.register(servers_page, ServerListCb.filter(F.action == ListAction.PAGE))
    router.callback_query.register(servers_page, MenuCb.filter(F.screen == Screen.SERVERS))
    router.callback_query.register(find_start, ServerListCb.filter(F.action == ListAction.FIND))
    router.message.register(find_ip, StateFilter(ServersForm.ip), TypedText())
    router.message.register(find_ip_not_text, StateFilter(ServersForm.ip), NoText())
    router.callback_query.register(server_card, ServerCb.filter())
    return area
