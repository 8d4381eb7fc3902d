"""One shared aiosqlite connection, serialised by an asyncio lock.

All repositories and the FSM storage share a single connection. SQLite transactions belong to
the connection, not to a coroutine, so without the lock a statement from one handler could land
inside another handler's open transaction (and be rolled back with it). Every statement and
every transaction therefore holds the lock; the work is tiny, so this costs nothing noticeable.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

Clock = Callable[[], float]
Params = Sequence[Any]


class Executor:
    """Runs statements on the raw connection; the caller is responsible for locking."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # execute_fetchall steps the statement to completion in one worker-thread call, which
        # matters for DELETE ... RETURNING: the delete is committed together with the read.
        rows = await self._conn.execute_fetchall(sql, params)
        return list(rows)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the number of changed rows."""
        async with self._conn.execute(sql, params) as cursor:
            return int(cursor.rowcount)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT; return the new row id."""
        async with self._conn.execute(sql, params) as cursor:
            rowid = cursor.lastrowid
        if rowid is None:  # pragma: no cover - sqlite always sets it for a successful INSERT
            raise sqlite3.DatabaseError("INSERT did not produce a row id")
        return int(rowid)


class Connection(Executor):
    """The lock-holding front door used by repositories."""

    def __init__(self, conn: aiosqlite.Connection, clock: Clock = time.time) -> None:
        super().__init__(conn)
        self.clock = clock
        self._lock = asyncio.Lock()
        self._raw = Executor(conn)

    @property
    def raw(self) -> aiosqlite.Connection:
        return self._conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return await self._raw.fetchall(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._lock:
            return await self._raw.execute(sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        async with self._lock:
            return await self._raw.insert(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on any exception, cancellation included.

        IMMEDIATE takes the write lock up front so a second process (e.g. a key rotation run)
        waits on busy_timeout instead of failing half way with SQLITE_BUSY on upgrade.
        """
        async with self._lock:
            await self._raw.execute("BEGIN IMMEDIATE")
            try:
                yield self._raw
            except BaseException:
                await self._rollback()
                raise
            else:
                try:
                    await self._raw.execute("COMMIT")
                except BaseException:
                    await self._rollback()
                    raise

    async def _rollback(self) -> None:
        # Shielded so a second cancellation cannot leave the shared connection inside an open
        # transaction that the next caller would silently join. "No transaction is active" is
        # possible when COMMIT itself already went through before a cancellation arrived.
        try:
            await asyncio.shield(self._conn.execute_fetchall("ROLLBACK"))
        except sqlite3.OperationalError:
            pass
