"""The :class:`~bot.storage.connection.Connection` interface on PostgreSQL, through asyncpg.

Several bot processes (replicas) share one database, so this backend differs from SQLite's in
three ways the repositories never see:

* statements run on a pool of connections, so unrelated updates do not wait for each other;
* a transaction takes :data:`TRANSACTION_LOCK` (a transaction-scoped advisory lock) first:
  transactions of every replica run one at a time, as SQLite's ``BEGIN IMMEDIATE`` makes them,
  because the repositories read and then write in one transaction (the link-attempt limits, a
  confirmation spent together with its watch) and rely on nobody writing in between;
* ``shared`` is True: the row caches are off, since another replica may change any row.

The SQL is the repositories' own, written once for both engines: only the ``?`` placeholders
become ``$1, $2, …`` (translated once per statement text).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg
from yarl import URL

from bot.storage.connection import Clock, Params, Row
from bot.storage.migrations import (
    LATEST_VERSION,
    MIGRATIONS,
    check_version,
    split_statements,
    to_postgres,
)

# pg_advisory_xact_lock keys: arbitrary constants, the same in every replica. The migration
# lock is separate so that a replica migrating never waits for (or blocks) ordinary work of
# a replica that is already running.
TRANSACTION_LOCK = 0x1F_B0_7001
MIGRATION_LOCK = 0x1F_B0_7002

POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 10
# A server that does not answer: the start-up says so instead of hanging for asyncpg's minute.
CONNECT_TIMEOUT = 10.0


def describe_url(url: str) -> str:
    """``host:port/database`` of a DATABASE_URL, for logs and errors: never the user name
    or the password it may carry."""
    try:
        parsed = URL(url)
        host, port, path = parsed.host, parsed.port, parsed.path
    except ValueError:
        return "the database"
    database = path.lstrip("/") or "(default database)"
    return f"{host or 'localhost'}:{port or 5432}/{database}"


async def create_pool(url: str) -> asyncpg.Pool:
    """A connection pool on ``url``; asyncpg's errors propagate (the start-up words them)."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn=url, min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE, timeout=CONNECT_TIMEOUT
    )
    return pool


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``?`` placeholders to ``$1, $2, …``; a ``?`` inside a quoted literal or identifier
    stays as it is."""
    out: list[str] = []
    number = 0
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            if ch == quote:
                quote = None  # a doubled quote closes and reopens: same result
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "?":
            number += 1
            out.append(f"${number}")
            continue
        out.append(ch)
    return "".join(out)


def _with_returning_id(sql: str) -> str:
    return translate(sql.rstrip().rstrip(";") + " RETURNING id")


def changed_rows(status: str) -> int:
    """The row count from a command tag: ``INSERT 0 1``, ``UPDATE 3``, ``DELETE 0``."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class PostgresExecutor:
    """Statements on one connection (a transaction's) or on the pool (each its own)."""

    def __init__(self, target: asyncpg.Connection | asyncpg.Pool) -> None:
        self._target = target

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._target.fetch(translate(sql), *params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        status: str = await self._target.execute(translate(sql), *params)
        return changed_rows(status)

    async def executemany(self, sql: str, rows: list[Params]) -> None:
        if rows:
            await self._target.executemany(translate(sql), [tuple(row) for row in rows])

    async def insert(self, sql: str, params: Params = ()) -> int:
        new_id: Any = await self._target.fetchval(_with_returning_id(sql), *params)
        if new_id is None:  # pragma: no cover - RETURNING id always yields the new row
            raise asyncpg.DataError("INSERT did not produce a row id")
        return int(new_id)


class PostgresConnection(PostgresExecutor):
    """A pool shared by every repository of one process."""

    shared = True

    def __init__(self, pool: asyncpg.Pool, clock: Clock = time.time) -> None:
        super().__init__(pool)
        self._pool = pool
        self.clock = clock

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresExecutor]:
        """One pool connection, ``BEGIN`` … ``COMMIT`` under :data:`TRANSACTION_LOCK`.

        asyncpg's transaction rolls back on any exception, cancellation included; should the
        rollback itself be cut off, the pool closes the connection on release instead of
        reusing it, and the server rolls back what it held.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", TRANSACTION_LOCK)
            yield PostgresExecutor(conn)

    async def close(self) -> None:
        await self._pool.close()


# --- schema -------------------------------------------------------------------------------------

_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "id BIGINT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)"
)


async def schema_version(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """The schema version; 0 for a database the bot has never written to."""
    if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    version = await conn.fetchval("SELECT version FROM schema_version WHERE id = 1")
    return int(version) if version is not None else 0


async def migrate(pool: asyncpg.Pool, *, name: str, target: int | None = None) -> int:
    """Bring the schema up to ``target`` (default: latest) with the same numbered migrations
    as SQLite (:func:`bot.storage.migrations.to_postgres`); return the resulting version.

    Each step is one transaction under :data:`MIGRATION_LOCK` that reads the version again
    first: replicas starting at once wait for each other, and the later ones find the work
    done. PostgreSQL's DDL is transactional, so a failed step leaves nothing behind. ``name``
    names the database in :class:`~bot.storage.errors.SchemaTooNewError`.
    """
    target = LATEST_VERSION if target is None else target
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"unknown schema version {target}")
    async with pool.acquire() as conn:
        version = await schema_version(conn)
        check_version(version, name)
        while version < target:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                await conn.execute(_VERSION_TABLE)
                await conn.execute(
                    "INSERT INTO schema_version (id, version) VALUES (1, 0) "
                    "ON CONFLICT (id) DO NOTHING"
                )
                version = await schema_version(conn)
                check_version(version, name)
                if version < target:
                    for statement in split_statements(MIGRATIONS[version]):
                        await conn.execute(to_postgres(statement))
                    version += 1
                    await conn.execute(
                        "UPDATE schema_version SET version = $1 WHERE id = 1", version
                    )
    return version
