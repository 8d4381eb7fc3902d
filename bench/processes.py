"""The bots under test, each a process of its own, and the database our bot starts with.

The bench process holds the fake Bot API servers (one per bot, so that no bot sees another's
updates), the provider simulator and the simulated users; each bot is a child process whose CPU
time (user + system, all its threads) and resident memory are read from the operating system
with psutil.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # dev extra; its stubs are not installed

from bench.faketg import BenchTelegram
from bench.servers import cheapest_plan, customer_with_server
from bot.app import create_inferno_client
from bot.config import Settings
from bot.inferno.simulator import Simulator
from bot.storage.startup import open_storage
from tests.e2e_process import ROOT

FIRST_DORMANT_ID = 5_000_000
FIRST_DORMANT_CID = 900_000
SETUP_CONCURRENCY = 16
STOP_TIMEOUT = 15.0


@dataclass
class BotProcess:
    """One bot under test: how it is started, its fake Bot API server, and its process."""

    key: str  # "ours", "shipped", "tuned"
    title: str  # the name the report gives it
    argv: list[str]  # after the interpreter
    env: dict[str, str]
    tg: BenchTelegram
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    started_s: float = 0.0  # spawned → the first /menu answered
    menus: dict[int, int] = field(default_factory=dict)  # user id → the menu message's id
    exit_code: int | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.key} is not running"
        return self.process.pid

    def cpu_seconds(self) -> float:
        """CPU time of the process so far, user + system, every thread."""
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def rss_mb(self) -> float:
        return float(psutil.Process(self.pid).memory_info().rss) / 2**20

    async def start(self, first_user: int, timeout: float) -> None:
        """Spawn the process with a /menu already queued; return once it is answered."""
        answered = self.tg.expect_message(first_user)
        await self.tg.send_command(first_user, "/menu")
        with self.log_path.open("ab") as log:
            spawned = time.monotonic()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        died = asyncio.ensure_future(self.process.wait())
        either: list[asyncio.Future[Any]] = [answered, died]
        try:
            done, _ = await asyncio.wait(
                either, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            died.cancel()
        if answered not in done:
            answered.cancel()
            await self.stop()
            tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(
                f"{self.title} did not answer /menu (exit {self.exit_code}):\n{tail}"
            )
        message = answered.result()
        self.started_s = message.sent_at - spawned
        self.menus[first_user] = message.message_id

    async def stop(self) -> int | None:
        if self.process is None:
            return self.exit_code
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_code = await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            self.exit_code = None  # did not stop when asked
        self.process = None
        return self.exit_code


async def write_users(
    settings: Settings,
    fakes: Sequence[BenchTelegram],
    sim: Simulator,
    dormant: int,
    active: Sequence[int],
) -> int:
    """``dormant`` linked users straight into our bot's database, each with a simulator
    customer of its own (no servers) and a chat every fake Bot API server knows, as on a real
    installation: the alerts' account checks read valid accounts and message real chats.
    ``active`` ones each with a simulator customer and a running server, bought and installed
    through the real client over HTTP. Returns how many linked users the database then holds
    (counted in the file, not the number asked for)."""
    db = await open_storage(
        settings.database_path,
        settings.encryption_key_file,
        env_key=settings.encryption_key,
        database_url=settings.database_url,
    )
    client = create_inferno_client(settings)
    try:
        for index in range(max(dormant, 0)):
            customer = sim.add_customer(
                f"dormant{index}@example.com",
                secrets.token_urlsafe(12),
                cid=FIRST_DORMANT_CID + index,
            )
            await db.users.link(FIRST_DORMANT_ID + index, customer.cid, customer.key)
            for tg in fakes:
                tg.add_user(FIRST_DORMANT_ID + index)
        plan = await cheapest_plan(client)
        limiter = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def one(user_id: int) -> None:
            async with limiter:
                customer, _order_id = await customer_with_server(
                    client, sim, f"bench{user_id}@example.com", plan
                )
                await db.users.link(user_id, customer.cid, customer.key)
                for tg in fakes:
                    tg.add_user(user_id)

        await asyncio.gather(*(one(user_id) for user_id in active))
        sim.complete_installs()
    finally:
        await client.aclose()
        await db.close()
    # A linked user is a member (the owner, at least) of an account (bot/storage/accounts.py).
    count = "SELECT COUNT(DISTINCT user_id) FROM memberships"
    if settings.database_url is not None:
        import asyncpg

        conn = await asyncpg.connect(settings.database_url.get_secret_value())
        try:
            return int(await conn.fetchval(count))
        finally:
            await conn.close()
    with contextlib.closing(sqlite3.connect(settings.database_path)) as conn:
        (linked,) = conn.execute(count).fetchone()
    return int(linked)


async def first_account_checks(
    database: Path, linked: int, timeout: float, *, log: Callable[[str], None]
) -> float:
    """Waits until the bot's alerts have checked every linked account once; returns how long
    that took. A bot started on a database of linked users it has never checked reads each
    account at once (bot/services/alerts.py); on a running installation those checks are
    spread over ALERT_INTERVAL. Taps are measured after it, in the steady state."""
    started = time.monotonic()
    deadline = started + timeout
    uri = f"file:{database}?mode=ro"
    while True:
        # Read-only, beside the running bot (WAL): the bench never writes its database.
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
            (checked,) = conn.execute("SELECT COUNT(*) FROM alert_checks").fetchone()
        if checked >= linked:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise TimeoutError(f"alerts checked {checked} of {linked} accounts in {timeout:.0f} s")
        log(f"setup: alerts checked {checked} of {linked} accounts")
        await asyncio.sleep(5.0)
