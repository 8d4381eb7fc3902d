"""Alerts at scale (``python -m bench alerts``): N linked accounts with two running servers each,
half of the servers monitored, every provider call delayed by the latency — measured on
``python -m bot`` as a process of its own.

The bench process holds the provider simulator (all the customers and their servers) and the
fake Bot API; the accounts are written straight into the bot's database (users linked, each
account's second server turned off in the down-alert toggle), then ``python -m bot`` starts
against both (:class:`bench.processes.BotProcess`) with every setting at its default except
``MONITOR_INTERVAL``, shortened so that monitor passes follow the first account pass quickly.
Measured from outside:

* every provider call, with the time the simulator answered it (:class:`TimedSimulator`): the
  first account pass (all accounts are due at start) and each monitor pass after it, a pass
  being a run of ``getinfo`` answers with no gap longer than half the monitor interval;
* provider calls per minute at the default intervals: the calls of one account pass over
  ``ALERT_INTERVAL`` plus those of one full monitor pass over ``MONITOR_INTERVAL``, against the
  design (3 per account, 1 ``getinfo`` per monitored server); and the calls per minute really
  seen at the shortened monitor interval;
* one full monitor pass's wall time (first ``getinfo`` arrival to last answer) against
  ceil(monitored / concurrency) × latency;
* the bot's CPU (psutil user + system of the child, sampled every 0.1 s) from the pass's first
  call to half a monitor interval after its last answer (so that the pass's database write is
  in), ÷ servers checked;
* the bot's RSS (psutil, the child alone), its peak over the run and at the end.

Customers and servers are made in the simulator directly (setup, not measured).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.faketg import BenchTelegram
from bench.processes import BotProcess
from bench.traffic import provider_latency
from bot.config import Settings
from bot.inferno.simulator import Reply, Simulator, SimulatorServer
from bot.storage.startup import open_storage
from tests.e2e_process import process_env
from tests.harness import make_settings

FIRST_USER_ID = 9_000_000
ACCOUNT_ACTIONS = ("orders", "services", "balance")
DEFAULT_ALERT_INTERVAL = float(Settings.model_fields["alert_interval"].default)
DEFAULT_MONITOR_INTERVAL = float(Settings.model_fields["monitor_interval"].default)
DEFAULT_CONCURRENCY = int(Settings.model_fields["watch_concurrency"].default)
SAMPLE_EVERY = 0.1
FULL_PASSES = 2
SCAN_EVERY = 10  # samples


class TimedSimulator(Simulator):
    """The simulator, remembering when it answered each call (after the latency)."""

    def __init__(self) -> None:
        super().__init__(install_delay=0.0)
        self.answered: list[tuple[float, str]] = []

    def handle(self, action: str, params: Mapping[str, str], key: str | None) -> Reply:
        self.answered.append((time.monotonic(), action))
        return super().handle(action, params, key)


@dataclass
class Sample:
    at: float
    cpu_s: float
    rss_mb: float


@dataclass
class MonitorPass:
    first_answer: float
    last_answer: float
    calls: int

    def wall(self, latency: float) -> float:
        # The first call arrived one latency before its answer.
        return self.last_answer - self.first_answer + latency


@dataclass
class AlertsResult:
    accounts: int
    servers: int
    monitored: int
    latency: float
    concurrency: int
    alert_interval: float
    monitor_interval: float
    bot_started_s: float
    account_pass_s: float
    account_pass_calls: dict[str, int]
    monitor_passes_s: list[float]
    monitor_pass_calls: int
    monitor_bound_s: float
    monitor_vs_bound: list[float]
    monitor_period_s: float
    calls_per_minute_at_defaults: float
    design_calls_per_minute_at_defaults: float
    getinfo_per_minute_seen: float
    design_getinfo_per_minute_shortened: float
    other_calls: dict[str, int]
    bot_cpu_ms_per_server: list[float]
    rss_mb_peak: float
    rss_mb_end: float
    exit_code: int | None
    # The same monitored servers' getinfo made by a bare aiohttp client in a process of its own
    # (bench/bare_calls.py), measured the same way: the floor the transport sets.
    bare_passes_s: list[float]
    bare_vs_bound: list[float]
    load: list[tuple[float, float, float]] = field(default_factory=list)


def monitor_passes(
    answered: Sequence[tuple[float, str]], gap: float, passes: list[MonitorPass] | None = None
) -> list[MonitorPass]:
    """Runs of ``getinfo`` answers with no gap longer than ``gap``; given the ``passes`` found
    so far, only the answers since are read (the last pass may go on)."""
    passes = [] if passes is None else passes
    for at, action in answered:
        if action != "getinfo":
            continue
        if passes and at - passes[-1].last_answer <= gap:
            passes[-1].last_answer = at
            passes[-1].calls += 1
        else:
            passes.append(MonitorPass(at, at, 1))
    return passes


def cpu_at(samples: Sequence[Sample], at: float) -> float:
    """The child's CPU seconds at ``at``, linear between the two samples around it."""
    before = samples[0]
    for sample in samples:
        if sample.at >= at:
            if sample.at == before.at:
                return sample.cpu_s
            share = (at - before.at) / (sample.at - before.at)
            return before.cpu_s + share * (sample.cpu_s - before.cpu_s)
        before = sample
    return samples[-1].cpu_s


