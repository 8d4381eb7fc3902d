"""The database handle: one SQLite file in WAL mode, or a PostgreSQL database shared by
replicas; migrated on open. Repositories see only the
:class:`~bot.storage.connection.Connection` interface, whichever engine is behind it."""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import aiosqlite

from bot.storage.accounts import AccountRepository
from bot.storage.alerts import AlertRepository
from bot.storage.connection import Clock, Connection, SQLiteConnection
from bot.storage.crypto import KeyRing
from bot.storage.history import HistoryRepository
from bot.storage.invites import InviteRepository
from bot.storage.link_attempts import LinkAttemptRepository
from bot.storage.lock import DatabaseLock
from bot.storage.migrations import migrate, schema_version
from bot.storage.repositories import (
    USER_CACHE_SIZE,
    ActionRepository,
    ConfirmationRepository,
    DeletionRepository,
    NoticeRepository,
    SeenUpdateRepository,
    UserRepository,
    WatchRepository,
)
from bot.storage.server_names import ServerNameRepository

if TYPE_CHECKING:
    import asyncpg

    from bot.storage.fsm import DatabaseStorage

BUSY_TIMEOUT_MS = 5000
# SQLite's own page cache, per connection (a negative cache_size is in KiB; SQLite's default is
# 2,000 KiB). The bot's row caches answer what every update reads, and a page SQLite no longer
# holds comes back from the operating system's file cache. The bench's bot (10,000 linked
# users, a 2.8 MB file, 200 active) is about 2 MB smaller than with the default, for one read
# from the file per 10 taps (none with the default).
PAGE_CACHE_KIB = 512
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
        await conn.execute_fetchall(f"PRAGMA cache_size = {-PAGE_CACHE_KIB:d}")
    except BaseException:
        await conn.close()
        raise
    return conn


class Database:
    """Open with :meth:`open`; close with :meth:`close` (or use ``async with``)."""

    def __init__(self, conn: Connection, keyring: KeyRing, *, path: Path | None, name: str) -> None:
        """Use :meth:`open` / :meth:`open_url`, or bot.storage.startup for the bot itself.
        ``path`` is the SQLite file (None on PostgreSQL); ``name`` names the database in
        logs and errors, never with a password."""
        self.path = path
        self.name = name
        self.keyring = keyring
        self._conn = conn
        # Row caches only where this process is the only writer: another replica may change
        # any row of a shared database behind this one's back.
        shared = conn.shared
        self.server_names = ServerNameRepository(self._conn)
        self.watches = WatchRepository(self._conn, keyring)
        self.alerts = AlertRepository(self._conn)
        # Unlinking an account (or leaving one) removes its servers' names, its watches and its
        # members' down-alert settings.
        self.accounts = AccountRepository(
            self._conn,
            keyring,
            forget_too=(self.server_names.cache, self.watches.known, self.alerts.mutes_cache),
        )
        self.invites = InviteRepository(self._conn)
        self.history = HistoryRepository(self._conn)
        # Unlinking deletes the user's dialogs in its own transaction.
        self.users = UserRepository(
            self._conn,
            keyring,
            accounts=self.accounts,
            cache_size=0 if shared else USER_CACHE_SIZE,
            on_unlink=self._forget_dialogs,
        )
        self.actions = ActionRepository(self._conn)
        self.confirmations = ConfirmationRepository(self._conn)
        self.deletions = DeletionRepository(self._conn)
        self.notices = NoticeRepository(self._conn)
        self.link_attempts = LinkAttemptRepository(self._conn)
        self.seen_updates = SeenUpdateRepository(self._conn)
        self._closed = False
        self._lock: DatabaseLock | None = None

    @functools.cached_property
    def fsm(self) -> DatabaseStorage:
        """The dialogs (aiogram's FSM storage), built on first use: the commands and start-ups
        that never reach the handlers do not load aiogram for it."""
        from bot.storage.fsm import DIALOG_CACHE_SIZE, DatabaseStorage

        return DatabaseStorage(self._conn, cache_size=0 if self.shared else DIALOG_CACHE_SIZE)

    def _forget_dialogs(self, user_id: int) -> None:
        # Without the storage built, no dialog is kept in memory to forget.
        if "fsm" in self.__dict__:
            self.fsm.forget_user(user_id)

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
        return cls.sqlite(path, conn, keyring, clock)

    @classmethod
    def sqlite(
        cls, path: Path, conn: aiosqlite.Connection, keyring: KeyRing, clock: Clock = time.time
    ) -> Database:
        """On an open, migrated SQLite connection (which it then owns)."""
        return cls(SQLiteConnection(conn, clock), keyring, path=path, name=str(path))

    @classmethod
    async def open_url(cls, url: str, keyring: KeyRing, *, clock: Clock = time.time) -> Database:
        """A PostgreSQL database (``postgresql://…``), migrated to the latest schema.

        asyncpg's connection errors propagate as they are; the bot starts through
        :func:`bot.storage.startup.open_storage`, which words them in one line and checks the
        keys first. Raises :class:`~bot.storage.errors.SchemaTooNewError` like :meth:`open`.
        """
        from bot.storage.postgres import PostgresConnection, create_pool, describe_url
        from bot.storage.postgres import migrate as migrate_postgres

        name = describe_url(url)
        pool = await create_pool(url)
        try:
            await migrate_postgres(pool, name=name)
        except BaseException:
            await pool.close()
            raise
        return cls(PostgresConnection(pool, clock), keyring, path=None, name=name)

    @property
    def shared(self) -> bool:
        """Whether other processes (replicas) write to this database while this one runs."""
        return self._conn.shared

    @property
    def postgres_pool(self) -> asyncpg.Pool | None:
        """The asyncpg pool on PostgreSQL (None on SQLite), for what replicas coordinate
        outside the repositories: a session advisory lock on a connection of its own (the
        leader), a health query. Keys of pg_advisory locks in bot/storage/postgres.py are
        taken; use others."""
        from bot.storage.postgres import PostgresConnection

        return self._conn.pool if isinstance(self._conn, PostgresConnection) else None

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
        if self.path is not None:
            return f"Database(path={str(self.path)!r})"
        return f"Database(postgres={self.name!r})"
