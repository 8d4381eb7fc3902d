"""One user's updates are handled one at a time, in the order polling hands them over.

Without it a ``/menu`` sent while the API key is still being checked is handled at once and
answers "not linked yet", and the "linked" message arrives a moment later. aiogram's FSM
middleware takes this isolation's lock around everything after it, the dialog state is read
under the lock, and other users' updates go on meanwhile.

The dispatcher is built with ``disable_fsm=True`` and adds its FSM middleware (``dp.fsm``)
itself, after the middleware that answers taps (see ``bot/app.py``): a tap that waits behind
a slow update of the same user has its spinner stopped at once all the same.

This lock is not :class:`~bot.middlewares.user_lock.UserLockMiddleware`'s: that one guards a
confirmed action against a second tap, and a handler holding this one may take that one (and
does); nothing takes them the other way round, and no update waits for a later one, so the two
cannot deadlock.

With ``REDIS_URL`` (several replicas) :func:`redis_update_order` is used instead: aiogram's
``RedisEventIsolation``, the same lock held in Redis, keyed by chat and user (the bot talks in
private chats only, so that is one key per user).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from aiogram.fsm.storage.base import BaseEventIsolation, DefaultKeyBuilder, StorageKey

from bot.services.locks import REDIS_LOCK_POLL, REDIS_LOCK_TIMEOUT, UserLocks

if TYPE_CHECKING:
    from aiogram.fsm.storage.redis import RedisEventIsolation
    from redis.asyncio import Redis


class OneUpdatePerUser(BaseEventIsolation):
    """Like aiogram's ``SimpleEventIsolation``, keyed by the user alone (the bot talks in private
    chats only), and a user's lock is dropped when nobody holds or waits for it, so the locks do
    not pile up with every user the bot has ever met."""

    def __init__(self) -> None:
        self._locks = UserLocks()

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        async with self._locks.hold(key.user_id):
            yield

    async def close(self) -> None:
        """Nothing to release: a lock lives only while an update holds or waits for it."""


def redis_update_order(redis: Redis, key_builder: DefaultKeyBuilder) -> RedisEventIsolation:
    """aiogram's Redis isolation with a lease (see ``bot.services.locks.REDIS_LOCK_TIMEOUT``):
    a replica that dies mid-update holds the user's updates back for at most that long, and an
    update that outlives its lease finishes with a warning instead of failing."""
    from aiogram.fsm.storage.redis import RedisEventIsolation

    return RedisEventIsolation(
        redis,
        key_builder=key_builder,
        lock_kwargs={
            "timeout": REDIS_LOCK_TIMEOUT,
            "sleep": REDIS_LOCK_POLL,
            "raise_on_release_error": False,
        },
    )
