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
from tests.harness import make_settings

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
        database = Path(self.env["DATABASE_PATH"])
        blobs = []
        for path in database.parent.glob(f"{database.name}*"):
            blobs.append(path.read_bytes())
        return b"".join(blobs)


def process_env(settings: Settings, **extra_env: str) -> dict[str, str]:
    """The environment of a bot process: ours without any bot setting, then ``settings``'s.

    Only the token, both addresses, the storage paths and the language are taken from
    ``settings`` (so the process opens the very files a test or bench wrote through them);
    anything else stays at the bot's default unless ``extra_env`` sets it.
    """
    assert settings.telegram_api_url is not None, "a bot process talks to a fake Bot API"
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update(
        BOT_TOKEN=settings.bot_token.get_secret_value(),
        TELEGRAM_API_URL=settings.telegram_api_url,
        INFERNO_API_URL=settings.inferno_api_url,
        DATABASE_PATH=str(settings.database_path),
        ENCRYPTION_KEY_FILE=str(settings.encryption_key_file),
        DEFAULT_LANGUAGE=settings.default_language,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env)
    return env


@contextlib.asynccontextmanager
async def bot_process(
    tmp_path: Path, sim: Simulator, **extra_env: str
) -> AsyncIterator[tuple[BotProcess, FakeTelegram, SimulatorServer]]:
    async with FakeTelegram() as tg, SimulatorServer(sim) as server:
        settings = make_settings(tmp_path, tg, server.url)
        env = process_env(settings, **{"WATCH_INTERVAL": "0.3", "LOG_LEVEL": "DEBUG"} | extra_env)
        proc = BotProcess(tmp_path=tmp_path, env=env, log_path=tmp_path / "bot.log")
        await proc.start()
        try:
            yield proc, tg, server
        finally:
            if proc.process is not None and proc.process.returncode is None:
                proc.process.kill()
                await proc.process.wait()
