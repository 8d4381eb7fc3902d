"""Runs the benchmark and prints the numbers beside the targets (issues #7 and #16).

Our bot (``python -m bot``) and two aiogram baselines (``python -m bench.baseline``) each run as
a process of their own, against fake Bot API servers, the provider simulator and the simulated
users in this process. At each number of users the three are measured in turn, several times,
the order rotating (ours, as shipped, tuned; as shipped, tuned, ours; …), and the targets are
judged on medians.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import statistics
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bench.baseline import TOKEN_VARIABLE
from bench.faketg import BenchTelegram
from bench.process_footprint import Floor, measure_floors
from bench.processes import BotProcess, first_account_checks, write_users
from bench.traffic import (
    ROUTE,
    TrafficResult,
    capture_screens,
    measure,
    open_menus,
    provider_latency,
)
from bench.watcher_bench import SweepResult, run_watcher_bench
from bot.config import Settings
from bot.inferno.simulator import Simulator, SimulatorServer
from tests.e2e_process import SETTING_NAMES, process_env
from tests.harness import make_settings

# Issue #16, each judged on the median of interleaved runs against aiogram with the same tuning.
CPU_RATIO_TARGET = 1.3
P99_EDIT_RATIO_TARGET = 1.5
P99_EDIT_USERS = 200
RSS_TARGET_MB = 100.0
RSS_LINKED_USERS = 10_000
RSS_ACTIVE_USERS = 200
# The alerts read each of 10,000 new accounts once at start: 30,000 calls 8 at a time.
FIRST_CHECKS_TIMEOUT = 900.0
# Issue #7.
P99_ANSWER_TARGET_MS = 250.0
P99_ANSWER_USERS = 50
P99_LATENCY = 0.02
SWEEP_TARGET = 1.2
SWEEP_TARGET_WATCHES = 1000

FIRST_ACTIVE_USER = 1000
OURS, SHIPPED, TUNED = "ours", "shipped", "tuned"
SHORT = {OURS: "ours", SHIPPED: "aiogram as shipped", TUNED: "aiogram + our tuning"}


def titles(aiogram: str) -> dict[str, str]:
    """The bots' names as the report gives them, with aiogram's version."""
    minor = ".".join(aiogram.split(".")[:2])
    return {
        OURS: "inferno-bot: `python -m bot`, its default settings and logging (INFO)",
        SHIPPED: f"aiogram {minor} as shipped: a plain `Dispatcher`, default session and "
        "settings, logging at INFO as in aiogram's examples",
        TUNED: f"aiogram {minor} with the bot's process tuning: the same, plus `bot/runtime` "
        "(lazy types, kept answer models, uncached `Update.event_type`, GC freeze)",
    }


@dataclass
class BenchConfig:
    users: list[int] = field(default_factory=lambda: [10, 50, 200])
    runs: int = 3  # interleaved runs of each bot at each size
    taps: int = 40  # measured taps per user and run
    warmup: int = 4  # taps per user before each measured run (one lap)
    latency: float = 0.02
    # A real network spreads answers a little; the watcher's largest size also runs without.
    jitter: float = 0.1
    watches: list[int] = field(default_factory=lambda: [10, 100, 1000])
    concurrency: int = int(Settings.model_fields["watch_concurrency"].default)
    sweeps: int = 3
    linked_users: int = RSS_LINKED_USERS
    timeout: float = 30.0  # per tap, per answer, per start


@dataclass
class Row:
    metric: str
    value: str
    target: str
    verdict: str  # "met", "MISSED" or "" (no target for this one)


@dataclass
class BotFacts:
    key: str
    title: str
    started_s: float  # spawned → the first /menu answered
    rss_mb: float  # after all the traffic
    exit_code: int | None
    described: dict[str, Any] = field(default_factory=dict)  # the baselines' own account


@dataclass
class BenchResults:
    config: BenchConfig
    machine: dict[str, str]
    linked_users: int
    bots: list[BotFacts]
    traffic: list[TrafficResult]
    watcher: list[SweepResult]
    floors: dict[str, Floor]

    def targets(self) -> list[Row]:
        return target_rows(self)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["targets"] = [asdict(row) for row in self.targets()]
        return data


def machine_info() -> dict[str, str]:
    model = platform.processor() or "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "aiogram": version("aiogram"),
        "aiohttp": version("aiohttp"),
        "pydantic": version("pydantic"),
    }


def baseline_env(tg: BenchTelegram) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update({TOKEN_VARIABLE: tg.token, "PYTHONUNBUFFERED": "1"})
    return env


async def run_bench(
    config: BenchConfig, workdir: Path, *, log: Callable[[str], None] = print
) -> BenchResults:
    machine = machine_info()
    load_before = os.getloadavg()[0]
    sizes = sorted(set(config.users))
    active = [FIRST_ACTIVE_USER + i for i in range(max(sizes))]
    names = titles(machine["aiogram"])
    sim = Simulator(install_delay=0.0)
    traffic: list[TrafficResult] = []
    bots: list[BotProcess] = []
    facts: list[BotFacts] = []
    ours_tg, shipped_tg, tuned_tg = BenchTelegram(), BenchTelegram(), BenchTelegram()
    async with ours_tg, shipped_tg, tuned_tg, SimulatorServer(sim) as server:
        settings = make_settings(workdir, ours_tg, server.url)
        dormant = max(config.linked_users - len(active), 0)
        log(f"setup: {dormant} linked users, {len(active)} more with a server each")
        linked = await write_users(settings, [ours_tg, shipped_tg, tuned_tg], sim, dormant, active)
        # Only the addresses, the token and the files; every other setting at its default.
        ours = BotProcess(
            OURS, names[OURS], ["-m", "bot"], process_env(settings), ours_tg, workdir / "ours.log"
        )
        try:
            with provider_latency(sim, config.latency, config.jitter):
                log("start: python -m bot")
                await _start(ours, active, config.timeout, bots)
                settled = await first_account_checks(
                    settings.database_path, linked, FIRST_CHECKS_TIMEOUT, log=log
                )
                log(f"setup: the alerts' first check of {linked} accounts took {settled:.0f} s")
                machine["first account checks"] = f"{linked} accounts in {settled:.0f} s"
                screens = await capture_screens(ours_tg, ours.menus, config.timeout)
                screens_path = workdir / "screens.json"
                screens.save(screens_path)
                for key, tg, tuned in ((SHIPPED, shipped_tg, False), (TUNED, tuned_tg, True)):
                    log(f"start: python -m bench.baseline{' --tuned' if tuned else ''}")
                    argv = ["-m", "bench.baseline", "--api", tg.base_url]
                    argv += ["--screens", str(screens_path), "--describe", str(workdir / key)]
                    baseline = BotProcess(
                        key, names[key], argv + ["--tuned"] * tuned, baseline_env(tg), tg,
                        workdir / f"{key}.log",
                    )  # fmt: skip
                    await _start(baseline, active, config.timeout, bots)
                for size in sizes:
                    for run in range(config.runs):
                        turn = run % len(bots)
                        for bot in bots[turn:] + bots[:turn]:
                            log(f"traffic: {SHORT[bot.key]}, {size} users, run {run + 1}")
                            traffic.append(
                                await measure(
                                    bot,
                                    size,
                                    run=run,
                                    taps=config.taps,
                                    warmup=config.warmup,
                                    timeout=config.timeout,
                                    provider_calls=sim.calls if bot is ours else None,
                                )
                            )
            rss = {bot.key: bot.rss_mb() for bot in bots}
        finally:
            for bot in bots:
                await bot.stop()
        for bot in bots:
            described = workdir / bot.key
            facts.append(
                BotFacts(
                    key=bot.key,
                    title=bot.title,
                    started_s=bot.started_s,
                    rss_mb=rss[bot.key],
                    exit_code=bot.exit_code,
                    described=json.loads(described.read_text()) if described.exists() else {},
                )
            )

    log("footprint: fresh interpreters")
    floors = await measure_floors()
    log(f"watcher: sweeps over {', '.join(map(str, sorted(config.watches)))} watches")
    (workdir / "watcher").mkdir(parents=True, exist_ok=True)
    watcher = await run_watcher_bench(
        workdir / "watcher",
        config.watches,
        latency=config.latency,
        concurrency=config.concurrency,
        sweeps=config.sweeps,
        jitter=config.jitter,
    )
    # Wall-clock numbers (latency, taps/s, sweep time) move with other work on the machine far
    # more than CPU seconds; the load average says how busy it was.
    machine["load"] = f"{load_before:.2f} at start, {os.getloadavg()[0]:.2f} at end (1-min avg)"
    return BenchResults(
        config=config,
        machine=machine,
        linked_users=linked,
        bots=facts,
        traffic=traffic,
        watcher=watcher,
        floors=floors,
    )


async def _start(
    bot: BotProcess, active: list[int], timeout: float, bots: list[BotProcess]
) -> None:
    """Start ``bot`` (stopped with the others, even if it fails), then open every user's menu."""
    bots.append(bot)
    await bot.start(active[0], timeout)
    bot.menus |= await open_menus(bot.tg, active[1:], timeout)


