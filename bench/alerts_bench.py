"""Alerts at scale (``python -m bench alerts``): N linked accounts with two running servers each,
half of the servers monitored, every provider call delayed by the latency.

Measured with the real ``AlertService`` (``dp["alerts"]`` from ``create_dispatcher``; the
dispatcher is not polled, so its loops never run a pass next to the measured ones):

* provider calls of one account pass and of one monitor pass, turned into calls per minute at
  the default intervals, against what the design says (3 per account per ``ALERT_INTERVAL``,
  1 ``getinfo`` per monitored server per ``MONITOR_INTERVAL``);
* one monitor pass's wall time against ceil(monitored / concurrency) × latency;
* CPU per checked server (the bot's share, see :mod:`bench.cpu`), and the process's RSS (which
  also holds the simulator with all its customers and the fake Bot API).

Customers and servers are made in the simulator directly (setup, not measured).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from bench.cpu import CpuMeter
from bench.faketg import BenchTelegram
from bench.traffic import provider_latency
from bot.app import Services, create_bot, create_dispatcher, create_inferno_client
from bot.config import Settings
from bot.i18n import TranslatorHub
from bot.inferno.simulator import Simulator, SimulatorServer
from bot.services.alerts import AlertService
from bot.storage.startup import open_storage
from tests.harness import make_settings

FIRST_USER_ID = 9_000_000
DEFAULT_ALERT_INTERVAL = float(Settings.model_fields["alert_interval"].default)
DEFAULT_MONITOR_INTERVAL = float(Settings.model_fields["monitor_interval"].default)
DEFAULT_CONCURRENCY = int(Settings.model_fields["watch_concurrency"].default)


@dataclass
class AlertsResult:
    accounts: int
    servers: int
    monitored: int
    latency: float
    concurrency: int
    account_pass_s: float
    account_pass_calls: dict[str, int]
    monitor_pass_s: float
    monitor_pass_calls: dict[str, int]
    monitor_bound_s: float
    monitor_vs_bound: float
    calls_per_minute: float
    design_calls_per_minute: float
    bot_cpu_ms_per_server: float
    process_cpu_ms_per_server: float
    peak_in_flight: int
    rss_mb: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


async def run_alerts_bench(
    workdir: Path, accounts: int, *, latency: float, concurrency: int
) -> AlertsResult:
    sim = Simulator(install_delay=0.0)
    async with BenchTelegram() as tg, SimulatorServer(sim) as server:
        settings = make_settings(
            workdir,
            tg,
            server.url,
            watch_concurrency=concurrency,
            alert_interval=DEFAULT_ALERT_INTERVAL,
            monitor_interval=DEFAULT_MONITOR_INTERVAL,
            read_cache_ttl=0.0,
        )
        db = await open_storage(settings.database_path, settings.encryption_key_file)
        inferno = create_inferno_client(settings)
        hub = TranslatorHub(default_locale=settings.default_language, strict=True)
        bot = create_bot(settings)
        try:
            dp = create_dispatcher(Services(settings=settings, db=db, inferno=inferno, hub=hub))
            alerts: AlertService = dp["alerts"]
            orders: list[tuple[int, str]] = []
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
                    orders.append((user_id, str(order.id)))
                await db.users.ensure(user_id, "en")
                await db.users.link(user_id, customer.cid, customer.key)
                tg.add_user(user_id)
            sim.complete_installs()
            with provider_latency(sim, latency):
                sim.reset_counters()
                started = time.perf_counter()
                # A pass takes a batch of due accounts and asks for the next one at once (0 s).
                while await alerts.account_pass(bot) == 0.0:
                    pass
                account_s = time.perf_counter() - started
                account_calls = dict(sim.calls)
                # Half of the servers monitored: each account's second one is turned off.
                for user_id, order_id in orders[1::2]:
                    await db.alerts.set_monitored(user_id, order_id, False)
                await alerts.monitor_pass(bot)  # the first pass learns they run
                load_before = os.getloadavg()
                sim.reset_counters()
                with CpuMeter() as meter:
                    await alerts.monitor_pass(bot)
                assert meter.report is not None
                monitor_calls = dict(sim.calls)
                peak = sim.peak_in_flight
                load_after = os.getloadavg()
            monitored = len(orders) // 2
            bound = math.ceil(monitored / concurrency) * latency
            per_minute = (
                sum(account_calls.values()) * 60 / DEFAULT_ALERT_INTERVAL
                + sum(monitor_calls.values()) * 60 / DEFAULT_MONITOR_INTERVAL
            )
            design = accounts * 3 * 60 / DEFAULT_ALERT_INTERVAL + monitored * 60 / (
                DEFAULT_MONITOR_INTERVAL
            )
            return AlertsResult(
                accounts=accounts,
                servers=len(orders),
                monitored=monitored,
                latency=latency,
                concurrency=concurrency,
                account_pass_s=account_s,
                account_pass_calls=account_calls,
                monitor_pass_s=meter.report.wall,
                monitor_pass_calls=monitor_calls,
                monitor_bound_s=bound,
                monitor_vs_bound=meter.report.wall / bound,
                calls_per_minute=per_minute,
                design_calls_per_minute=design,
                bot_cpu_ms_per_server=meter.report.bot / monitored * 1000,
                process_cpu_ms_per_server=meter.report.process / monitored * 1000,
                peak_in_flight=peak,
                rss_mb=psutil.Process().memory_info().rss / 2**20,
                load_before=load_before,
                load_after=load_after,
            )
        finally:
            await bot.session.close()
            await inferno.aclose()
            await db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench alerts")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="alerts-bench-") as tmp:
        result = asyncio.run(
            run_alerts_bench(
                Path(tmp), args.accounts, latency=args.latency, concurrency=args.concurrency
            )
        )
    text = json.dumps(asdict(result), indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0
