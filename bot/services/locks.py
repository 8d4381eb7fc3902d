"""Per-user locks so one user's money-spending actions never run concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


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
