"""Opening the bot's storage: every check before the first write, one line per problem, and
nothing left behind by a start-up that fails.

The order matters. The database's lock comes first (a second bot stops there, at once); then
the file is read — is it a database, is it whole, which master keys do its stored API keys
need — and only then is anything written: a new key file (only for a database that holds no
encrypted key, so the key can never silently change), the schema migration.

Every problem is a :class:`StartupError` whose text names the setting (``DATABASE_PATH``,
``ENCRYPTION_KEY_FILE``, ``ENCRYPTION_KEY``), the file, what is wrong and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
from yarl import URL

from bot.storage.connection import Clock
from bot.storage.crypto import KeyRing, SecretLike
from bot.storage.db import Database, connect, create_file
from bot.storage.errors import StorageError
from bot.storage.keyfile import create_key_file
from bot.storage.lock import BOT, DatabaseLock
from bot.storage.migrations import check_version, migrate, schema_version

# The schema version from which the API keys live in the accounts' rows.
ACCOUNTS_SCHEMA = 8

FORGET_COMMAND = "python -m bot forget-undecryptable"
FOLDER_MODE = 0o700
# What the notice left by forget-undecryptable asks of its user.
LINK_AGAIN = "link-again"


class StartupError(StorageError):
    """The storage cannot be used as configured; the text is one line for the operator."""


class Footprint:
    """Folders and files a start-up created, so that a start-up that fails removes them again.

    Call :meth:`keep` once the start-up succeeded; :meth:`undo` does nothing after that.
    """

    def __init__(self) -> None:
        self._files: list[Path] = []
        self._folders: list[Path] = []
        self._kept = False

    def make_folders(self, folder: Path) -> None:
        """Create ``folder`` and any missing parents (owner-only), remembering each."""
        missing: list[Path] = []
        probe = folder
        while not os.path.lexists(probe):
            missing.append(probe)
            probe = probe.parent
        if not probe.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(probe))
        for path in reversed(missing):
            path.mkdir(mode=FOLDER_MODE)
            self._folders.append(path)

    def created(self, *paths: Path) -> None:
        self._files.extend(paths)

    def keep(self) -> None:
        self._kept = True

    def undo(self) -> None:
        if self._kept:
            return
        for path in reversed(self._files):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        for folder in reversed(self._folders):
            # Only if empty: whatever someone else put there stays.
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._files.clear()
        self._folders.clear()


@dataclass(frozen=True, slots=True)
class KeyUse:
    """How many stored API keys each master key id encrypts."""

    accounts: Mapping[str, int]

    def missing_from(self, keyring: KeyRing) -> dict[str, int]:
        loaded = set(keyring.key_ids)
        return {key_id: n for key_id, n in self.accounts.items() if key_id not in loaded}


def key_use_sql(version: int) -> str:
    """(key id, number of stored API keys it encrypts) in a database at schema ``version``
    (> 0), on either engine: read before migrating, so it must fit the schema as it is."""
    # Schema 8 moved the keys from the users' rows to the accounts' (bot/storage/accounts.py).
    table = "users" if version < ACCOUNTS_SCHEMA else "accounts"
    return f"SELECT key_id, COUNT(*) FROM {table} WHERE api_key IS NOT NULL GROUP BY key_id"


async def open_storage(
    database_path: Path | str,
    key_file: Path | str,
    *,
    env_key: str | SecretLike | None = None,
    database_url: str | SecretLike | None = None,
    clock: Clock = time.time,
    footprint: Footprint | None = None,
) -> Database:
    """The bot's database, locked for this process, with a key ring that reads every stored
    API key. Raises :class:`StartupError` (or another :class:`StorageError`) in one line, after
    removing whatever it created; ``footprint`` lets the caller remove it too if a later step
    of its start-up fails.

    With ``database_url`` (DATABASE_URL) the database is PostgreSQL, shared by replicas, and
    ``database_path`` is not used: see :func:`open_postgres_storage`.
    """
    env = _secret(env_key)
    url = _secret(database_url)
    if url is not None:
        return await open_postgres_storage(url, key_file, env_key=env, clock=clock)
    footprint = footprint if footprint is not None else Footprint()
    db_path, key_path = Path(database_path), Path(key_file)
    try:
        opened = await _Opened.start(db_path, BOT, footprint)
    except BaseException:
        footprint.undo()
        raise
    try:
        use = await opened.inspect()
        keyring = _keyring(env, key_path, use, db_path, footprint)
        await opened.migrate()
    except BaseException as exc:
        await opened.abandon()
        footprint.undo()
        if isinstance(exc, sqlite3.Error):
            raise StartupError(describe_sqlite_error(db_path, exc)) from None
        raise
    db = Database.sqlite(db_path, opened.conn, keyring, clock)
    db.hold(opened.lock)
    try:
        # The lock shows that no other process uses the file: no install call can still be
        # waiting for the provider, so the watcher looks at once into a watch whose call a
        # killed bot left marked busy.
        await db.watches.forget_calls()
    except BaseException as exc:
        await db.close()
        if isinstance(exc, sqlite3.Error):
            raise StartupError(describe_sqlite_error(db_path, exc)) from None
        raise
    return db


def _secret(value: str | SecretLike | None) -> str | None:
    text = value if isinstance(value, str) or value is None else value.get_secret_value()
    return text if text and text.strip() else None


async def open_postgres_storage(
    url: str,
    key_file: Path | str | None = None,
    *,
    env_key: str | None = None,
    keyring: KeyRing | None = None,
    clock: Clock = time.time,
) -> Database:
    """The bot's PostgreSQL database (DATABASE_URL), migrated, with a key ring that reads
    every stored API key; the same checks as on SQLite, in one line each, never quoting the
    URL (it may hold a password).

    There is no file lock: replicas share the database by design. Nor is a key file ever
    made here: every replica must decrypt what any other stored, so the master key is the
    operator's to give (ENCRYPTION_KEY or ENCRYPTION_KEY_FILE), the same to all of them.
    ``keyring``, when given, is used instead of loading one (and checked the same way).
    """
    import asyncpg

    from bot.storage.postgres import PostgresConnection, create_pool, describe_url
    from bot.storage.postgres import migrate as migrate_postgres
    from bot.storage.postgres import schema_version as postgres_version

    name = describe_url(url)
    where = f"DATABASE_URL ({name})"
    try:
        pool = await create_pool(url)
    except (
        OSError,
        TimeoutError,
        ValueError,
        OverflowError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ) as exc:
        raise StartupError(f"{where}: cannot connect: {postgres_reason(exc, url)}") from None
    try:
        version = await postgres_version(pool)
        check_version(version, where)
        use = KeyUse({})
        if version > 0:
            rows = await pool.fetch(key_use_sql(version))
            use = KeyUse({str(row[0]): int(row[1]) for row in rows})
        if keyring is None:
            if key_file is None:
                raise ValueError("open_postgres_storage needs key_file or keyring")
            keyring = _shared_keyring(env_key, Path(key_file), use, where)
        else:
            _check_keys(keyring, "the key ring", use, where, shared=True)
        await migrate_postgres(pool, name=where)
    except BaseException as exc:
        await pool.close()
        if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError):
            raise StartupError(f"{where}: {postgres_reason(exc, url)}") from None
        raise
    return Database(PostgresConnection(pool, clock), keyring, path=None, name=name)


def postgres_reason(exc: BaseException, url: str) -> str:
    """The error's own words, with the URL's password taken out should it appear."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        text = "no answer in time"
    try:
        parsed = URL(url)
        secrets = [parsed.password, parsed.raw_password]
    except ValueError:
        secrets = []
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:300]