# --------------------------------------------------------------------------- judging


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _clean(result: TrafficResult) -> bool:
    """Served every tap it was asked for, without an error or a detour."""
    asked = result.users * result.taps_per_user
    return (
        result.taps == asked
        and result.failures == result.off_route == result.unanswered == 0
        and result.telegram_errors == 0
    )


@dataclass
class Paired:
    """Our runs and a baseline's at one size, paired by run (each pair ran back to back)."""

    users: int
    ours: list[TrafficResult]
    base: list[TrafficResult]

    def ratios(self, value: Callable[[TrafficResult], float]) -> list[float]:
        return [
            value(a) / value(b) for a, b in zip(self.ours, self.base, strict=True) if value(b) > 0
        ]

    @property
    def clean(self) -> bool:
        return all(_clean(r) for r in self.ours + self.base)


def pairs(results: BenchResults, baseline: str) -> list[Paired]:
    out = []
    for users in sorted({r.users for r in results.traffic}):
        at = [r for r in results.traffic if r.users == users]
        ours = sorted((r for r in at if r.bot == OURS), key=lambda r: r.run)
        base = sorted((r for r in at if r.bot == baseline), key=lambda r: r.run)
        if ours and len(ours) == len(base):
            out.append(Paired(users, ours, base))
    return out


