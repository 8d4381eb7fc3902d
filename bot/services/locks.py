"""Per-user locks so one user's money-spending actions never run concurrently.

:class:`UserLocks` holds them in this process (one bot, SQLite). With ``REDIS_URL``,
:class:`RedisUserLocks` holds them in Redis, so a second tap that another replica takes in waits
like one this replica takes in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.services.shared_state import RedisKeys

# How long a Redis lock outlives a replica that died holding it. Longer than any handler that
# takes it runs (a provider call is cut at INFERNO_TIMEOUT, 20 s by default, and such a handler
# makes one or two); a handler that somehow runs longer loses the lock with a warning in the
# log (raise_on_release_error=False) rather than failing an update whose work is done.
REDIS_LOCK_TIMEOUT = 60.0
# How often a waiter asks Redis whether the lock is free: a second tap waits behind the first
# anyway, and this keeps that wait short without flooding Redis.
REDIS_LOCK_POLL = 0.02


class UserLocks:
    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        self._users[user_id] = self._users.get(user_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            # Drop the lock once nobody waits for it, so the dict does not grow per user forever.
            self._users[user_id] -= 1
            if self._users[user_id] == 0:
                del self._users[user_id]
                del self._locks[user_id]


class RedisUserLocks(UserLocks):
    """The same locks in Redis, shared by every replica.

    redis-py's ``Lock`` with a timeout rather than the update isolation's lock: the isolation
    (aiogram's ``RedisEventIsolation``) already holds its own lock around each whole update, and
    a handler holding it takes this one, so this must be a second, separate key (Redis locks
    are not re-entrant). The timeout is the lease: a replica killed while holding the lock
    blocks the user for at most ``REDIS_LOCK_TIMEOUT``, never for ever. What makes an action
    happen once is still the database (a confirmation is spent in one ``DELETE … RETURNING``);
    this lock orders the taps.
    """

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        super().__init__()
        self._redis = redis
        self._keys = keys

    @asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        lock = self._redis.lock(
            self._keys.user_lock(user_id),
            timeout=REDIS_LOCK_TIMEOUT,
            sleep=REDIS_LOCK_POLL,
            raise_on_release_error=False,
        )
        async with lock:
            yield
