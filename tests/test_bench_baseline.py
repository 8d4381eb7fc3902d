"""The bench's baseline users pause like ours wait for the provider, exactly after those taps."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import bench.traffic
from bench.baseline import paced_like_our_bot, running_baseline
from bench.traffic import Screens, drive_users, open_menus

USER = 1000
CARD, LIST = "s:c:1", "m:srv"


def _screen(text: str, data: str) -> tuple[str, dict[str, Any]]:
    return text, {"inline_keyboard": [[{"text": text, "callback_data": data}]]}


SCREENS = Screens(
    main=_screen("Menu", LIST),
    after={LIST: _screen("List", CARD), CARD: _screen("Card", LIST)},
    provider_calls={LIST: 0, CARD: 1},
)


def test_a_pause_follows_only_the_taps_our_bot_asked_the_provider_for() -> None:
    pause = paced_like_our_bot(SCREENS, latency=0.02, jitter=0.1)
    assert pause is not None
    assert pause(LIST) == 0.0
    cards = [pause(CARD) for _ in range(20)]
    assert all(0.018 <= wait <= 0.022 for wait in cards)
    assert len(set(cards)) > 1, "the jitter draws a new wait each time"
    assert paced_like_our_bot(SCREENS, latency=0.0, jitter=0.1) is None


async def test_the_simulated_users_pause_after_each_tap(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    slept: list[float] = []

    class RecordingAsyncio:
        """The traffic module's asyncio, with its sleeps noted (and not waited for)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(asyncio, name)

        async def sleep(self, delay: float) -> None:
            slept.append(delay)

    monkeypatch.setattr(bench.traffic, "asyncio", RecordingAsyncio())

    def pause(data: str) -> float:
        asked.append(data)
        return 0.001 if data == CARD else 0.0

    async with running_baseline(SCREENS) as tg:
        menus = await open_menus(tg, [USER], timeout=10)
        # The bench's route starts with the servers list, then the card.
        drive = await drive_users(tg, menus, 2, timeout=10, pause=pause)
    assert drive.failures == 0
    assert asked == [LIST, CARD]
    assert slept == [0.001], "a pause only where one is asked for"
