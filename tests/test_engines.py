"""The engines the production mode needs answer, so a test that relies on them cannot pass
by skipping in CI (tests/engines.py fails instead of skipping when CI=true)."""

from __future__ import annotations

import asyncpg
import redis.asyncio as redis


async def test_postgres_database_is_fresh_and_writable(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert tables == 0
        await conn.execute("CREATE TABLE probe (id BIGINT PRIMARY KEY)")
        await conn.execute("INSERT INTO probe VALUES (1)")
        assert await conn.fetchval("SELECT id FROM probe") == 1
    finally:
        await conn.close()


async def test_redis_answers(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert await client.set(f"{redis_prefix}:probe", "1", nx=True, ex=60)
        assert not await client.set(f"{redis_prefix}:probe", "2", nx=True, ex=60)
        await client.delete(f"{redis_prefix}:probe")
    finally:
        await client.aclose()