def _configured_keyring(env_key: str | None, key_file: Path) -> tuple[KeyRing, str] | None:
    """The key ring ENCRYPTION_KEY or an existing key file gives, with where it came from;
    None when neither is there."""
    if env_key is not None:
        return KeyRing.load(env_key, key_file), "ENCRYPTION_KEY"
    if os.path.lexists(key_file):
        return KeyRing.load(None, key_file), f"ENCRYPTION_KEY_FILE={key_file}"
    return None


def _shared_keyring(env_key: str | None, key_file: Path, use: KeyUse, where: str) -> KeyRing:
    configured = _configured_keyring(env_key, key_file)
    if configured is None:
        raise StartupError(
            f"ENCRYPTION_KEY_FILE={key_file} does not exist and ENCRYPTION_KEY is not set: with "
            "DATABASE_URL every replica must use the same master key, so the bot does not make "
            "one up; set ENCRYPTION_KEY to the same value on every replica (for example the "
            "output of: openssl rand -base64 32), or give each the same key file"
        )
    keyring, source = configured
    _check_keys(keyring, source, use, where, shared=True)
    return keyring


def _check_keys(keyring: KeyRing, source: str, use: KeyUse, where: str, *, shared: bool) -> None:
    missing = use.missing_from(keyring)
    if missing:
        held = ", ".join(keyring.key_ids)
        raise StartupError(
            f"{_accounts(missing)} in {where} {_are_encrypted(missing)}, which {source} does "
            f"not hold (it holds {held}): {_what_to_do(missing, shared=shared)}"
        )


