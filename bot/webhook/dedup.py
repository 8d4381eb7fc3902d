"""Dropping an update Telegram delivers again.

A webhook delivery whose answer was lost or late is delivered again with the same update_id.
:class:`DropRepeatedUpdates` stops such an update before any handler sees it, asking an
:class:`UpdateDeduplicator`: Redis (:class:`RedisSeenUpdates`) when ``REDIS_URL`` is set, else
the database's ``seen_updates``. Either is shared by every replica on it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.services.shared_state import RedisKeys
    from bot.webhook.metrics import BotMetrics

log = logging.getLogger(__name__)


class UpdateDeduplicator(Protocol):
    async def first_time(self, update_id: int) -> bool:
        """Records ``update_id``; True only the first time it is seen (by any replica sharing
        the store)."""
        ...


class RedisSeenUpdates:
    """Update ids already taken in, one Redis key each (``SET NX EX``: atomic, so of two
    replicas handed the same update exactly one sees True). A key expires after ``keep``
    seconds; Telegram gives up on a delivery long before that."""

    def __init__(self, redis: Redis, keys: RedisKeys, keep: float) -> None:
        self._redis = redis
        self._keys = keys
        self._keep = max(1, int(keep))

    async def first_time(self, update_id: int) -> bool:
        created = await self._redis.set(self._keys.update(update_id), b"1", nx=True, ex=self._keep)
        return bool(created)


class DropRepeatedUpdates(BaseMiddleware):
    """Outer update middleware: an update whose id was already taken in goes no further."""

    def __init__(self, seen: UpdateDeduplicator, metrics: BotMetrics | None = None) -> None:
        self._seen = seen
        self._metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update) and not await self._seen.first_time(event.update_id):
            log.info("update %d delivered again: dropped", event.update_id)
            if self._metrics is not None:
                self._metrics.repeated_updates.inc()
            return UNHANDLED
        return await handler(event, data)