def _cpu(result: TrafficResult) -> float:
    return result.cpu_ms_per_tap


def _p99_edit(result: TrafficResult) -> float:
    return result.edit_ms["p99"]


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def _runs(values: Sequence[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def target_rows(results: BenchResults) -> list[Row]:
    rows: list[Row] = []
    runs = results.config.runs
    shipped = {p.users: p for p in pairs(results, SHIPPED)}
    for pair in pairs(results, TUNED):
        ratios = pair.ratios(_cpu)
        ratio = _median(ratios)
        ours_ms = _median([_cpu(r) for r in pair.ours])
        base_ms = _median([_cpu(r) for r in pair.base])
        beside = ""
        if pair.users in shipped:
            beside = f"; ÷ aiogram as shipped {_median(shipped[pair.users].ratios(_cpu)):.2f}×"
        rows.append(
            Row(
                f"CPU per tap ÷ aiogram with the bot's process tuning, {pair.users} users "
                f"(median of {runs} interleaved runs: {_runs(ratios)}; "
                f"ours {ours_ms:.2f} ms, baseline {base_ms:.2f} ms{beside})",
                f"{ratio:.2f}×",
                f"≤ {CPU_RATIO_TARGET}×",
                _verdict(ratio <= CPU_RATIO_TARGET and pair.clean),
            )
        )
    for pair in pairs(results, TUNED):
        ratios = pair.ratios(_p99_edit)
        ratio = _median(ratios)
        applies = pair.users == P99_EDIT_USERS
        ours_ms = _median([_p99_edit(r) for r in pair.ours])
        base_ms = _median([_p99_edit(r) for r in pair.base])
        rows.append(
            Row(
                f"p99 tap → edit ÷ aiogram with the bot's process tuning, {pair.users} users "
                f"(median of {runs} runs: {_runs(ratios)}; "
                f"ours {_ms(ours_ms)} ms, baseline {_ms(base_ms)} ms)",
                f"{ratio:.2f}×",
                f"≤ {P99_EDIT_RATIO_TARGET}×" if applies else f"(target: {P99_EDIT_USERS} users)",
                _verdict(ratio <= P99_EDIT_RATIO_TARGET and pair.clean) if applies else "",
            )
        )
    ours_runs = [r for r in results.traffic if r.bot == OURS]
    for users in sorted({r.users for r in ours_runs}):
        at = [r for r in ours_runs if r.users == users]
        p99 = _median([r.answer_ms["p99"] for r in at])
        applies = users == P99_ANSWER_USERS and math.isclose(results.config.latency, P99_LATENCY)
        rows.append(
            Row(
                f"p99 tap → answer, ours, {users} users, "
                f"{results.config.latency * 1000:.0f} ms provider latency (median of {len(at)})",
                f"{_ms(p99)} ms",
                f"< {P99_ANSWER_TARGET_MS:.0f} ms" if applies else f"(target: {P99_ANSWER_USERS})",
                _verdict(p99 < P99_ANSWER_TARGET_MS and all(map(_clean, at))) if applies else "",
            )
        )
    for sweep in results.watcher:
        applies = sweep.watches == SWEEP_TARGET_WATCHES
        rows.append(
            Row(
                f"sweep of {sweep.watches} watches (worst of {len(sweep.sweep_s)}), "
                f"{_jitter(sweep.jitter)}, bound {sweep.bound_s:.2f} s",
                f"{sweep.worst_s:.3f} s = {sweep.worst_vs_bound:.2f}× bound",
                f"≤ {SWEEP_TARGET}× bound" if applies else "(target: 1,000 watches)",
                _verdict(sweep.worst_vs_bound <= SWEEP_TARGET) if applies else "",
            )
        )
        rows.append(
            Row(
                f"peak parallel provider calls, {sweep.watches} watches",
                str(sweep.peak_in_flight),
                f"≤ {sweep.concurrency} (concurrency)",
                _verdict(sweep.peak_in_flight <= sweep.concurrency),
            )
        )
    ours = next((b for b in results.bots if b.key == OURS), None)
    if ours is not None:
        active = max((r.users for r in ours_runs), default=0)
        applies = results.linked_users >= RSS_LINKED_USERS and active >= RSS_ACTIVE_USERS
        served = all(map(_clean, ours_runs)) and ours.exit_code == 0
        taps = sum(r.taps for r in ours_runs)
        rows.append(
            Row(
                f"RSS of `python -m bot`, {results.linked_users} linked users, after serving "
                f"{taps} taps of up to {active} users at once "
                f"({'every tap served, stopped cleanly' if served else 'NOT all served cleanly'})",
                f"{ours.rss_mb:.1f} MB",
                f"< {RSS_TARGET_MB:.0f} MB"
                if applies
                else f"(target: {RSS_LINKED_USERS:,} users, {RSS_ACTIVE_USERS} active)",
                _verdict(ours.rss_mb < RSS_TARGET_MB and served) if applies else "",
            )
        )
    return rows


# --------------------------------------------------------------------------- report


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [
        line(r) for r in rows
    ]


def _described(facts: BotFacts) -> str:
    d = facts.described
    if not d:
        return ""
    types = "built at import" if d.get("types_built_at_import") else "built on first use"
    return (
        f" — it reports: {d.get('bot_modules_imported')} of the bot's modules imported, "
        f"aiogram's types {types}, GC thresholds {tuple(d.get('gc_threshold', ()))}, "
        f"{d.get('gc_frozen_objects')} objects frozen, log level {d.get('log_level')}"
    )


def _load(result: TrafficResult) -> str:
    return f"{result.load[0]:.1f}–{result.load[1]:.1f}"


def render(results: BenchResults) -> str:
    """The whole report as Markdown (it reads fine in a terminal too)."""
    cfg, m = results.config, results.machine
    out = [
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}; aiogram {m['aiogram']}, "
        f"aiohttp {m['aiohttp']}, pydantic {m['pydantic']}; {m['date']}; "
        f"load average {m.get('load', '?')}",
        "",
        "Before the traffic, the alerts' first check of every linked account (a bot started on "
        "accounts it has never checked reads each once): "
        f"{m.get('first account checks', '?')}; the taps are measured after it.",
        "",
        "Bots, each a process of its own (the fake Bot API servers, the simulator and the "
        "simulated users run in the bench process):",
        "",
        *(f"* **{SHORT[b.key]}** — {b.title}{_described(b)}" for b in results.bots),
        "",
        "### Targets",
        "",
        *_table(
            ("metric", "value", "target", "verdict"),
            [(r.metric, r.value, r.target, r.verdict) for r in results.targets()],
        ),
        "",
        f"### Menu traffic ({cfg.taps} measured taps per user after {cfg.warmup} warm-up taps, "
        f"{cfg.runs} interleaved runs per size, provider latency {cfg.latency * 1000:.0f} ms, "
        f"{_jitter(cfg.jitter)})",
        "",
        "Times are from the user's tap (the update queued at the fake Bot API server). CPU is "
        "the bot process's user + system time per tap, read from the operating system; "
        '"harness" is the bench process\'s (fakes, simulator, simulated users). Load is the '
        "machine's 1-minute load average at the start and the end of the run.",
        "",
    ]
    medians = []
    for users in sorted({r.users for r in results.traffic}):
        for key in (OURS, SHIPPED, TUNED):
            at = [r for r in results.traffic if r.users == users and r.bot == key]
            if at:
                medians.append(
                    (
                        SHORT[key],
                        str(users),
                        f"{_median([_cpu(r) for r in at]):.3f}",
                        _ms(_median([r.answer_ms["p99"] for r in at])),
                        _ms(_median([r.edit_ms["p50"] for r in at])),
                        _ms(_median([_p99_edit(r) for r in at])),
                        f"{_median([r.taps_per_s for r in at]):.0f}",
                    )
                )
    out += _table(
        (
            "bot",
            "users",
            "CPU ms/tap",
            "tap→answer p99 ms",
            "tap→edit p50 ms",
            "tap→edit p99 ms",
            "taps/s",
        ),
        medians,
    )
    out += ["", "Every run, in the order run:", ""]
    rows = []
    for r in results.traffic:
        rows.append(
            (
                SHORT[r.bot],
                str(r.users),
                str(r.run + 1),
                str(r.taps),
                f"{r.taps_per_s:.0f}",
                "/".join(_ms(r.handout_ms[k]) for k in ("p50", "p99")),
                "/".join(_ms(r.answer_ms[k]) for k in ("p50", "p95", "p99")),
                "/".join(_ms(r.edit_ms[k]) for k in ("p50", "p95", "p99")),
                f"{r.cpu_ms_per_tap:.3f}",
                f"{r.harness_cpu_ms_per_tap:.3f}",
                f"{r.provider_calls_per_tap:.2f}",
                f"{r.polls_per_tap:.3f}",
                f"{r.failures}/{r.off_route}/{r.unanswered}/{r.telegram_errors}",
                _load(r),
            )
        )
    out += _table(
        (
            "bot",
            "users",
            "run",
            "taps",
            "taps/s",
            "tap→handed out p50/p99 ms",
            "tap→answer p50/p95/p99 ms",
            "tap→edit p50/p95/p99 ms",
            "CPU ms/tap",
            "harness",
            "calls/tap",
            "polls/tap",
            "fail/off/unans/tg-err",
            "load",
        ),
        rows,
    )
    out += [
        "",
        f"### Watcher (in the bench process; provider latency {cfg.latency * 1000:.0f} ms, "
        f"concurrency {cfg.concurrency})",
        "",
    ]
    out += _table(
        (
            "watches",
            "latency jitter",
            "sweeps s",
            "median s",
            "bound s",
            "worst/bound",
            "peak parallel",
            "calls/sweep",
            "CPU ms/watch (bot)",
            "growth vs first",
        ),
        [
            (
                str(s.watches),
                f"±{s.jitter * 100:.0f} %",
                " ".join(f"{t:.3f}" for t in s.sweep_s),
                f"{s.median_s:.3f}",
                f"{s.bound_s:.3f}",
                f"{s.worst_vs_bound:.2f}",
                str(s.peak_in_flight),
                f"{s.calls_per_sweep:.0f}",
                f"{s.cpu_ms_per_watch:.2f} ({s.bot_cpu_ms_per_watch:.2f})",
                _growth(s, results.watcher),
            )
            for s in results.watcher
        ],
    )
    out += ["", "### Footprint", ""]
    fp_rows = [
        (f"{SHORT[b.key]}: spawned → first /menu answered", f"{b.started_s:.2f} s")
        for b in results.bots
    ]
    fp_rows += [
        (
            f"{SHORT[b.key]}: RSS after all the traffic (exit code {b.exit_code})",
            f"{b.rss_mb:.1f} MB",
        )
        for b in results.bots
    ]
    fp_rows += [
        (f"fresh interpreter, {what}", f"{f.rss_mb:.1f} MB, {f.import_s:.2f} s")
        for what, f in results.floors.items()
    ]
    out += [f"Our bot's database: {results.linked_users} linked users.", ""]
    out += _table(("what", "value"), fp_rows)
    return "\n".join(out) + "\n"


def _jitter(jitter: float) -> str:
    return f"latency ±{jitter * 100:.0f} %" if jitter > 0 else "no jitter (lockstep)"


def _growth(sweep: SweepResult, sweeps: list[SweepResult]) -> str:
    """Against the smallest size with the same jitter; a lockstep row against its jittered twin."""
    first = sweeps[0]
    if sweep.jitter != first.jitter:
        twin = next((s for s in sweeps if s.watches == sweep.watches and s is not sweep), None)
        return f"×{sweep.median_s / twin.median_s:.2f} the jittered sweep" if twin else ""
    time_factor = sweep.median_s / first.median_s
    return f"time ×{time_factor:.1f} for watches ×{sweep.watches / first.watches:.0f}"


# --------------------------------------------------------------------------- command line


def sizes_argument(text: str) -> list[int]:
    """``--users 10,50,200`` and the like (every bench's command line)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("sizes must be positive")
    return values


def parse_args(argv: Sequence[str] | None) -> tuple[BenchConfig, argparse.Namespace]:
    defaults = BenchConfig()
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark of the Inferno bot (issues #7 and #16)"
    )
    parser.add_argument("--users", type=sizes_argument, help="simultaneous users, e.g. 10,50,200")
    parser.add_argument(
        "--runs", type=int, help=f"interleaved runs of each bot per size ({defaults.runs})"
    )
    parser.add_argument("--taps", type=int, help=f"measured taps per user ({defaults.taps})")
    parser.add_argument("--warmup", type=int, help=f"warm-up taps per user ({defaults.warmup})")
    parser.add_argument(
        "--latency", type=float, help=f"provider latency, seconds ({defaults.latency})"
    )
    parser.add_argument(
        "--jitter",
        type=float,
        help=f"provider latency jitter, a fraction: ±{defaults.jitter:g} × latency",
    )
    parser.add_argument("--watches", type=sizes_argument, help="open watches, e.g. 10,100,1000")
    parser.add_argument(
        "--concurrency", type=int, help=f"watcher concurrency ({defaults.concurrency})"
    )
    parser.add_argument("--sweeps", type=int, help=f"sweeps per size ({defaults.sweeps})")
    parser.add_argument(
        "--linked-users",
        type=int,
        help=f"linked users in our bot's database ({defaults.linked_users})",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--json", type=Path, help="also write all numbers as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the report as Markdown here")
    parser.add_argument("--workdir", type=Path, help="for the databases and logs (default: temp)")
    args = parser.parse_args(argv)

    config = BenchConfig()
    if args.quick:
        config = BenchConfig(users=[5, 20], taps=12, watches=[10, 100], sweeps=2, linked_users=1000)
    for name in (
        "users",
        "runs",
        "taps",
        "warmup",
        "latency",
        "jitter",
        "watches",
        "concurrency",
        "sweeps",
        "linked_users",
    ):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    if config.taps < 1 or config.warmup < 0 or config.latency < 0 or config.concurrency < 1:
        parser.error("taps ≥ 1, warmup ≥ 0, latency ≥ 0 and concurrency ≥ 1, please")
    if config.taps % len(ROUTE) or config.warmup % len(ROUTE):
        # Each run starts on the main menu; a run that stopped mid-lap would send the next off
        # its route, and every target would be judged on taps that took a detour.
        parser.error(f"taps and warmup are whole laps of the route: multiples of {len(ROUTE)}")
    if config.runs < 1:
        parser.error("runs ≥ 1, please (the targets are judged on medians of at least 3)")
    if not 0 <= config.jitter < 1:
        parser.error("jitter is a fraction of the latency: 0 ≤ jitter < 1")
    return config, args


class Reportable(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


ResultsT = TypeVar("ResultsT", bound=Reportable)


def run_and_report(
    args: argparse.Namespace,
    prefix: str,
    run: Callable[[Path, Callable[[str], None]], Coroutine[Any, Any, ResultsT]],
    render_results: Callable[[ResultsT], str],
) -> int:
    """What every bench's ``main`` does: run in ``--workdir`` (or a temporary folder), print
    the progress and the report, and write ``--json`` / ``--markdown`` when asked."""

    def log(message: str) -> None:
        print(f"· {message}", flush=True)

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = asyncio.run(run(workdir, log))
    report = render_results(results)
    print()
    print(report)
    if args.json:
        args.json.write_text(json.dumps(results.as_dict(), indent=2, default=str) + "\n")
    if args.markdown:
        args.markdown.write_text(report)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    config, args = parse_args(argv)
    return run_and_report(
        args, "inferno-bench-", lambda workdir, log: run_bench(config, workdir, log=log), render
    )