async def open_existing(database_path: Path, role: str, keyring: KeyRing) -> Database:
    """For the commands that run while the bot is stopped (``role`` is the command's name):
    the existing database, locked, checked and migrated, with ``keyring``. The caller checks
    the keys itself. Raises :class:`StartupError` in one line."""
    opened = await _Opened.start(database_path, role, Footprint(), must_exist=True)
    try:
        await opened.inspect()
        await opened.migrate()
    except BaseException as exc:
        await opened.abandon()
        if isinstance(exc, sqlite3.Error):
            raise StartupError(describe_sqlite_error(database_path, exc)) from None
        raise
    db = Database.sqlite(database_path, opened.conn, keyring, time.time)
    db.hold(opened.lock)
    return db


class _Opened:
    """A locked, connected database that has not been written to yet."""

    def __init__(self, path: Path, lock: DatabaseLock, conn: aiosqlite.Connection) -> None:
        self.path = path
        self.lock = lock
        self.conn = conn

    @classmethod
    async def start(
        cls, path: Path, role: str, footprint: Footprint, *, must_exist: bool = False
    ) -> _Opened:
        lock = _lock(path, role, footprint, must_exist=must_exist)
        try:
            conn = await connect(path)
        except sqlite3.Error as exc:
            lock.release()
            raise StartupError(describe_sqlite_error(path, exc)) from None
        except BaseException:
            lock.release()
            raise
        return cls(path, lock, conn)

    async def inspect(self) -> KeyUse:
        """Is the file whole, is its schema one this bot knows, which keys do its rows need."""
        problems = [str(row[0]) for row in await self.conn.execute_fetchall("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StartupError(
                f"DATABASE_PATH={self.path}: the database is damaged ({problems[0][:200]}); "
                "restore it from a backup"
            )
        version = await schema_version(self.conn)
        check_version(version, self.path)
        if version == 0:
            return KeyUse({})  # a new database: no table yet, so no stored key
        rows = await self.conn.execute_fetchall(key_use_sql(version))
        return KeyUse({str(row[0]): int(row[1]) for row in rows})

    async def migrate(self) -> None:
        await migrate(self.conn, path=self.path)

    async def abandon(self) -> None:
        try:
            await self.conn.close()
        finally:
            self.lock.release()


def _lock(path: Path, role: str, footprint: Footprint, *, must_exist: bool) -> DatabaseLock:
    """Check the path, create its folders, lock it, create the file (owner-only)."""
    where = f"DATABASE_PATH={path}"
    if path.is_dir():
        raise StartupError(
            f"{where} is a folder; DATABASE_PATH names the database file "
            f"(for example {path / 'bot.sqlite3'})"
        )
    if os.path.lexists(path) and not path.is_file():
        raise StartupError(f"{where} is not a regular file")
    if must_exist and not path.is_file():
        raise StartupError(f"{where} does not exist; nothing was changed")
    try:
        footprint.make_folders(path.parent)
    except NotADirectoryError as exc:
        raise StartupError(f"{where}: {exc.filename} is a file, not a folder") from None
    except OSError as exc:
        raise StartupError(_cannot(where, "create the folder", exc)) from None
    try:
        lock = DatabaseLock.acquire(path, role)
    except OSError as exc:
        raise StartupError(_cannot(where, "create", exc)) from None
    try:
        if create_file(path):
            footprint.created(path, *_companions(path))
    except OSError as exc:
        lock.release()
        raise StartupError(_cannot(where, "create", exc)) from None
    return lock


def _keyring(
    env_key: str | None, key_file: Path, use: KeyUse, db_path: Path, footprint: Footprint
) -> KeyRing:
    configured = _configured_keyring(env_key, key_file)
    if configured is not None:
        keyring, source = configured
        _check_keys(keyring, source, use, f"DATABASE_PATH={db_path}", shared=False)
        return keyring
    if use.accounts:
        raise StartupError(
            f"ENCRYPTION_KEY_FILE={key_file} does not exist, but {_accounts(use.accounts)} in "
            f"DATABASE_PATH={db_path} {_are_encrypted(use.accounts)}: {_what_to_do(use.accounts)}"
        )
    # Nothing is encrypted yet, so a new key cannot make anything unreadable.
    where = f"ENCRYPTION_KEY_FILE={key_file}"
    try:
        footprint.make_folders(key_file.parent)
    except NotADirectoryError as exc:
        raise StartupError(f"{where}: {exc.filename} is a file, not a folder") from None
    except OSError as exc:
        raise StartupError(_cannot(where, "create the folder", exc)) from None
    keys, created = create_key_file(key_file)
    if created:
        footprint.created(key_file)
    return KeyRing(keys)


def _accounts(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    return f"{total} account" + ("" if total == 1 else "s")


def _are_encrypted(counts: Mapping[str, int]) -> str:
    verb = "is" if sum(counts.values()) == 1 else "are"
    ids = ", ".join(sorted(counts))
    return f"{verb} encrypted with key{'s' if len(counts) > 1 else ''} {ids}"


def _what_to_do(counts: Mapping[str, int], *, shared: bool = False) -> str:
    keys = "those keys" if len(counts) > 1 else "that key"
    if shared:  # forget-undecryptable works on the SQLite file only
        return (
            f"restore the key file that holds {keys} from your backup (or set ENCRYPTION_KEY to it)"
        )
    return (
        f"restore the key file that holds {keys} from your backup (or set ENCRYPTION_KEY to "
        f"it); or, to give those accounts up, run `{FORGET_COMMAND} --yes`, which unlinks them "
        "and asks each of their users to link again"
    )


def _companions(path: Path) -> list[Path]:
    """The files SQLite keeps beside a database while it is open."""
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _cannot(where: str, doing: str, exc: OSError) -> str:
    target = f" {exc.filename}" if exc.filename else ""
    return f"{where}: cannot {doing}{target}: {exc.strerror or exc}"


def describe_sqlite_error(path: Path, exc: sqlite3.Error) -> str:
    """One line for an SQLite error met while opening the database."""
    where = f"DATABASE_PATH={path}"
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_NOTADB":
        return (
            f"{where} is not an SQLite database ({exc}); point DATABASE_PATH at the bot's "
            "database, or restore it from a backup"
        )
    if name.startswith("SQLITE_CORRUPT"):
        return f"{where}: the database is damaged ({exc}); restore it from a backup"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return (
            f"{where}: the database is locked by another program ({exc}); close that program "
            "and start again"
        )
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_IOERR")):
        return (
            f"{where}: cannot open the database ({exc}); the file and its folder must be "
            "readable and writable by the bot"
        )
    return f"{where}: {exc}"
