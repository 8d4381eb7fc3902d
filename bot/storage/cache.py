"""A bounded read cache for rows that every update reads and few updates change.

Every update reads the user's row and the dialog state; through aiosqlite each read is a round
trip to its worker thread, which cost more CPU than everything else the bot does for a menu tap
(``bench/RESULTS.md``). The bot process is the only writer while it runs (key rotation needs the
bot stopped), and every write goes through the repository that owns the cache, so a row read
once stays true until that repository changes it.

A read that started before a write and finishes after it must not put the old row back: each
read takes a ticket first, and its result is kept only if no write happened in between.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Generic, TypeVar

from bot.storage.connection import Connection, Executor, Params, Row

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RowCache(Generic[K, V]):
    """Least-recently-used rows, at most ``capacity`` of them."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError("capacity must not be negative")
        self.capacity = capacity
        self._rows: OrderedDict[K, V] = OrderedDict()
        self._writes = 0

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: K) -> V | None:
        row = self._rows.get(key)
        if row is not None:
            self._rows.move_to_end(key)
        return row

    def ticket(self) -> int:
        """Take before reading the database; hand to :meth:`fill` with the result."""
        return self._writes

    def fill(self, key: K, row: V, ticket: int) -> None:
        """Keep a row read from the database, unless something was written since ``ticket``."""
        if ticket == self._writes:
            self._put(key, row)

    def put(self, key: K, row: V) -> None:
        """A write of ``row`` under ``key`` is under way: the cache holds the new row at once,
        in the order of the calls, which is also the order the writes reach the database."""
        self._writes += 1
        self._put(key, row)

    def discard(self, key: K) -> None:
        self._writes += 1
        self._rows.pop(key, None)

    def clear(self) -> None:
        """Something the rows were read from changed, no matter which row: forget them all."""
        self._writes += 1
        self._rows.clear()

    def discard_where(self, predicate: Callable[[K], bool]) -> None:
        self._writes += 1
        for key in [key for key in self._rows if predicate(key)]:
            del self._rows[key]

    def _put(self, key: K, row: V) -> None:
        if self.capacity == 0:
            return
        self._rows[key] = row
        self._rows.move_to_end(key)
        while len(self._rows) > self.capacity:
            self._rows.popitem(last=False)


def _reads_only(sql: str) -> bool:
    # A plain SELECT; ``INSERT … RETURNING`` and the like are fetched but write.
    return sql.lstrip()[:6].upper() == "SELECT"


class ForgetOnWrite:
    """A :class:`~bot.storage.connection.Connection` whose every write empties ``caches``.

    For rows read on every update whose writes are rare and spread over several tables (who may
    use which account: ``users``, ``memberships``, ``accounts``): the repositories that read
    and write them hold this connection instead of the plain one, so no write of theirs, of any
    method present or future, can leave a cached row behind. A write is any statement but a
    plain ``SELECT``, and any transaction. The caches are emptied when it starts and again when
    it has ended (committed or not), so a read that began before the end is not kept
    (:meth:`RowCache.fill`), and nothing read before the write is served after it.
    """

    def __init__(self, conn: Connection, *caches: RowCache[Any, Any]) -> None:
        self._conn = conn
        self._caches = caches
        self.clock = conn.clock
        self.shared = conn.shared

    def forget(self) -> None:
        for cache in self._caches:
            cache.clear()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        self.forget()
        try:
            yield
        finally:
            self.forget()

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        if _reads_only(sql):
            return await self._conn.fetchall(sql, params)
        with self._writing():
            return await self._conn.fetchall(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        if _reads_only(sql):
            return await self._conn.fetchone(sql, params)
        with self._writing():
            return await self._conn.fetchone(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        with self._writing():
            return await self._conn.execute(sql, params)

    async def executemany(self, sql: str, rows: list[Params]) -> None:
        with self._writing():
            await self._conn.executemany(sql, rows)

    async def insert(self, sql: str, params: Params = ()) -> int:
        with self._writing():
            return await self._conn.insert(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        with self._writing():
            async with self._conn.transaction() as tx:
                yield tx

    async def close(self) -> None:
        await self._conn.close()
