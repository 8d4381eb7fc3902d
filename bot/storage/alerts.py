"""Alerts' storage: notification settings, what the last checks saw, and the outbox.

An alert is stored as a row of ``alert_events`` whose primary key is its event key (user, kind,
subject, occurrence) in the same transaction that records the state change behind it, and is
sent while its ``sent_at`` is NULL. So an event is stored once whatever the passes that see it,
and a crash between storing and sending only delays it; a crash between sending and
:meth:`AlertRepository.mark_sent` repeats that one message at most.

Every write that creates alerts is conditioned on the user still being linked to the account
the check was made for: an unlink that lands during a check leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.storage.connection import Connection, Executor, Params, Row

# Rows tied to a linked account, removed on unlink (the settings in alert_prefs stay, as the
# language does).
ACCOUNT_TABLES = ("alert_accounts", "alert_servers", "alert_seen", "alert_events")

DEFAULT_NOTICE_DAYS = (7, 3, 1)
_PREF_COLUMNS = frozenset(
    {"down", "renewals", "notice_days", "unpaid", "low_balance", "balance_threshold", "team_ready"}
)

# Server states of the monitor: idle (not running, or not known to run: never alerts),
# up (running), suspect (seen not running once), down (told).
IDLE, UP, SUSPECT, DOWN = "idle", "up", "suspect", "down"


@dataclass(frozen=True, slots=True)
class AlertPrefs:
    user_id: int
    down: bool = True
    renewals: bool = True
    notice_days: tuple[int, ...] = DEFAULT_NOTICE_DAYS
    unpaid: bool = True
    low_balance: bool = False
    balance_threshold: str = "10"
    blocked: bool = False
    # Told when a teammate's install on a shared account is ready.
    team_ready: bool = True


def parse_days(text: str) -> tuple[int, ...]:
    days = {int(part) for part in text.split(",") if part.strip().isdigit()}
    return tuple(sorted((d for d in days if 0 < d <= 60), reverse=True))


def _prefs(row: Row) -> AlertPrefs:
    return AlertPrefs(
        user_id=int(row["user_id"]),
        down=bool(row["down"]),
        renewals=bool(row["renewals"]),
        notice_days=parse_days(row["notice_days"]),
        unpaid=bool(row["unpaid"]),
        low_balance=bool(row["low_balance"]),
        balance_threshold=str(row["balance_threshold"]),
        blocked=bool(row["blocked"]),
        team_ready=bool(row["team_ready"]),
    )


@dataclass(frozen=True, slots=True)
class AccountState:
    """When an account is checked next, and how its last checks went."""

    user_id: int
    cid: int
    next_check_at: float
    failures: int = 0
    refused_told: bool = False


@dataclass(frozen=True, slots=True)
class DueAccount:
    user_id: int
    language: str | None
    state: AccountState | None
    prefs: AlertPrefs


@dataclass(frozen=True, slots=True)
class NewAlert:
    kind: str
    subject: str
    occurrence: str
    text: str
    # The keyboard as JSON (see bot/services/alerts.py), None for none.
    markup: str | None = None


@dataclass(frozen=True, slots=True)
class PendingAlert:
    user_id: int
    kind: str
    subject: str
    occurrence: str
    text: str
    markup: str | None

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (self.user_id, self.kind, self.subject, self.occurrence)


@dataclass(frozen=True, slots=True)
class Seen:
    value: str
    seen_at: float


@dataclass(frozen=True, slots=True)
class SeenUpdate:
    kind: str
    subject: str
    value: str
    # None keeps the stored time (or now for a new row).
    seen_at: float | None = None


@dataclass(frozen=True, slots=True)
class MonitoredServer:
    user_id: int
    cid: int
    order_id: str
    name: str | None
    ip: str | None
    state: str
    since: float | None
    language: str | None


@dataclass(frozen=True, slots=True)
class ServerUpdate:
    user_id: int
    order_id: str
    state: str
    since: float | None
    name: str | None
    ip: str | None


@dataclass
class AccountCheck:
    """Everything one account check changes, applied in one transaction."""

    state: AccountState
    # Order ids of the account's Active orders (servers the monitor may check); others go.
    active_orders: list[str] | None = None
    seen: list[SeenUpdate] | None = None
    alerts: list[NewAlert] | None = None


# SQL for the cid of the active account of the user row ``u`` (NULL when they have none): the
# alerts follow each user's active account (bot/storage/accounts.py).
ACTIVE_CID = (
    "(SELECT ac.cid FROM accounts ac JOIN memberships am ON am.account_id = ac.id "
    "AND am.user_id = u.id WHERE ac.id = u.active_account)"
)
_LINKED_TO = f"EXISTS (SELECT 1 FROM users u WHERE u.id = ? AND {ACTIVE_CID} = ?)"


class AlertRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # --- settings ------------------------------------------------------------------------

    async def prefs(self, user_id: int) -> AlertPrefs:
        row = await self._conn.fetchone("SELECT * FROM alert_prefs WHERE user_id = ?", (user_id,))
        return _prefs(row) if row is not None else AlertPrefs(user_id)

    async def set_prefs(self, user_id: int, **changes: Any) -> AlertPrefs:
        unknown = set(changes) - _PREF_COLUMNS
        if unknown:
            raise ValueError(f"unknown alert settings: {sorted(unknown)}")
        values = {
            name: (",".join(str(d) for d in value) if name == "notice_days" else value)
            for name, value in changes.items()
        }
        values = {k: int(v) if isinstance(v, bool) else v for k, v in values.items()}
        columns = ", ".join(values)
        marks = ", ".join("?" * len(values))
        updates = ", ".join(f"{name} = excluded.{name}" for name in values)
        await self._conn.execute(
            f"INSERT INTO alert_prefs (user_id, {columns}) VALUES (?, {marks}) "
            f"ON CONFLICT (user_id) DO UPDATE SET {updates}",
            (user_id, *values.values()),
        )
        return await self.prefs(user_id)

    # --- blocked users (403) -------------------------------------------------------------

    async def block(self, user_id: int, now: float) -> None:
        """No pushes until the user writes again; what was waiting for them is dropped."""
        async with self._conn.transaction() as tx:
            await tx.execute(
                "INSERT INTO alert_prefs (user_id, blocked) VALUES (?, 1) "
                "ON CONFLICT (user_id) DO UPDATE SET blocked = 1",
                (user_id,),
            )
            await tx.execute(
                "UPDATE alert_events SET sent_at = ?, text = NULL, markup = NULL "
                "WHERE user_id = ? AND sent_at IS NULL",
                (now, user_id),
            )

    async def unblock(self, user_id: int) -> None:
        await self._conn.execute("UPDATE alert_prefs SET blocked = 0 WHERE user_id = ?", (user_id,))

    async def blocked_users(self) -> set[int]:
        rows = await self._conn.fetchall("SELECT user_id FROM alert_prefs WHERE blocked = 1")
        return {int(row["user_id"]) for row in rows}

    # --- account checks ------------------------------------------------------------------

    async def due_accounts(self, now: float, limit: int) -> list[DueAccount]:
        """Linked, not blocked users whose account check is due (never checked: at once)."""
        rows = await self._conn.fetchall(
            "SELECT uid, language, ucid, acid, next_check_at, failures, refused_told, p.* "
            f"FROM (SELECT u.id AS uid, u.language, {ACTIVE_CID} AS ucid, a.cid AS acid, "
            "a.next_check_at, a.failures, a.refused_told "
            "FROM users u LEFT JOIN alert_accounts a ON a.user_id = u.id) linked "
            "LEFT JOIN alert_prefs p ON p.user_id = uid "
            "WHERE ucid IS NOT NULL AND COALESCE(p.blocked, 0) = 0 "
            "AND (next_check_at IS NULL OR next_check_at <= ? OR acid != ucid) "
            "ORDER BY COALESCE(next_check_at, 0), uid LIMIT ?",
            (now, limit),
        )
        found: list[DueAccount] = []
        for row in rows:
            user_id = int(row["uid"])
            state = None
            if row["acid"] is not None and row["acid"] == row["ucid"]:
                state = AccountState(
                    user_id=user_id,
                    cid=int(row["acid"]),
                    next_check_at=float(row["next_check_at"]),
                    failures=int(row["failures"]),
                    refused_told=bool(row["refused_told"]),
                )
            prefs = _prefs(row) if row["user_id"] is not None else AlertPrefs(user_id)
            found.append(DueAccount(user_id, row["language"], state, replace(prefs)))
        return found

    async def account_state(self, user_id: int) -> AccountState | None:
        """How the user's account checks stand; None before the first one."""
        row = await self._conn.fetchone(
            "SELECT * FROM alert_accounts WHERE user_id = ?", (user_id,)
        )
        if row is None:
            return None
        return AccountState(
            user_id=user_id,
            cid=int(row["cid"]),
            next_check_at=float(row["next_check_at"]),
            failures=int(row["failures"]),
            refused_told=bool(row["refused_told"]),
        )

    async def next_account_check(self) -> float | None:
        row = await self._conn.fetchone("SELECT MIN(next_check_at) FROM alert_accounts")
        return None if row is None or row[0] is None else float(row[0])

    async def seen(self, user_id: int) -> dict[tuple[str, str], Seen]:
        rows = await self._conn.fetchall(
            "SELECT kind, subject, value, seen_at FROM alert_seen WHERE user_id = ?", (user_id,)
        )
        return {(r["kind"], r["subject"]): Seen(r["value"], float(r["seen_at"])) for r in rows}

    async def sent_at(self, user_id: int, kind: str) -> dict[tuple[str, str], float]:
        """(subject, occurrence) → when stored, of the user's alerts of ``kind``."""
        rows = await self._conn.fetchall(
            "SELECT subject, occurrence, created_at FROM alert_events "
            "WHERE user_id = ? AND kind = ?",
            (user_id, kind),
        )
        return {(r["subject"], r["occurrence"]): float(r["created_at"]) for r in rows}

    async def apply(self, check: AccountCheck) -> bool:
        """Applies one account check; False (nothing written) when the user is no longer
        linked to that account. A first check of another account starts from nothing."""
        state = check.state
        now = self._conn.clock()
        async with self._conn.transaction() as tx:
            linked = await tx.fetchone(f"SELECT {_LINKED_TO}", (state.user_id, state.cid))
            if linked is None or not linked[0]:
                return False
            previous = await tx.fetchone(
                "SELECT cid FROM alert_accounts WHERE user_id = ?", (state.user_id,)
            )
            if previous is not None and previous["cid"] != state.cid:
                await _forget_account(tx, state.user_id)
            await tx.execute(
                "INSERT INTO alert_accounts (user_id, cid, next_check_at, failures, "
                "refused_told) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "cid = excluded.cid, next_check_at = excluded.next_check_at, "
                "failures = excluded.failures, refused_told = excluded.refused_told",
                (
                    state.user_id,
                    state.cid,
                    state.next_check_at,
                    state.failures,
                    int(state.refused_told),
                ),
            )
            if check.active_orders is not None:
                await tx.execute(
                    "UPDATE alert_servers SET active = 0 WHERE user_id = ?", (state.user_id,)
                )
                await tx.executemany(
                    "INSERT INTO alert_servers (user_id, order_id, active) VALUES (?, ?, 1) "
                    "ON CONFLICT (user_id, order_id) DO UPDATE SET active = 1",
                    [(state.user_id, order_id) for order_id in check.active_orders],
                )
                # A server that stopped being an Active order starts from idle if it returns.
                await tx.execute(
                    "UPDATE alert_servers SET state = ?, since = NULL "
                    "WHERE user_id = ? AND active = 0",
                    (IDLE, state.user_id),
                )
            if check.seen:
                await tx.executemany(
                    "INSERT INTO alert_seen (user_id, kind, subject, value, seen_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, kind, subject) DO UPDATE SET "
                    "value = excluded.value, seen_at = CASE WHEN ? = 1 "
                    "THEN alert_seen.seen_at ELSE excluded.seen_at END",
                    [
                        (
                            state.user_id,
                            s.kind,
                            s.subject,
                            s.value,
                            s.seen_at or now,
                            int(s.seen_at is None),  # keep the stored time
                        )
                        for s in check.seen
                    ],
                )
            if check.alerts:
                await _store_alerts(tx, state.user_id, check.alerts, now)
        return True

    # --- the monitor -----------------------------------------------------------------------

    async def monitored(self) -> list[MonitoredServer]:
        """Servers to check: monitored, Active at the last account check, of a linked, not
        blocked user whose account is not backing off and whose down alerts are on."""
        rows = await self._conn.fetchall(
            "SELECT s.user_id, a.cid, s.order_id, s.name, s.ip, s.state, s.since, u.language "
            "FROM alert_servers s JOIN alert_accounts a ON a.user_id = s.user_id "
            f"JOIN users u ON u.id = s.user_id AND {ACTIVE_CID} = a.cid "
            "LEFT JOIN alert_prefs p ON p.user_id = s.user_id "
            "WHERE s.monitored = 1 AND s.active = 1 AND a.failures = 0 "
            "AND COALESCE(p.blocked, 0) = 0 AND COALESCE(p.down, 1) = 1 "
            "ORDER BY s.user_id, s.order_id"
        )
        return [
            MonitoredServer(
                user_id=int(r["user_id"]),
                cid=int(r["cid"]),
                order_id=str(r["order_id"]),
                name=r["name"],
                ip=r["ip"],
                state=str(r["state"]),
                since=r["since"],
                language=r["language"],
            )
            for r in rows
        ]

    async def save_servers(
        self, updates: list[ServerUpdate], alerts: list[tuple[int, int, NewAlert]]
    ) -> None:
        """A monitor pass's state changes and the alerts they raise ((user, cid, alert)), in
        one transaction. Alerts of a user no longer linked to that account are not stored."""
        if not updates and not alerts:
            return
        now = self._conn.clock()
        async with self._conn.transaction() as tx:
            await tx.executemany(
                "UPDATE alert_servers SET state = ?, since = ?, name = COALESCE(?, name), "
                "ip = COALESCE(?, ip) WHERE user_id = ? AND order_id = ?",
                [(u.state, u.since, u.name, u.ip, u.user_id, u.order_id) for u in updates],
            )
            for user_id, cid, alert in alerts:
                linked = await tx.fetchone(f"SELECT {_LINKED_TO}", (user_id, cid))
                if linked is not None and linked[0]:
                    await _store_alerts(tx, user_id, [alert], now)

    async def is_monitored(self, user_id: int, order_id: str) -> bool:
        row = await self._conn.fetchone(
            "SELECT monitored FROM alert_servers WHERE user_id = ? AND order_id = ?",
            (user_id, order_id),
        )
        return row is None or bool(row["monitored"])

    async def set_monitored(self, user_id: int, order_id: str, on: bool) -> None:
        # Turned on again, a server starts from idle: what happened meanwhile is not news.
        await self._conn.execute(
            "INSERT INTO alert_servers (user_id, order_id, monitored, active) VALUES (?, ?, ?, 0) "
            "ON CONFLICT (user_id, order_id) DO UPDATE SET monitored = excluded.monitored, "
            "state = ?, since = NULL",
            (user_id, order_id, int(on), IDLE),
        )

    async def acted_since(
        self, user_id: int, order_id: str, actions: tuple[str, ...], since: float
    ) -> bool:
        """Whether the action log has one of ``actions`` on this order since ``since``."""
        marks = ",".join("?" * len(actions))
        row = await self._conn.fetchone(
            "SELECT 1 FROM actions WHERE user_id = ? AND order_id = ? "
            f"AND action IN ({marks}) AND created_at >= ? LIMIT 1",
            (user_id, order_id, *actions, since),
        )
        return row is not None

    # --- the outbox --------------------------------------------------------------------

    async def unsent(self, limit: int) -> list[PendingAlert]:
        rows = await self._conn.fetchall(
            "SELECT e.user_id, e.kind, e.subject, e.occurrence, e.text, e.markup "
            "FROM alert_events e LEFT JOIN alert_prefs p ON p.user_id = e.user_id "
            "WHERE e.sent_at IS NULL AND COALESCE(p.blocked, 0) = 0 "
            "ORDER BY e.created_at, e.user_id LIMIT ?",
            (limit,),
        )
        return [
            PendingAlert(
                user_id=int(r["user_id"]),
                kind=r["kind"],
                subject=r["subject"],
                occurrence=r["occurrence"],
                text=r["text"] or "",
                markup=r["markup"],
            )
            for r in rows
        ]

    async def mark_sent(self, keys: list[tuple[int, str, str, str]]) -> None:
        if not keys:
            return
        now = self._conn.clock()
        await self._conn.executemany(
            "UPDATE alert_events SET sent_at = ?, text = NULL, markup = NULL "
            "WHERE user_id = ? AND kind = ? AND subject = ? AND occurrence = ?",
            [(now, *key) for key in keys],
        )

    async def count_unsent(self) -> int:
        row = await self._conn.fetchone("SELECT COUNT(*) FROM alert_events WHERE sent_at IS NULL")
        return int(row[0]) if row is not None else 0


async def _store_alerts(tx: Executor, user_id: int, alerts: list[NewAlert], now: float) -> None:
    params: list[Params] = [
        (user_id, a.kind, a.subject, a.occurrence, now, a.text, a.markup) for a in alerts
    ]
    await tx.executemany(
        "INSERT INTO alert_events (user_id, kind, subject, occurrence, created_at, "
        "text, markup) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (user_id, kind, subject, occurrence) DO NOTHING",
        params,
    )


async def _forget_account(tx: Executor, user_id: int) -> None:
    for table in ACCOUNT_TABLES:
        await tx.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))


async def forget_accounts(tx: Executor, user_ids: list[int]) -> None:
    """Unlinking: the alerts' state of these users goes in the caller's transaction."""
    params: list[Params] = [(user_id,) for user_id in user_ids]
    for table in ACCOUNT_TABLES:
        await tx.executemany(f"DELETE FROM {table} WHERE user_id = ?", params)
