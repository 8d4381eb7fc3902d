"""Running ``python -m bot`` to its end or until it polls, from a chosen working directory,
and comparing a directory before and after."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.e2e_process import SETTING_NAMES
from tests.fakes.telegram import FakeTelegram

TIMEOUT = 60.0
# Never contacted at start-up; a valid address so that only the storage can be wrong.
INFERNO = "http://127.0.0.1:9/api_client.php"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def line(self) -> str:
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, f"expected one line, got:\n{self.stderr}"
        assert lines[0].startswith("inferno-bot: "), lines[0]
        return lines[0]


def process_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update(PYTHONUNBUFFERED="1", INFERNO_API_URL=INFERNO, **settings)
    return env


async def run(cwd: Path, env: dict[str, str], *args: str) -> Result:
    """``python -m bot`` to its end."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


@contextlib.asynccontextmanager
async def running(
    log_path: Path, cwd: Path, env: dict[str, str], tg: FakeTelegram, *, umask: int = -1
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A bot process that is polling; its output goes to ``log_path``."""
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            umask=umask,
        )

    def polling() -> bool:
        if proc.returncode is not None:
            raise AssertionError(f"the bot exited early:\n{log_path.read_text()}")
        return tg.polling_active

    try:
        await tg.wait_for(polling, TIMEOUT, "the bot to start polling")
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every entry under ``root``: its type, permissions and (for files) content."""
    found: dict[str, tuple[int, int, bytes | None]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        found[str(path.relative_to(root))] = (
            stat.S_IFMT(info.st_mode),
            stat.S_IMODE(info.st_mode),
            content,
        )
    return found
