"""Tracks the update handlers in flight, so shutdown can let them finish (or cancel them), and
bounds how many run at once where aiogram does not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

log = logging.getLogger(__name__)

# Updates handled at once. aiogram starts one task per update (a getUpdates batch holds up to
# 100; in webhook mode each delivery is answered at once and handled in a task of its own): each
# handler in flight holds its requests and models, and the memory of the most ever in flight is
# never given back to the system (bench/RESULTS.md, "Issue 16: the last session").
UPDATES_AT_ONCE = 32


class UpdatesAtOnce(BaseMiddleware):
    """At most ``limit`` updates go past it at once; the others wait their turn, in order.
    Registered after the tap is answered: a user waiting for a place sees the spinner stop."""

    def __init__(self, limit: int) -> None:
        self._places = asyncio.Semaphore(limit)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self._places:
            return await handler(event, data)


class InFlightMiddleware(BaseMiddleware):
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def drain(self, timeout: float) -> None:
        """Waits up to ``timeout`` for running handlers, then cancels the rest."""
        current = asyncio.current_task()
        pending = {task for task in self._tasks if task is not current}
        if not pending:
            return
        log.info("waiting for %d update handler(s) to finish", len(pending))
        _done, still_running = await asyncio.wait(pending, timeout=timeout)
        for task in still_running:
            task.cancel()
        if still_running:
            await asyncio.wait(still_running, timeout=1.0)
            log.warning("cancelled %d update handler(s) at shutdown", len(still_running))
