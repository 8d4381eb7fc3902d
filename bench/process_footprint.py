"""Resident memory of the real ``python -m bot`` process, and the floor its dependencies set.

The in-process footprint (:mod:`bench.footprint`) holds the fakes, the simulator, the driver and
the baseline as well, so it says little about the bot. Here the bot runs as its own process, the
way it is deployed, against the fakes in this one: its database is written first (linked users
straight into SQLite, a few users with a running server bought over HTTP), then the bot starts,
answers each active user's /menu and serves their taps. Fresh interpreters that only import
Python, aiogram, or the bot's modules give the floor below which no bot on these libraries gets.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # dev extra; its stubs are not installed

from bench.faketg import BenchTelegram
from bench.footprint import FIRST_DORMANT_CID, FIRST_DORMANT_ID
from bench.servers import cheapest_plan, customer_with_server
from bench.traffic import drive_users, open_menus, provider_latency
from bot.app import create_inferno_client
from bot.config import Settings
from bot.inferno.simulator import Simulator, SimulatorServer
from bot.storage.startup import open_storage
from tests.e2e_process import ROOT, BotProcess, process_env
from tests.harness import make_settings
from tests.storage_helpers import linked_user_ids

FIRST_ACTIVE_ID = 8_000_000
SETUP_CONCURRENCY = 16
# What a fresh interpreter imports before its size is read (psutil itself is needed to read it).
FLOORS: dict[str, str] = {
    "Python + psutil": "",
    "import aiogram": "import aiogram",
    "import bot.app (all the bot's modules)": "import bot.app",
}
_PRINT_RSS = "import gc, psutil; gc.collect(); print(psutil.Process().memory_info().rss)"


@dataclass
class ProcessFootprint:
    linked_users: int  # counted in the database the bot opened, not the number asked for
    active_users: int  # users whose /menu the bot answered
    taps_asked: int = 0  # active users × taps per user
    taps_served: int = 0  # taps the bot answered with an edit (a way back to the menu included)
    failures: int = 0  # users who got no screen in time, or were stranded (see bench.traffic)
    off_route: int = 0  # taps that found the expected button missing (an error screen, say)
    exit_code: int | None = None
    floor_mb: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)


def import_floor_mb(statement: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", f"{statement}\n{_PRINT_RSS}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.split()[-1]) / 2**20


async def measure_bot_process(
    workdir: Path,
    *,
    linked_users: int,
    active_users: int,
    taps: int,
    latency: float,
    jitter: float,
    timeout: float,
) -> ProcessFootprint:
    floor_mb = {
        label: await asyncio.to_thread(import_floor_mb, statement)
        for label, statement in FLOORS.items()
    }
    active = [FIRST_ACTIVE_ID + i for i in range(active_users)]
    sim = Simulator(install_delay=0.0)
    async with BenchTelegram() as tg, SimulatorServer(sim) as server:
        # One Settings for both: the users are written where the bot process will look.
        settings = make_settings(workdir, tg, server.url)
        linked = await _write_users(settings, tg, sim, linked_users - len(active), active)
        result = ProcessFootprint(linked_users=linked, active_users=0, floor_mb=floor_mb)
        env = process_env(settings, LOG_LEVEL="WARNING")
        bot = BotProcess(tmp_path=workdir, env=env, log_path=workdir / "bot.log")
        await bot.start()
        try:
            assert bot.process is not None
            process = psutil.Process(bot.process.pid)
            menus = await open_menus(tg, active, timeout)
            result.active_users = len(menus)
            result.taps_asked = len(menus) * taps
            result.rss_mb["started, every active user answered"] = _mb(process)
            with provider_latency(sim, latency, jitter):
                drive = await drive_users(tg, menus, taps, timeout)
            result.rss_mb["served"] = _mb(process)
            result.taps_served = len(drive.taps)
            result.failures, result.off_route = drive.failures, drive.off_route
        finally:
            result.exit_code = await bot.stop()
    return result


def _mb(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


async def _write_users(
    settings: Settings,
    tg: BenchTelegram,
    sim: Simulator,
    dormant: int,
    active: Sequence[int],
) -> int:
    """Dormant users straight into the database; active ones with a running server each.

    Returns how many linked users the database then holds.
    """
    db = await open_storage(settings.database_path, settings.encryption_key_file)
    client = create_inferno_client(settings)
    try:
        for index in range(max(dormant, 0)):
            await db.users.link(
                FIRST_DORMANT_ID + index, FIRST_DORMANT_CID + index, secrets.token_urlsafe(24)
            )
        plan = await cheapest_plan(client)
        limiter = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def one(user_id: int) -> None:
            async with limiter:
                customer, _order_id = await customer_with_server(
                    client, sim, f"proc{user_id}@example.com", plan
                )
                await db.users.link(user_id, customer.cid, customer.key)
                tg.add_user(user_id)

        await asyncio.gather(*(one(user_id) for user_id in active))
        sim.complete_installs()
        return len(await linked_user_ids(db))
    finally:
        await client.aclose()
        await db.close()
