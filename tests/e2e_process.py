"""The real ``python -m bot`` process against the fake Bot API and the simulator (both in-test).

The fakes run in the test's event loop on 127.0.0.1; the bot is a separate process configured
only through the environment variables the README documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.inferno.simulator import Simulator, SimulatorServer
from tests.fakes.telegram import SECRET_HEADER, FakeTelegram
from tests.harness import WEBHOOK_SECRET, free_port, make_settings

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


class RoundRobinProxy:
    """The reverse proxy in front of the replicas, as Caddy's ``lb_policy round_robin``: each
    webhook request goes to the next replica in turn; one that refuses the connection (down)
    is skipped for the next. Records which replica got each update."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        # (update_id, the index of the replica that answered, its HTTP status)
        self.routes: list[tuple[int, int, int]] = []
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RoundRobinProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def replica_of(self, update_id: int) -> list[int]:
        """The replicas that answered deliveries of ``update_id``, in order."""
        return [replica for uid, replica, _status in self.routes if uid == update_id]

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        body = await request.read()
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("content-type", SECRET_HEADER.lower())
        }
        try:
            update_id = int(json.loads(body)["update_id"])
        except (ValueError, KeyError, TypeError):
            update_id = -1
        for _ in self.backends:
            index = self._next
            self._next = (self._next + 1) % len(self.backends)
            try:
                async with self._http.request(
                    request.method,
                    self.backends[index] + request.path_qs,
                    data=body,
                    headers=headers,
                ) as response:
                    payload = await response.read()
                    self.routes.append((update_id, index, response.status))
                    return web.Response(
                        status=response.status,
                        body=payload,
                        content_type=response.content_type,
                    )
            except aiohttp.ClientConnectorError:
                continue  # that replica is down: the next one
            except aiohttp.ClientError:
                # Sent, but the replica died before answering: Telegram delivers it again.
                return web.Response(status=502)
        return web.Response(status=502)


@contextlib.asynccontextmanager
async def replica_processes(
    tmp_path: Path, sim: Simulator, count: int, **extra_env: str
) -> AsyncIterator[tuple[list[BotProcess], RoundRobinProxy, FakeTelegram, SimulatorServer]]:
    """``count`` ``python -m bot`` replicas in webhook mode behind a :class:`RoundRobinProxy`,
    each listening on a port of its own; ``extra_env`` gives them their shared database and
    Redis (not started here: call ``start()`` on each)."""
    ports = [free_port() for _ in range(count)]
    async with (
        FakeTelegram() as tg,
        SimulatorServer(sim) as server,
        RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports]) as proxy,
    ):
        settings = make_settings(tmp_path, tg, server.url)
        procs = []
        for index, port in enumerate(ports):
            env = process_env(
                settings,
                **{
                    "WATCH_INTERVAL": "0.3",
                    "LOG_LEVEL": "DEBUG",
                    "WEBHOOK_URL": f"{proxy.url}/telegram/updates",
                    "WEBHOOK_SECRET": WEBHOOK_SECRET,
                    "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
                    "DATABASE_PATH": str(tmp_path / f"replica-{index}" / "bot.sqlite3"),
                }
                | extra_env,
            )
            procs.append(
                BotProcess(tmp_path=tmp_path, env=env, log_path=tmp_path / f"bot-{index}.log")
            )
        try:
            yield procs, proxy, tg, server
        finally:
            for proc in procs:
                if proc.process is not None and proc.process.returncode is None:
                    proc.process.kill()
                    await proc.process.wait()
