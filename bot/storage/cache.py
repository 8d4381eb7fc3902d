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
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

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
