"""PostgreSQL and Redis for the tests that need the real engines.

`scripts/test-engines start DIR` (run by `.ci/run`) starts throwaway servers and prints
``TEST_POSTGRES_URL`` / ``TEST_REDIS_URL``. Without them a test that needs an engine skips with
one line, except under ``CI=true``, where a missing engine fails the run instead of hiding it.

Each test gets a database of its own, dropped afterwards: empty (:func:`postgres_url`, created
from the server's template) or already migrated (:func:`migrated_postgres_url`, a copy of one
this test process migrated once); and a Redis key prefix of its own. So xdist workers never see
each other's rows.

The flow tests' production mode (tests/conftest.py ``engines``) takes
:func:`postgres_flow_url` instead: one migrated database per test process, emptied before each
test. Creating, migrating and dropping a database costs PostgreSQL about 0.4 s of CPU; emptying
the bot's ~20 small tables costs about 10 ms, and the flow tests run hundreds of times.
"""

from __future__ import annotations

import asyncio
import graphlib
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from yarl import URL

T = TypeVar("T")

POSTGRES_ENV = "TEST_POSTGRES_URL"
REDIS_ENV = "TEST_REDIS_URL"


def engine_url(variable: str, engine: str) -> str:
    """The server's URL, or skip (locally) / fail (``CI=true``) with one line."""
    url = os.environ.get(variable, "").strip()
    if url:
        return url
    reason = f"{engine} not available: set {variable} (scripts/test-engines start DIR)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


async def _database_of_its_own(template: str | None) -> AsyncIterator[str]:
    import asyncpg

    server = URL(engine_url(POSTGRES_ENV, "PostgreSQL"))
    name = f"t_{uuid.uuid4().hex[:16]}"
    copied = "" if template is None else f' TEMPLATE "{template}"'
    admin = await asyncpg.connect(str(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{copied}')
    finally:
        await admin.close()
    try:
        yield str(server.with_path(f"/{name}"))
    finally:
        await _drop_database(server, name)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    async for url in _database_of_its_own(None):
        yield url


@pytest.fixture(scope="session")
def postgres_migrated_template() -> Iterator[str]:
    """The name of a database this test process migrated once and never connects to again,
    dropped at the end. A test's copy of it costs about 250 ms of CPU, server and client,
    against about 420 ms for a new database migrated for the test (medians, bench/RESULTS.md)."""
    server = URL(engine_url(POSTGRES_ENV, "PostgreSQL"))
    name = f"template_{uuid.uuid4().hex[:16]}"
    _run_apart(_create_migrated_database(server, name))
    try:
        yield name
    finally:
        _run_apart(_drop_database(server, name))


@pytest.fixture
async def migrated_postgres_url(postgres_migrated_template: str) -> AsyncIterator[str]:
    """The URL of a PostgreSQL database of this test's own, already at the latest schema (as
    if the bot had just created it), dropped after the test."""
    async for url in _database_of_its_own(postgres_migrated_template):
        yield url


@pytest.fixture
def redis_url() -> str:
    """The Redis server's URL; use :func:`redis_prefix` to keep keys apart."""
    return engine_url(REDIS_ENV, "Redis")


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}"


def _run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs ``coroutine`` on an event loop of its own thread: a session-wide fixture is set up
    and torn down between tests, outside (and regardless of) the tests' loops."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@dataclass(frozen=True)
class FlowDatabase:
    """A migrated database this test process reuses, and the SQL that empties it."""

    url: str
    empty_sql: str


async def _create_migrated_database(server: URL, name: str) -> None:
    import asyncpg

    from bot.storage.postgres import create_pool, migrate

    admin = await asyncpg.connect(str(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    pool = await create_pool(str(server.with_path(f"/{name}")))
    try:
        await migrate(pool, name=name)
    finally:
        await pool.close()


async def _create_flow_database(server: URL, name: str) -> FlowDatabase:
    from bot.storage.postgres import create_pool

    await _create_migrated_database(server, name)
    url = str(server.with_path(f"/{name}"))
    pool = await create_pool(url)
    try:
        tables = [
            str(row["tablename"])
            for row in await pool.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
            if row["tablename"] != "schema_version"
        ]
        references = await pool.fetch(
            "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent "
            "FROM pg_constraint WHERE contype = 'f'"
        )
    finally:
        await pool.close()
    # Rows that others point to go last, whatever foreign keys a migration adds.
    order = graphlib.TopologicalSorter({table: set() for table in tables})
    for reference in references:
        order.add(reference["parent"].strip('"'), reference["child"].strip('"'))
    statements = [f'DELETE FROM "{table}"' for table in order.static_order()]
    # Identity columns count from 1 again, as in a new database; and whatever connection a
    # failed test left behind (holding the leader's advisory lock, say) is cut.
    statements += [
        "SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    ]
    return FlowDatabase(url=url, empty_sql=";\n".join(statements))


async def _drop_database(server: URL, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(str(server))
    try:
        # FORCE: a test that failed half way may leave a connection behind.
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def postgres_flow_database() -> Iterator[FlowDatabase]:
    """The test process's reusable database (see the module's docstring), dropped at the end."""
    server = URL(engine_url(POSTGRES_ENV, "PostgreSQL"))
    name = f"flow_{uuid.uuid4().hex[:16]}"
    database = _run_apart(_create_flow_database(server, name))
    try:
        yield database
    finally:
        _run_apart(_drop_database(server, name))


@pytest.fixture
async def postgres_flow_url(postgres_flow_database: FlowDatabase) -> str:
    """The URL of a migrated PostgreSQL database as empty as a new one, for this test alone.
    It is emptied before the test, not after, so that nothing a failed test left behind
    reaches the next one."""
    import asyncpg

    conn = await asyncpg.connect(postgres_flow_database.url)
    try:
        # One round trip: without arguments asyncpg sends the statements as one simple query,
        # which PostgreSQL runs as one transaction.
        await conn.execute(postgres_flow_database.empty_sql)
    finally:
        await conn.close()
    return postgres_flow_database.url
