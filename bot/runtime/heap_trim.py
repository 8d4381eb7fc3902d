"""Give the memory that glibc's allocator holds free back to the system.

**What it changes.** glibc's ``malloc`` keeps what the process frees for reuse and, on its own,
returns to the system only what lies at the very top of the main heap. Much of what the bot
frees is elsewhere: the start-up's temporary objects, pydantic-core's schemas, the buffers of a
pass of the alerts over every account, the rows SQLite's worker thread reads into an arena of
its own. :func:`trim_heap` calls glibc's public ``malloc_trim(0)``, which also hands back every
free page inside the heaps of all threads (since glibc 2.8). ``bot/runner.py`` calls it once
start-up is done, and :func:`trimming` every :data:`INTERVAL` seconds while the bot runs, so
that what a burst of updates freed goes back soon after the burst: a call costs well under a
millisecond, and what it hands back the allocator takes again from the system when it needs it.

**Measured gain** (``bench/RESULTS.md``): the bench's ``python -m bot`` (10,000 linked users,
200 active, RSS read after the traffic) holds about 5 MB less once a trim has run since the
traffic (one ``malloc_trim(0)`` there: 124.8 to 120.0 MB), and 1–2 MB less until then (the
trim after start-up alone). The interval is short so that the memory a burst freed goes back
within seconds of it; read sooner than that, RSS still holds it.

**Switching it off.** Remove the two uses in ``bot/runner.py``. Only the C library's public
API is called, through the standard library's ``ctypes``; Python's own allocator (small
objects) is not touched.

**Where it does nothing.** On a C library other than glibc (musl, macOS) there is no
``malloc_trim`` and :func:`trim_heap` returns False; ``tests/test_heap_trim.py`` fails if it
is not found where it should be (glibc on Linux).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import platform
from collections.abc import AsyncIterator, Callable

INTERVAL = 10.0


def _find_malloc_trim() -> Callable[[int], int] | None:
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library this interpreter already runs on
    except OSError:
        return None
    function = getattr(libc, "malloc_trim", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_malloc_trim = _find_malloc_trim()


def trim_heap() -> bool:
    """Return the allocator's free memory to the system; False where there is no way to."""
    if _malloc_trim is None:
        return False
    _malloc_trim(0)
    return True


@contextlib.asynccontextmanager
async def trimming(interval: float = INTERVAL) -> AsyncIterator[None]:
    """Trims the heap every ``interval`` seconds while the block runs (nothing without glibc)."""
    if _malloc_trim is None:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            trim_heap()

    task = asyncio.create_task(loop(), name="heap-trim")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
