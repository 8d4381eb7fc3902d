"""One pace for every push the bot sends on its own (alerts, install messages, notices)."""

from __future__ import annotations

import asyncio
import time

# Telegram allows about 30 messages a second to different chats; pushes stay below that.
PUSHES_PER_SECOND = 25.0


class PushPacer:
    """Spaces messages so that all pushes together stay under ``rate`` a second.

    One instance per process (``Services.pacer``), shared by every sender of pushes: each
    waits its turn here right before ``sendMessage``. Replies to a user's own update do not
    pass here; they answer one user and are counted by Telegram per chat."""

    def __init__(self, rate: float = PUSHES_PER_SECOND) -> None:
        self._gap = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._next
            self._next = now + self._gap
