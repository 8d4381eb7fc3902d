"""The production mode at scale (``python -m bench scale``; issue 19):

* **webhook against polling**: one ``python -m bot`` on SQLite in each mode, both running, at
  each number of users (50 and 200 by default), the order alternating between runs. For every
  tap, measured from the user's tap (the update queued at the fake Bot API): tap→answer
  (``answerCallbackQuery``) and tap→edit p50/p99, and the bot process's CPU per tap (user +
  system, from the operating system);
* **2 replicas against 1** on PostgreSQL + Redis, in webhook mode behind the tests'
  round-robin proxy (``tests/e2e_process.RoundRobinProxy``, Caddy's part): taps per second at
  the largest number of users, the replicas' CPU per tap summed.

The users and the route are the menu benchmark's (``bench/traffic.py``: main menu → My servers
→ a server card → back, each user tapping again as soon as the last tap's edit arrived). The
engines come from ``--postgres-url`` / ``--redis-url`` or ``TEST_POSTGRES_URL`` /
``TEST_REDIS_URL`` (``scripts/test-engines start DIR``); the bench makes a database and a Redis
key prefix of its own and drops them afterwards. Without the engines the replica part is left
out and says so.

Two replicas on one machine share its cores: taps per second can only grow with them where
the cores are not all busy already; the report gives the load average beside each number.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.faketg import BenchTelegram
from bench.processes import BotProcess, write_users
from bench.run import machine_info, run_and_report, sizes_argument
from bench.traffic import ROUTE, TrafficResult, measure, open_menus, provider_latency
from bot.inferno.simulator import Simulator, SimulatorServer
from tests.e2e_process import RoundRobinProxy, process_env
from tests.harness import TEST_KEY, WEBHOOK_SECRET, free_port, make_settings

FIRST_USER = 3000
POLLING, WEBHOOK = "polling", "webhook"
POSTGRES_ENV, REDIS_ENV = "TEST_POSTGRES_URL", "TEST_REDIS_URL"


@dataclass
class ScaleConfig:
    users: list[int] = field(default_factory=lambda: [50, 200])
    runs: int = 3
    taps: int = 20
    warmup: int = 4
    latency: float = 0.02
    timeout: float = 60.0
    replicas: list[int] = field(default_factory=lambda: [1, 2])
    postgres_url: str | None = None
    redis_url: str | None = None


@dataclass
class ScaleResults:
    config: ScaleConfig
    machine: dict[str, str]
    modes: list[TrafficResult]  # bot = "polling" / "webhook"
    replicas: list[TrafficResult]  # bot = "1 replica" / "2 replicas"
    replicas_skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def webhook_env(port: int, url: str) -> dict[str, str]:
    return {
        "WEBHOOK_URL": url,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
    }


@dataclass
class Replicas:
    """Several bot processes behind one proxy, measured as one bot (``bench.traffic.Measured``):
    their CPU is summed."""

    key: str
    tg: BenchTelegram
    processes: list[BotProcess]
    menus: dict[int, int] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        return sum(process.cpu_seconds() for process in self.processes)


async def run_scale_bench(
    config: ScaleConfig, workdir: Path, *, log: Callable[[str], None] = print
) -> ScaleResults:
    machine = machine_info()
    load_before = os.getloadavg()[0]
    active = [FIRST_USER + i for i in range(max(config.users))]
    log(f"modes: polling and webhook, {', '.join(map(str, config.users))} users")
    modes = await _modes(config, workdir / "modes", active, log)
    replicas: list[TrafficResult] = []
    skipped = None
    if config.postgres_url and config.redis_url:
        log(f"replicas: {', '.join(map(str, config.replicas))} on PostgreSQL + Redis")
        replicas = await _replicas(config, workdir / "replicas", active, log)
    else:
        skipped = f"no PostgreSQL or Redis: set {POSTGRES_ENV} and {REDIS_ENV}"
        log(f"replicas: left out ({skipped})")
    machine["load"] = f"{load_before:.2f} at start, {os.getloadavg()[0]:.2f} at end (1-min avg)"
    return ScaleResults(config, machine, modes, replicas, skipped)


async def _modes(
    config: ScaleConfig, workdir: Path, active: list[int], log: Callable[[str], None]
) -> list[TrafficResult]:
    """Both modes running side by side, measured in turn."""
    results: list[TrafficResult] = []
    bots: list[BotProcess] = []
    sim = Simulator(install_delay=0.0)
    tgs = {POLLING: BenchTelegram(), WEBHOOK: BenchTelegram()}
    async with tgs[POLLING], tgs[WEBHOOK], SimulatorServer(sim) as server:
        try:
            with provider_latency(sim, config.latency):
                for index, mode in enumerate((POLLING, WEBHOOK)):
                    folder = workdir / mode
                    folder.mkdir(parents=True, exist_ok=True)
                    settings = make_settings(folder, tgs[mode], server.url)
                    # Each bot's users are its own (a customer each, in the one simulator).
                    users = [uid + index * 100_000 for uid in active]
                    await write_users(settings, [tgs[mode]], sim, 0, users)
                    extra: dict[str, str] = {}
                    if mode == WEBHOOK:
                        port = free_port()
                        extra = webhook_env(port, f"http://127.0.0.1:{port}/telegram/updates")
                    bot = BotProcess(
                        mode,
                        f"python -m bot, {mode}",
                        ["-m", "bot"],
                        process_env(settings, **extra),
                        tgs[mode],
                        folder / "bot.log",
                    )
                    bots.append(bot)
                    log(f"start: {bot.title}")
                    await bot.start(users[0], config.timeout)
                    bot.menus |= await open_menus(bot.tg, users[1:], config.timeout)
                for size in sorted(set(config.users)):
                    for run in range(config.runs):
                        turn = run % len(bots)
                        for bot in bots[turn:] + bots[:turn]:
                            log(f"traffic: {bot.key}, {size} users, run {run + 1}")
                            results.append(await _measure(bot, size, run, config))
        finally:
            for bot in bots:
                await bot.stop()
    return results


async def _replicas(
    config: ScaleConfig, workdir: Path, active: list[int], log: Callable[[str], None]
) -> list[TrafficResult]:
    assert config.postgres_url is not None and config.redis_url is not None
    results: list[TrafficResult] = []
    size = max(config.users)
    for count in sorted(set(config.replicas)):
        key = f"{count} replica" + ("s" if count > 1 else "")
        async with _engines(config.postgres_url, config.redis_url) as (database_url, prefix):
            sim = Simulator(install_delay=0.0)
            tg = BenchTelegram()
            ports = [free_port() for _ in range(count)]
            backends = [f"http://127.0.0.1:{port}" for port in ports]
            async with tg, SimulatorServer(sim) as server, RoundRobinProxy(backends) as proxy:
                folder = workdir / key.replace(" ", "-")
                folder.mkdir(parents=True, exist_ok=True)
                settings = make_settings(
                    folder, tg, server.url, database_url=database_url, encryption_key=TEST_KEY
                )
                await write_users(settings, [tg], sim, 0, active)
                shared = {
                    "DATABASE_URL": database_url,
                    "ENCRYPTION_KEY": TEST_KEY,
                    "REDIS_URL": config.redis_url,
                    "REDIS_PREFIX": prefix,
                }
                replicas = Replicas(key, tg, [])
                try:
                    with provider_latency(sim, config.latency):
                        for index, port in enumerate(ports):
                            env = process_env(
                                settings,
                                **shared,
                                **webhook_env(port, f"{proxy.url}/telegram/updates"),
                            )
                            process = BotProcess(
                                f"{key} #{index + 1}",
                                f"python -m bot, replica {index + 1} of {count}",
                                ["-m", "bot"],
                                env,
                                tg,
                                folder / f"bot-{index + 1}.log",
                            )
                            replicas.processes.append(process)
                            log(f"start: {process.title}")
                            await process.start(active[index], config.timeout)
                            replicas.menus |= process.menus
                        rest = [uid for uid in active if uid not in replicas.menus]
                        replicas.menus |= await open_menus(tg, rest, config.timeout)
                        for run in range(config.runs):
                            log(f"traffic: {key}, {size} users, run {run + 1}")
                            results.append(await _measure(replicas, size, run, config))
                finally:
                    for process in replicas.processes:
                        await process.stop()
    return results


async def _measure(bot: Any, size: int, run: int, config: ScaleConfig) -> TrafficResult:
    return await measure(
        bot, size, run=run, taps=config.taps, warmup=config.warmup, timeout=config.timeout
    )


@contextlib.asynccontextmanager
async def _engines(postgres_url: str, redis_url: str) -> AsyncIterator[tuple[str, str]]:
    """A database and a Redis key prefix of the bench's own, dropped afterwards."""
    import asyncpg
    from redis.asyncio import Redis
    from yarl import URL

    name = f"bench_{uuid.uuid4().hex[:12]}"
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield str(URL(postgres_url).with_path(f"/{name}")), prefix
    finally:
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        redis = Redis.from_url(redis_url)
        try:
            keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
            if keys:
                await redis.delete(*keys)
        finally:
            await redis.aclose()


