"""The failed-link-attempt limits in storage: per user, across all users, across a reopen;
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.storage import Database, KeyRing, LinkAttempt, LinkLimits, LinkRefusal
from tests.storage_backends import Backend
from tests.storage_helpers import new_keyring
from tests.test_storage import Clock

LIMITS = LinkLimits(per_user=5, per_minute=20)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keyring() -> KeyRing:
    return new_keyring()


@pytest.fixture
async def db(backend: Backend, keyring: KeyRing, clock: Clock) -> AsyncIterator[Database]:
    yield await backend.open(keyring, clock=clock)


async def attempt(db: Database, user_id: int, limits: LinkLimits = LIMITS) -> LinkAttempt:
    begun = await db.link_attempts.begin(user_id, limits)
    assert isinstance(begun, LinkAttempt), begun
    return begun


async def fail(db: Database, user_id: int, limits: LinkLimits = LIMITS) -> float:
    return await db.link_attempts.failed(await attempt(db, user_id, limits), limits)


def test_the_wait_starts_at_a_minute_doubles_and_stops_at_a_day() -> None:
    waits = [LIMITS.wait_after(n) for n in range(1, 9)]
    assert waits == [0, 0, 0, 0, 60, 120, 240, 480]
    assert LIMITS.wait_after(20) == LIMITS.wait_after(10_000) == 86_400


async def test_five_failures_then_a_wait_that_doubles(db: Database, clock: Clock) -> None:
    for _ in range(4):
        assert await fail(db, 1) == 0
    assert await fail(db, 1) == 60
    refusal = await db.link_attempts.begin(1, LIMITS)
    assert refusal == LinkRefusal(wait=60, everyone=False)
    clock.now += 45
    assert await db.link_attempts.check(1, LIMITS) == LinkRefusal(wait=15, everyone=False)
    # Another user is not held up by this one.
    assert await db.link_attempts.check(2, LIMITS) is None
    clock.now += 15
    assert await db.link_attempts.check(1, LIMITS) is None
    assert await fail(db, 1) == 120
    clock.now += 120
    assert await fail(db, 1) == 240


async def test_a_success_forgets_the_failures(db: Database, clock: Clock) -> None:
    for _ in range(5):
        await fail(db, 1)
    clock.now += 60
    await db.link_attempts.succeeded(await attempt(db, 1))
    for _ in range(4):
        assert await fail(db, 1) == 0


async def test_an_attempt_without_a_verdict_does_not_count(db: Database) -> None:
    for _ in range(10):
        await db.link_attempts.not_counted(await attempt(db, 1))
    assert await db.link_attempts.check(1, LIMITS) is None
    assert await fail(db, 1) == 0


async def test_twenty_failures_a_minute_across_all_users(db: Database, clock: Clock) -> None:
    for user_id in range(100, 120):
        await fail(db, user_id)
        clock.now += 1
    # The 21st user has never failed, yet waits until the first failure is a minute old.
    refusal = await db.link_attempts.begin(200, LIMITS)
    assert refusal == LinkRefusal(wait=40, everyone=True)
    clock.now += 40
    await fail(db, 200)
    assert await db.link_attempts.check(201, LIMITS) == LinkRefusal(wait=1, everyone=True)
    clock.now += 1
    assert await db.link_attempts.check(201, LIMITS) is None


async def test_attempts_still_running_count_across_users(db: Database) -> None:
    running = [await attempt(db, user_id) for user_id in range(100, 120)]
    assert await db.link_attempts.check(200, LIMITS) == LinkRefusal(wait=60, everyone=True)
    # One turns out right: its place is free again at once.
    await db.link_attempts.succeeded(running[0])
    assert await db.link_attempts.check(200, LIMITS) is None


async def test_the_limits_survive_a_reopen(
    backend: Backend, keyring: KeyRing, clock: Clock
) -> None:
    db = await backend.open(keyring, clock=clock)
    for _ in range(5):
        await fail(db, 1)
    for user_id in range(100, 114):  # with user 1's five: 19 in the last minute
        await fail(db, user_id)
    # A check cut short by a crash: never finished, it counts until it is a minute old.
    await attempt(db, 116)
    await db.close()
    db = await backend.open(keyring, clock=clock)
    assert await db.link_attempts.check(1, LIMITS) == LinkRefusal(wait=60, everyone=False)
    assert await db.link_attempts.check(2, LIMITS) == LinkRefusal(wait=60, everyone=True)
    clock.now += 60
    assert await db.link_attempts.check(2, LIMITS) is None
    assert await fail(db, 1) == 120


async def test_replicas_together_never_pass_the_limit_across_users(
    backend: Backend, keyring: KeyRing, clock: Clock
) -> None:
    # Check and reservation are one transaction: two processes (replicas on PostgreSQL)
    # reserving at once cannot both take the last free attempts.
    dbs = [await backend.open(keyring, clock=clock) for _ in range(2)]
    begun = await asyncio.gather(
        *(db.link_attempts.begin(user_id, LIMITS) for user_id in range(50) for db in dbs)
    )
    assert sum(isinstance(b, LinkAttempt) for b in begun) == LIMITS.per_minute
