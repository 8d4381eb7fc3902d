"""``python -m bot healthcheck``, Docker's HEALTHCHECK: 0 while a bot runs on the database and
the database answers, 1 otherwise, one line either way, and nothing changed or locked."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bot.healthcheck import _flocked, check
from bot.storage.lock import DatabaseLock
from tests.e2e_process import BotProcess
from tests.fakes.telegram import FakeTelegram
from tests.startup_process import TIMEOUT, Result, process_env, run, running, snapshot


def one_line(result: Result) -> str:
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) == 1, output
    assert output[0].startswith("inferno-bot: "), output[0]
    return output[0]


async def test_healthy_while_a_bot_runs_unhealthy_once_it_stopped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db_path = data / "bot.sqlite3"
    async with FakeTelegram() as tg:
        env = process_env(
            BOT_TOKEN=tg.token,
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(db_path),
            ENCRYPTION_KEY_FILE=str(data / "secret.key"),
        )
        async with running(tmp_path / "bot.log", tmp_path, env, tg) as bot:
            healthy = await run(tmp_path, env, "healthcheck")
            assert healthy.code == 0, healthy.stderr
            assert "healthy: a bot is running" in one_line(healthy)
            assert bot.returncode is None, "the healthcheck leaves the bot alone"
            # Its token is not needed, and not asked for.
            tokenless = {k: v for k, v in env.items() if k != "BOT_TOKEN"}
            assert (await run(tmp_path, tokenless, "healthcheck")).code == 0

            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), TIMEOUT) == 0

    before = snapshot(tmp_path)
    stopped = await run(tmp_path, env, "healthcheck")
    assert stopped.code == 1
    assert one_line(stopped) == (
        f"inferno-bot: unhealthy: no bot is running on DATABASE_PATH={db_path}"
    )
    assert snapshot(tmp_path) == before, "the healthcheck creates and changes nothing"


async def test_another_command_holding_the_database_is_no_running_bot(tmp_path: Path) -> None:
    db_path = tmp_path / "bot.sqlite3"
    env = process_env(DATABASE_PATH=str(db_path), ENCRYPTION_KEY_FILE=str(tmp_path / "k"))
    lock = DatabaseLock.acquire(db_path, "rotate-key")
    try:
        result = await run(tmp_path, env, "healthcheck")
    finally:
        lock.release()
    assert result.code == 1
    assert "`python -m bot rotate-key` is running" in one_line(result)


async def test_a_database_that_cannot_be_read_is_unhealthy(tmp_path: Path) -> None:
    db_path = tmp_path / "bot.sqlite3"
    db_path.write_bytes(b"this is not an SQLite database, not even its header" * 100)
    env = process_env(DATABASE_PATH=str(db_path), ENCRYPTION_KEY_FILE=str(tmp_path / "k"))
    lock = DatabaseLock.acquire(db_path)  # as a bot would hold it
    try:
        unreadable = await run(tmp_path, env, "healthcheck")
        db_path.unlink()
        missing = await run(tmp_path, env, "healthcheck")
    finally:
        lock.release()
    assert unreadable.code == 1
    assert f"the bot's database {db_path} cannot be read" in one_line(unreadable)
    assert missing.code == 1
    assert "cannot be read: no such file" in one_line(missing)
    assert not db_path.exists(), "a read-only check never creates the database"


async def test_a_bot_in_demo_mode_is_healthy(tmp_path: Path) -> None:
    """``--demo`` keeps its data in demo-<name> beside DATABASE_PATH; that bot counts too."""
    db_path = tmp_path / "bot.sqlite3"
    async with FakeTelegram() as tg:
        env = process_env(
            BOT_TOKEN=tg.token,
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(db_path),
            ENCRYPTION_KEY_FILE=str(tmp_path / "secret.key"),
        )
        demo = BotProcess(
            tmp_path=tmp_path, env=env, log_path=tmp_path / "bot.log", args=("--demo",)
        )
        await demo.start()
        try:
            await tg.wait_for(lambda: tg.polling_active, TIMEOUT, "the demo bot to poll")
            result = await run(tmp_path, env, "healthcheck")
        finally:
            assert demo.process is not None
            demo.process.kill()
            await demo.process.wait()
    assert result.code == 0, result.stderr
    assert f"DATABASE_PATH={tmp_path / 'demo-bot.sqlite3'}" in one_line(result)


async def test_a_setting_that_cannot_be_read_is_unhealthy_not_exit_2(tmp_path: Path) -> None:
    env = process_env(DATABASE_PATH=str(tmp_path / "bot.sqlite3"), LOG_LEVEL="LOUD")
    result = await run(tmp_path, env, "healthcheck")
    assert result.code == 1, "Docker reserves exit code 2 in a HEALTHCHECK"
    assert "LOG_LEVEL is invalid" in one_line(result)


def test_only_an_exclusive_flock_on_that_very_file_counts(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3.lock"
    path.write_text("1 bot\n")
    info = path.stat()
    device = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}"
    held = f"3: FLOCK  ADVISORY  WRITE 4242 {device}:{info.st_ino} 0 EOF"
    assert _flocked(info, f"1: POSIX  ADVISORY  READ 7 fe:00:1 128 128\n{held}\n")
    for line in (
        f"3: FLOCK  ADVISORY  READ 4242 {device}:{info.st_ino} 0 EOF",  # shared
        f"3: POSIX  ADVISORY  WRITE 4242 {device}:{info.st_ino} 0 EOF",  # a record lock
        f"3: -> FLOCK  ADVISORY  WRITE 4242 {device}:{info.st_ino} 0 EOF",  # waiting for it
        f"3: FLOCK  ADVISORY  WRITE 4242 {device}:{info.st_ino + 1} 0 EOF",  # another file
        "3: FLOCK  ADVISORY  WRITE 4242 garbage 0 EOF",
        "",
    ):
        assert not _flocked(info, line), line
    # And the real /proc/locks: the lock file alone is no running bot.
    assert not check(tmp_path / "bot.sqlite3").ok
