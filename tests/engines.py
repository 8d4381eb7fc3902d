"""PostgreSQL and Redis for the tests that need the real engines.

`scripts/test-engines start DIR` (run by `.ci/run`) starts throwaway servers and prints
``TEST_POSTGRES_URL`` / ``TEST_REDIS_URL``. Without them a test that needs an engine skips with
one line, except under ``CI=true``, where a missing engine fails the run instead of hiding it.

Each test gets a database of its own (created from the server's template, dropped afterwards)
and a Redis key prefix of its own, so xdist workers never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from yarl import URL

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


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    import asyncpg

    server = URL(engine_url(POSTGRES_ENV, "PostgreSQL"))
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(str(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield str(server.with_path(f"/{name}"))
    finally:
        admin = await asyncpg.connect(str(server))
        try:
            # FORCE: a test that failed half way may leave a connection behind.
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def redis_url() -> str:
    """The Redis server's URL; use :func:`redis_prefix` to keep keys apart."""
    return engine_url(REDIS_ENV, "Redis")


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}"
