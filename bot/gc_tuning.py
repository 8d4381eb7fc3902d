"""Garbage-collector settings for a long-running bot process.

After start-up the heap holds about 270,000 tracked objects that live as long as the process:
aiogram's and pydantic's type machinery, the routers, the translations. CPython's default
thresholds (700 allocations) run a young collection every few updates, and each full collection
walks all of those objects again; together that was about a sixth of the CPU of a menu tap
(``bench/RESULTS.md``). Freezing the start-up heap takes it out of every later collection, and
a larger young generation collects less often without holding garbage for long.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def tune_garbage_collector() -> None:
    """Call once everything long-lived exists, just before serving updates."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
