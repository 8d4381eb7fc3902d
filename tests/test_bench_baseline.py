"""The bench's baseline waits like the provider exactly on the taps our bot asked it for."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import bench.baseline
from bench.baseline import running_baseline
from bench.traffic import Screens, open_menus

USER = 1000
CARD, LIST = "s:c:1", "m:srv"


def _screen(text: str, data: str) -> tuple[str, dict[str, Any]]:
    return text, {"inline_keyboard": [[{"text": text, "callback_data": data}]]}


async def test_the_baseline_waits_only_where_our_bot_called_the_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []

    async def recording_wait(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr(bench.baseline, "wait_like_the_provider", recording_wait)
    screens = Screens(
        main=_screen("Menu", LIST),
        after={LIST: _screen("List", CARD), CARD: _screen("Card", LIST)},
        provider_calls={LIST: 0, CARD: 1},
    )
    async with running_baseline(screens, latency=0.02, jitter=0.1) as tg:
        (message_id,) = (await open_menus(tg, [USER], timeout=10)).values()
        for data in (LIST, CARD, LIST, CARD):
            edited = tg.expect_edit(USER, message_id)
            await tg.tap(USER, message_id, data)
            await asyncio.wait_for(edited, timeout=10)
    assert len(waits) == 2
    assert all(0.018 <= wait <= 0.022 for wait in waits)
    assert waits[0] != waits[1], "the jitter draws a new wait each time"
