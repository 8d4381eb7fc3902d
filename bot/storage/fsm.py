"""aiogram FSM storage kept in the bot's SQLite database, so dialogs survive restarts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage.connection import Connection, Executor

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


def _key(key: StorageKey) -> tuple[int, int, int, int, str, str]:
    return (
        key.bot_id,
        key.chat_id,
        key.user_id,
        key.thread_id if key.thread_id is not None else _NO_THREAD,
        key.business_connection_id if key.business_connection_id is not None else _NO_BUSINESS,
        key.destiny,
    )


class SQLiteStorage(BaseStorage):
    """FSM state and data per full ``StorageKey``; data is stored as JSON.

    Shares the :class:`~bot.storage.db.Database` connection, so :meth:`close` does nothing:
    aiogram calls it on dispatcher shutdown, while the database is closed by its owner.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        # Every menu screen clears the state; most users have none, and a read is far cheaper
        # than a write transaction.
        if value is None and await self.get_state(key) is None:
            return
        async with self._conn.transaction() as tx:
            await tx.execute(
                f"INSERT INTO fsm ({_KEY_COLUMNS}, state, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET state = excluded.state, "
                "updated_at = excluded.updated_at",
                (*_key(key), value, self._conn.clock()),
            )
            await _drop_if_empty(tx, key)

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self._conn.fetchone(f"SELECT state FROM fsm WHERE {_KEY_WHERE}", _key(key))
        return None if row is None else row["state"]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        if not data and not await self.get_data(key):
            return
        encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        async with self._conn.transaction() as tx:
            await tx.execute(
                f"INSERT INTO fsm ({_KEY_COLUMNS}, data, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET data = excluded.data, "
                "updated_at = excluded.updated_at",
                (*_key(key), encoded, self._conn.clock()),
            )
            await _drop_if_empty(tx, key)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._conn.fetchone(f"SELECT data FROM fsm WHERE {_KEY_WHERE}", _key(key))
        if row is None:
            return {}
        data = json.loads(row["data"])
        return data if isinstance(data, dict) else {}

    async def close(self) -> None:
        pass


async def _drop_if_empty(tx: Executor, key: StorageKey) -> None:
    # Cleared dialogs leave no row behind, so the table only holds conversations in progress.
    await tx.execute(
        f"DELETE FROM fsm WHERE {_KEY_WHERE} AND state IS NULL AND data = '{{}}'", _key(key)
    )
