from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot import __main__ as cli
from bot.config import Settings
from bot.storage import (
    Account,
    Database,
    DecryptionError,
    KeyFileError,
    KeyRing,
    StorageError,
    rotate,
)
from bot.storage.keyfile import read_key_file
from bot.storage.repositories import UserRepository
from bot.storage.rotate import rotate_key
from bot.storage.startup import open_storage
from tests.storage_helpers import new_keyring, stored_account

USERS = range(1, 8)


def _api_key(user_id: int) -> str:
    return f"api-key-of-user-{user_id:04d}-secret"


class SimulatedCrash(RuntimeError):
    """Stands for the process dying at that point of a rotation."""


def crash_after(monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    """The next rotation dies once ``rows`` rows are re-encrypted: before the next row, or
    (when every row is done by then) before the key file loses its old keys."""
    reencrypt, write_key_file = UserRepository.reencrypt, rotate.write_key_file
    done = 0

    async def reencrypt_then_crash(self: UserRepository, user_id: int) -> bool:
        nonlocal done
        if done >= rows:
            raise SimulatedCrash(f"after {done} rows")
        done += 1
        return await reencrypt(self, user_id)

    def write_then_crash(path: Path, keys: list[bytes]) -> None:
        if len(keys) == 1:  # the final trim to the new key alone
            raise SimulatedCrash(f"after {done} rows, before the key file is trimmed")
        write_key_file(path, keys)

    monkeypatch.setattr(UserRepository, "reencrypt", reencrypt_then_crash)
    monkeypatch.setattr(rotate, "write_key_file", write_then_crash)


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


async def _setup(tmp_path: Path) -> tuple[Path, Path, str]:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    async with await open_storage(db_path, key_file) as db:  # as the bot's first start
        keyring = db.keyring
        for user_id in USERS:
            await db.users.link(user_id, 1000 + user_id, _api_key(user_id))
        await db.users.ensure(99, "en")  # not linked: nothing to rotate
    return db_path, key_file, keyring.current_id


async def _assert_all_readable(db_path: Path, key_file: Path, *, complete: bool = True) -> KeyRing:
    keyring = KeyRing.load(None, key_file)
    async with await Database.open(db_path, keyring) as db:
        for user_id in USERS:
            assert await stored_account(db, user_id) == Account(1000 + user_id, _api_key(user_id))
        assert await stored_account(db, 99) is None
        if complete:
            assert await db.users.ids_not_on_key(keyring.current_id) == []
    return keyring


async def test_rotation_reencrypts_all(tmp_path: Path) -> None:
    db_path, key_file, old_id = await _setup(tmp_path)
    report = await rotate_key(db_path, key_file)
    assert report.reencrypted == len(USERS)
    assert report.retired_key_ids == (old_id,) and not report.resumed
    assert report.key_id != old_id
    assert len(read_key_file(key_file)) == 1
    assert old_id not in key_file.read_text()
    if os.name == "posix":
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keyring = await _assert_all_readable(db_path, key_file)
    assert keyring.key_ids == (report.key_id,)
    assert not _temp_files(tmp_path)
    # The old key is really gone: a ring with only it cannot read anything any more.
    async with await Database.open(db_path, keyring) as db:
        row = await db._conn.fetchone("SELECT COUNT(*) FROM accounts WHERE key_id = ?", (old_id,))
        assert row is not None and row[0] == 0


@pytest.mark.parametrize("rows_done", [0, 1, 4])
async def test_crash_half_way_then_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows_done: int
) -> None:
    db_path, key_file, old_id = await _setup(tmp_path)
    with monkeypatch.context() as patch:
        crash_after(patch, rows_done)
        with pytest.raises(SimulatedCrash):
            await rotate_key(db_path, key_file)

    # Mid-rotation the file holds new + old keys and every row is readable by the bot.
    ids = [line.split(":")[0] for line in key_file.read_text().splitlines()]
    assert len(ids) == 2 and ids[1] == old_id
    new_id = ids[0]
    await _assert_all_readable(db_path, key_file, complete=False)
    async with await Database.open(db_path, KeyRing.load(None, key_file)) as db:
        assert len(await db.users.ids_not_on_key(new_id)) == len(USERS) - rows_done

    report = await rotate_key(db_path, key_file)
    assert report.resumed
    assert report.key_id == new_id  # no third key generated
    assert report.retired_key_ids == (old_id,)
    assert report.reencrypted == len(USERS) - rows_done
    assert [line.split(":")[0] for line in key_file.read_text().splitlines()] == [new_id]
    await _assert_all_readable(db_path, key_file)


async def test_rerun_after_crash_before_final_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path, key_file, _ = await _setup(tmp_path)
    with monkeypatch.context() as patch:
        crash_after(patch, len(USERS))  # all done, file not trimmed
        with pytest.raises(SimulatedCrash):
            await rotate_key(db_path, key_file)
    report = await rotate_key(db_path, key_file)
    assert report.resumed and report.reencrypted == 0
    assert len(read_key_file(key_file)) == 1
    await _assert_all_readable(db_path, key_file)


async def test_rotate_twice(tmp_path: Path) -> None:
    db_path, key_file, _ = await _setup(tmp_path)
    first = await rotate_key(db_path, key_file)
    second = await rotate_key(db_path, key_file)
    assert second.retired_key_ids == (first.key_id,)
    assert second.key_id not in (first.key_id, *first.retired_key_ids)
    await _assert_all_readable(db_path, key_file)


async def test_env_key_refused(tmp_path: Path) -> None:
    db_path, key_file, _ = await _setup(tmp_path)
    before = key_file.read_text()
    with pytest.raises(KeyFileError, match="ENCRYPTION_KEY"):
        await rotate_key(db_path, key_file, env_key="anything")
    assert key_file.read_text() == before


async def test_missing_database_or_key_file_refused(tmp_path: Path) -> None:
    db_path, key_file, _ = await _setup(tmp_path)
    before = key_file.read_text()
    with pytest.raises(StorageError, match="does not exist"):
        await rotate_key(tmp_path / "typo.sqlite3", key_file)
    assert key_file.read_text() == before
    with pytest.raises(KeyFileError, match="does not exist"):
        await rotate_key(db_path, tmp_path / "missing.key")


async def test_undecryptable_row_refuses_before_changing_anything(tmp_path: Path) -> None:
    db_path, key_file, old_id = await _setup(tmp_path)
    async with await Database.open(db_path, new_keyring()) as db:
        await db.users.link(50, 5, "from a lost key")
    before = key_file.read_bytes()
    with pytest.raises(DecryptionError, match="1 stored API keys cannot be decrypted") as info:
        await rotate_key(db_path, key_file)
    assert "forget-undecryptable" in str(info.value)
    # Nothing changed: the key file is as it was, and every other row still on the old key.
    assert key_file.read_bytes() == before
    await _assert_all_readable(db_path, key_file, complete=False)
    async with await Database.open(db_path, KeyRing.load(None, key_file)) as db:
        assert await db.users.ids_not_on_key(old_id) == [50]


async def test_rotate_key_command_says_what_it_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path, key_file, old_id = await _setup(tmp_path)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        bot_token="1:not-used",
        database_path=db_path,
        encryption_key_file=key_file,
        encryption_key=None,
    )
    assert await cli.rotate_key(settings) == 0
    out = capsys.readouterr().out
    assert f"retired keys: {old_id}" in out and "re-encrypted 7 accounts" in out
