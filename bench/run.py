"""Runs every part of the benchmark in one process and prints the numbers beside the targets."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.baseline import paced_like_our_bot, running_baseline
from bench.faketg import BenchTelegram
from bench.footprint import (
    Footprint,
    cold_start,
    link_dormant_users,
    our_world,
    restart_with_users,
    rss_mb,
)
from bench.process_footprint import ProcessFootprint, measure_bot_process
from bench.traffic import (
    Screens,
    TrafficResult,
    add_server_users,
    capture_screens,
    measure,
    open_menus,
    provider_latency,
)
from bench.watcher_bench import SweepResult, run_watcher_bench
from bot.config import Settings
from bot.runtime.gc_tuning import tune_garbage_collector

# Targets of issue #7.
CPU_RATIO_TARGET = 1.5
P99_ANSWER_TARGET_MS = 250.0
P99_USERS = 50
P99_LATENCY = 0.02
SWEEP_TARGET = 1.2
SWEEP_TARGET_WATCHES = 1000
RSS_TARGET_MB = 100.0
RSS_USERS = 10_000

FIRST_ACTIVE_USER = 1000


@dataclass
class BenchConfig:
    users: list[int] = field(default_factory=lambda: [10, 50, 200])
    taps: int = 40  # measured taps per user
    warmup: int = 4  # taps per user before measuring (one lap)
    latency: float = 0.02
    # A real network spreads answers a little; the watcher's largest size also runs without.
    jitter: float = 0.1
    watches: list[int] = field(default_factory=lambda: [10, 100, 1000])
    concurrency: int = int(Settings.model_fields["watch_concurrency"].default)
    sweeps: int = 3
    linked_users: int = RSS_USERS
    timeout: float = 30.0  # per tap / per answer
    sample_cpu: bool = True
    # What ``python -m bot`` does before polling; process-wide, so the baseline shares it.
    tune_gc: bool = True


@dataclass
class Row:
    metric: str
    value: str
    target: str
    verdict: str  # "met", "MISSED" or "" (no target for this one)


@dataclass
class BenchResults:
    config: BenchConfig
    machine: dict[str, str]
    footprint: Footprint
    traffic: list[TrafficResult]
    baseline: list[TrafficResult]
    # The baseline as it was up to round 5: its users tap again at once after the card, so they
    # stay in lockstep and its updates come in larger batches. Shown, not judged.
    baseline_unpaced: list[TrafficResult]
    watcher: list[SweepResult]
    process: ProcessFootprint

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
    from importlib.metadata import version

    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "aiogram": version("aiogram"),
        "aiohttp": version("aiohttp"),
    }


async def measure_baselines(
    screens: Screens, config: BenchConfig, active: list[int], sizes: list[int], log: Any
) -> tuple[list[TrafficResult], list[TrafficResult]]:
    """The baseline at each size twice: its users paced like ours (judged) and unpaced (the
    method up to round 5, shown). The order alternates between sizes, so neither always runs
    on the process as the other left it."""
    paced: list[TrafficResult] = []
    unpaced: list[TrafficResult] = []
    pause = paced_like_our_bot(screens, config.latency, config.jitter)
    async with running_baseline(screens) as base_tg:
        base_menus = await open_menus(base_tg, active, config.timeout)
        for index, size in enumerate(sizes):
            runs = [("baseline", pause, paced), ("baseline, unpaced", None, unpaced)]
            for label, how, into in runs if index % 2 == 0 else runs[::-1]:
                log(f"traffic: bare aiogram {label}, {size} users × {config.taps} taps")
                into.append(
                    await measure(
                        label,
                        base_tg,
                        dict(list(base_menus.items())[:size]),
                        taps=config.taps,
                        warmup=config.warmup,
                        timeout=config.timeout,
                        sample_cpu=config.sample_cpu,
                        pause=how,
                    )
                )
    return paced, unpaced


async def run_bench(
    config: BenchConfig, workdir: Path, *, import_s: float | None = None, log: Any = print
) -> BenchResults:
    load_before = os.getloadavg()[0]
    footprint = Footprint(import_s=import_s)
    footprint.rss_mb["imported"] = rss_mb()
    traffic: list[TrafficResult] = []
    sizes = sorted(set(config.users))
    active = [FIRST_ACTIVE_USER + i for i in range(max(sizes))]

    (workdir / "bot").mkdir(parents=True, exist_ok=True)
    async with our_world(workdir / "bot") as env:
        log("footprint: cold start")
        await cold_start(env, footprint, config.timeout)
        dormant = max(config.linked_users - len(active), 0)
        log(f"footprint: linking {dormant} users directly, then {len(active)} with servers")
        await link_dormant_users(env, dormant, footprint)
        await add_server_users(env, active)
        await restart_with_users(env, footprint, config.timeout)
        if config.tune_gc:
            tune_garbage_collector()
        tg = env.tg
        assert isinstance(tg, BenchTelegram)
        menus = await open_menus(tg, active, config.timeout)
        with provider_latency(env.sim, config.latency, config.jitter):
            screens = await capture_screens(tg, menus, config.timeout, env.sim.calls)
            for size in sizes:
                log(f"traffic: our bot, {size} users × {config.taps} taps")
                traffic.append(
                    await measure(
                        "ours",
                        tg,
                        dict(list(menus.items())[:size]),
                        taps=config.taps,
                        warmup=config.warmup,
                        timeout=config.timeout,
                        provider_calls=env.sim.calls,
                        sample_cpu=config.sample_cpu,
                    )
                )
        footprint.rss_mb["served"] = rss_mb()

    baseline, baseline_unpaced = await measure_baselines(screens, config, active, sizes, log)

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
    active = min(P99_USERS, max(sizes))
    log(f"footprint: python -m bot, {config.linked_users} linked users, {active} of them tapping")
    (workdir / "process").mkdir(parents=True, exist_ok=True)
    process = await measure_bot_process(
        workdir / "process",
        linked_users=config.linked_users,
        active_users=active,
        taps=config.taps,
        latency=config.latency,
        jitter=config.jitter,
        timeout=config.timeout,
    )
    machine = machine_info()
    # Other work on the machine shows up in wall-clock numbers (latency, taps/s) far more than in
    # CPU seconds; the load average says how quiet it was.
    machine["load"] = f"{load_before:.2f} at start, {os.getloadavg()[0]:.2f} at end (1-min avg)"
    return BenchResults(
        config=config,
        machine=machine,
        footprint=footprint,
        traffic=traffic,
        baseline=baseline,
        baseline_unpaced=baseline_unpaced,
        watcher=watcher,
        process=process,
    )


# --------------------------------------------------------------------------- report


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def target_rows(results: BenchResults) -> list[Row]:
    rows: list[Row] = []
    base_by_users = {b.users: b for b in results.baseline}
    unpaced_by_users = {b.users: b for b in results.baseline_unpaced}
    for ours in results.traffic:
        base = base_by_users.get(ours.users)
        if base is None or base.cpu_per_1k_taps <= 0:
            continue
        raw = ours.cpu_per_1k_taps / base.cpu_per_1k_taps
        if base.bot_cpu_per_1k_taps > 0:
            ratio = ours.bot_cpu_per_1k_taps / base.bot_cpu_per_1k_taps
            basis = f"bot share; whole process {raw:.2f}×"
            unpaced = unpaced_by_users.get(ours.users)
            if unpaced is not None and unpaced.bot_cpu_per_1k_taps > 0:
                basis += (
                    f"; {ours.bot_cpu_per_1k_taps / unpaced.bot_cpu_per_1k_taps:.2f}× the "
                    "unpaced baseline, the method up to round 5"
                )
        else:
            # A tiny run can end before the sampler splits the baseline's CPU at all.
            ratio, basis = raw, "whole process; too few samples to split"
        rows.append(
            Row(
                f"CPU per tap ÷ baseline paced like ours, {ours.users} users ({basis})",
                f"{ratio:.2f}×",
                f"≤ {CPU_RATIO_TARGET}×",
                _verdict(ratio <= CPU_RATIO_TARGET),
            )
        )
    for ours in results.traffic:
        applies = ours.users == P99_USERS and math.isclose(results.config.latency, P99_LATENCY)
        rows.append(
            Row(
                f"p99 tap → answer, {ours.users} users, "
                f"{results.config.latency * 1000:.0f} ms provider latency",
                f"{_ms(ours.answer_ms['p99'])} ms",
                f"< {P99_ANSWER_TARGET_MS:.0f} ms" if applies else "(target: 50 users)",
                _verdict(ours.answer_ms["p99"] < P99_ANSWER_TARGET_MS) if applies else "",
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
    proc = results.process
    served = proc.rss_mb.get("served", math.nan)
    applies = proc.linked_users >= RSS_USERS
    floor = proc.floor_mb.get("import aiogram", math.nan)
    # A bot that served less, or stopped badly, would look leaner than it is.
    served_all = (
        proc.taps_served >= proc.taps_asked
        and proc.failures == proc.off_route == 0
        and proc.exit_code == 0
    )
    rows.append(
        Row(
            f"RSS of `python -m bot`, {proc.linked_users} linked users, after serving "
            f"{proc.taps_served} of {proc.taps_asked} taps of {proc.active_users} users "
            f"(off route {proc.off_route}, failed {proc.failures}; "
            f"a bare `import aiogram`: {floor:.0f} MB)",
            f"{served:.1f} MB",
            f"< {RSS_TARGET_MB:.0f} MB" if applies else "(target: 10,000 users)",
            _verdict(served < RSS_TARGET_MB and served_all) if applies else "",
        )
    )
    return rows


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [
        line(r) for r in rows
    ]


def render(results: BenchResults) -> str:
    """The whole report as Markdown (it reads fine in a terminal too)."""
    cfg, m, fp = results.config, results.machine, results.footprint
    out = [
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}; "
        f"aiogram {m['aiogram']}, aiohttp {m['aiohttp']}; {m['date']}; "
        f"load average {m.get('load', '?')}",
        "",
        "Garbage collector: "
        + ("tuned as by `python -m bot`, for both bots" if cfg.tune_gc else "Python's defaults"),
        "",
        "### Targets",
        "",
        *_table(
            ("metric", "value", "target", "verdict"),
            [(r.metric, r.value, r.target, r.verdict) for r in results.targets()],
        ),
        "",
        f"### Menu traffic ({cfg.taps} measured taps per user after {cfg.warmup} warm-up taps, "
        f"provider latency {cfg.latency * 1000:.0f} ms, {_jitter(cfg.jitter)})",
        "",
        "Times are from the update being handed out by getUpdates. CPU is seconds per 1,000 "
        "taps: the whole process, the bot's share (ours + aiogram + aiohttp's client + SQLite "
        "thread) and "
        "the harness's share (fake Bot API server, simulator, their HTTP server side, simulated "
        "users).",
        "",
    ]
    rows = []
    measured = results.traffic + results.baseline + results.baseline_unpaced
    for r in sorted(measured, key=lambda r: (r.users, r.label)):
        rows.append(
            (
                r.label,
                str(r.users),
                str(r.taps),
                f"{r.taps_per_s:.0f}",
                "/".join(_ms(r.answer_ms[k]) for k in ("p50", "p95", "p99")),
                "/".join(_ms(r.edit_ms[k]) for k in ("p50", "p95", "p99")),
                f"{r.cpu_per_1k_taps:.2f}",
                f"{r.bot_cpu_per_1k_taps:.2f}",
                f"{r.harness_cpu_per_1k_taps:.2f}",
                f"{r.provider_calls_per_tap:.2f}",
                f"{r.polls_per_tap:.3f}",
                f"{r.failures}/{r.off_route}/{r.unanswered}/{r.telegram_errors}",
            )
        )
    out += _table(
        (
            "bot",
            "users",
            "taps",
            "taps/s",
            "→answer p50/p95/p99 ms",
            "→edit p50/p95/p99 ms",
            "CPU s/1k",
            "bot",
            "harness",
            "calls/tap",
            "polls/tap",
            "fail/off/unans/tg-err",
        ),
        rows,
    )
    out += [
        "",
        "CPU split of the main thread (share of busy samples) and other threads (s/1k taps):",
        "",
    ]
    split = []
    measured = results.traffic + results.baseline + results.baseline_unpaced
    for r in sorted(measured, key=lambda r: (r.users, r.label)):
        shares = r.cpu.shares
        split.append(
            (
                r.label,
                str(r.users),
                *(f"{shares.get(c, 0.0) * 100:.0f}%" for c in _SPLIT),
                f"{r.cpu.other_threads * 1000 / max(r.taps, 1):.2f}",
                str(r.cpu.samples),
            )
        )
    out += _table(("bot", "users", *_SPLIT, "other threads", "samples"), split)
    out += [
        "",
        f"### Watcher (provider latency {cfg.latency * 1000:.0f} ms, "
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
        ("import of the bot's modules", "—" if fp.import_s is None else f"{fp.import_s:.2f} s"),
        ("cold start → first /start answered", f"{fp.cold_start_s:.3f} s"),
        (f"linking {fp.linked_users} users directly", f"{fp.link_s:.1f} s"),
        (f"restart with {fp.linked_users} linked users → first answer", f"{fp.restart_s:.3f} s"),
    ]
    fp_rows += [
        (f"RSS of this whole bench process: {stage}", f"{mb:.1f} MB")
        for stage, mb in fp.rss_mb.items()
    ]
    proc = results.process
    fp_rows += [
        (f"RSS of `python -m bot`, {proc.linked_users} linked users: {stage}", f"{mb:.1f} MB")
        for stage, mb in proc.rss_mb.items()
    ]
    fp_rows += [
        (f"RSS of a fresh interpreter: {what}", f"{mb:.1f} MB")
        for what, mb in proc.floor_mb.items()
    ]
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


_SPLIT = ("bot", "loop", "fake-telegram", "http-server", "simulator", "driver")


# --------------------------------------------------------------------------- command line


def _sizes(text: str) -> list[int]:
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
        prog="python -m bench", description="Benchmark of the Inferno bot (issue #7)"
    )
    parser.add_argument("--users", type=_sizes, help="simultaneous users, e.g. 10,50,200")
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
    parser.add_argument("--watches", type=_sizes, help="open watches, e.g. 10,100,1000")
    parser.add_argument(
        "--concurrency", type=int, help=f"watcher concurrency ({defaults.concurrency})"
    )
    parser.add_argument("--sweeps", type=int, help=f"sweeps per size ({defaults.sweeps})")
    parser.add_argument(
        "--linked-users", type=int, help=f"linked users for the footprint ({defaults.linked_users})"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument(
        "--no-sampler", action="store_true", help="no CPU split (whole-process CPU only)"
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep Python's garbage-collector settings (python -m bot tunes them)",
    )
    parser.add_argument("--json", type=Path, help="also write all numbers as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the report as Markdown here")
    parser.add_argument("--workdir", type=Path, help="for the databases (default: a temp dir)")
    args = parser.parse_args(argv)

    config = BenchConfig()
    if args.quick:
        config = BenchConfig(users=[5, 20], taps=12, watches=[10, 100], sweeps=2, linked_users=1000)
    for name in (
        "users",
        "taps",
        "warmup",
        "latency",
        "jitter",
        "watches",
        "concurrency",
        "sweeps",
    ):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    if args.linked_users is not None:
        config.linked_users = args.linked_users
    config.sample_cpu = not args.no_sampler
    config.tune_gc = not args.default_gc
    if config.taps < 1 or config.warmup < 0 or config.latency < 0 or config.concurrency < 1:
        parser.error("taps ≥ 1, warmup ≥ 0, latency ≥ 0 and concurrency ≥ 1, please")
    if not 0 <= config.jitter < 1:
        parser.error("jitter is a fraction of the latency: 0 ≤ jitter < 1")
    return config, args


def main(argv: Sequence[str] | None = None, *, import_s: float | None = None) -> int:
    config, args = parse_args(argv)

    def log(message: str) -> None:
        print(f"· {message}", flush=True)

    with tempfile.TemporaryDirectory(prefix="inferno-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        results = asyncio.run(run_bench(config, workdir, import_s=import_s, log=log))
    report = render(results)
    print()
    print(report)
    if args.json:
        args.json.write_text(json.dumps(results.as_dict(), indent=2, default=str) + "\n")
    if args.markdown:
        args.markdown.write_text(report)
    return 0
