"""glibc's allocator gives freed memory back to the system, as ``python -m bot`` has it do."""

from __future__ import annotations

import asyncio
import os
import platform
import resource
from pathlib import Path

import pytest

from bot.runtime import heap_trim

GLIBC = platform.libc_ver()[0] == "glibc"


def _resident_mb() -> float:
    pages = int(Path(f"/proc/{os.getpid()}/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_the_installed_c_library_trims() -> None:
    assert heap_trim.trim_heap()


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_a_trim_hands_back_the_free_memory_inside_the_heap() -> None:
    # 48 MB in blocks below glibc's mmap threshold, so they come from the heap; the last one
    # stays, so the free memory is not at the heap's top, which free() alone would give back.
    blocks = [bytes(60_000) for _ in range(800)]
    last = blocks[-1]
    del blocks
    freed_but_held = _resident_mb()
    assert heap_trim.trim_heap()
    assert freed_but_held - _resident_mb() > 20
    assert len(last) == 60_000


def test_without_glibc_nothing_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert heap_trim._find_malloc_trim() is None
    monkeypatch.setattr(heap_trim, "_malloc_trim", None)
    assert not heap_trim.trim_heap()


async def test_trimming_runs_while_the_block_runs_and_stops_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    trimmed = asyncio.Event()

    def record(pad: int) -> int:
        calls.append(pad)
        if len(calls) >= 2:
            trimmed.set()
        return 1

    monkeypatch.setattr(heap_trim, "_malloc_trim", record)
    async with heap_trim.trimming(interval=0.0):
        await asyncio.wait_for(trimmed.wait(), 10)
    done = len(calls)
    for _ in range(5):
        await asyncio.sleep(0)  # a loop still running would trim again here
    assert calls == [0] * done
