"""One storage test suite, two engines.

A test that takes the ``backend`` fixture runs twice: on SQLite (a file in ``tmp_path``) and on
PostgreSQL (a database of its own, already migrated, from
:func:`tests.engines.migrated_postgres_url`; skipped with one line locally when no server is
configured, a failure under ``CI=true``; migrating PostgreSQL is tested in test_postgres.py).
It opens databases with :meth:`Backend.open`: every call opens the same storage again, which is
a restart on SQLite and another replica on PostgreSQL. Whatever a test leaves open is closed
after it.

A test that is about SQLite alone (the file, its permissions, PRAGMAs, the file lock, the
single shared connection) does not take ``backend`` and says why.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.storage import Database, KeyRing
from bot.storage.connection import Clock, SQLiteExecutor
from bot.storage.postgres import TRANSACTION_LOCK, PostgresExecutor

BACKENDS = ("sqlite", "postgres")


@dataclass
class Backend:
    name: str
    path: Path | None = None
    url: str | None = None
    opened: list[Database] = field(default_factory=list)

    @property
    def executor(self) -> type[SQLiteExecutor] | type[PostgresExecutor]:
        """The class whose methods run a transaction's statements on this engine."""
        return SQLiteExecutor if self.url is None else PostgresExecutor

    async def open(self, keyring: KeyRing, *, clock: Clock = time.time) -> Database:
        """The storage, migrated; closed after the test unless the test closes it."""
        if self.url is not None:
            db = await Database.open_url(self.url, keyring, clock=clock)
        else:
            assert self.path is not None
            db = await Database.open(self.path, keyring, clock=clock)
        self.opened.append(db)
        return db

    async def in_transaction(self, db: Database) -> bool:
        """Whether a transaction is left open (one would block every later one)."""
        if self.url is None:
            raw = db._conn.raw  # type: ignore[attr-defined]
            return bool(raw.in_transaction)
        import asyncpg

        # A transaction left open holds the transaction lock; try it from outside the pool.
        probe = await asyncpg.connect(self.url)
        try:
            free = await probe.fetchval("SELECT pg_try_advisory_lock($1)", TRANSACTION_LOCK)
            if free:
                await probe.fetchval("SELECT pg_advisory_unlock($1)", TRANSACTION_LOCK)
            return not free
        finally:
            await probe.close()

    async def schema_version(self, db: Database) -> int:
        sql = "PRAGMA user_version" if self.url is None else "SELECT version FROM schema_version"
        row = await db._conn.fetchone(sql)
        return int(row[0]) if row is not None else 0


@pytest.fixture(params=BACKENDS)
def backend_location(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "postgres":
        # Asked for here, not as an argument, so that SQLite runs never need a server.
        return Backend("postgres", url=request.getfixturevalue("migrated_postgres_url"))
    return Backend("sqlite", path=tmp_path / "data" / "bot.sqlite3")


@pytest.fixture
async def backend(backend_location: Backend) -> AsyncIterator[Backend]:
    """The engine under test (see the module's docstring)."""
    try:
        yield backend_location
    finally:
        for db in backend_location.opened:
            await db.close()
