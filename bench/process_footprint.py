"""The floor the dependencies set: fresh interpreters that only import Python, aiogram, or all
of the bot's modules, their resident memory and the time the import took.

No bot on these libraries gets below the first two; the third is what ``python -m bot`` holds
before it opens anything. The environment is the bench's own, so ``LAZY_TYPES`` applies to the
third as it applies to the bot.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass

from tests.e2e_process import ROOT

# What a fresh interpreter imports before its size is read (psutil itself is needed to read it).
FLOORS: dict[str, str] = {
    "Python + psutil": "",
    "import aiogram": "import aiogram",
    "import bot.app (all the bot's modules)": "import bot.app",
}
_MEASURE = (
    "import time\n"
    "started = time.perf_counter()\n"
    "{statement}\n"
    "took = time.perf_counter() - started\n"
    "import gc, psutil\n"
    "gc.collect()\n"
    "print(psutil.Process().memory_info().rss, took)\n"
)


@dataclass
class Floor:
    rss_mb: float
    import_s: float


def import_floor(statement: str) -> Floor:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE.format(statement=statement)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rss, took = done.stdout.split()[-2:]
    return Floor(rss_mb=int(rss) / 2**20, import_s=float(took))


async def measure_floors() -> dict[str, Floor]:
    return {label: await asyncio.to_thread(import_floor, code) for label, code in FLOORS.items()}
