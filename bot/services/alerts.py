"""Alerts: the bot watches the whole account and tells its members what needs them.

Two supervised passes, both bounded by the one limiter the install watcher shares:

* the account check (every ``ALERT_INTERVAL`` per account): ``orders``, ``services`` and
  ``balance`` once each — renewals due, services suspended or terminated, unpaid orders, a low
  balance; it also tells the monitor which orders are Active servers;
* the monitor (every ``MONITOR_INTERVAL``): ``getinfo`` of each monitored Active server — down
  after two checks in a row that see it not running, back up once it runs again. A change that
  follows the user's own power or install action through the bot (the action log, an open
  install watch) is not an outage, nor is a provider that cannot be reached.

Both passes work per account, not per user: an account is read once however many members
share it, and each member who is told gets their own copy, rendered in their language with
their settings and with the buttons their role may use (only the owner hears that the key was
refused or the bot blocked). What a check finds is stored (:mod:`bot.storage.alerts`) in one
transaction with the alerts it raises, keyed by their event key; the outbox is then sent
through the process's one :class:`~bot.services.pacer.PushPacer`, each row marked sent right
after Telegram took it. A restart or a ``kill -9`` therefore loses no alert and repeats at most
the one being sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, TelegramObject, User

from bot.account_scope import drawing_for, names_account
from bot.config import Settings
from bot.formatting import format_date, format_money, parse_date
from bot.handlers.callbacks import ServerAction, ServerCb, ServiceCb
from bot.handlers.common import account_name
from bot.handlers.orders import OrderAskCancelCb
from bot.handlers.servers import PowerCb, PowerOp, PowerStep
from bot.i18n import Translator, TranslatorHub
from bot.inferno.client import InfernoClient
from bot.inferno.errors import AccessDenied, InfernoError, InvalidCredentials
from bot.inferno.models import Balance, Credentials, Order, PowerState, Service
from bot.services.background import BackgroundTasks, uninterrupted
from bot.services.bounded import WORKERS_PER_SLOT, map_bounded
from bot.services.pacer import FAILED, SENT, PushPacer
from bot.storage import Database
from bot.storage.accounts import AccountInfo, Role
from bot.storage.alerts import (
    DOWN,
    IDLE,
    SUSPECT,
    UP,
    AccountCheck,
    Addressed,
    AlertPrefs,
    CheckState,
    DueAccount,
    MonitoredServer,
    NewAlert,
    PendingAlert,
    Recipient,
    Seen,
    SeenUpdate,
    ServerUpdate,
)
from bot.storage.errors import DecryptionError
from bot.ui import clip

log = logging.getLogger(__name__)

ACCOUNTS_TASK = "alerts-accounts"
MONITOR_TASK = "alerts-monitor"

# How often due accounts are looked for (a link wakes the pass at once; this is the backstop).
ACCOUNT_TICK = 20.0
ACCOUNT_BATCH = 2000
# A refused key or a whitelist block: checks back off up to this.
MAX_BACKOFF = 6 * 3600.0
# A server not running within this long after the user's own action through the bot is theirs.
GRACE = 1800.0
USER_ACTIONS = ("stop", "reboot", "boot", "install", "reinstall")
# Of those, the ones after which the server should be running again. One that has not come back
# within the grace is down after all; actions older than a day say nothing of it any more.
RUN_ACTIONS = ("reboot", "boot", "install", "reinstall")
RUN_LOOKBACK = 86400.0
SECOND_REMINDER_AFTER = 86400.0
# A Boot button in an alert stays usable for a day (power buttons on cards: 10 minutes).
BOOT_TOKEN_TTL = 86400.0
SENT_CHECK_BATCH = 100
# How alerts are counted among the pushes (metrics).
PUSH_KIND = "alert"


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """A server went down or came back up: one event of the account, rendered for each member
    in their own language (:meth:`render`)."""

    kind: str  # "down" or "up"
    order_id: str
    occurrence: str
    name: str | None
    ip: str
    cid: int
    real_state: str = ""
    minutes: int = 0

    def render(self, i18n: Translator) -> NewAlert:
        name = _server_name(i18n, self.name, self.order_id)
        if self.kind == "up":
            text = i18n("alert-up", name=name, ip=self.ip, cid=str(self.cid), minutes=self.minutes)
            return NewAlert(
                "up", self.order_id, self.occurrence, text, _open_row(i18n, self.order_id)
            )
        text = i18n(
            "alert-down",
            name=name,
            ip=self.ip,
            state=self.real_state,
            cid=str(self.cid),
            order=self.order_id,
        )
        rows = json.loads(_open_row(i18n, self.order_id))
        rows[0].insert(0, {"text": i18n("alert-btn-boot"), "boot": self.order_id})
        return NewAlert("down", self.order_id, self.occurrence, text, json.dumps(rows))


class AlertService:
    def __init__(
        self,
        *,
        db: Database,
        inferno: InfernoClient,
        hub: TranslatorHub,
        settings: Settings,
        limiter: asyncio.Semaphore,
        pacer: PushPacer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._inferno = inferno
        self._hub = hub
        self._settings = settings
        self._limiter = limiter
        self._pacer = pacer or PushPacer()
        # Public so that tests can move time on.
        self.clock = clock
        # One pass of each kind at a time (a test may run one beside the loop's).
        self._account_lock = asyncio.Lock()
        self._monitor_lock = asyncio.Lock()
        self._deliver_lock = asyncio.Lock()
        # Users who blocked the bot: no pushes until they write again (see UnblockMiddleware).
        self._blocked: set[int] = set()

    @property
    def account_tick(self) -> float:
        return min(ACCOUNT_TICK, self._settings.alert_interval)

    async def load_blocked(self) -> None:
        self._blocked = await self._db.alerts.blocked_users()

    async def unblock(self, user_id: int) -> None:
        if user_id in self._blocked:
            self._blocked.discard(user_id)
            await self._db.alerts.unblock(user_id)
            log.info("user=%s alerts: writes again, pushes resume", user_id)

    async def check_if_linked(self, user_id: int, background: BackgroundTasks) -> None:
        """Wakes the account pass when ``user_id`` is linked now: a newly linked account (the
        demo's too) hears of a renewal due within seconds, not at the next tick."""
        user = await self._db.users.get(user_id)
        if user is not None and user.linked:
            log.info("user=%s alerts: linked, first account check now", user_id)
            background.wake(ACCOUNTS_TASK)

    # ------------------------------------------------------------------ account checks

    async def account_pass(self, bot: Bot) -> float | None:
        """Checks every account that is due; returns the seconds until the next pass."""
        async with self._account_lock:
            return await self._account_pass(bot)

    async def _account_pass(self, bot: Bot) -> float | None:
        now = self.clock()
        due = await self._db.alerts.due_accounts(now, ACCOUNT_BATCH)
        if due:
            ids = [d.account_id for d in due]
            keys = await self._db.accounts.credentials(ids)
            recipients = await self._db.alerts.recipients(ids)
            results = await map_bounded(
                lambda d: self._check_account(
                    d, keys.get(d.account_id), recipients.get(d.account_id, [])
                ),
                due,
                WORKERS_PER_SLOT * self._settings.watch_concurrency,
            )
            for item, result in zip(due, results, strict=True):
                if isinstance(result, BaseException):
                    log.error(
                        "account=%s alerts: account check failed: %r", item.account_id, result
                    )
                elif result is not None:
                    await self._db.alerts.apply(result)
        delay = await self.deliver(bot)
        if len(due) >= ACCOUNT_BATCH:
            return 0.0
        return delay

    async def _check_account(
        self,
        due: DueAccount,
        key: tuple[AccountInfo, str] | None,
        recipients: list[Recipient],
    ) -> AccountCheck | None:
        """One check of an account for all of its members: the provider is read once, each
        member gets the alerts their own settings ask for, in their own language."""
        if key is None or not recipients:
            return None  # the key cannot be decrypted, or nobody is left to tell
        account, api_key = key
        creds = Credentials(cid=account.cid, key=api_key)
        state = due.state or CheckState(account.id, 0.0)
        now = self.clock()
        interval = self._settings.alert_interval
        try:
            async with self._limiter:
                orders = await self._inferno.orders(creds, cache=False)
            async with self._limiter:
                services = await self._inferno.services(creds, cache=False)
            async with self._limiter:
                balance = await self._inferno.balance(creds)
        except (InvalidCredentials, AccessDenied) as exc:
            failures = state.failures + 1
            alerts = []
            if not state.refused_told:
                # Only the owner can issue a new key or whitelist an address: only they hear.
                for owner in (r for r in recipients if r.role == Role.OWNER.value):
                    i18n = self._hub.get(owner.language)
                    text = (
                        i18n("alert-key-refused", cid=str(account.cid))
                        if isinstance(exc, InvalidCredentials)
                        else i18n("alert-blocked", cid=str(account.cid))
                    )
                    # Keyed by the due time of the check: a second check of the same state
                    # adds none.
                    alert = NewAlert(
                        "refused", str(account.cid), str(int(state.next_check_at)), text
                    )
                    alerts.append(Addressed(owner.user_id, account.id, alert))
            log.info(
                "account=%s cid=%s alerts: %s, backing off",
                account.id,
                account.cid,
                type(exc).__name__,
            )
            return AccountCheck(
                state=CheckState(
                    account.id,
                    now + min(interval * 2 ** (failures - 1), MAX_BACKOFF),
                    failures,
                    True,
                ),
                alerts=alerts,
            )
        except InfernoError as exc:
            # The provider cannot be reached: nothing is known, nothing is said.
            failures = state.failures + 1
            log.info("account=%s alerts: provider %s, backing off", account.id, type(exc).__name__)
            return AccountCheck(
                state=CheckState(
                    account.id,
                    now + min(self._settings.monitor_interval * 2**failures, interval),
                    failures,
                    state.refused_told,
                )
            )
        first = due.state is None
        seen = {} if first else await self._db.alerts.seen(account.id)
        unpaid_sent = {} if first else await self._db.alerts.sent_at(account.id, "unpaid")
        # What the check saw is the account's: the same for every member, stored once.
        updates: dict[tuple[str, str], SeenUpdate] = {}
        alerts = []
        currency = balance.currency or self._settings.currency
        cid = str(account.cid)
        for member in recipients:
            i18n = self._hub.get(member.language)
            prefs = member.prefs
            sent = {
                (subject, occurrence): at
                for (user_id, subject, occurrence), at in unpaid_sent.items()
                if user_id == member.user_id
            }
            found = self._services(i18n, prefs, cid, services, balance, currency, seen, updates)
            found += self._unpaid(i18n, prefs, cid, orders, seen, sent, updates, now)
            found += self._balance(i18n, prefs, cid, balance, currency, seen, updates)
            alerts += [Addressed(member.user_id, account.id, alert) for alert in found]
        active = [o.id for o in orders if (o.status or "").strip().lower() == "active"]
        return AccountCheck(
            state=CheckState(account.id, now + interval, 0, False),
            active_orders=active,
            seen=list(updates.values()),
            alerts=alerts,
        )

    def _services(
        self,
        i18n: Translator,
        prefs: AlertPrefs,
        cid: str,
        services: list[Service],
        balance: Balance,
        currency: str,
        seen: dict[tuple[str, str], Seen],
        updates: dict[tuple[str, str], SeenUpdate],
    ) -> list[NewAlert]:
        alerts: list[NewAlert] = []
        today = dt.date.fromtimestamp(self.clock())
        for service in services:
            status = (service.status or "").strip().lower()
            before = seen.get(("status", service.id))
            if before is None or before.value != status:
                updates[("status", service.id)] = SeenUpdate(
                    "status", service.id, status, self.clock()
                )
            name = clip(service.name or service.product or service.id, 100)
            button = _button(i18n("alert-btn-service"), ServiceCb(service_id=service.id).pack())
            if (
                prefs.renewals
                and status in ("suspended", "terminated")
                and before is not None
                and before.value != status
            ):
                text = (
                    i18n("alert-service-suspended", name=name, service=service.id, cid=cid)
                    if status == "suspended"
                    else i18n("alert-service-terminated", name=name, service=service.id, cid=cid)
                )
                alerts.append(
                    NewAlert("status", service.id, f"{status}:{int(before.seen_at)}", text, button)
                )
            due = parse_date(service.next_due or "")
            if not prefs.renewals or status != "active" or due is None:
                continue
            days = (due - today).days
            windows = [t for t in prefs.notice_days if 0 <= days <= t]
            if not windows:
                continue
            threshold = min(windows)
            amount_currency = service.currency or currency
            lines = [
                i18n(
                    "alert-renewal",
                    name=name,
                    service=service.id,
                    cid=cid,
                    date=format_date(i18n, due),
                    days=days,
                    amount=format_money(service.amount or "—", amount_currency),
                    balance=format_money(balance.amount, currency),
                )
            ]
            top_up = _shortfall(service.amount, balance.amount)
            if top_up is not None:
                lines.append(
                    i18n("alert-renewal-top-up", amount=format_money(top_up, amount_currency))
                )
            alerts.append(
                NewAlert(
                    "renewal",
                    service.id,
                    f"{due.isoformat()}:{threshold}",
                    "\n".join(lines),
                    button,
                )
            )
        return alerts

    def _unpaid(
        self,
        i18n: Translator,
        prefs: AlertPrefs,
        cid: str,
        orders: list[Order],
        seen: dict[tuple[str, str], Seen],
        sent: dict[tuple[str, str], float],
        updates: dict[tuple[str, str], SeenUpdate],
        now: float,
    ) -> list[NewAlert]:
        alerts: list[NewAlert] = []
        for order in orders:
            if (order.status or "").strip().lower() != "pending":
                continue
            first = seen.get(("pending", order.id))
            if first is None:
                updates[("pending", order.id)] = SeenUpdate("pending", order.id, "1", now)
            if not prefs.unpaid:
                continue
            placed = _timestamp(order.date)
            started = placed if placed is not None else (first.seen_at if first else now)
            if now - started < self._settings.unpaid_order_after:
                continue
            first_sent = sent.get((order.id, "1"))
            if first_sent is None:
                occurrence, key = "1", "alert-unpaid"
            elif (order.id, "2") not in sent and now - first_sent >= SECOND_REMINDER_AFTER:
                occurrence, key = "2", "alert-unpaid-again"
            else:
                continue
            text = (
                i18n(
                    "alert-unpaid",
                    order=order.id,
                    cid=cid,
                    product=clip(order.product_name or "—", 100),
                    amount=order.amount or "—",
                )
                if key == "alert-unpaid"
                else i18n(
                    "alert-unpaid-again",
                    order=order.id,
                    cid=cid,
                    product=clip(order.product_name or "—", 100),
                    amount=order.amount or "—",
                )
            )
            rows: list[list[dict[str, str]]] = [
                [
                    {
                        "text": i18n("alert-btn-cancel"),
                        "data": OrderAskCancelCb(order_id=order.id).pack(),
                    }
                ]
            ]
            template = self._settings.payment_url_template
            if template and order.invoice_id and order.invoice_id.isdigit():
                url = template.replace("{invoice_id}", order.invoice_id)
                rows[0].insert(0, {"text": i18n("alert-btn-pay"), "url": url})
            alerts.append(NewAlert("unpaid", order.id, occurrence, text, json.dumps(rows)))
        return alerts

    def _balance(
        self,
        i18n: Translator,
        prefs: AlertPrefs,
        cid: str,
        balance: Balance,
        currency: str,
        seen: dict[tuple[str, str], Seen],
        updates: dict[tuple[str, str], SeenUpdate],
    ) -> list[NewAlert]:
        if not prefs.low_balance:
            return []
        amount = _decimal(balance.amount)
        threshold = _decimal(prefs.balance_threshold)
        if amount is None or threshold is None:
            return []
        # Each member has a threshold of their own, so each has their own armed state.
        key = ("balance", str(prefs.user_id))
        before = seen.get(key)
        armed, count = True, 0
        if before is not None:
            mode, _, number = before.value.partition(":")
            armed, count = mode == "armed", int(number or 0)
        if amount < threshold and armed:
            updates[key] = SeenUpdate(*key, f"fired:{count}", self.clock())
            text = i18n(
                "alert-low-balance",
                cid=cid,
                balance=format_money(balance.amount, currency),
                threshold=format_money(prefs.balance_threshold, currency),
            )
            return [NewAlert("low_balance", "", str(count), text)]
        if amount >= threshold and not armed:
            updates[key] = SeenUpdate(*key, f"armed:{count + 1}", self.clock())
        return []

    # ------------------------------------------------------------------ the monitor

    async def monitor_pass(self, bot: Bot) -> float | None:
        async with self._monitor_lock:
            return await self._monitor_pass(bot)

    async def _monitor_pass(self, bot: Bot) -> float | None:
        servers = await self._db.alerts.monitored()
        if servers:
            ids = sorted({s.account_id for s in servers})
            keys = await self._db.accounts.credentials(ids)
            results = await map_bounded(
                lambda s: self._check_server(s, keys.get(s.account_id)),
                servers,
                WORKERS_PER_SLOT * self._settings.watch_concurrency,
            )
            recipients = await self._db.alerts.recipients(ids)
            mutes = await self._db.alerts.mutes(ids)
            updates: list[ServerUpdate] = []
            alerts: list[Addressed] = []
            for server, result in zip(servers, results, strict=True):
                if isinstance(result, BaseException):
                    log.error("order=%s alerts: down check failed: %r", server.order_id, result)
                    continue
                if result is None:
                    continue
                update, event = result
                updates.append(update)
                if event is not None:
                    alerts += await self._address(
                        server, event, recipients.get(server.account_id, []), mutes
                    )
            await self._db.alerts.save_servers(updates, alerts)
        return await self.deliver(bot)

    async def _address(
        self,
        server: MonitoredServer,
        event: ServerEvent,
        recipients: list[Recipient],
        mutes: set[tuple[int, int, str]],
    ) -> list[Addressed]:
        """The down or up alert for each member it is for, in their language: "down" to those
        with down alerts on for this server, "back up" to those who were told it was down."""
        if event.kind == "up":
            told = await self._db.alerts.told(
                server.account_id, "down", server.order_id, event.occurrence
            )
            members = [r for r in recipients if r.user_id in told]
        else:
            members = [
                r
                for r in recipients
                if r.prefs.down and (r.user_id, server.account_id, server.order_id) not in mutes
            ]
        return [
            Addressed(
                member.user_id, server.account_id, event.render(self._hub.get(member.language))
            )
            for member in members
        ]

    async def _check_server(
        self, server: MonitoredServer, key: tuple[AccountInfo, str] | None
    ) -> tuple[ServerUpdate, ServerEvent | None] | None:
        if key is None or key[0].cid != server.cid:
            return None
        account, api_key = key
        creds = Credentials(cid=account.cid, key=api_key)
        try:
            async with self._limiter:
                info = await self._inferno.get_info(creds, server.order_id)
        except InfernoError:
            # A provider that cannot be reached is not a server that is down.
            return None
        now = self.clock()
        running = info.power_state is PowerState.RUNNING
        # The name the account's members gave it, if any.
        name = server.local_name or info.name or None
        ip = info.ip or None
        order_status = (info.order_status or "").strip().lower()
        state, since, event = server.state, server.since, None
        shown_ip = clip(ip or server.ip or "—", 64)
        if order_status and order_status != "active":
            state, since = IDLE, None
        elif running:
            if server.state == DOWN:
                event = ServerEvent(
                    "up",
                    server.order_id,
                    str(int(server.since or 0)),
                    name or server.name,
                    shown_ip,
                    server.cid,
                    minutes=max(0, int((now - (server.since or now)) // 60)),
                )
            state, since = UP, None
        elif server.state in (UP, SUSPECT):
            if await self._db.alerts.acted_since(
                server.account_id, server.order_id, USER_ACTIONS, now - GRACE
            ):
                # A member stopped, rebooted or (re)installed it through the bot lately.
                state, since = IDLE, None
            elif server.state == UP:
                state, since = SUSPECT, now
            else:
                state = DOWN
                event = ServerEvent(
                    "down",
                    server.order_id,
                    str(int(server.since or now)),
                    name or server.name,
                    shown_ip,
                    server.cid,
                    real_state=clip(info.real_state or info.power_state.value, 64),
                )
        elif server.state == IDLE and await self._db.alerts.asked_to_run(
            server.account_id,
            server.order_id,
            run=RUN_ACTIONS,
            actions=USER_ACTIONS,
            since=now - RUN_LOOKBACK,
            before=now - GRACE,
        ):
            # A reboot or boot through the bot that has not brought it back within the grace:
            # watched again, and told as down if the next check still sees it so.
            state, since = SUSPECT, now
        if (
            state == server.state
            and since == server.since
            and (name, ip)
            == (
                server.name,
                server.ip,
            )
        ):
            return None
        update = ServerUpdate(server.account_id, server.order_id, state, since, name, ip)
        return update, event

    # ------------------------------------------------------------------ sending

    async def deliver(self, bot: Bot) -> float | None:
        """Sends the outbox; returns how long Telegram asked to wait, None when all went."""
        async with self._deliver_lock:
            while True:
                batch = await self._db.alerts.unsent(SENT_CHECK_BATCH)
                batch = [a for a in batch if a.user_id not in self._blocked]
                if not batch:
                    return None
                for alert in batch:
                    # Flood control, met by any sender of pushes: the outbox waits for a later
                    # pass rather than hold this one (the checks go on meanwhile).
                    held = self._pacer.held()
                    if held > 0:
                        return held
                    wait = await self._send(bot, alert)
                    if wait is not None:
                        return wait

    async def _send(self, bot: Bot, alert: PendingAlert) -> float | None:
        try:
            access = await self._db.accounts.access(alert.user_id, alert.account_id)
        except DecryptionError:
            access = None
        if access is None:
            # No longer a member of that account since it was stored (unlinking and revoking
            # delete the outbox; this is the race).
            await self._db.alerts.mark_sent([alert.key])
            return None
        user = await self._db.users.get(alert.user_id)
        language = user.language if user is not None else None
        markup = await self._markup(alert, access.role)
        named = names_account(access.accounts, access.role)
        # Every push names its account, by its label when it has one.
        i18n = self._hub.get(language)
        text = i18n("push-account", account=account_name(i18n, access.account)) + "\n" + alert.text
        await self._pacer.wait()
        # The buttons act on the alert's account (bound to it when the user may use several)
        # and leave out what the member's role may not use; the task copies this context.
        with drawing_for(access.account.id if named else None, access.role):
            return await uninterrupted(self._send_and_mark(bot, alert, text, markup))

    async def _send_and_mark(
        self, bot: Bot, alert: PendingAlert, text: str, markup: InlineKeyboardMarkup | None
    ) -> float | None:
        try:
            await bot.send_message(alert.user_id, text, reply_markup=markup)
        except TelegramRetryAfter as exc:
            log.info("alerts: flood control (%ss); every push waits", exc.retry_after)
            self._pacer.flood(PUSH_KIND, exc.retry_after)
            return float(exc.retry_after)
        except TelegramForbiddenError:
            log.info("user=%s blocked the bot: no alerts until they write", alert.user_id)
            self._pacer.count(PUSH_KIND, FAILED)
            self._blocked.add(alert.user_id)
            await self._db.alerts.block(alert.user_id, self.clock())
            return None
        except TelegramBadRequest as exc:
            log.warning("user=%s alert %s not deliverable: %s", alert.user_id, alert.kind, exc)
            self._pacer.count(PUSH_KIND, FAILED)
        except TelegramAPIError as exc:
            log.info("alerts: Telegram failed (%s); the outbox waits", exc.message)
            self._pacer.count(PUSH_KIND, FAILED)
            return 5.0
        else:
            self._pacer.count(PUSH_KIND, SENT)
        await self._db.alerts.mark_sent([alert.key])
        log.info(
            "user=%s alert=%s subject=%s occurrence=%s sent",
            alert.user_id,
            alert.kind,
            alert.subject,
            alert.occurrence,
        )
        return None

    async def _markup(self, alert: PendingAlert, role: Role) -> InlineKeyboardMarkup | None:
        if not alert.markup:
            return None
        rows: list[list[InlineKeyboardButton]] = []
        for row in json.loads(alert.markup):
            buttons = []
            for spec in row:
                if "boot" in spec and not role.allows(Role.OPERATOR):
                    continue  # a viewer may not boot: no token, no button
                if "url" in spec and not role.allows(Role.ADMIN):
                    continue  # paying an order is for those who may buy and cancel
                if "boot" in spec:
                    # One token per sent button, as on the card: a double tap boots once.
                    token = await self._db.confirmations.issue(
                        alert.user_id,
                        PowerOp.BOOT.action,
                        {"order_id": spec["boot"]},
                        ttl=BOOT_TOKEN_TTL,
                    )
                    data = PowerCb(
                        step=PowerStep.DO, op=PowerOp.BOOT, order_id=spec["boot"], token=token
                    ).pack()
                    buttons.append(InlineKeyboardButton(text=spec["text"], callback_data=data))
                elif "url" in spec:
                    buttons.append(InlineKeyboardButton(text=spec["text"], url=spec["url"]))
                else:
                    buttons.append(
                        InlineKeyboardButton(text=spec["text"], callback_data=spec["data"])
                    )
            rows.append(buttons)
        return InlineKeyboardMarkup(inline_keyboard=rows)


class UnblockMiddleware(BaseMiddleware):
    """A user who blocked the bot and writes again gets alerts again; a user who has just
    linked an account gets its first check at once rather than at the next account tick.

    Only updates of users who were not linked when the update arrived are looked at after the
    handler (one read): every link flow and every accepted invite starts unlinked. An account
    added by a user who already has one is found by the next tick (:data:`ACCOUNT_TICK`)."""

    def __init__(self, alerts: AlertService) -> None:
        self._alerts = alerts

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        if not isinstance(user, User):
            return await handler(event, data)
        await self._alerts.unblock(user.id)
        unlinked = data.get("creds") is None
        result = await handler(event, data)
        background = data.get("background")
        if unlinked and isinstance(background, BackgroundTasks):
            await self._alerts.check_if_linked(user.id, background)
        return result


def _button(text: str, data: str) -> str:
    return json.dumps([[{"text": text, "data": data}]])


def _open_row(i18n: Translator, order_id: str) -> str:
    data = ServerCb(order_id=order_id, action=ServerAction.NEW_MESSAGE).pack()
    return _button(i18n("alert-btn-open"), data)


def _server_name(i18n: Translator, name: str | None, order_id: str) -> str:
    return clip(name, 64) if name else i18n("alert-server-unnamed", order=order_id)


def _decimal(text: str | None) -> Decimal | None:
    try:
        value = Decimal((text or "").strip().replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _shortfall(amount: str | None, balance: str) -> str | None:
    """How much to top up so that ``balance`` covers ``amount``; None when it does."""
    due, have = _decimal(amount), _decimal(balance)
    if due is None or have is None or have >= due:
        return None
    return f"{(due - have).quantize(Decimal('0.01')):f}"


def _timestamp(text: str | None) -> float | None:
    """When an order was placed, from the provider's date (its clock taken as ours)."""
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        day = parse_date(text)
        return None if day is None else dt.datetime.combine(day, dt.time()).timestamp()
