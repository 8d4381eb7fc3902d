"""Settings → Notifications (which alerts come, renewal notice days, the low-balance threshold)
and the server card's "alert me if it goes down" toggle. The alerts are sent by
:mod:`bot.services.alerts`."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import partial

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers.callbacks import MonitorCb, ServerAction, ServerCb
from bot.handlers.common import user_id_of
from bot.handlers.filters import DataPrefix, NoText, TypedText
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.navigation import Screen, menu_data
from bot.handlers.servers import View, for_own_order, render_card, service_id_of_order
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.models import Credentials
from bot.storage import Database
from bot.storage.accounts import Access
from bot.storage.alerts import AlertPrefs
from bot.ui import show

log = logging.getLogger(__name__)

# The renewal notice days a tap cycles through.
DAY_PRESETS: tuple[tuple[int, ...], ...] = ((7, 3, 1), (14, 7, 3, 1), (3, 1), (1,))
MAX_THRESHOLD = Decimal(1_000_000)


class NotifyAction(StrEnum):
    OPEN = "o"
    DOWN = "d"
    RENEWALS = "r"
    UNPAID = "u"
    LOW_BALANCE = "l"
    TEAM_READY = "m"
    DAYS = "n"
    THRESHOLD = "t"


class NotifyCb(CallbackData, prefix="nt"):
    action: NotifyAction
    # The state a toggle asks for (a second tap on an old copy sets, never flips back).
    on: bool = False
    # DAYS: the preset to switch to.
    preset: int = 0


class NotifyForm(StatesGroup):
    threshold = State()


def open_button(i18n: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=i18n("notify-btn-open"), callback_data=NotifyCb(action=NotifyAction.OPEN).pack()
    )


def _days_text(days: tuple[int, ...]) -> str:
    return "/".join(str(d) for d in days) or "—"


def notify_view(i18n: Translator, prefs: AlertPrefs, cid: int, notice: str | None = None) -> View:
    lines = [
        i18n("notify-title", cid=str(cid)),
        "",
        i18n(
            "notify-help",
            days=_days_text(prefs.notice_days),
            threshold=prefs.balance_threshold,
        ),
    ]
    if notice:
        lines[:0] = [notice, ""]

    def toggle(action: NotifyAction, on: bool, name: str) -> list[InlineKeyboardButton]:
        label = i18n("notify-on", name=name) if on else i18n("notify-off", name=name)
        return [
            InlineKeyboardButton(
                text=label, callback_data=NotifyCb(action=action, on=not on).pack()
            )
        ]

    try:
        current = DAY_PRESETS.index(prefs.notice_days)
    except ValueError:
        current = -1
    next_preset = (current + 1) % len(DAY_PRESETS)
    rows = [
        toggle(NotifyAction.DOWN, prefs.down, i18n("notify-kind-down")),
        toggle(NotifyAction.RENEWALS, prefs.renewals, i18n("notify-kind-renewals")),
        [
            InlineKeyboardButton(
                text=i18n("notify-btn-days", days=_days_text(prefs.notice_days)),
                callback_data=NotifyCb(action=NotifyAction.DAYS, preset=next_preset).pack(),
            )
        ],
        toggle(NotifyAction.UNPAID, prefs.unpaid, i18n("notify-kind-unpaid")),
        toggle(NotifyAction.LOW_BALANCE, prefs.low_balance, i18n("notify-kind-low-balance")),
        toggle(NotifyAction.TEAM_READY, prefs.team_ready, i18n("notify-kind-team-ready")),
        [
            InlineKeyboardButton(
                text=i18n("notify-btn-threshold", threshold=prefs.balance_threshold),
                callback_data=NotifyCb(action=NotifyAction.THRESHOLD).pack(),
            )
        ],
        [InlineKeyboardButton(text=i18n("btn-back"), callback_data=menu_data(Screen.SETTINGS))],
    ]
    return View("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))


async def open_screen(
    query: CallbackQuery,
    state: FSMContext,
    i18n: Translator,
    db: Database,
    account: Credentials,
) -> None:
    await state.clear()
    view = notify_view(i18n, await db.alerts.prefs(query.from_user.id), account.cid)
    await show(query, view.text, view.markup)


_TOGGLES = {
    NotifyAction.DOWN: "down",
    NotifyAction.RENEWALS: "renewals",
    NotifyAction.UNPAID: "unpaid",
    NotifyAction.LOW_BALANCE: "low_balance",
    NotifyAction.TEAM_READY: "team_ready",
}


async def toggle(
    query: CallbackQuery,
    callback_data: NotifyCb,
    i18n: Translator,
    db: Database,
    account: Credentials,
) -> None:
    user_id = query.from_user.id
    column = _TOGGLES[callback_data.action]
    prefs = await db.alerts.set_prefs(user_id, **{column: callback_data.on})
    log.info("user=%s action=notify-%s result=%s", user_id, column, callback_data.on)
    view = notify_view(i18n, prefs, account.cid)
    await show(query, view.text, view.markup)


async def cycle_days(
    query: CallbackQuery,
    callback_data: NotifyCb,
    i18n: Translator,
    db: Database,
    account: Credentials,
) -> None:
    user_id = query.from_user.id
    if 0 <= callback_data.preset < len(DAY_PRESETS):
        prefs = await db.alerts.set_prefs(user_id, notice_days=DAY_PRESETS[callback_data.preset])
    else:
        prefs = await db.alerts.prefs(user_id)  # a forged preset changes nothing
    view = notify_view(i18n, prefs, account.cid)
    await show(query, view.text, view.markup)


def _cancel_markup(i18n: Translator) -> InlineKeyboardMarkup:
    cancel = NotifyCb(action=NotifyAction.OPEN).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=i18n("btn-cancel"), callback_data=cancel)]]
    )


async def ask_threshold(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await state.set_state(NotifyForm.threshold)
    await show(query, i18n("notify-threshold-prompt"), _cancel_markup(i18n))


def parse_threshold(text: str) -> str | None:
    cleaned = text.strip().replace(",", ".")
    if not cleaned or len(cleaned) > 16:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value > MAX_THRESHOLD:
        return None
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return f"{value.quantize(Decimal('0.01')):f}"


async def threshold_typed(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    db: Database,
    account: Credentials,
) -> None:
    threshold = parse_threshold(message.text or "")
    if threshold is None:
        await show(message, i18n("notify-threshold-invalid"), _cancel_markup(i18n))
        return
    await state.clear()
    user_id = user_id_of(message)
    prefs = await db.alerts.set_prefs(user_id, balance_threshold=threshold)
    log.info("user=%s action=notify-threshold result=ok", user_id)
    view = notify_view(
        i18n, prefs, account.cid, notice=i18n("notify-threshold-saved", threshold=threshold)
    )
    await show(message, view.text, view.markup)


async def threshold_not_text(message: Message, i18n: Translator) -> None:
    await show(message, i18n("notify-threshold-invalid"), _cancel_markup(i18n))


async def toggle_monitor(
    query: CallbackQuery,
    callback_data: MonitorCb,
    i18n: Translator,
    db: Database,
    inferno: InfernoClient,
    account: Credentials,
    access: Access,
) -> None:
    """The card's toggle, for this member alone: only for a server of the account (a forged or stale
    button names an order that is not, and gets "not found" without a provider call)."""
    user_id = query.from_user.id
    order_id = callback_data.order_id
    found = await for_own_order(
        i18n,
        user_id,
        order_id,
        partial(inferno.get_info, account),
        inferno=inferno,
        creds=account,
        action="monitor",
        retry=ServerCb(action=ServerAction.REFRESH, order_id=order_id),
    )
    if isinstance(found, View):
        await show(query, found.text, found.markup)
        return
    await db.alerts.set_monitored(user_id, access.account.id, order_id, callback_data.on)
    log.info("user=%s action=monitor order=%s result=%s", user_id, order_id, callback_data.on)
    view = await render_card(
        i18n=i18n,
        info=found,
        order_id=order_id,
        service_id=await service_id_of_order(inferno, account, order_id),
        user_id=user_id,
        db=db,
    )
    await show(query, view.text, view.markup)


def create_linked_area() -> LinkedArea:
    """The notification settings and the card's down-alert toggle."""
    area = linked_area(__name__, DataPrefix(NotifyCb, MonitorCb), dialogs=[NotifyForm])
    router = area.router
    router.callback_query.register(open_screen, NotifyCb.filter(F.action == NotifyAction.OPEN))
    router.callback_query.register(toggle, NotifyCb.filter(F.action.in_(set(_TOGGLES))))
    router.callback_query.register(cycle_days, NotifyCb.filter(F.action == NotifyAction.DAYS))
    router.callback_query.register(
        ask_threshold, NotifyCb.filter(F.action == NotifyAction.THRESHOLD)
    )
    router.message.register(threshold_typed, StateFilter(NotifyForm.threshold), TypedText())
    router.message.register(threshold_not_text, StateFilter(NotifyForm.threshold), NoText())
    router.callback_query.register(toggle_monitor, MonitorCb.filter())
    return area
