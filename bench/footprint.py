"""Footprint: cold start to the first answered update, and resident memory with many users."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # dev extra; its stubs are not installed

from bench.faketg import BenchTelegram
from bot.config import Settings
from bot.inferno.simulator import Simulator, SimulatorServer
from tests.harness import BotEnv, make_settings
from tests.storage_helpers import linked_user_ids

COLD_USER = 100
RESTART_USER = 101
FIRST_DORMANT_ID = 5_000_000
FIRST_DORMANT_CID = 900_000
# The production interval, so the background watcher costs what it costs in production.
WATCH_INTERVAL = float(Settings.model_fields["watch_interval"].default)


def rss_mb() -> float:
    gc.collect()
    return float(psutil.Process().memory_info().rss) / 2**20


@dataclass
class Footprint:
    import_s: float | None  # importing the bot's modules, when measured by ``python -m bench``
    cold_start_s: float = 0.0  # start() called → the first /start answered
    linked_users: int = 0
    link_s: float = 0.0
    restart_s: float = 0.0  # restart with every user linked → the first /start answered
    rss_mb: dict[str, float] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def our_world(workdir: Path) -> AsyncIterator[BotEnv]:
    """The fake Bot API server and the simulator, running; the bot created but not started."""
    sim = Simulator(install_delay=0.0)
    async with BenchTelegram() as tg, SimulatorServer(sim) as server:
        settings = make_settings(workdir, tg, server.url, watch_interval=WATCH_INTERVAL)
        env = BotEnv(tmp_path=workdir, tg=tg, sim=sim, sim_server=server, settings=settings)
        try:
            yield env
        finally:
            await env.stop()


async def _first_answer(env: BotEnv, user_id: int, timeout: float, *, restart: bool) -> float:
    """Queue /start, (re)start the bot, return seconds until the bot's reply was sent."""
    tg = env.tg
    assert isinstance(tg, BenchTelegram)
    replied = tg.expect_message(user_id)
    await tg.send_command(user_id, "/start")
    started = time.monotonic()
    if restart:
        await env.restart()
    else:
        await env.start()
    msg = await asyncio.wait_for(replied, timeout)
    return msg.sent_at - started


async def cold_start(env: BotEnv, footprint: Footprint, timeout: float) -> None:
    footprint.rss_mb["before start"] = rss_mb()
    footprint.cold_start_s = await _first_answer(env, COLD_USER, timeout, restart=False)
    footprint.rss_mb["started"] = rss_mb()


async def link_dormant_users(env: BotEnv, count: int, footprint: Footprint) -> None:
    """``count`` linked users written straight into the database (they never tap)."""
    started = time.perf_counter()
    for index in range(count):
        await env.db.users.link(
            FIRST_DORMANT_ID + index, FIRST_DORMANT_CID + index, secrets.token_urlsafe(24)
        )
    footprint.link_s = time.perf_counter() - started


async def restart_with_users(env: BotEnv, footprint: Footprint, timeout: float) -> None:
    footprint.linked_users = await _linked(env)
    footprint.restart_s = await _first_answer(env, RESTART_USER, timeout, restart=True)
    footprint.rss_mb["linked, restarted"] = rss_mb()


async def _linked(env: BotEnv) -> int:
    return len(await linked_user_ids(env.db))