# --------------------------------------------------------------------------- report


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def render(results: ScaleResults) -> str:
    lines = [
        "# Production mode at scale (python -m bench scale)",
        "",
        f"Machine: {results.machine.get('cpu', '?')}; load {results.machine.get('load', '?')}.",
        f"Provider latency {results.config.latency * 1000:.0f} ms; {results.config.taps} measured "
        f"taps per user after {results.config.warmup} warm-up taps; medians of "
        f"{results.config.runs} runs.",
        "",
        "## Webhook against polling (one process, SQLite)",
        "",
        "| mode | users | tap→answer p50 / p99 ms | tap→edit p50 / p99 ms | CPU ms/tap | "
        "taps/s | failures |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += _rows(results.modes, lambda r: (r.bot, r.users))
    lines += ["", "## 2 replicas against 1 (PostgreSQL + Redis, webhook, round-robin proxy)", ""]
    if results.replicas_skipped:
        lines.append(f"Left out: {results.replicas_skipped}.")
    else:
        lines += [
            "| replicas | users | tap→answer p50 / p99 ms | tap→edit p50 / p99 ms | "
            "CPU ms/tap (all replicas) | taps/s | failures |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += _rows(results.replicas, lambda r: (r.bot, r.users))
    return "\n".join(lines) + "\n"


def _rows(
    results: Sequence[TrafficResult], group: Callable[[TrafficResult], tuple[str, int]]
) -> list[str]:
    groups: dict[tuple[str, int], list[TrafficResult]] = {}
    for result in results:
        groups.setdefault(group(result), []).append(result)
    rows = []
    for (name, users), runs in groups.items():

        def med(value: Callable[[TrafficResult], float], runs: list[TrafficResult] = runs) -> str:
            return f"{_median([value(r) for r in runs]):.1f}"

        rows.append(
            f"| {name} | {users} "
            f"| {med(lambda r: r.answer_ms['p50'])} / {med(lambda r: r.answer_ms['p99'])} "
            f"| {med(lambda r: r.edit_ms['p50'])} / {med(lambda r: r.edit_ms['p99'])} "
            f"| {med(lambda r: r.cpu_ms_per_tap)} | {med(lambda r: r.taps_per_s)} "
            f"| {sum(r.failures + r.off_route + r.unanswered for r in runs)} |"
        )
    return rows


# --------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None) -> tuple[ScaleConfig, argparse.Namespace]:
    defaults = ScaleConfig()
    parser = argparse.ArgumentParser(
        prog="python -m bench scale",
        description="Webhook against polling, and 2 replicas against 1 (issue 19)",
    )
    parser.add_argument("--users", type=sizes_argument, help="simultaneous users (50,200)")
    parser.add_argument("--replicas", type=sizes_argument, help="replica counts to compare (1,2)")
    parser.add_argument("--runs", type=int, help=f"runs per size and mode ({defaults.runs})")
    parser.add_argument("--taps", type=int, help=f"measured taps per user ({defaults.taps})")
    parser.add_argument("--warmup", type=int, help=f"warm-up taps per user ({defaults.warmup})")
    parser.add_argument("--latency", type=float, help=f"provider latency ({defaults.latency})")
    parser.add_argument("--postgres-url", help=f"a PostgreSQL server (default ${POSTGRES_ENV})")
    parser.add_argument("--redis-url", help=f"a Redis server (default ${REDIS_ENV})")
    parser.add_argument("--json", type=Path, help="also write all numbers as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the report as Markdown here")
    parser.add_argument("--workdir", type=Path, help="for the databases and logs (default: temp)")
    args = parser.parse_args(argv)
    config = ScaleConfig(
        postgres_url=args.postgres_url or os.environ.get(POSTGRES_ENV) or None,
        redis_url=args.redis_url or os.environ.get(REDIS_ENV) or None,
    )
    for name in ("users", "replicas", "runs", "taps", "warmup", "latency"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    if config.taps % len(ROUTE) or config.warmup % len(ROUTE):
        parser.error(f"taps and warmup are whole laps of the route: multiples of {len(ROUTE)}")
    if config.runs < 1 or config.taps < 1 or config.latency < 0:
        parser.error("runs ≥ 1, taps ≥ 1 and latency ≥ 0, please")
    return config, args


def main(argv: Sequence[str] | None = None) -> int:
    config, args = parse_args(argv)
    return run_and_report(
        args,
        "inferno-bench-scale-",
        lambda workdir, log: run_scale_bench(config, workdir, log=log),
        render,
    )
