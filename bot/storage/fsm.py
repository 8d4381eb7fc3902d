"""aiogram FSM storage kept in the bot's database (SQLite or PostgreSQL), so dialogs survive
restarts. With REDIS_URL set, aiogram's RedisStorage takes its place."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage.cache import RowCache
from bot.storage.connection import Connection

# Dialogs kept in memory; beyond this the least recently used are read from the database again.
DIALOG_CACHE_SIZE = 10_000

# The key columns are NOT NULL because SQLite treats NULLs in a primary key as distinct, which
# would allow duplicate rows. Telegram never uses 0 as a thread id nor "" as a business
# connection id, so these stand-ins cannot collide with real values.
_NO_THREAD = 0
_NO_BUSINESS = ""

_KEY_COLUMNS = "bot_id, chat_id, user_id, thread_id, business_connection_id, destiny"
_KEY_WHERE = (
    "bot_id = ? AND chat_id = ? AND user_id = ? AND thread_id = ? "
    "AND business_connection_id = ? AND destiny = ?"
)
_UPSERT = (
    f"INSERT INTO fsm ({_KEY_COLUMNS}, state, data, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    f"ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET state = excluded.state, data = excluded.data, "
    "updated_at = excluded.updated_at"
)


Key = tuple[int, int, int, int, str, str]
_USER_ID = 2  # the position of user_id in Key


@dataclass(frozen=True, slots=True)
class _Dialog:
    state: str | None
    data: str  # JSON text: a caller mutating the dict it was given cannot change the cache


_NO_DIALOG = _Dialog(None, "{}")


def _encode(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _key(key: StorageKey) -> Key:
    return (
        key.bot_id,
        key.chat_id,
        key.user_id,
        key.thread_id if key.thread_id is not None else _NO_THREAD,
        key.business_connection_id if key.business_connection_id is not None else _NO_BUSINESS,
        key.destiny,
    )


class DatabaseStorage(BaseStorage):
    """FSM state and data per full ``StorageKey``; data is stored as JSON.

    Reads go through a :class:`~bot.storage.cache.RowCache` (every update reads the state, few
    change it; ``cache_size=0`` on a database other replicas write too), and a write that would
    store what is already there is skipped, so the usual ``state.clear()`` of a menu screen
    costs nothing.

    Shares the :class:`~bot.storage.db.Database` connection, so :meth:`close` does nothing:
    aiogram calls it on dispatcher shutdown, while the database is closed by its owner.
    """

    def __init__(self, conn: Connection, cache_size: int = DIALOG_CACHE_SIZE) -> None:
        self._conn = conn
        self._cache: RowCache[Key, _Dialog] = RowCache(cache_size)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        k = _key(key)
        current = await self._current(k)
        if current.state == value:
            return
        await self._write(k, replace(current, state=value))

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._current(_key(key))).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        encoded = _encode(data)
        k = _key(key)
        current = await self._current(k)
        if current.data == encoded:
            return
        await self._write(k, replace(current, data=encoded))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        data = json.loads((await self._current(_key(key))).data)
        return data if isinstance(data, dict) else {}

    def forget_user(self, user_id: int) -> None:
        """The user's dialogs were deleted behind this storage's back (by unlinking)."""
        self._cache.discard_where(lambda k: k[_USER_ID] == user_id)

    async def close(self) -> None:
        pass

    async def _current(self, k: Key) -> _Dialog:
        cached = self._cache.get(k)
        if cached is not None:
            return cached
        ticket = self._cache.ticket()
        row = await self._conn.fetchone(f"SELECT state, data FROM fsm WHERE {_KEY_WHERE}", k)
        dialog = _NO_DIALOG if row is None else _Dialog(row["state"], row["data"])
        self._cache.fill(k, dialog, ticket)
        # A write that landed while we read is newer than what we read.
        return self._cache.get(k) or dialog

    async def _write(self, k: Key, dialog: _Dialog) -> None:
        # The cache takes the new dialog before the write is queued: writes reach the database
        # in the order of these calls (the connection lock is first come, first served). The
        # row is written whole from that dialog, so the table holds exactly what the cache does.
        # (Two writes of one chat whose reads both missed the cache could each write back the
        # other's old half; the FSM middleware's read fills the cache before any handler runs.)
        self._cache.put(k, dialog)
        try:
            if dialog == _NO_DIALOG:
                # Cleared dialogs leave no row behind: the table only holds conversations in
                # progress.
                await self._conn.execute(f"DELETE FROM fsm WHERE {_KEY_WHERE}", k)
            else:
                await self._conn.execute(
                    _UPSERT, (*k, dialog.state, dialog.data, self._conn.clock())
                )
        except BaseException:
            self._cache.discard(k)
            raise


# The name it had while SQLite was the only engine.
SQLiteStorage = DatabaseStorage
