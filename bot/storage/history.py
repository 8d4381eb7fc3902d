"""Each account's history: who did what on it through the bot, and how it went.

The history is the action log (table ``actions``) read per account. Handlers keep recording
actions as they always did (``db.actions.record``); the account acted on and the Telegram name
of who acted come from :func:`acting_as`, which the update's middleware enters for the whole
update, so no call site can forget them. Nothing secret is ever recorded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from bot.storage.connection import Connection, Row

# The actions on an account's servers: what operators and viewers see of its history.
SERVER_ACTIONS = frozenset({"reboot", "stop", "boot", "install", "reinstall"})


@dataclass(frozen=True, slots=True)
class Actor:
    account_id: int | None
    name: str | None


_acting: ContextVar[Actor | None] = ContextVar("acting_as", default=None)


@contextmanager
def acting_as(account_id: int | None, name: str | None) -> Iterator[None]:
    """Actions recorded inside are on ``account_id``, by ``name``."""
    token = _acting.set(Actor(account_id, name))
    try:
        yield
    finally:
        _acting.reset(token)


def current_actor() -> Actor | None:
    return _acting.get()


def current_account() -> int | None:
    """The account the work under way is for (an update's, a push's), if any."""
    actor = _acting.get()
    return actor.account_id if actor is not None else None


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    user_id: int
    actor: str | None
    action: str
    order_id: str | None
    result: str
    created_at: float


def _entry(row: Row) -> Entry:
    return Entry(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        actor=row["actor"],
        action=str(row["action"]),
        order_id=row["order_id"],
        result=str(row["result"]),
        created_at=float(row["created_at"]),
    )


class HistoryRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def page(
        self, account_id: int, offset: int, limit: int, only: Collection[str] | None = None
    ) -> tuple[int, list[Entry]]:
        """How many entries the account has (of the ``only`` actions, if given), and the
        ``limit`` from ``offset`` on, newest first."""
        where = "account_id = ?"
        params: list[object] = [account_id]
        if only is not None:
            kinds = sorted(only)
            if not kinds:
                # None of no actions; PostgreSQL has no "IN ()" to say it with.
                return 0, []
            where += f" AND action IN ({','.join('?' * len(kinds))})"
            params += kinds
        row = await self._conn.fetchone(f"SELECT COUNT(*) FROM actions WHERE {where}", params)
        total = int(row[0]) if row is not None else 0
        rows = await self._conn.fetchall(
            f"SELECT * FROM actions WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return total, [_entry(r) for r in rows]

    async def purge(self, older_than: float) -> int:
        """Forgets entries older than ``older_than`` seconds; returns how many."""
        return await self._conn.execute(
            "DELETE FROM actions WHERE created_at < ?", (self._conn.clock() - older_than,)
        )
