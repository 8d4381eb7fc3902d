"""Start-up: a storage or key problem is one line and exit 2, and a start-up that fails leaves
nothing behind; a running bot holds its database's lock; the files it creates are owner-only.

Most cases run the real ``python -m bot`` against the fake Bot API, from an empty working
directory, and compare that directory before and after.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import bot.storage.db
from bot.storage import Database, KeyRing
from bot.storage.keyfile import format_key_file, generate_key, key_id_of
from bot.storage.lock import DatabaseInUseError
from bot.storage.startup import Footprint, StartupError, open_storage
from tests.fakes.telegram import FakeTelegram
from tests.startup_process import TIMEOUT, process_env, run, running, snapshot
from tests.storage_helpers import new_keyring, stored_account


async def linked_database(db_path: Path, key_file: Path, users: dict[int, str]) -> str:
    """A database as a running bot leaves it: ``users`` (id → language) linked, each with an
    open install watch. Returns the id of the key that encrypts them."""
    async with await open_storage(db_path, key_file) as db:
        for user_id, language in users.items():
            await db.users.ensure(user_id, language)
            await db.users.link(user_id, 1000 + user_id, f"api-key-of-{user_id}-0123456789")
            await db.watches.replace(user_id, user_id, f"o{user_id}", "install", "debian12")
        await db.users.ensure(99, "en")  # never linked
        return db.keyring.current_id


# --- storage that cannot be used: one line, exit 2, nothing written -------------------------


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot create files in, even as root (an immutable folder)."""
    folder = tmp_path / "unwritable"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    made = chattr is not None and subprocess.run([chattr, "+i", str(folder)]).returncode == 0
    if not made:
        pytest.skip("running as root without chattr +i: no folder is unwritable for root")
    try:
        yield folder
    finally:
        assert chattr is not None
        subprocess.run([chattr, "-i", str(folder)], check=True)


async def _garbage(path: Path) -> None:
    _write(path, os.urandom(8192))


async def _truncated(path: Path) -> None:
    data = await _full_database(path)
    _write(path, data[: len(data) // 2])


async def _damaged_inside(path: Path) -> None:
    data = await _full_database(path)
    page = 4096
    data[3 * page : 4 * page] = b"\xab" * page  # a page in the middle; the header is intact
    _write(path, data)


async def _full_database(path: Path) -> bytearray:
    other_key = path.with_name("other.key")
    await linked_database(path, other_key, dict.fromkeys(range(1, 400), "en"))
    other_key.unlink()
    return bytearray(_read(path))


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _write(path: Path, data: bytes | bytearray) -> None:
    path.write_bytes(bytes(data))


def _entries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("proc", "DATABASE_PATH=/proc/inferno-bot-test/bot.sqlite3: cannot create the folder"),
        ("parent is a file", "is a file, not a folder"),
        ("a folder", "is a folder; DATABASE_PATH names the database file"),
        ("unwritable folder", "cannot create"),
        ("garbage", "is not an SQLite database (file is not a database)"),
        ("truncated", "the database is damaged (database disk image is malformed)"),
        ("damaged inside", "the database is damaged"),
    ],
)
async def test_unusable_database_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path, request: pytest.FixtureRequest, case: str, expected: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    db_path = work / "data" / "bot.sqlite3"
    if case == "proc":
        db_path = Path("/proc/inferno-bot-test/bot.sqlite3")
    elif case == "parent is a file":
        (work / "data").write_text("not a folder")
    elif case == "a folder":
        db_path.mkdir(parents=True)
    elif case == "unwritable folder":
        db_path = request.getfixturevalue("unwritable") / "bot.sqlite3"
    else:
        db_path.parent.mkdir()
        prepare = {"garbage": _garbage, "truncated": _truncated, "damaged inside": _damaged_inside}
        await prepare[case](db_path)
    before = snapshot(tmp_path)
    async with FakeTelegram() as tg:
        # A relative key file: the working directory must stay untouched too.
        env = process_env(
            BOT_TOKEN=tg.token,
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(db_path),
            ENCRYPTION_KEY_FILE="keys/secret.key",
        )
        result = await run(work, env)
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = result.line
    assert f"DATABASE_PATH={db_path}" in line
    assert expected in line
    assert snapshot(tmp_path) == before, "a failed start-up writes nothing"
    assert tg.calls("getMe") == [], "the storage is checked before Telegram is asked"


