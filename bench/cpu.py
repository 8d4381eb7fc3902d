"""CPU accounting for one process that holds the bot *and* the fakes it talks to: the watcher
benchmark (:mod:`bench.watcher_bench`), which drives the real ``InstallWatcher`` in the bench
process. (The menu traffic runs each bot as a process of its own and reads its CPU from the
operating system instead.)

``time.process_time()`` counts everything: the bot, the fake Bot API server, the provider
simulator and the simulated users. To say what the bot itself costs, a CPU-time profiling timer
(``ITIMER_PROF``, the way statistical profilers work) interrupts the main thread about every
millisecond of CPU; the handler files the main thread's CPU time since the previous sample under
the first (innermost) frame of the interrupted stack that belongs to a known part:

* ``fake-telegram`` — ``tests/fakes/`` and its ``bench/faketg.py`` subclass;
* ``simulator`` — ``bot/inferno/simulator.py``;
* ``http-server`` — aiohttp's server side (``aiohttp/web_*.py``), which only the two fakes use:
  the bot's HTTP clients (aiogram's and the provider's) are aiohttp's client side;
* ``driver`` — the simulated users (``bench/traffic.py``);
* ``loop`` — nothing but asyncio/selectors frames (the event loop itself, shared by everyone);
* ``bot`` — everything else: our code and its dependencies (aiogram, aiohttp, pydantic, …).

Samples taken while the main thread sleeps in the selector are "idle"; their CPU is spread in
proportion. CPU of other threads (aiosqlite's worker thread) belongs to the bot. The handler's
own cost is measured and left out. (A sampler *thread* would only see the main thread when it
releases the GIL, i.e. mostly in socket calls: useless here.) ``bench/RESULTS.md`` cross-checks
the split with py-spy.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from types import CodeType, FrameType

HARNESS = ("fake-telegram", "simulator", "http-server", "driver")
CATEGORIES = ("bot", "loop", *HARNESS)

_SERVER_FILES = (
    "web_protocol.py",
    "web_app.py",
    "web_urldispatcher.py",
    "web_request.py",
    "web_response.py",
    "web_server.py",
    "web_runner.py",
    "web_middlewares.py",
    "web_exceptions.py",
)
# Not bench/baseline.py: the baseline bot is the thing measured there, not the harness.
_DRIVER_FILES = ("bench/traffic.py", "bench/cpu.py", "bench/run.py")
_LOOP_DIRS = ("/asyncio/",)
_LOOP_FILES = ("selectors.py",)
# Frames below the loop's iteration belong to whoever started the loop, not to the work.
_STOP = "stop"


def _category(code: CodeType) -> str | None:
    return category_of(code.co_filename, code.co_name)


def category_of(filename: str, function: str) -> str | None:
    """The part a frame belongs to (None: the bot), by its file; also used on py-spy output."""
    path = filename.replace("\\", "/")
    if function == "_run_once" and path.endswith("asyncio/base_events.py"):
        return _STOP
    if "tests/fakes/" in path:
        return "fake-telegram"
    if path.endswith("bot/inferno/simulator.py"):
        return "simulator"
    if "aiohttp/" in path and path.rsplit("/", 1)[-1] in _SERVER_FILES:
        return "http-server"
    if path.endswith("bench/faketg.py"):
        return "fake-telegram"
    if path.endswith(_DRIVER_FILES):
        return "driver"
    if any(d in "/" + path for d in _LOOP_DIRS) or path.endswith(_LOOP_FILES):
        return "loop"
    return None


@dataclass
class CpuReport:
    wall: float
    process: float  # whole process, the sampler's own CPU taken out
    main_thread: float
    other_threads: float
    samples: int
    shares: dict[str, float] = field(default_factory=dict)  # of the main thread's busy samples

    def seconds(self, category: str) -> float:
        return self.main_thread * self.shares.get(category, 0.0)

    @property
    def harness(self) -> float:
        """CPU of the fakes and the simulated users, with their part of the event loop."""
        return self._with_loop(sum(self.shares.get(c, 0.0) for c in HARNESS))

    @property
    def bot(self) -> float:
        """CPU of the bot (ours + dependencies) with its part of the event loop, all threads."""
        return self._with_loop(self.shares.get("bot", 0.0)) + self.other_threads

    def _with_loop(self, share: float) -> float:
        # The event loop serves both sides; it is split in proportion to the rest.
        others = 1.0 - self.shares.get("loop", 0.0)
        if others <= 0:
            return 0.0
        return self.main_thread * share / others


class CpuMeter:
    """``with CpuMeter() as meter: ...`` then ``meter.report`` (sampling needs the main thread)."""

    def __init__(self, interval: float = 0.001, *, sample: bool = True) -> None:
        self._interval = interval
        self._sample = sample
        self._weights: defaultdict[str, float] = defaultdict(float)
        self._counts: Counter[str] = Counter()
        self._cache: dict[CodeType, str | None] = {}
        self._overhead = 0.0
        self._last = 0.0
        self._sampling = False
        self._previous_handler: object = None
        self.report: CpuReport | None = None

    def __enter__(self) -> CpuMeter:
        if self._sample and threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGPROF, self._on_sample)
            self._sampling = True
        self._wall0 = time.perf_counter()
        self._proc0 = time.process_time()
        self._main0 = self._last = time.thread_time()
        if self._sampling:
            signal.setitimer(signal.ITIMER_PROF, self._interval, self._interval)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sampling:
            signal.setitimer(signal.ITIMER_PROF, 0, 0)
        wall = time.perf_counter() - self._wall0
        proc = time.process_time() - self._proc0
        main = time.thread_time() - self._main0
        if self._sampling:
            signal.signal(signal.SIGPROF, self._previous_handler)  # type: ignore[arg-type]
        busy = {cat: w for cat, w in self._weights.items() if cat != "idle"}
        total = sum(busy.values())
        shares = {cat: busy.get(cat, 0.0) / total for cat in CATEGORIES} if total > 0 else {}
        main = max(main - self._overhead, 0.0)
        process = max(proc - self._overhead, 0.0)
        self.report = CpuReport(
            wall=wall,
            process=process,
            main_thread=main,
            other_threads=max(process - main, 0.0),
            samples=sum(n for cat, n in self._counts.items() if cat != "idle"),
            shares=shares,
        )

    def _on_sample(self, signum: int, frame: FrameType | None) -> None:
        now = time.thread_time()
        weight, self._last = now - self._last, now
        if frame is not None:
            category = self._classify(frame)
            self._weights[category] += weight
            self._counts[category] += 1
        done = time.thread_time()
        self._overhead += done - now
        self._last = done

    def _classify(self, frame: FrameType) -> str:
        if frame.f_code.co_name == "select" and frame.f_code.co_filename.endswith("selectors.py"):
            return "idle"
        only_loop = True
        current: FrameType | None = frame
        while current is not None:
            code = current.f_code
            if code in self._cache:
                category = self._cache[code]
            else:
                category = self._cache[code] = _category(code)
            if category == _STOP:
                break
            if category is None:
                only_loop = False
            elif category != "loop":
                return category
            current = current.f_back
        return "loop" if only_loop else "bot"
