"""Messages deleted after a while (the root password); kept in SQLite to survive a restart."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)

from bot.storage import Database

log = logging.getLogger(__name__)

# The background task's name, for BackgroundTasks.start and wake.
DELETIONS_TASK = "message-deletions"

# Telegram's answers for a message that is already gone or too old: nothing left to retry.
_GONE = ("message to delete not found", "message can't be deleted")
_TOO_OLD = "message can't be deleted"
# Shown in place of a secret that Telegram no longer lets us delete.
REDACTED = "🔒"


class DeletionScheduler:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], float] = time.time,
        retry_delay: float = 5.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._retry_delay = retry_delay

    async def schedule(self, chat_id: int, message_id: int, ttl: float) -> None:
        # Wall-clock time, not monotonic: the row must mean the same after a restart.
        await self._db.deletions.schedule(chat_id, message_id, self._clock() + ttl)

    async def cancel(self, chat_id: int, message_id: int) -> None:
        """Nothing left to do for this message (it was removed or redacted another way)."""
        await self._db.deletions.cancel(chat_id, message_id)

    async def run_due(self, bot: Bot) -> float | None:
        """Deletes every due message; returns the seconds until the next one (None: none left)."""
        retry_soon = False
        flood_wait = 0.0
        for item in await self._db.deletions.due(self._clock()):
            try:
                await bot.delete_message(item.chat_id, item.message_id)
            except TelegramRetryAfter as exc:
                # The other due deletions would only hit the same flood control: they wait too.
                log.info("deletion chat=%s delayed by flood control", item.chat_id)
                await self._db.deletions.schedule(
                    item.chat_id, item.message_id, self._clock() + exc.retry_after
                )
                flood_wait = float(exc.retry_after)
                break
            except TelegramBadRequest as exc:
                # A 400 will not change on a retry: the row is dropped whatever the reason.
                if _TOO_OLD in exc.message:
                    # Past the 48 h delete window a bot may still edit its message: at least
                    # take the secret out of it.
                    with suppress(TelegramAPIError):
                        await bot.edit_message_text(
                            REDACTED, chat_id=item.chat_id, message_id=item.message_id
                        )
                if not any(reason in exc.message for reason in _GONE):
                    log.warning(
                        "deletion chat=%s message=%s refused: %s",
                        item.chat_id,
                        item.message_id,
                        exc.message,
                    )
            except TelegramForbiddenError:
                log.info("deletion chat=%s: the user blocked the bot", item.chat_id)
            except TelegramAPIError as exc:
                # Network trouble or a Telegram 5xx: keep the row and try again shortly.
                log.warning("deletion chat=%s will be retried: %s", item.chat_id, exc)
                retry_soon = True
                continue
            await self._db.deletions.remove(item.id)
        next_at = await self._db.deletions.next_due_at()
        if next_at is None:
            return None
        wait = max(0.0, next_at - self._clock(), flood_wait)
        return max(wait, self._retry_delay) if retry_soon else wait
