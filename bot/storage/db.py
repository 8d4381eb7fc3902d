"""The database handle: one SQLite file in WAL mode, migrated on open."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from types import TracebackType

import aiosqlite

from bot.storage.accounts import AccountRepository
from bot.storage.alerts import AlertRepository
from bot.storage.connection import Clock, Connection
from bot.storage.crypto import KeyRing
from bot.storage.fsm import SQLiteStorage
from bot.storage.history import HistoryRepository
from bot.storage.invites import InviteRepository
from bot.storage.link_attempts import LinkAttemptRepository
from bot.storage.lock import DatabaseLock
from bot.storage.migrations import migrate, schema_version
from bot.storage.repositories import (
    ActionRepository,
    ConfirmationRepository,
    DeletionRepository,
    NoticeRepository,
    SeenUpdateRepository,
    UserRepository,
    WatchRepository,
)
from bot.storage.server_names import ServerNameRepository

BUSY_TIMEOUT_MS = 5000
FILE_MODE = 0o600


def create_file(path: Path) -> bool:
    """Create an empty database file readable by its owner alone; False if it exists.

    SQLite gives the ``-wal`` and ``-shm`` files it makes later the database file's own
    permissions, so they are owner-only too, whatever the umask is.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        return False
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)  # the umask may have taken bits from the mode above
    finally:
        os.close(fd)
    return True


async def connect(path: Path) -> aiosqlite.Connection:
    """A connection with the bot's pragmas; reading the schema version first makes a file
    that is not a database fail here, before anything is written to it."""
    # isolation_level=None: transactions are explicit (see Connection.transaction);
    # Python's implicit BEGIN would otherwise hold transactions open between awaits.
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute_fetchall(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        await schema_version(conn)
        await conn.execute_fetchall("PRAGMA journal_mode = WAL")
        await conn.execute_fetchall("PRAGMA foreign_keys = ON")
        # Deleted rows (old ciphertexts, finished dialogs) are zeroed rather than left
        # recoverable in free pages.
        await conn.execute_fetchall("PRAGMA secure_delete = ON")
    except BaseException:
        await conn.close()
        raise
    return conn


class Database:
    """Open with :meth:`open`; close with :meth:`close` (or use ``async with``)."""

    def __init__(
        self, path: Path, conn: aiosqlite.Connection, keyring: KeyRing, clock: Clock
    ) -> None:
        self.path = path
        self.keyring = keyring
        self._conn = Connection(conn, clock)
        self.fsm = SQLiteStorage(self._conn)
        self.accounts = AccountRepository(self._conn, keyring)
        self.invites = InviteRepository(self._conn)
        self.history = HistoryRepository(self._conn)
        self.server_names = ServerNameRepository(self._conn)
        # Unlinking deletes the user's dialogs in its own transaction.
        self.users = UserRepository(
            self._conn, keyring, accounts=self.accounts, on_unlink=self.fsm.forget_user
        )
        self.watches = WatchRepository(self._conn, keyring)
        self.actions = ActionRepository(self._conn)
        self.confirmations = ConfirmationRepository(self._conn)
        self.deletions = DeletionRepository(self._conn)
        self.notices = NoticeRepository(self._conn)
        self.alerts = AlertRepository(self._conn)
        self.link_attempts = LinkAttemptRepository(self._conn)
        self.seen_updates = SeenUpdateRepository(self._conn)
        self._closed = False
        self._lock: DatabaseLock | None = None

    @classmethod
    async def open(
        cls, path: Path | str, keyring: KeyRing, *, clock: Clock = time.time
    ) -> Database:
        """Open (creating folder and file if needed) and migrate to the latest schema.

        Raises :class:`~bot.storage.errors.SchemaTooNewError` for a database written by a newer
        bot version. The bot itself starts through :func:`bot.storage.startup.open_storage`,
        which checks the file, the lock and the keys first.
        """
        memory = str(path) == ":memory:"
        path = Path(path)
        if not memory:
            path.parent.mkdir(parents=True, exist_ok=True)
            create_file(path)
        conn = await connect(path)
        try:
            await migrate(conn, path=path)
        except BaseException:
            await conn.close()
            raise
        return cls(path, conn, keyring, clock)

    def hold(self, lock: DatabaseLock) -> None:
        """Keep ``lock`` for as long as this database is open; :meth:`close` releases it."""
        self._lock = lock

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._conn.close()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

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
