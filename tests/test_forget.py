"""``forget-undecryptable``: the explicit way to give up accounts whose master key is lost.

Nothing is deleted without it (the bot refuses to start instead, see test_startup.py); with it
those accounts are unlinked as "unlink" does, and the bot tells each of their users, in their
language, to link again when it next starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from pathlib import Path

import pytest

from bot.storage import Database, KeyRing
from bot.storage.forget import forget_undecryptable
from bot.storage.lock import DatabaseInUseError, DatabaseLock
from bot.storage.startup import open_storage
from tests.fakes.telegram import FakeTelegram
from tests.startup_process import TIMEOUT, process_env, run, running, snapshot
from tests.storage_helpers import new_keyring, start_watch, stored_account, watches_of

CURRENT, LOST_EN, LOST_RU, TAMPERED = 3, 1, 2, 4


async def _count(db: Database, sql: str, *params: object) -> int:
    row = await db._conn.fetchone(sql, params)
    assert row is not None
    return int(row[0])


async def mixed_database(db_path: Path, key_file: Path) -> str:
    """User 3 on the key file's key; 1 (en) and 2 (ru) on a lost key; 4 on the right key but
    with a damaged ciphertext. Each has an open watch and a pending confirmation."""
    async with await open_storage(db_path, key_file) as db:
        await db.users.ensure(CURRENT, "en")
        await db.users.link(CURRENT, 33, "api-key-of-the-current-user")
        await db.users.ensure(TAMPERED, "en")
        await db.users.link(TAMPERED, 44, "api-key-of-a-tampered-user")
        current = db.keyring.current_id
    async with await Database.open(db_path, new_keyring()) as db:
        for user_id, language in ((LOST_EN, "en"), (LOST_RU, "ru")):
            await db.users.ensure(user_id, language)
            await db.users.link(user_id, 10 + user_id, f"api-key-of-user-{user_id}-lost")
        for user_id in (CURRENT, LOST_EN, LOST_RU, TAMPERED):
            await start_watch(db, user_id, user_id, f"o{user_id}", "install", "debian12")
            await db.confirmations.issue(user_id, "reboot", {"order": f"o{user_id}"})
        row = await db._conn.fetchone(
            "SELECT api_key FROM accounts WHERE owner_id = ?", (TAMPERED,)
        )
        assert row is not None
        damaged = bytearray(row[0])
        damaged[20] ^= 0x01
        await db._conn.execute(
            "UPDATE accounts SET api_key = ? WHERE owner_id = ?", (bytes(damaged), TAMPERED)
        )
    return current


async def test_without_yes_nothing_changes(tmp_path: Path) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    await mixed_database(db_path, key_file)
    report = await forget_undecryptable(db_path, key_file, apply=False)
    assert report.user_ids == (LOST_EN, LOST_RU, TAMPERED)
    assert not report.applied
    keyring = KeyRing.load(None, key_file)
    async with await Database.open(db_path, keyring) as db:
        assert await _count(db, "SELECT COUNT(*) FROM accounts") == 4
        assert await _count(db, "SELECT COUNT(*) FROM watches") == 4
        assert await _count(db, "SELECT COUNT(*) FROM notices") == 0


async def test_yes_unlinks_exactly_the_undecryptable_accounts(tmp_path: Path) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    current = await mixed_database(db_path, key_file)
    report = await forget_undecryptable(db_path, key_file, apply=True)
    assert report.user_ids == (LOST_EN, LOST_RU, TAMPERED)
    assert current in report.key_ids  # the tampered row names the loaded key
    # Now the bot starts: nothing it cannot read is left.
    async with await open_storage(db_path, key_file) as db:
        assert await stored_account(db, CURRENT) is not None
        assert [w.order_id for w in await watches_of(db, CURRENT)] == ["o3"]
        for user_id in (LOST_EN, LOST_RU, TAMPERED):
            assert await stored_account(db, user_id) is None
            assert await watches_of(db, user_id) == []
            user = await db.users.get(user_id)
            assert user is not None and not user.linked and user.cid is None
        assert await _count(db, "SELECT COUNT(*) FROM confirmations") == 1
        notices = await db.notices.pending(10)
        assert sorted((n.user_id, n.language, n.linked) for n in notices) == [
            (LOST_EN, "en", False),
            (LOST_RU, "ru", False),
            (TAMPERED, "en", False),
        ]


async def test_no_key_file_at_all_gives_up_every_account(tmp_path: Path) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    await mixed_database(db_path, key_file)
    key_file.unlink()
    report = await forget_undecryptable(db_path, key_file, apply=True)
    assert report.user_ids == (1, 2, 3, 4)
    assert not key_file.exists(), "the command makes no key"
    async with await open_storage(db_path, key_file) as db:  # now a new key is fine
        assert key_file.exists()
        assert await _count(db, "SELECT COUNT(*) FROM accounts") == 0


async def test_refused_while_a_bot_holds_the_database(tmp_path: Path) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    await mixed_database(db_path, key_file)
    async with await Database.open(db_path, KeyRing.load(None, key_file)) as db:
        before = await _count(db, "SELECT COUNT(*) FROM accounts")
    running_bot = DatabaseLock.acquire(db_path)  # what a running bot holds
    try:
        with pytest.raises(DatabaseInUseError, match="stop the bot first"):
            await forget_undecryptable(db_path, key_file, apply=True)
    finally:
        running_bot.release()
    async with await Database.open(db_path, KeyRing.load(None, key_file)) as db:
        assert await _count(db, "SELECT COUNT(*) FROM accounts") == before


async def test_the_command_then_the_bot_tells_each_user_in_their_language(
    tmp_path: Path,
) -> None:
    db_path, key_file = tmp_path / "bot.sqlite3", tmp_path / "secret.key"
    await mixed_database(db_path, key_file)
    async with FakeTelegram() as tg:
        for user_id, language in ((CURRENT, "en"), (LOST_EN, "en"), (LOST_RU, "ru")):
            tg.add_user(user_id, language_code=language)
        env = process_env(
            BOT_TOKEN=tg.token,
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(db_path),
            ENCRYPTION_KEY_FILE=str(key_file),
        )
        refused = await run(tmp_path, env)
        # Start-up compares key ids: the two rows on the lost key (the damaged one is on a loaded
        # key; the bot tells that user at run time).
        assert refused.code == 2 and "2 accounts" in refused.line, refused.stderr

        before = snapshot(tmp_path)
        dry = await run(tmp_path, env, "forget-undecryptable")
        assert dry.code == 0, dry.stderr
        assert "3 accounts cannot be decrypted" in dry.stdout
        assert "nothing was changed" in dry.stdout and "--yes" in dry.stdout
        assert snapshot(tmp_path) == before

        done = await run(tmp_path, env, "forget-undecryptable", "--yes")
        assert done.code == 0, done.stderr
        assert "unlinked 3 accounts" in done.stdout

        async with running(tmp_path / "bot.log", tmp_path, env, tg) as proc:
            english = await tg.wait_for_bot_message(
                LOST_EN, lambda m: "link your account again" in m.text, timeout=TIMEOUT
            )
            russian = await tg.wait_for_bot_message(
                LOST_RU, lambda m: "привяжите аккаунт снова" in m.text, timeout=TIMEOUT
            )
            assert "/start" in english.text and "/start" in russian.text
            # Sent, or (the user Telegram does not know) never sendable: none left to repeat.
            await tg.wait_for(lambda: pending_notices(db_path) == 0, TIMEOUT, "notices done")
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
        assert tg.bot_messages(CURRENT) == []
        assert len(tg.bot_messages(LOST_EN)) == len(tg.bot_messages(LOST_RU)) == 1


def pending_notices(db_path: Path) -> int:
    """Read beside the running bot (WAL lets a reader in)."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM notices").fetchone()[0])
