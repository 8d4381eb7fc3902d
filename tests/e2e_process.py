"""The real ``python -m bot`` process against the fake Bot API and the simulator (both in-test).

The fakes run in the test's event loop on 127.0.0.1; the bot is a separate process configured
only through the environment variables the README documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings
from bot.inferno.simulator import Simulator, SimulatorServer
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
SETTING_NAMES = tuple(name.upper() for name in Settings.model_fields)


@dataclass
class BotProcess:
    tmp_path: Path
    env: dict[str, str]
    log_path: Path
    args: tuple[str, ...] = ()
    process: asyncio.subprocess.Process | None = None
    runs: int = field(default=0)

    async def start(self) -> None:
        self.runs += 1
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *self.args,
            cwd=ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), timeout=timeout)
        self.process = None
        return code

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def data_bytes(self) -> bytes:
        """The database and its WAL/SHM companions, raw."""
        blobs = []
        for path in self.tmp_path.glob("bot.sqlite3*"):
            blobs.append(path.read_bytes())
        return b"".join(blobs)


def process_env(
    tmp_path: Path, tg: FakeTelegram, inferno_url: str, **extra_env: str
) -> dict[str, str]:
    """The environment of a bot process: ours without any bot setting, then the fakes'."""
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update(
        BOT_TOKEN=tg.token,
        TELEGRAM_API_URL=tg.base_url,
        INFERNO_API_URL=inferno_url,
        DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
        ENCRYPTION_KEY_FILE=str(tmp_path / "secret.key"),
        DEFAULT_LANGUAGE="en",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env)
    return env


@contextlib.asynccontextmanager
async def bot_process(
    tmp_path: Path, sim: Simulator, **extra_env: str
) -> AsyncIterator[tuple[BotProcess, FakeTelegram, SimulatorServer]]:
    async with FakeTelegram() as tg, SimulatorServer(sim) as server:
        env = process_env(tmp_path, tg, server.url, WATCH_INTERVAL="0.3", LOG_LEVEL="DEBUG")
        env.update(extra_env)
        proc = BotProcess(tmp_path=tmp_path, env=env, log_path=tmp_path / "bot.log")
        await proc.start()
        try:
            yield proc, tg, server
        finally:
            if proc.process is not None and proc.process.returncode is None:
                proc.process.kill()
                await proc.process.wait()
