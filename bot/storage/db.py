"""The database handle: one SQLite file in WAL mode, migrated on open."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from types import TracebackType

import aiosqlite

from bot.storage.connection import Clock, Connection
from bot.storage.crypto import KeyRing
from bot.storage.fsm import SQLiteStorage
from bot.storage.link_attempts import LinkAttemptRepository
from bot.storage.migrations import migrate
from bot.storage.repositories import (
    ActionRepository,
    ConfirmationRepository,
    DeletionRepository,
    UserRepository,
    WatchRepository,
)

BUSY_TIMEOUT_MS = 5000


class Database:
    """Open with :meth:`open`; close with :meth:`close` (or use ``async with``)."""

    def __init__(
        self, path: Path, conn: aiosqlite.Connection, keyring: KeyRing, clock: Clock
    ) -> None:
        self.path = path
        self.keyring = keyring
        self._conn = Connection(conn, clock)
        self.fsm = SQLiteStorage(self._conn)
        # Unlinking deletes the user's dialogs in its own transaction.
        self.users = UserRepository(self._conn, keyring, on_unlink=self.fsm.forget_user)
        self.watches = WatchRepository(self._conn)
        self.actions = ActionRepository(self._conn)
        self.confirmations = ConfirmationRepository(self._conn)
        self.deletions = DeletionRepository(self._conn)
        self.link_attempts = LinkAttemptRepository(self._conn)
        self._closed = False

    @classmethod
    async def open(
        cls, path: Path | str, keyring: KeyRing, *, clock: Clock = time.time
    ) -> Database:
        """Open (creating folder and file if needed) and migrate to the latest schema.

        Raises :class:`~bot.storage.errors.SchemaTooNewError` for a database written by a newer
        bot version.
        """
        memory = str(path) == ":memory:"
        path = Path(path)
        if not memory:
            path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (see Connection.transaction);
        # Python's implicit BEGIN would otherwise hold transactions open between awaits.
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute_fetchall(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            await conn.execute_fetchall("PRAGMA journal_mode = WAL")
            await conn.execute_fetchall("PRAGMA foreign_keys = ON")
            # Deleted rows (old ciphertexts, finished dialogs) are zeroed rather than left
            # recoverable in free pages.
            await conn.execute_fetchall("PRAGMA secure_delete = ON")
            await migrate(conn, path=path)
        except BaseException:
            await conn.close()
            raise
        return cls(path, conn, keyring, clock)

    async def schema_version(self) -> int:
        row = await self._conn.fetchone("PRAGMA user_version")
        return int(row[0]) if row is not None else 0

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Database(path={str(self.path)!r})"
