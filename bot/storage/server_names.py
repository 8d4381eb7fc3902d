"""The names an account's members give its servers (by order id), shown to every member instead
of the provider's ``vps_name``; they go with the account when it is unlinked."""

from __future__ import annotations

from collections.abc import Collection

from bot.storage.connection import Connection

NAME_MAX = 32


class ServerNameRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def get(self, account_id: int, order_id: str) -> str | None:
        row = await self._conn.fetchone(
            "SELECT name FROM server_names WHERE account_id = ? AND order_id = ?",
            (account_id, order_id),
        )
        return None if row is None else str(row["name"])

    async def all(self, account_id: int) -> dict[str, str]:
        rows = await self._conn.fetchall(
            "SELECT order_id, name FROM server_names WHERE account_id = ?", (account_id,)
        )
        return {str(row["order_id"]): str(row["name"]) for row in rows}

    async def many(self, account_id: int, order_ids: Collection[str]) -> dict[str, str]:
        wanted = sorted(set(order_ids))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = await self._conn.fetchall(
            f"SELECT order_id, name FROM server_names WHERE account_id = ? "
            f"AND order_id IN ({marks})",
            (account_id, *wanted),
        )
        return {str(row["order_id"]): str(row["name"]) for row in rows}

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