async def test_refused_token_or_unreachable_telegram_leave_nothing_behind(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        cases = [
            ({"BOT_TOKEN": "999:not-the-fakes-token", "TELEGRAM_API_URL": tg.base_url}, 2),
            ({"BOT_TOKEN": tg.token, "TELEGRAM_API_URL": "http://127.0.0.1:9"}, 1),
        ]
        for extra, expected in cases:
            # The defaults: data/bot.sqlite3 and data/secret.key in the working directory.
            result = await run(tmp_path, process_env(**extra))
            assert result.code == expected, result.stderr
            assert "Traceback" not in result.stderr
            last = result.stderr.strip().splitlines()[-1]
            assert last.startswith("inferno-bot: "), last
            assert _entries(tmp_path) == [], "no data/ folder, database or key file"


async def test_a_start_up_that_fails_keeps_what_existed(tmp_path: Path) -> None:
    """Only what the failed start-up created goes: an existing folder, database and key file
    stay exactly as they were."""
    db_path, key_file = tmp_path / "data" / "bot.sqlite3", tmp_path / "data" / "secret.key"
    await linked_database(db_path, key_file, {1: "en"})
    before = snapshot(tmp_path)
    async with FakeTelegram() as tg:
        env = process_env(
            BOT_TOKEN="999:refused",
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(db_path),
            ENCRYPTION_KEY_FILE=str(key_file),
        )
        result = await run(tmp_path, env)
    assert result.code == 2, result.stderr
    after = snapshot(tmp_path)
    assert after.keys() == before.keys()
    assert after["data/secret.key"] == before["data/secret.key"]


# --- the lock: one bot per database, and no key change under a running bot -----------------


async def test_second_bot_and_key_commands_refused_while_a_bot_runs(tmp_path: Path) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    lock_file = tmp_path / "bot.sqlite3.lock"
    async with FakeTelegram() as tg:
        env = process_env(
            BOT_TOKEN=tg.token,
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(db_path),
            ENCRYPTION_KEY_FILE=str(key_file),
            ALLOWED_USERS="1",
        )
        async with running(tmp_path.parent / "first.log", tmp_path, env, tg) as first:
            assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600
            key_before = key_file.read_bytes()

            second = await run(tmp_path, env)
            assert second.code == 2, second.stderr
            assert second.line.startswith(
                f"inferno-bot: another inferno-bot is already running on DATABASE_PATH={db_path}"
            )
            assert f"(pid {first.pid})" in second.line

            for command in (["rotate-key"], ["forget-undecryptable", "--yes"]):
                refused = await run(tmp_path, env, *command)
                assert refused.code == 2, refused.stderr
                assert "stop the bot first" in refused.line
                assert f"DATABASE_PATH={db_path}" in refused.line
            assert key_file.read_bytes() == key_before, "no rotation under a running bot"

            first.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(first.wait(), TIMEOUT) == 0
        assert not lock_file.exists(), "a clean stop removes the lock file"
        rotated = await run(tmp_path, env, "rotate-key")
        assert rotated.code == 0, rotated.stderr
        assert key_file.read_bytes() != key_before


async def test_lock_is_exclusive_and_released_on_close(tmp_path: Path) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    db = await open_storage(db_path, key_file)
    try:
        with pytest.raises(DatabaseInUseError, match="already running"):
            await open_storage(db_path, key_file)
    finally:
        await db.close()
    assert not (tmp_path / "bot.sqlite3.lock").exists()
    # A lock file left behind by a bot killed with -9 holds no lock.
    (tmp_path / "bot.sqlite3.lock").write_text("4242 bot\n")
    db = await open_storage(db_path, key_file)
    await db.close()


# --- owner-only files, and the open-to-everyone warning --------------------------------------


async def test_database_files_are_owner_only_and_open_bot_warns_once(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        env = process_env(
            BOT_TOKEN=tg.token,
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH="data/bot.sqlite3",
            ENCRYPTION_KEY_FILE="data/secret.key",
        )
        # umask 0: whatever the bot does not restrict itself comes out world-writable.
        log_path = tmp_path / "bot.log"
        async with running(log_path, tmp_path, env, tg, umask=0) as proc:
            data = tmp_path / "data"
            modes = {
                path.name: stat.S_IMODE(path.stat().st_mode)
                for path in data.iterdir()
                if path.name.startswith("bot.sqlite3")
            }
            assert modes == {
                "bot.sqlite3": 0o600,
                "bot.sqlite3-wal": 0o600,
                "bot.sqlite3-shm": 0o600,
                "bot.sqlite3.lock": 0o600,
            }
            assert stat.S_IMODE((data / "secret.key").stat().st_mode) == 0o600
            assert stat.S_IMODE(data.stat().st_mode) == 0o700
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
        lines = [line for line in _read(log_path).decode().splitlines() if "ALLOWED_USERS" in line]
        assert len(lines) == 1, lines
        assert " WARNING bot: ALLOWED_USERS is empty" in lines[0]
        assert "every Telegram user" in lines[0] and "ALLOWED_USERS=id1,id2" in lines[0]


async def test_no_warning_when_allowed_users_is_set(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        env = process_env(
            BOT_TOKEN="999:refused-after-the-warning-would-be-logged",
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
            ENCRYPTION_KEY_FILE=str(tmp_path / "secret.key"),
        )
        open_bot = await run(tmp_path, env)
        restricted = await run(tmp_path, {**env, "ALLOWED_USERS": "1,2"})
    assert open_bot.code == restricted.code == 2
    assert "ALLOWED_USERS is empty" in open_bot.stderr
    assert "ALLOWED_USERS" not in restricted.stderr


# --- the master key never silently changes ---------------------------------------------------


async def test_missing_key_file_with_encrypted_rows_refuses_and_creates_no_key(
    tmp_path: Path,
) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    key_id = await linked_database(db_path, key_file, {1: "en", 2: "ru"})
    key_file.unlink()
    before = snapshot(tmp_path)
    async with FakeTelegram() as tg:
        env = process_env(
            BOT_TOKEN=tg.token,
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(db_path),
            ENCRYPTION_KEY_FILE=str(key_file),
        )
        result = await run(tmp_path, env)
    assert result.code == 2, result.stderr
    line = result.line
    assert f"ENCRYPTION_KEY_FILE={key_file} does not exist" in line
    assert f"2 accounts in DATABASE_PATH={db_path} are encrypted with key {key_id}" in line
    assert "python -m bot forget-undecryptable" in line
    assert snapshot(tmp_path) == before, "no new key, nothing deleted"


@pytest.mark.parametrize("how", ["another key file", "ENCRYPTION_KEY"])
async def test_wrong_key_refuses_naming_the_missing_key(tmp_path: Path, how: str) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    key_id = await linked_database(db_path, key_file, {1: "en"})
    wrong = generate_key()
    extra: dict[str, str] = {}
    if how == "another key file":
        key_file.write_text(format_key_file([wrong]))
    else:
        import base64

        extra["ENCRYPTION_KEY"] = base64.urlsafe_b64encode(wrong).decode()
    before = snapshot(tmp_path)
    async with FakeTelegram() as tg:
        env = process_env(
            BOT_TOKEN=tg.token,
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(db_path),
            ENCRYPTION_KEY_FILE=str(key_file),
            **extra,
        )
        result = await run(tmp_path, env)
    assert result.code == 2, result.stderr
    line = result.line
    assert f"1 account in DATABASE_PATH={db_path} is encrypted with key {key_id}" in line
    assert f"(it holds {key_id_of(wrong)})" in line
    assert extra.get("ENCRYPTION_KEY", "never") not in line
    assert "forget-undecryptable" in line
    assert snapshot(tmp_path) == before
    assert tg.calls("getMe") == []


async def test_key_file_made_only_for_a_database_without_encrypted_keys(tmp_path: Path) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    async with await open_storage(db_path, key_file) as db:
        await db.users.ensure(1, "en")  # a user, but no stored key
    key_file.unlink()
    async with await open_storage(db_path, key_file) as db:
        assert key_file.exists()
        await db.users.link(1, 11, "api-key-0123456789")
    first = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(StartupError, match="does not exist, but 1 account"):
        await open_storage(db_path, key_file)
    assert not key_file.exists()
    key_file.write_bytes(first)
    key_file.chmod(0o600)
    async with await open_storage(db_path, key_file) as db:
        assert await stored_account(db, 1) is not None


async def test_keys_of_an_interrupted_rotation_are_all_accepted(tmp_path: Path) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    old = generate_key()
    key_file.write_text(format_key_file([old]))
    key_file.chmod(0o600)
    await linked_database(db_path, key_file, {1: "en"})
    new = generate_key()
    async with await Database.open(db_path, KeyRing([new])) as db:
        await db.users.link(2, 22, "api-key-on-the-new-key")
    with pytest.raises(StartupError, match=f"encrypted with key {key_id_of(new)}"):
        await open_storage(db_path, key_file)
    key_file.write_text(format_key_file([new, old]))
    async with await open_storage(db_path, key_file) as db:
        assert await stored_account(db, 1) is not None
        assert await stored_account(db, 2) is not None


async def test_several_missing_keys_are_all_named(tmp_path: Path) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    await linked_database(db_path, key_file, {})
    lost = [new_keyring(), new_keyring()]
    for user_id, ring in enumerate(lost, start=1):
        async with await Database.open(db_path, ring) as db:
            await db.users.link(user_id, user_id, "api-key-0123456789")
    with pytest.raises(StartupError) as info:
        await open_storage(db_path, key_file)
    ids = ", ".join(sorted(ring.current_id for ring in lost))
    assert f"2 accounts in DATABASE_PATH={db_path} are encrypted with keys {ids}" in str(info.value)


# --- the footprint ---------------------------------------------------------------------------


async def test_footprint_removes_exactly_what_the_start_up_created(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "keep.txt").write_text("mine")
    db_path = tmp_path / "a" / "b" / "c" / "bot.sqlite3"
    key_file = tmp_path / "keys" / "secret.key"
    footprint = Footprint()
    db = await open_storage(db_path, key_file, footprint=footprint)
    await db.users.link(1, 1, "api-key-0123456789")
    await db.close()
    assert db_path.exists() and key_file.exists()
    footprint.undo()
    assert _entries(tmp_path) == ["a", "a/keep.txt"]

    kept = Footprint()
    db = await open_storage(db_path, key_file, footprint=kept)
    kept.keep()
    await db.close()
    kept.undo()
    assert db_path.exists() and key_file.exists()


async def test_database_without_a_table_checks_nothing_but_the_file(tmp_path: Path) -> None:
    """An empty file (a database never opened) is a new database."""
    db_path = tmp_path / "bot.sqlite3"
    db_path.touch()
    async with await open_storage(db_path, tmp_path / "secret.key") as db:
        assert db.keyring.current_id


async def test_database_locked_by_another_program_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a bot (no lock file), but a program holding a write transaction while a migration
    is due: the wait ends in one line naming the file, not a traceback."""
    db_path = tmp_path / "bot.sqlite3"
    with contextlib.closing(sqlite3.connect(db_path, isolation_level=None)) as other:
        other.execute("PRAGMA journal_mode = WAL")
        other.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, api_key BLOB, key_id TEXT)")
        other.execute("PRAGMA user_version = 1")  # an older bot's database: a migration is due
        other.execute("BEGIN IMMEDIATE")
        monkeypatch.setattr(bot.storage.db, "BUSY_TIMEOUT_MS", 50)
        with pytest.raises(StartupError) as info:
            await open_storage(db_path, tmp_path / "secret.key")
        other.execute("ROLLBACK")
    assert str(info.value).startswith(
        f"DATABASE_PATH={db_path}: the database is locked by another program (database is locked)"
    )
    assert not (tmp_path / "secret.key").exists()
    assert not (tmp_path / "bot.sqlite3.lock").exists()
