"""The start-up heap is frozen and young collections run less often, as ``python -m bot`` does."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.runtime.gc_tuning import YOUNG_THRESHOLD, tune_garbage_collector


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_tuning_freezes_the_heap_and_keeps_the_older_thresholds() -> None:
    _, middle, old = gc.get_threshold()
    tune_garbage_collector()
    assert gc.get_freeze_count() > 10_000  # the interpreter, aiogram, pydantic, the bot
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)
    # Garbage made after start-up is still collected.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
