"""The one interface every repository talks to, and its SQLite implementation.

Repositories see :class:`Connection` (statements, and :meth:`Connection.transaction` giving an
:class:`Executor`) and nothing of the engine behind it: :class:`SQLiteConnection` here, or
:class:`~bot.storage.postgres.PostgresConnection`. So every statement they send must run on
both (docs/ARCHITECTURE.md, "Portable SQL"): ``?`` placeholders, ``ON CONFLICT`` upserts with
table-qualified existing columns, no engine-only functions, and :meth:`Executor.insert` for a
new row's id.

SQLite: all repositories and the FSM storage share a single connection. SQLite transactions
belong to the connection, not to a coroutine, so without the lock a statement from one handler
could land inside another handler's open transaction (and be rolled back with it). Every
statement and every transaction therefore holds the lock; the work is tiny, so this costs
nothing noticeable.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, Protocol

import aiosqlite

Clock = Callable[[], float]
Params = Sequence[Any]


# Ids per ``IN (…)`` list: below SQLite's default limit of bound parameters in old builds (999).
IN_CHUNK = 500


def in_chunks(ids: Iterable[int]) -> Iterator[tuple[list[int], str]]:
    """The distinct ``ids`` in sorted chunks, each with its ``?, ?, …`` placeholders, for a read
    of many rows by id in a few statements."""
    unique = sorted(set(ids))
    for start in range(0, len(unique), IN_CHUNK):
        chunk = unique[start : start + IN_CHUNK]
        yield chunk, ",".join("?" * len(chunk))


class Row(Protocol):
    """A result row: columns by name (``row["id"]``) and by position (``row[0]``).
    ``sqlite3.Row`` and asyncpg's ``Record`` both are."""

    def __getitem__(self, key: int | str, /) -> Any: ...


class Executor(Protocol):
    """Statements; inside :meth:`Connection.transaction`, statements of that transaction."""

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the number of changed rows."""
        ...

    async def executemany(self, sql: str, rows: list[Params]) -> None: ...

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT into a table with an ``id`` column; return the new row's id."""
        ...


class Connection(Executor, Protocol):
    """What repositories hold: statements outside any transaction, and transactions.

    A transaction is serialised against every other transaction of every process on the same
    database (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's advisory lock): the repositories read
    and then write in one, and rely on nobody else writing in between.
    """

    clock: Clock
    # True when other processes write to the same database while this one runs (PostgreSQL
    # with replicas): nothing read may then be kept in memory as still true.
    shared: bool

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """``BEGIN`` … ``COMMIT``; rolled back on any exception, cancellation included."""
        ...

    async def close(self) -> None: ...


class SQLiteExecutor:
    """Runs statements on the raw connection; the caller is responsible for locking."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        # execute_fetchall steps the statement to completion in one worker-thread call, which
        # matters for DELETE ... RETURNING: the delete is committed together with the read.
        rows = await self._conn.execute_fetchall(sql, params)
        return list(rows)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the number of changed rows."""
        async with self._conn.execute(sql, params) as cursor:
            return int(cursor.rowcount)

    async def executemany(self, sql: str, rows: list[Params]) -> None:
        """One statement for many rows, in a single worker-thread call."""
        await self._conn.executemany(sql, rows)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT; return the new row id."""
        async with self._conn.execute(sql, params) as cursor:
            rowid = cursor.lastrowid
        if rowid is None:  # pragma: no cover - sqlite always sets it for a successful INSERT
            raise sqlite3.DatabaseError("INSERT did not produce a row id")
        return int(rowid)


class SQLiteConnection:
    """The lock-holding front door used by repositories. Not a subclass of
    :class:`SQLiteExecutor`: a statement method it did not wrap would run without the lock;
    this way one missing is simply missing."""

    # The bot holds the database's file lock (bot/storage/lock.py): no other process writes.
    shared = False

    def __init__(self, conn: aiosqlite.Connection, clock: Clock = time.time) -> None:
        self._conn = conn
        self.clock = clock
        self._lock = asyncio.Lock()
        self._raw = SQLiteExecutor(conn)

    @property
    def raw(self) -> aiosqlite.Connection:
        return self._conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._lock:
            return await self._raw.fetchall(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._lock:
            return await self._raw.execute(sql, params)

    async def executemany(self, sql: str, rows: list[Params]) -> None:
        async with self._lock:
            await self._raw.executemany(sql, rows)

    async def insert(self, sql: str, params: Params = ()) -> int:
        async with self._lock:
            return await self._raw.insert(sql, params)

    async def close(self) -> None:
        # Under the lock, so an in-flight transaction finishes instead of being cut off.
        async with self._lock:
            await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteExecutor]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on any exception, cancellation included.

        IMMEDIATE takes the write lock up front so a second process (e.g. a key rotation run)
        waits on busy_timeout instead of failing half way with SQLITE_BUSY on upgrade.
        """
        async with self._lock:
            # BEGIN is inside the try: a cancellation while awaiting it still leaves BEGIN queued
            # on the worker thread, and that transaction must not outlive the lock.
            try:
                await self._raw.execute("BEGIN IMMEDIATE")
                yield self._raw
                await self._raw.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        # The lock must not be released before ROLLBACK has run, or the next caller would
        # silently join the dead transaction; so wait it out even through further cancellations,
        # then pass the cancellation on. "No transaction is active" is expected when BEGIN never
        # ran or COMMIT already went through before a cancellation arrived.
        task = asyncio.ensure_future(self._conn.execute_fetchall("ROLLBACK"))
        cancelled = False
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                cancelled = True
            except sqlite3.OperationalError:
                pass
        if not task.cancelled():
            with suppress(sqlite3.OperationalError):
                task.result()
        if cancelled:
            raise asyncio.CancelledError
