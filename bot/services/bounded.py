"""Run one coroutine per item with a fixed number of workers.

``asyncio.gather`` over a pass of 10,000 servers makes 10,000 coroutines at once, nearly all of
them only waiting for one of the few provider slots; their frames and tasks (about 1.5 KB each)
are memory the process keeps after the pass. A handful of workers taking the next item when
they finish make the same calls, as many at a time, with only ``workers`` frames alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, TypeVar

# Workers per provider slot in a background pass. Between two calls a worker has work of its
# own (reading the answer, deciding, taking the next item); with one worker per slot the slot
# stays empty meanwhile. With two, another worker is already waiting for it, so the limiter,
# not the workers, sets the pace, still with only a handful of frames alive.
WORKERS_PER_SLOT = 2

Item = TypeVar("Item")
Result = TypeVar("Result")


async def map_bounded(
    check: Callable[[Item], Awaitable[Result]], items: Sequence[Item], workers: int
) -> list[Result | Exception]:
    """``check(item)`` for every item, at most ``workers`` at once; results in the order of
    ``items``. An exception is returned in its item's place, so one failure stops nothing;
    cancellation is not caught and stops the whole map."""
    outcomes: dict[int, Result | Exception] = {}
    queue = iter(enumerate(items))

    async def work() -> None:
        # One shared iterator: each worker takes the next item as soon as it is free.
        for index, item in queue:
            try:
                outcomes[index] = await check(item)
            except Exception as exc:  # handed back to the caller, who logs it
                outcomes[index] = exc

    await asyncio.gather(*(work() for _ in range(max(1, min(workers, len(items))))))
    return [outcomes[index] for index in range(len(items))]


class ProviderSlots(asyncio.Semaphore):
    """The one limit on provider calls that every background pass shares (the install watcher
    and both alert passes): at most ``value`` calls at once, whoever makes them. It also tells
    how many calls wait for a slot (``waiting``), for tests and diagnostics."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.size = value
        self.waiting = 0

    async def acquire(self) -> Literal[True]:
        self.waiting += 1
        try:
            return await super().acquire()
        finally:
            self.waiting -= 1
