"""The strict fake Bot API server, made fit for thousands of taps.

The tests' :class:`FakeTelegram` keeps every update, request and edit forever and rescans the
whole update list on each ``getUpdates``; that is right for a test's few dozen updates but would
make the fake's own cost grow with the length of a benchmark run and blur what is measured. This
subclass changes only bookkeeping, never what the bot sees: confirmed updates are forgotten,
request records and edit histories are capped, and simulated users can wait for "my message was
edited" without polling (a polling loop per user would itself cost CPU).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from tests.fakes.telegram import (
    FakeMessage,
    FakeTelegram,
    QueuedUpdate,
    RecordedRequest,
    Webhook,
)

KEEP_REQUESTS = 500


class _RecentRequests(list[RecordedRequest]):
    """Keeps the newest records only (trimmed in bulk, so appending stays O(1) amortised)."""

    def __init__(self) -> None:
        super().__init__()
        self.polls = 0  # every getUpdates ever recorded, trimmed or not

    def append(self, item: RecordedRequest) -> None:
        if item.method.lower() == "getupdates":
            self.polls += 1
        super().append(item)
        if len(self) > 2 * KEEP_REQUESTS:
            del self[:-KEEP_REQUESTS]


class BenchTelegram(FakeTelegram):
    def __init__(self, **kwargs: Any) -> None:
        # The bench measures the bot's cost, not Telegram's global limit (30 messages a
        # second), which 200 users opening their menus at once would run into.
        kwargs.setdefault("flood_limit", False)
        super().__init__(**kwargs)
        self.requests: _RecentRequests = _RecentRequests()
        self._edit_waiters: dict[tuple[int, int], list[asyncio.Future[FakeMessage]]] = defaultdict(
            list
        )
        self._send_waiters: dict[int, list[asyncio.Future[FakeMessage]]] = defaultdict(list)

    @property
    def polls(self) -> int:
        """getUpdates requests so far."""
        return self.requests.polls

    # ------------------------------------------------------------------ waiting without polling

    def expect_edit(self, chat_id: int, message_id: int) -> asyncio.Future[FakeMessage]:
        """A future resolved by the next successful edit of this message."""
        future: asyncio.Future[FakeMessage] = asyncio.get_running_loop().create_future()
        self._edit_waiters[(chat_id, message_id)].append(future)
        return future

    def expect_message(self, chat_id: int) -> asyncio.Future[FakeMessage]:
        """A future resolved by the next message the bot sends to this chat."""
        future: asyncio.Future[FakeMessage] = asyncio.get_running_loop().create_future()
        self._send_waiters[chat_id].append(future)
        return future

    @staticmethod
    def _resolve(waiters: list[asyncio.Future[FakeMessage]], msg: FakeMessage) -> None:
        for future in waiters:
            if not future.done():
                future.set_result(msg)
        waiters.clear()

    # ------------------------------------------------------------------ overrides (bookkeeping)

    def _confirm(self, offset: int) -> None:
        super()._confirm(offset)
        # Handed-out times stay reachable through ``callback_queries[...].update``.
        self.updates[:] = [u for u in self.updates if not u.confirmed and not u.dropped]

    async def _deliver(self, update: QueuedUpdate, webhook: Webhook) -> None:
        # Webhook mode: a delivered update is forgotten too, or every delivery would rescan
        # all the updates of the run.
        await super()._deliver(update, webhook)
        if update.confirmed:
            self.updates[:] = [u for u in self.updates if not u.confirmed and not u.dropped]

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        result = await super()._send_message(params)
        chat_id, message_id = int(result["chat"]["id"]), int(result["message_id"])
        waiters = self._send_waiters.pop(chat_id, None)
        if waiters:
            self._resolve(waiters, self.message(chat_id, message_id))
        return result

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        result = await super()._edit_message_text(params)
        chat_id, message_id = int(result["chat"]["id"]), int(result["message_id"])
        msg = self.message(chat_id, message_id)
        del msg.history[:-1]
        del msg.edit_times[:-1]
        waiters = self._edit_waiters.pop((chat_id, message_id), None)
        if waiters:
            self._resolve(waiters, msg)
        return result

    def forget_query(self, query_id: str) -> None:
        """Drop the records of a measured tap, so the fake's memory does not grow per tap."""
        self.callback_queries.pop(query_id, None)
        self.callback_answers.pop(query_id, None)
