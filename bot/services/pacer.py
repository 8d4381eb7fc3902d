"""One pace for every push the bot sends on its own (alerts, install messages, notices), and
one "not before" deadline when Telegram's flood control asks every push to wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# Telegram allows about 30 messages a second to different chats; pushes stay below that.
PUSHES_PER_SECOND = 25.0

# The results a push is counted under (``PushPacer.count``).
SENT = "sent"
FAILED = "failed"
DELAYED = "delayed"

# Told of each push by kind ("alert", "install", "team", "notice") and result (above).
PushObserver = Callable[[str, str], None]


class PushPacer:
    """Spaces messages so that all pushes together stay under ``rate`` a second, and holds
    them all while Telegram's flood control lasts.

    One instance per process (``Services.pacer``), shared by every sender of pushes: each
    waits its turn here right before ``sendMessage``. Replies to a user's own update do not
    pass here; they answer one user and are counted by Telegram per chat.

    A sender that gets ``429 retry_after`` calls :meth:`hold`: no push of any sender leaves
    before that deadline (:meth:`wait` sleeps until it). Senders with other work to do look at
    :meth:`held` first and move their pushes to a later pass instead of sleeping in a pass."""

    def __init__(
        self,
        rate: float = PUSHES_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        observer: PushObserver | None = None,
    ) -> None:
        self._gap = 1.0 / rate
        self._next = 0.0
        self._not_before = 0.0
        self._lock = asyncio.Lock()
        # Public so that tests can move time on without waiting for it.
        self.clock = clock
        self.sleep = sleep
        # The process's metrics (``BotMetrics.push``), when it keeps them.
        self.observer = observer

    def hold(self, retry_after: float) -> None:
        """Telegram asked to wait ``retry_after`` seconds: no push goes before then. A shorter
        hold never cuts a longer one short."""
        self._not_before = max(self._not_before, self.clock() + max(0.0, retry_after))

    def held(self) -> float:
        """Seconds until pushes may go again (0: now)."""
        return max(0.0, self._not_before - self.clock())

    async def wait(self) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                start = max(self._next, self._not_before)
                if start <= now:
                    break
                # Looked at again after the sleep: a hold may have been set meanwhile.
                await self.sleep(start - now)
            self._next = now + self._gap

    def count(self, kind: str, result: str) -> None:
        if self.observer is not None:
            self.observer(kind, result)

    def flood(self, kind: str, retry_after: float) -> None:
        """A push of ``kind`` was refused with ``429 retry_after``: every push waits it out."""
        self.hold(retry_after)
        self.count(kind, DELAYED)
