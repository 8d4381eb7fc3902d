"""The names an account's members give its servers (by order id), shown to every member instead
of the provider's ``vps_name``; they go with the account when it is unlinked.

The server list and every server card show them, so on a database only this process writes
(SQLite) each account's names are read once and kept until the next write: every write here
goes through a :class:`~bot.storage.cache.ForgetOnWrite` connection, and the accounts'
repository forgets them too when it removes an account (``Database`` wires it so).
"""

from __future__ import annotations

from collections.abc import Collection

from bot.storage.cache import ForgetOnWrite, RowCache
from bot.storage.connection import Connection

NAME_MAX = 32
# Accounts whose names are kept in memory (SQLite).
NAMES_CACHE_SIZE = 10_000


class ServerNameRepository:
    def __init__(self, conn: Connection, *, cache_size: int = NAMES_CACHE_SIZE) -> None:
        # Nothing is kept when another process writes to the database too.
        self.cache: RowCache[int, dict[str, str]] = RowCache(0 if conn.shared else cache_size)
        self._conn = ForgetOnWrite(conn, self.cache)

    async def _names(self, account_id: int) -> dict[str, str]:
        # Callers get a copy: what they do with it must not change what is kept.
        kept = self.cache.get(account_id)
        if kept is None:
            ticket = self.cache.ticket()
            rows = await self._conn.fetchall(
                "SELECT order_id, name FROM server_names WHERE account_id = ?", (account_id,)
            )
            kept = {str(row["order_id"]): str(row["name"]) for row in rows}
            self.cache.fill(account_id, kept, ticket)
        return kept

    async def get(self, account_id: int, order_id: str) -> str | None:
        return (await self._names(account_id)).get(order_id)

    async def all(self, account_id: int) -> dict[str, str]:
        return dict(await self._names(account_id))

    async def many(self, account_id: int, order_ids: Collection[str]) -> dict[str, str]:
        names = await self._names(account_id)
        return {order_id: names[order_id] for order_id in order_ids if order_id in names}

    async def set(self, account_id: int, order_id: str, name: str | None) -> None:
        """Names the server (None: back to the provider's name)."""
        if name is None:
            await self._conn.execute(
                "DELETE FROM server_names WHERE account_id = ? AND order_id = ?",
                (account_id, order_id),
            )
            return
        if not name or len(name) > NAME_MAX:
            raise ValueError("a server name has 1 to 32 characters")
        await self._conn.execute(
            "INSERT INTO server_names (account_id, order_id, name, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (account_id, order_id) DO UPDATE SET "
            "name = excluded.name, updated_at = excluded.updated_at",
            (account_id, order_id, name, self._conn.clock()),
        )