async def write_accounts(
    settings: Settings, sim: Simulator, tg: BenchTelegram, accounts: int
) -> int:
    """Customers with two running servers each in the simulator; the users linked in the bot's
    database with each account's second server not monitored. Returns the monitored count."""
    db = await open_storage(settings.database_path, settings.encryption_key_file)
    monitored = 0
    try:
        for index in range(accounts):
            user_id = FIRST_USER_ID + index
            customer = sim.add_customer(f"a{index}@example.com", "pw", balance="100.00")
            for _ in range(2):
                sim.handle("create", {"cid": str(customer.cid), "pid": "101"}, customer.key)
            for order in customer.orders:
                sim.handle(
                    "install",
                    {
                        "cid": str(customer.cid),
                        "orderid": str(order.id),
                        "ostpl": "debian12",
                        "run": "1",
                    },
                    customer.key,
                )
            await db.users.ensure(user_id, "en")
            account_id = await db.users.link(user_id, customer.cid, customer.key)
            await db.alerts.set_monitored(user_id, account_id, str(customer.orders[1].id), False)
            monitored += 1
            tg.add_user(user_id)
        sim.complete_installs()
    finally:
        await db.close()
    return monitored


async def run_alerts_bench(
    workdir: Path,
    accounts: int,
    *,
    latency: float,
    monitor_interval: float,
    timeout: float,
) -> AlertsResult:
    sim = TimedSimulator()
    concurrency = DEFAULT_CONCURRENCY
    loads = [os.getloadavg()]
    tg = BenchTelegram()
    async with tg, SimulatorServer(sim) as server:
        settings = make_settings(workdir, tg, server.url)
        monitored = await write_accounts(settings, sim, tg, accounts)
        sim.answered.clear()
        sim.reset_counters()
        env = process_env(settings, MONITOR_INTERVAL=str(monitor_interval))
        bot = BotProcess("ours", "python -m bot", ["-m", "bot"], env, tg, workdir / "bot.log")
        samples: list[Sample] = []
        gap = monitor_interval / 2
        with provider_latency(sim, latency):
            started = time.monotonic()
            await bot.start(FIRST_USER_ID, timeout)
            try:
                deadline = time.monotonic() + timeout
                account_done: float | None = None
                answered: Counter[str] = Counter()
                scanned = 0
                full: list[MonitorPass] = []
                # Read as they come, never the whole log again: the simulator answers in this
                # process, and a scan of 50,000 answers once a second would hold its calls up.
                found: list[MonitorPass] = []
                found_upto = 0
                while time.monotonic() < deadline:
                    samples.append(Sample(time.monotonic(), bot.cpu_seconds(), bot.rss_mb()))
                    # Counted as answered, not as asked: the last calls of the pass are still
                    # in flight when the simulator has counted them.
                    answered.update(a for _, a in sim.answered[scanned:])
                    scanned = len(sim.answered)
                    if account_done is None and all(
                        answered[a] >= accounts for a in ACCOUNT_ACTIONS
                    ):
                        account_done = max(t for t, a in sim.answered if a in ACCOUNT_ACTIONS)
                        loads.append(os.getloadavg())
                    # Scanning the call log is the bench's CPU, on the cores the bot runs on:
                    # once a second, not at every sample.
                    if account_done is not None and len(samples) % SCAN_EVERY == 0:
                        now = time.monotonic()
                        upto = len(sim.answered)
                        monitor_passes(sim.answered[found_upto:upto], gap, found)
                        found_upto = upto
                        full = [
                            p
                            for p in found
                            if p.first_answer > account_done
                            and p.calls == monitored
                            and now - p.last_answer > gap  # over, its database write in
                        ]
                        if len(full) >= FULL_PASSES:
                            break
                    await asyncio.sleep(SAMPLE_EVERY)
                else:
                    raise RuntimeError(
                        f"no {FULL_PASSES} full monitor passes within {timeout} s: "
                        f"{dict(sim.calls)}"
                    )
                loads.append(os.getloadavg())
            finally:
                with contextlib.suppress(Exception):
                    samples.append(Sample(time.monotonic(), bot.cpu_seconds(), bot.rss_mb()))
                exit_code = await bot.stop()
        assert account_done is not None
        bare = await bare_passes(workdir, sim, server.url, latency, concurrency, monitored)
        loads.append(os.getloadavg())
    first_call = min(t for t, a in sim.answered if a in ACCOUNT_ACTIONS) - latency
    account_calls = {
        a: sum(1 for t, x in sim.answered if x == a and t <= account_done) for a in ACCOUNT_ACTIONS
    }
    other = {a: n for a, n in sim.calls.items() if a not in ACCOUNT_ACTIONS and a != "getinfo"}
    bound = math.ceil(monitored / concurrency) * latency
    walls = [p.wall(latency) for p in full]
    cpu_ms = [
        (cpu_at(samples, p.last_answer + gap) - cpu_at(samples, p.first_answer - latency))
        / p.calls
        * 1000
        for p in full
    ]
    # getinfo really seen per minute, from the first full pass's start to the last one's start
    # (whole periods only: each period holds one pass).
    period = (full[-1].first_answer - full[0].first_answer) / (len(full) - 1)
    seen = sum(p.calls for p in full[:-1]) / (full[-1].first_answer - full[0].first_answer) * 60
    per_minute = (
        sum(account_calls.values()) * 60 / DEFAULT_ALERT_INTERVAL
        + full[0].calls * 60 / DEFAULT_MONITOR_INTERVAL
    )
    design = accounts * 3 * 60 / DEFAULT_ALERT_INTERVAL + monitored * 60 / DEFAULT_MONITOR_INTERVAL
    return AlertsResult(
        accounts=accounts,
        servers=2 * accounts,
        monitored=monitored,
        latency=latency,
        concurrency=concurrency,
        alert_interval=DEFAULT_ALERT_INTERVAL,
        monitor_interval=monitor_interval,
        bot_started_s=bot.started_s,
        account_pass_s=account_done - max(first_call, started),
        account_pass_calls=account_calls,
        monitor_passes_s=walls,
        monitor_pass_calls=full[0].calls,
        monitor_bound_s=bound,
        monitor_vs_bound=[w / bound for w in walls],
        monitor_period_s=period,
        calls_per_minute_at_defaults=per_minute,
        design_calls_per_minute_at_defaults=design,
        getinfo_per_minute_seen=seen,
        design_getinfo_per_minute_shortened=monitored * 60 / monitor_interval,
        other_calls=other,
        bot_cpu_ms_per_server=cpu_ms,
        rss_mb_peak=max(s.rss_mb for s in samples),
        rss_mb_end=samples[-1].rss_mb,
        exit_code=exit_code,
        bare_passes_s=[p.wall(latency) for p in bare],
        bare_vs_bound=[p.wall(latency) / bound for p in bare],
        load=loads,
    )


