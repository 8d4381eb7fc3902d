"""Leader election on the real PostgreSQL: one replica runs the background work; when its
connection goes, another takes over; a replica that lost its connection stops its loops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest

from bot.services.background import BackgroundTasks
from bot.services.leader import (
    PollingTakenError,
    PostgresLeader,
    SoleLeader,
    hold_polling_lock,
    keepalive_settings,
    leader_key,
    polling_key,
)

INTERVAL = 0.1
BOT_ID = 424242


@dataclass
class Replica:
    """A leader candidate whose "background work" is one loop counting its passes."""

    name: str
    leader: PostgresLeader
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    passes: int = 0
    elected: int = 0
    deposed: int = 0

    async def start(self) -> None:
        async def pass_() -> None:
            self.passes += 1

        async def elected() -> None:
            self.elected += 1
            self.background.start("work", pass_, INTERVAL / 2)

        async def deposed() -> None:
            self.deposed += 1
            await self.background.stop()

        await self.leader.start(elected, deposed)

    @property
    def working(self) -> bool:
        return self.elected > self.deposed


def connector(url: str) -> Callable[[], Any]:
    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(url, server_settings=keepalive_settings(INTERVAL))

    return connect


async def until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Polls: the leader's state changes inside its own task, which signals nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting: {what}")
        await asyncio.sleep(INTERVAL / 4)


async def lock_holders(url: str, key: int) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        # A bigint key is kept as its high and low 32 bits (objsubid 1).
        unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
        rows = await conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = $1 AND objid = $2 AND objsubid = 1",
            unsigned >> 32,
            unsigned & 0xFFFF_FFFF,
        )
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


async def terminate(url: str, pid: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def session_gone(url: str, pid: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + 10
        while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            assert time.monotonic() < deadline, f"session {pid} still there"
            await asyncio.sleep(0.01)
    finally:
        await conn.close()


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[Replica, Replica]]:
    pair = tuple(
        Replica(name, PostgresLeader(connector(postgres_url), leader_key(BOT_ID), INTERVAL))
        for name in ("a", "b")
    )
    try:
        yield pair  # type: ignore[misc]
    finally:
        for replica in pair:
            await replica.leader.stop()
            await replica.background.stop()


async def test_two_replicas_one_leader(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    await a.start()
    await until(lambda: a.leader.is_leader, "a leads")
    await b.start()
    # b tries several times and never wins while a holds the lock.
    rounds = b.leader.rounds
    await until(lambda: b.leader.rounds >= rounds + 5, "b keeps trying")
    assert (a.leader.is_leader, b.leader.is_leader) == (True, False)
    assert (a.elected, b.elected) == (1, 0)
    # Only the leader's loop runs.
    await until(lambda: a.passes >= 3, "a's loop runs")
    assert b.passes == 0


async def test_the_other_replica_takes_over_when_the_leaders_connection_goes(
    replicas: tuple[Replica, Replica], postgres_url: str
) -> None:
    a, b = replicas
    await a.start()
    await until(lambda: a.leader.is_leader, "a leads")
    await b.start()
    await until(lambda: b.leader.rounds >= 2, "b campaigns")
    [holder] = await lock_holders(postgres_url, leader_key(BOT_ID))

    await terminate(postgres_url, holder)
    # pg_terminate_backend only asks: the lock is free once a's session has ended.
    await session_gone(postgres_url, holder)
    b_rounds = b.leader.rounds
    await until(lambda: b.leader.is_leader, "b takes over")
    # Within two of b's check intervals of the lock being free (counted in b's rounds).
    assert b.leader.rounds - b_rounds <= 2
    # a lost its connection: its loop stopped, and it campaigns again as a follower.
    assert a.deposed == 1 and not a.working and not a.leader.is_leader
    passes = a.passes
    await until(lambda: b.passes >= 3, "b's loop runs")
    assert a.passes == passes
    assert not a.leader.is_leader
    [new_holder] = await lock_holders(postgres_url, leader_key(BOT_ID))
    assert new_holder != holder


async def test_a_leader_that_stops_hands_over(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    await a.start()
    await until(lambda: a.leader.is_leader, "a leads")
    await b.start()
    await a.leader.stop()
    assert a.deposed == 1 and not a.leader.is_leader
    await until(lambda: b.leader.is_leader, "b takes over")
    assert b.elected == 1


async def test_a_replica_keeps_trying_while_the_database_is_unreachable(
    postgres_url: str,
) -> None:
    calls = 0

    async def refused() -> asyncpg.Connection:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionRefusedError("no database yet")
        return await connector(postgres_url)()

    replica = Replica("c", PostgresLeader(refused, leader_key(BOT_ID), INTERVAL))
    await replica.start()
    try:
        await until(lambda: replica.leader.is_leader, "c leads once the database answers")
        assert calls == 3
    finally:
        await replica.leader.stop()
        await replica.background.stop()


async def test_the_sole_leader_leads_from_start_to_stop() -> None:
    events: list[str] = []

    async def elected() -> None:
        events.append("elected")

    async def deposed() -> None:
        events.append("deposed")

    sole = SoleLeader()
    await sole.start(elected, deposed)
    assert sole.is_leader and events == ["elected"]
    await sole.stop()
    assert not sole.is_leader and events == ["elected", "deposed"]


async def test_only_one_replica_may_poll(postgres_url: str) -> None:
    connect = connector(postgres_url)
    first = await hold_polling_lock(connect, polling_key(BOT_ID))
    try:
        with pytest.raises(PollingTakenError, match="another replica already polls"):
            await hold_polling_lock(connect, polling_key(BOT_ID))
        # Another bot's poller is not this one's.
        other = await hold_polling_lock(connect, polling_key(BOT_ID + 1))
        await other.close()
    finally:
        await first.close()
    again = await hold_polling_lock(connect, polling_key(BOT_ID))
    await again.close()
