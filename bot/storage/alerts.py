"""Alerts' storage: notification settings, what each account's checks saw, and the outbox.

An account is checked once per pass whoever uses it: its check state (``alert_checks``), its
servers' monitor state (``alert_orders``) and what its checks saw (``alert_observed``) are the
account's. What a check raises is stored as one row of ``alert_outbox`` per member who is told,
keyed by its event key (recipient, account, kind, subject, occurrence), in the same transaction
that records the state change behind it, and sent while its ``sent_at`` is NULL. So an event is
stored once per member whatever the passes that see it, and a crash between storing and sending
only delays it; a crash between sending and :meth:`AlertRepository.mark_sent` repeats that one
message at most.

Every write that creates alerts keeps only the recipients who are still members of the account
the check was made for: an unlink or a revocation that lands during a check leaves nothing
behind for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.storage.cache import ForgetOnWrite, RowCache
from bot.storage.connection import Connection, Executor, Params, Row, in_chunks

# The account's rows, removed when it is unlinked (the members' settings in alert_prefs stay,
# as their language does).
ACCOUNT_TABLES = ("alert_checks", "alert_orders", "alert_observed", "alert_outbox", "alert_mutes")
# A member's own rows of an account, removed when they leave it or lose it.
MEMBER_TABLES = ("alert_outbox", "alert_mutes")

DEFAULT_NOTICE_DAYS = (7, 3, 1)
_PREF_COLUMNS = frozenset(
    {"down", "renewals", "notice_days", "unpaid", "low_balance", "balance_threshold", "team_ready"}
)
# Members whose per-server down-alert settings are kept in memory (SQLite): every server card
# shows the toggle.
MUTES_CACHE_SIZE = 10_000

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


def _prefs(row: Row, user_id: int) -> AlertPrefs:
    if row["down"] is None:  # no settings row: the defaults
        return AlertPrefs(user_id)
    return AlertPrefs(
        user_id=user_id,
        down=bool(row["down"]),
        renewals=bool(row["renewals"]),
        notice_days=parse_days(row["notice_days"]),
        unpaid=bool(row["unpaid"]),
        low_balance=bool(row["low_balance"]),
        balance_threshold=str(row["balance_threshold"]),
        blocked=bool(row["blocked"]),
        team_ready=bool(row["team_ready"]),
    )


_PREFS = (
    "p.down, p.renewals, p.notice_days, p.unpaid, p.low_balance, p.balance_threshold, "
    "p.blocked, p.team_ready"
)


@dataclass(frozen=True, slots=True)
class CheckState:
    """When an account is checked next, and how its last checks went."""

    account_id: int
    next_check_at: float
    failures: int = 0
    refused_told: bool = False


@dataclass(frozen=True, slots=True)
class Recipient:
    """A member of an account who may be told about it (not blocked), with their settings."""

    user_id: int
    # The member's role (bot.storage.accounts.Role's value).
    role: str
    language: str | None
    prefs: AlertPrefs


@dataclass(frozen=True, slots=True)
class DueAccount:
    account_id: int
    cid: int
    # None before the account's first check.
    state: CheckState | None


@dataclass(frozen=True, slots=True)
class NewAlert:
    kind: str
    subject: str
    occurrence: str
    text: str
    # The keyboard as JSON (see bot/services/alerts.py), None for none.
    markup: str | None = None


@dataclass(frozen=True, slots=True)
class Addressed:
    """An alert for one member of one account."""

    user_id: int
    account_id: int
    alert: NewAlert


@dataclass(frozen=True, slots=True)
class PendingAlert:
    user_id: int
    account_id: int
    kind: str
    subject: str
    occurrence: str
    text: str
    markup: str | None

    @property
    def key(self) -> tuple[int, int, str, str, str]:
        return (self.user_id, self.account_id, self.kind, self.subject, self.occurrence)


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
    account_id: int
    cid: int
    order_id: str
    name: str | None
    ip: str | None
    state: str
    since: float | None
    # The name the account's members gave it (server_names), read with the list: a pass asks
    # no name of its own and keeps none in the names' cache.
    local_name: str | None = None


@dataclass(frozen=True, slots=True)
class ServerUpdate:
    account_id: int
    order_id: str
    state: str
    since: float | None
    name: str | None
    ip: str | None


@dataclass
class AccountCheck:
    """Everything one account check changes, applied in one transaction."""

    state: CheckState
    # Order ids of the account's Active orders (servers the monitor may check); others go.
    active_orders: list[str] | None = None
    seen: list[SeenUpdate] | None = None
    alerts: list[Addressed] | None = None


class AlertRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        # The servers each member turned their down alerts off for, by (user, account): read by
        # every server card. Kept only where this process is the only writer; every write of
        # alert_mutes goes through ``_mutes_conn`` (which forgets them) or through the accounts'
        # transactions (forget_member, forget_accounts), whose connection forgets them too
        # (bot/storage/db.py).
        self.mutes_cache: RowCache[tuple[int, int], frozenset[str]] = RowCache(
            0 if conn.shared else MUTES_CACHE_SIZE
        )
        self._mutes_conn = ForgetOnWrite(conn, self.mutes_cache)

    # --- settings ------------------------------------------------------------------------

    async def prefs(self, user_id: int) -> AlertPrefs:
        row = await self._conn.fetchone(
            f"SELECT {_PREFS} FROM alert_prefs p WHERE p.user_id = ?", (user_id,)
        )
        return _prefs(row, user_id) if row is not None else AlertPrefs(user_id)

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
                "UPDATE alert_outbox SET sent_at = ?, text = NULL, markup = NULL "
                "WHERE user_id = ? AND sent_at IS NULL",
                (now, user_id),
            )

    async def unblock(self, user_id: int) -> None:
        await self._conn.execute("UPDATE alert_prefs SET blocked = 0 WHERE user_id = ?", (user_id,))

    async def blocked_users(self) -> set[int]:
        rows = await self._conn.fetchall("SELECT user_id FROM alert_prefs WHERE blocked = 1")
        return {int(row["user_id"]) for row in rows}

    # --- who is told -----------------------------------------------------------------------

    async def recipients(self, account_ids: list[int]) -> dict[int, list[Recipient]]:
        """The members of each account who are not blocked, the owner first."""
        found: dict[int, list[Recipient]] = {}
        for chunk, marks in in_chunks(account_ids):
            rows = await self._conn.fetchall(
                f"SELECT m.account_id, m.user_id, m.role, u.language, {_PREFS} "
                "FROM memberships m JOIN users u ON u.id = m.user_id "
                "LEFT JOIN alert_prefs p ON p.user_id = m.user_id "
                f"WHERE m.account_id IN ({marks}) AND COALESCE(p.blocked, 0) = 0 "
                "ORDER BY m.account_id, CASE WHEN m.role = 'owner' THEN 0 ELSE 1 END, "
                "m.joined_at, m.user_id",
                chunk,
            )
            for row in rows:
                user_id = int(row["user_id"])
                found.setdefault(int(row["account_id"]), []).append(
                    Recipient(user_id, str(row["role"]), row["language"], _prefs(row, user_id))
                )
        return found

    # --- account checks ------------------------------------------------------------------

    async def due_accounts(self, now: float, limit: int) -> list[DueAccount]:
        """Linked accounts whose check is due (never checked: at once) and that have a member
        who is not blocked."""
        rows = await self._conn.fetchall(
            "SELECT a.id, a.cid, c.next_check_at, c.failures, c.refused_told "
            "FROM accounts a LEFT JOIN alert_checks c ON c.account_id = a.id "
            "WHERE (c.next_check_at IS NULL OR c.next_check_at <= ?) AND EXISTS ("
            "SELECT 1 FROM memberships m LEFT JOIN alert_prefs p ON p.user_id = m.user_id "
            "WHERE m.account_id = a.id AND COALESCE(p.blocked, 0) = 0) "
            "ORDER BY COALESCE(c.next_check_at, 0), a.id LIMIT ?",
            (now, limit),
        )
        return [
            DueAccount(
                account_id=int(row["id"]),
                cid=int(row["cid"]),
                state=None
                if row["next_check_at"] is None
                else CheckState(
                    account_id=int(row["id"]),
                    next_check_at=float(row["next_check_at"]),
                    failures=int(row["failures"]),
                    refused_told=bool(row["refused_told"]),
                ),
            )
            for row in rows
        ]

    async def seen(self, account_id: int) -> dict[tuple[str, str], Seen]:
        rows = await self._conn.fetchall(
            "SELECT kind, subject, value, seen_at FROM alert_observed WHERE account_id = ?",
            (account_id,),
        )
        return {(r["kind"], r["subject"]): Seen(r["value"], float(r["seen_at"])) for r in rows}

    async def sent_at(self, account_id: int, kind: str) -> dict[tuple[int, str, str], float]:
        """(recipient, subject, occurrence) → when stored, of the account's alerts of
        ``kind``."""
        rows = await self._conn.fetchall(
            "SELECT user_id, subject, occurrence, created_at FROM alert_outbox "
            "WHERE account_id = ? AND kind = ?",
            (account_id, kind),
        )
        return {
            (int(r["user_id"]), r["subject"], r["occurrence"]): float(r["created_at"]) for r in rows
        }

    async def told(self, account_id: int, kind: str, subject: str, occurrence: str) -> set[int]:
        """The members an alert of this key was stored for (the "back up" goes to those who
        heard the "down")."""
        rows = await self._conn.fetchall(
            "SELECT user_id FROM alert_outbox WHERE account_id = ? AND kind = ? "
            "AND subject = ? AND occurrence = ?",
            (account_id, kind, subject, occurrence),
        )
        return {int(r["user_id"]) for r in rows}

    async def apply(self, check: AccountCheck) -> bool:
        """Applies one account check; False (nothing written) when the account was unlinked
        meanwhile. Alerts of recipients no longer members are left out."""
        state = check.state
        account_id = state.account_id
        now = self._conn.clock()
        async with self._conn.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM accounts WHERE id = ?", (account_id,)) is None:
                return False
            await tx.execute(
                "INSERT INTO alert_checks (account_id, next_check_at, failures, refused_told) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET "
                "next_check_at = excluded.next_check_at, failures = excluded.failures, "
                "refused_told = excluded.refused_told",
                (account_id, state.next_check_at, state.failures, int(state.refused_told)),
            )
            if check.active_orders is not None:
                await tx.execute(
                    "UPDATE alert_orders SET active = 0 WHERE account_id = ?", (account_id,)
                )
                await tx.executemany(
                    "INSERT INTO alert_orders (account_id, order_id, active) VALUES (?, ?, 1) "
                    "ON CONFLICT (account_id, order_id) DO UPDATE SET active = 1",
                    [(account_id, order_id) for order_id in check.active_orders],
                )
                # A server that stopped being an Active order starts from idle if it returns.
                await tx.execute(
                    "UPDATE alert_orders SET state = ?, since = NULL "
                    "WHERE account_id = ? AND active = 0",
                    (IDLE, account_id),
                )
            if check.seen:
                await tx.executemany(
                    "INSERT INTO alert_observed (account_id, kind, subject, value, seen_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, kind, subject) "
                    "DO UPDATE SET value = excluded.value, seen_at = CASE WHEN ? = 1 "
                    "THEN alert_observed.seen_at ELSE excluded.seen_at END",
                    [
                        (
                            account_id,
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
                await _store_alerts(tx, check.alerts, now)
        return True

    # --- the monitor -----------------------------------------------------------------------

    async def monitored(self) -> list[MonitoredServer]:
        """Servers to check: Active at the last check of a linked account that is not backing
        off, with a member who is not blocked, has down alerts on and has not turned them off
        for that server."""
        rows = await self._conn.fetchall(
            "SELECT o.account_id, a.cid, o.order_id, o.name, o.ip, o.state, o.since, "
            "n.name AS local_name "
            "FROM alert_orders o JOIN alert_checks c ON c.account_id = o.account_id "
            "JOIN accounts a ON a.id = o.account_id "
            "LEFT JOIN server_names n ON n.account_id = o.account_id AND n.order_id = o.order_id "
            "WHERE o.active = 1 AND c.failures = 0 AND EXISTS ("
            "SELECT 1 FROM memberships m LEFT JOIN alert_prefs p ON p.user_id = m.user_id "
            "WHERE m.account_id = o.account_id AND COALESCE(p.blocked, 0) = 0 "
            "AND COALESCE(p.down, 1) = 1 AND NOT EXISTS (SELECT 1 FROM alert_mutes x "
            "WHERE x.user_id = m.user_id AND x.account_id = o.account_id "
            "AND x.order_id = o.order_id)) "
            "ORDER BY o.account_id, o.order_id"
        )
        return [
            MonitoredServer(
                account_id=int(r["account_id"]),
                cid=int(r["cid"]),
                order_id=str(r["order_id"]),
                name=r["name"],
                ip=r["ip"],
                state=str(r["state"]),
                since=r["since"],
                local_name=r["local_name"],
            )
            for r in rows
        ]

    async def mutes(self, account_ids: list[int]) -> set[tuple[int, int, str]]:
        """(user, account, order) of the servers members turned their down alerts off for."""
        found: set[tuple[int, int, str]] = set()
        for chunk, marks in in_chunks(account_ids):
            rows = await self._conn.fetchall(
                "SELECT user_id, account_id, order_id FROM alert_mutes "
                f"WHERE account_id IN ({marks})",
                chunk,
            )
            found.update((int(r["user_id"]), int(r["account_id"]), r["order_id"]) for r in rows)
        return found

    async def save_servers(self, updates: list[ServerUpdate], alerts: list[Addressed]) -> None:
        """A monitor pass's state changes and the alerts they raise, in one transaction.
        Alerts of recipients no longer members of that account are not stored."""
        if not updates and not alerts:
            return
        now = self._conn.clock()
        async with self._conn.transaction() as tx:
            await tx.executemany(
                "UPDATE alert_orders SET state = ?, since = ?, name = COALESCE(?, name), "
                "ip = COALESCE(?, ip) WHERE account_id = ? AND order_id = ?",
                [(u.state, u.since, u.name, u.ip, u.account_id, u.order_id) for u in updates],
            )
            if alerts:
                await _store_alerts(tx, alerts, now)

    async def is_monitored(self, user_id: int, account_id: int, order_id: str) -> bool:
        key = (user_id, account_id)
        muted = self.mutes_cache.get(key)
        if muted is None:
            ticket = self.mutes_cache.ticket()
            rows = await self._mutes_conn.fetchall(
                "SELECT order_id FROM alert_mutes WHERE user_id = ? AND account_id = ?", key
            )
            muted = frozenset(str(row["order_id"]) for row in rows)
            self.mutes_cache.fill(key, muted, ticket)
        return order_id not in muted

    async def set_monitored(self, user_id: int, account_id: int, order_id: str, on: bool) -> None:
        if not on:
            await self._mutes_conn.execute(
                "INSERT INTO alert_mutes (user_id, account_id, order_id) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, account_id, order_id) DO NOTHING",
                (user_id, account_id, order_id),
            )
            return
        async with self._mutes_conn.transaction() as tx:
            await tx.execute(
                "DELETE FROM alert_mutes WHERE user_id = ? AND account_id = ? AND order_id = ?",
                (user_id, account_id, order_id),
            )
            # A server nobody may have watched meanwhile starts from idle when it is turned on
            # again: a stop long ago is not news. One being told about (down) keeps its state,
            # so that those told it was down hear that it is back.
            await tx.execute(
                "UPDATE alert_orders SET state = ?, since = NULL "
                "WHERE account_id = ? AND order_id = ? AND state IN (?, ?)",
                (IDLE, account_id, order_id, UP, SUSPECT),
            )

    async def acted_since(
        self, account_id: int, order_id: str, actions: tuple[str, ...], since: float
    ) -> bool:
        """Whether a member of the account acted on this server through the bot lately: an
        install watch of it still open, or one of ``actions`` in the log since ``since``."""
        if await self._install_open(account_id, order_id):
            return True
        marks = ",".join("?" * len(actions))
        row = await self._conn.fetchone(
            "SELECT 1 FROM actions WHERE account_id = ? AND order_id = ? "
            f"AND action IN ({marks}) AND created_at >= ? LIMIT 1",
            (account_id, order_id, *actions, since),
        )
        return row is not None

    async def asked_to_run(
        self,
        account_id: int,
        order_id: str,
        *,
        run: tuple[str, ...],
        actions: tuple[str, ...],
        since: float,
        before: float,
    ) -> bool:
        """Whether a member asked this server to run through the bot and it has had time to:
        the latest of ``actions`` on it since ``since`` is one of ``run``, taken before
        ``before``, and no install watch of it is open."""
        if await self._install_open(account_id, order_id):
            return False
        marks = ",".join("?" * len(actions))
        row = await self._conn.fetchone(
            "SELECT action, created_at FROM actions WHERE account_id = ? AND order_id = ? "
            f"AND action IN ({marks}) AND created_at >= ? ORDER BY created_at DESC, id DESC "
            "LIMIT 1",
            (account_id, order_id, *actions, since),
        )
        return row is not None and row["action"] in run and float(row["created_at"]) < before

    async def _install_open(self, account_id: int, order_id: str) -> bool:
        """Whether an install watch of this server is still open (its install not over)."""
        row = await self._conn.fetchone(
            "SELECT 1 FROM watches WHERE account_id = ? AND order_id = ? "
            "AND notified = 0 AND timed_out = 0 LIMIT 1",
            (account_id, order_id),
        )
        return row is not None

    # --- the outbox --------------------------------------------------------------------

    async def unsent(self, limit: int) -> list[PendingAlert]:
        rows = await self._conn.fetchall(
            "SELECT e.user_id, e.account_id, e.kind, e.subject, e.occurrence, e.text, e.markup "
            "FROM alert_outbox e LEFT JOIN alert_prefs p ON p.user_id = e.user_id "
            "WHERE e.sent_at IS NULL AND COALESCE(p.blocked, 0) = 0 "
            "ORDER BY e.created_at, e.user_id, e.account_id LIMIT ?",
            (limit,),
        )
        return [
            PendingAlert(
                user_id=int(r["user_id"]),
                account_id=int(r["account_id"]),
                kind=r["kind"],
                subject=r["subject"],
                occurrence=r["occurrence"],
                text=r["text"] or "",
                markup=r["markup"],
            )
            for r in rows
        ]

    async def mark_sent(self, keys: list[tuple[int, int, str, str, str]]) -> None:
        if not keys:
            return
        now = self._conn.clock()
        await self._conn.executemany(
            "UPDATE alert_outbox SET sent_at = ?, text = NULL, markup = NULL "
            "WHERE user_id = ? AND account_id = ? AND kind = ? AND subject = ? "
            "AND occurrence = ?",
            [(now, *key) for key in keys],
        )


async def _store_alerts(tx: Executor, alerts: list[Addressed], now: float) -> None:
    """Stores the alerts whose recipient is still a member of the account, in ``tx``."""
    members: dict[int, set[int]] = {}
    for account_id in {a.account_id for a in alerts}:
        rows = await tx.fetchall(
            "SELECT user_id FROM memberships WHERE account_id = ?", (account_id,)
        )
        members[account_id] = {int(row["user_id"]) for row in rows}
    params: list[Params] = [
        (
            a.user_id,
            a.account_id,
            a.alert.kind,
            a.alert.subject,
            a.alert.occurrence,
            now,
            a.alert.text,
            a.alert.markup,
        )
        for a in alerts
        if a.user_id in members[a.account_id]
    ]
    if params:
        await tx.executemany(
            "INSERT INTO alert_outbox (user_id, account_id, kind, subject, occurrence, "
            "created_at, text, markup) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (user_id, account_id, kind, subject, occurrence) DO NOTHING",
            params,
        )


async def forget_accounts(tx: Executor, account_ids: list[int]) -> None:
    """Unlinking: the accounts' alert state and every member's alerts of them go, in the
    caller's transaction."""
    params: list[Params] = [(account_id,) for account_id in account_ids]
    for table in ACCOUNT_TABLES:
        await tx.executemany(f"DELETE FROM {table} WHERE account_id = ?", params)


async def forget_member(tx: Executor, user_id: int, account_id: int) -> None:
    """A member leaves or loses an account: their alerts of it (sent or not) and their
    per-server settings of it go, in the caller's transaction."""
    for table in MEMBER_TABLES:
        await tx.execute(
            f"DELETE FROM {table} WHERE user_id = ? AND account_id = ?", (user_id, account_id)
        )