async def bare_passes(
    workdir: Path, sim: TimedSimulator, url: str, latency: float, concurrency: int, monitored: int
) -> list[MonitorPass]:
    """Two passes of ``python -m bench.bare_calls`` over the servers the bot monitored (each
    account's first), against the same simulator with the same latency, once the bot is gone."""
    servers = [
        (str(customer.cid), customer.key, str(customer.orders[0].id))
        for customer in sim.customers.values()
    ]
    assert len(servers) == monitored
    listed = workdir / "bare-servers.json"
    listed.write_text(json.dumps(servers))
    mark = len(sim.answered)
    with provider_latency(sim, latency):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bare_calls",
            "--url",
            url,
            "--servers",
            str(listed),
            "--concurrency",
            str(concurrency),
            "--passes",
            str(FULL_PASSES),
        )
        if await process.wait() != 0:
            raise RuntimeError("python -m bench.bare_calls failed")
    found = monitor_passes(sim.answered[mark:], gap=0.5)
    assert [p.calls for p in found] == [monitored] * FULL_PASSES, found
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench alerts")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument(
        "--monitor-interval",
        type=float,
        default=15.0,
        help="the bot's MONITOR_INTERVAL (default 15 s, shortened from 120 s for a quick pass)",
    )
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="alerts-bench-") as tmp:
        result = asyncio.run(
            run_alerts_bench(
                Path(tmp),
                args.accounts,
                latency=args.latency,
                monitor_interval=args.monitor_interval,
                timeout=args.timeout,
            )
        )
    text = json.dumps(asdict(result), indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0
