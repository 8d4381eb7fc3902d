"""Prometheus metrics of one bot process, served at ``GET /metrics`` in webhook mode.

Every metric lives in the process's own :class:`CollectorRegistry`, not prometheus-client's
global one: tests and benchmarks build several bots in one interpreter, and each must count
only its own.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["CONTENT_TYPE_LATEST", "BotMetrics", "UpdateMetricsMiddleware"]

# A tap's answer is due within seconds; the long tail is the provider's.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class BotMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "inferno_bot_updates_handled",
            "Updates handled, by type",
            ["type"],
            registry=self.registry,
        )
        self.repeated_updates = Counter(
            "inferno_bot_updates_repeated",
            "Updates dropped because their update_id was already taken in (webhook retries)",
            registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "inferno_bot_handler_seconds",
            "Time from an update reaching the dispatcher to its handlers' return",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.provider_calls = Counter(
            "inferno_bot_provider_calls",
            "Calls to the provider's API, by action and result (ok or the error's class)",
            ["action", "result"],
            registry=self.registry,
        )
        self.pushes = Counter(
            "inferno_bot_pushes",
            "Messages the bot sent on its own, by kind (alert, install, team, notice) and result"
            " (sent; failed: blocked, refused, or Telegram failing, which a later pass tries"
            " again; delayed: Telegram's flood control, tried once it is over)",
            ["kind", "result"],
            registry=self.registry,
        )
        self.open_watches = Gauge(
            "inferno_bot_open_watches",
            "Installs being watched, read from the database at scrape time",
            registry=self.registry,
        )

    def provider_call(self, action: str, result: str) -> None:
        """The provider client's observer (``InfernoClient(observer=...)``)."""
        self.provider_calls.labels(action=action, result=result).inc()

    def push(self, kind: str, result: str) -> None:
        """The push pacer's observer (``PushPacer.observer``)."""
        self.pushes.labels(kind=kind, result=result).inc()

    def render(self, open_watches: int) -> bytes:
        self.open_watches.set(open_watches)
        return generate_latest(self.registry)


class UpdateMetricsMiddleware(BaseMiddleware):
    """Outer update middleware: counts each handled update by type and times its handling."""

    def __init__(self, metrics: BotMetrics) -> None:
        self._metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            self._metrics.handler_seconds.labels(type=kind).observe(time.perf_counter() - started)
            self._metrics.updates.labels(type=kind).inc()
