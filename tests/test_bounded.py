"""map_bounded: every item checked once, in order, never more than ``workers`` at a time, and
a failing item handed back in its place without stopping the rest."""

from __future__ import annotations

import asyncio

import pytest

from bot.services.bounded import map_bounded


async def test_results_in_order_and_never_more_than_the_workers_at_once() -> None:
    running = peak = 0
    seen: list[int] = []

    async def check(item: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        seen.append(item)
        await asyncio.sleep(0)
        running -= 1
        if item == 3:
            raise ValueError("item 3")
        return item * 10

    results = await map_bounded(check, list(range(50)), 4)
    assert peak == 4
    assert sorted(seen) == list(range(50))
    assert results[:3] == [0, 10, 20]
    assert isinstance(results[3], ValueError)
    assert results[4:] == [item * 10 for item in range(4, 50)]


async def test_no_items_and_fewer_items_than_workers() -> None:
    async def check(item: int) -> int:
        return item

    assert await map_bounded(check, [], 8) == []
    assert await map_bounded(check, [1, 2], 8) == [1, 2]


async def test_cancellation_stops_the_map() -> None:
    started = asyncio.Event()

    async def check(item: int) -> int:
        started.set()
        await asyncio.Event().wait()
        return item

    task = asyncio.ensure_future(map_bounded(check, list(range(10)), 2))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
