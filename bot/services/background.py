"""Supervised background loops: started in ``dp.startup``, stopped and awaited on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# A pass returns the seconds to sleep before the next one (None: the default interval).
Step = Callable[[], Awaitable[float | None]]


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wakeups: dict[str, asyncio.Event] = {}

    def start(self, name: str, step: Step, interval: float) -> None:
        if name in self._tasks and not self._tasks[name].done():
            raise RuntimeError(f"background task {name} is already running")
        wakeup = asyncio.Event()
        self._wakeups[name] = wakeup
        self._tasks[name] = asyncio.create_task(self._loop(name, step, interval, wakeup), name=name)

    def wake(self, name: str) -> None:
        """Runs the next pass now instead of after the sleep (e.g. a new watch was added)."""
        event = self._wakeups.get(name)
        if event is not None:
            event.set()

    @staticmethod
    async def _loop(name: str, step: Step, interval: float, wakeup: asyncio.Event) -> None:
        log.info("background task %s started", name)
        while True:
            delay: float | None = interval
            # Cleared before the pass, so a wake() that arrives during it is not lost.
            wakeup.clear()
            try:
                delay = await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                # One failed pass must not end the loop: log it and try again next time.
                log.exception("background task %s failed; next pass in %.1fs", name, interval)
            sleep_for = interval if delay is None else max(0.0, min(delay, interval))
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
            # that arrives as the wake-up does (a link waking the alerts as the bot stops), and
            # the loop would then outlive BackgroundTasks.stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(sleep_for):
                    await wakeup.wait()

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for task, result in zip(tasks, results, strict=True):
            if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
                log.error("background task %s ended with %r", task.get_name(), result)
        self._tasks.clear()
        self._wakeups.clear()
        log.info("background tasks stopped")


async def uninterrupted(work: Awaitable[T]) -> T:
    """Awaits ``work`` to its end even when the caller is cancelled meanwhile (a stop of the
    loop), and then lets the cancellation through.

    For a push and the record that it went: once the request is on its way, the stop waits for
    Telegram's answer and the mark, so a graceful stop never leaves a delivered message unmarked
    (to be sent again after the restart). Only a crash can still repeat one.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            # Cancelled again while waiting: the work still ends first.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            log.error("work finished during a stop failed: %r", task.exception())
        raise
