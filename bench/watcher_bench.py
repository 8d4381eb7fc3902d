"""Watcher scaling: one full ``InstallWatcher.sweep`` over N open watches.

The watcher is the real one (``dp["watcher"]`` from ``create_dispatcher``); the dispatcher is
not polled, so its background loop never runs a sweep of its own next to the measured one. Every
watch belongs to its own linked user whose server is still installing (so each sweep polls every
watch and none finishes), and the watch interval is tiny, so every watch is due again at the next
sweep. Orders are bought and installs queued through the real client over HTTP.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot

from bench.cpu import CpuMeter
from bench.faketg import BenchTelegram
from bench.servers import cheapest_plan, customer_with_server
from bench.traffic import provider_latency
from bot.app import Services, create_bot, create_dispatcher, create_inferno_client
from bot.i18n import TranslatorHub
from bot.inferno.simulator import Simulator, SimulatorServer
from bot.services.watcher import InstallWatcher
from bot.storage.startup import open_storage
from tests.harness import make_settings

FIRST_USER_ID = 7_000_000
# Installs that never finish during the run, and watches that never time out.
FOREVER = 10.0**6
TINY_INTERVAL = 0.001
SETUP_CONCURRENCY = 16


@dataclass
class SweepResult:
    watches: int
    concurrency: int
    latency: float
    jitter: float  # each call waits latency × (1 ± up to this)
    sweep_s: list[float]
    median_s: float
    worst_s: float
    bound_s: float  # ceil(watches / concurrency) × latency: the floor set by the limiter
    worst_vs_bound: float
    peak_in_flight: int
    calls_per_sweep: float
    cpu_ms_per_watch: float  # whole process
    bot_cpu_ms_per_watch: float  # the bot's share (see bench.cpu)
    still_open: int


async def run_watcher_bench(
    workdir: Path,
    sizes: list[int],
    *,
    latency: float,
    concurrency: int,
    sweeps: int,
    jitter: float = 0.0,
) -> list[SweepResult]:
    """Each size with ``jitter``; the largest also without, where calls come back in lockstep."""
    sim = Simulator(install_delay=FOREVER)
    results: list[SweepResult] = []
    async with BenchTelegram() as tg, SimulatorServer(sim) as server:
        settings = make_settings(
            workdir,
            tg,
            server.url,
            watch_interval=TINY_INTERVAL,
            watch_timeout=FOREVER,
            watch_concurrency=concurrency,
        )
        db = await open_storage(settings.database_path, settings.encryption_key_file)
        inferno = create_inferno_client(settings)
        hub = TranslatorHub(default_locale=settings.default_language, strict=True)
        bot = create_bot(settings)
        try:
            dp = create_dispatcher(Services(settings=settings, db=db, inferno=inferno, hub=hub))
            watcher: InstallWatcher = dp["watcher"]
            plan = await cheapest_plan(inferno)
            limiter = asyncio.Semaphore(SETUP_CONCURRENCY)

            async def add_watch(index: int) -> None:
                async with limiter:
                    user_id = FIRST_USER_ID + index
                    customer, order_id = await customer_with_server(
                        inferno, sim, f"watch{index}@example.com", plan
                    )
                    await db.users.ensure(user_id, "en")
                    await db.users.link(user_id, customer.cid, customer.key)
                    tg.add_user(user_id)
                    await db.watches.replace(user_id, user_id, order_id, "install", plan.template)

            have = 0
            for size in sorted(sizes):
                await asyncio.gather(*(add_watch(i) for i in range(have, size)))
                have = max(have, size)
                spreads = [jitter, 0.0] if jitter > 0 and size == max(sizes) else [jitter]
                for spread in spreads:
                    results.append(
                        await _measure(
                            watcher, bot, sim, size, latency, spread, concurrency, sweeps
                        )
                    )
        finally:
            await bot.session.close()
            await inferno.aclose()
            await db.close()
    return results


async def _measure(
    watcher: InstallWatcher,
    bot: Bot,
    sim: Simulator,
    size: int,
    latency: float,
    jitter: float,
    concurrency: int,
    sweeps: int,
) -> SweepResult:
    times: list[float] = []
    peaks: list[int] = []
    calls: list[int] = []
    cpu = bot_cpu = 0.0
    with provider_latency(sim, latency, jitter):
        for _ in range(max(1, sweeps)):
            # Every watch is due again once TINY_INTERVAL has passed.
            await asyncio.sleep(TINY_INTERVAL * 2)
            sim.reset_counters()
            with CpuMeter() as meter:
                await watcher.sweep(bot)
            assert meter.report is not None
            times.append(meter.report.wall)
            cpu += meter.report.process
            bot_cpu += meter.report.bot
            peaks.append(sim.peak_in_flight)
            calls.append(sum(sim.calls.values()))
    bound = math.ceil(size / concurrency) * latency
    worst = max(times)
    return SweepResult(
        watches=size,
        concurrency=concurrency,
        latency=latency,
        jitter=jitter,
        sweep_s=times,
        median_s=statistics.median(times),
        worst_s=worst,
        bound_s=bound,
        worst_vs_bound=worst / bound if bound > 0 else math.inf,
        peak_in_flight=max(peaks),
        calls_per_sweep=statistics.mean(calls),
        cpu_ms_per_watch=cpu / len(times) / size * 1000,
        bot_cpu_ms_per_watch=bot_cpu / len(times) / size * 1000,
        still_open=await watcher.count(),
    )
