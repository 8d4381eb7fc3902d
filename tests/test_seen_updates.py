"""The record of update ids taken in over the webhook (``db.seen_updates``), on SQLite and on
PostgreSQL."""

from __future__ import annotations

import asyncio

from bot.webhook.dedup import UpdateDeduplicator
from tests.storage_backends import Backend
from tests.storage_helpers import new_keyring


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_an_update_id_is_new_once_and_only_recent_ones_are_kept(backend: Backend) -> None:
    clock = Clock()
    db = await backend.open(new_keyring(), clock=clock)
    try:
        seen: UpdateDeduplicator = db.seen_updates
        # Two deliveries of one update at once: one of them is the first.
        assert sorted(await asyncio.gather(seen.first_time(7), seen.first_time(7))) == [
            False,
            True,
        ]
        assert await seen.first_time(8)
        assert not await seen.first_time(8)

        clock.now += 100
        assert await seen.first_time(9)
        assert await db.seen_updates.purge(older_than=50) == 2
        assert await seen.first_time(7), "a purged id counts as new"
        assert not await seen.first_time(9), "a recent one is kept"
    finally:
        await db.close()
    # A closed database does not answer the health check's query.
    try:
        await db.seen_updates.ping()
    except Exception:
        pass
    else:
        raise AssertionError("ping answered on a closed database")


async def test_two_replicas_taking_one_update_act_once(backend: Backend) -> None:
    keyring = new_keyring()
    one, other = await backend.open(keyring), await backend.open(keyring)
    firsts = await asyncio.gather(
        *(db.seen_updates.first_time(update_id) for update_id in range(20) for db in (one, other))
    )
    assert sum(firsts) == 20


async def test_updates_taken_in_together_share_a_write_and_each_id_is_first_once(
    backend: Backend,
) -> None:
    db = await backend.open(new_keyring())
    try:
        # 25 ids, each delivered 4 times, all at once: the writes are grouped, the answers not.
        calls = [db.seen_updates.first_time(update_id) for _ in range(4) for update_id in range(25)]
        firsts = await asyncio.gather(*calls)
        per_id = [sum(firsts[update_id::25]) for update_id in range(25)]
        assert per_id == [1] * 25, "each id is first exactly once"
        if backend.name == "sqlite":
            # One connection answers in the order asked; a PostgreSQL pool spreads the calls
            # over several connections, so there any one of the four may win.
            assert firsts[:25] == [True] * 25, "the first call for each id is the first"
        assert not await db.seen_updates.first_time(3)
        assert await db.seen_updates.first_time(25)
    finally:
        await db.close()
