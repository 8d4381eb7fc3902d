"""The read caches in front of the users table and the FSM: hits skip the database, every write
is seen at once, and a read that raced a write never puts the old row back.

The caches exist on SQLite only (the bot is the only writer there), so most of this is about
SQLite; on PostgreSQL, where replicas write too, the last tests show them off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.storage import Account, Database
from bot.storage.cache import RowCache
from bot.storage.connection import Params, SQLiteConnection
from tests.storage_backends import Backend
from tests.storage_helpers import new_keyring

KEY = StorageKey(bot_id=1, chat_id=7, user_id=7)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3", new_keyring())
    try:
        yield database
    finally:
        await database.close()


class Statements:
    """Counts the statements that reach SQLite through the shared connection."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        self.writes = 0
        real_fetchall, real_execute = SQLiteConnection.fetchall, SQLiteConnection.execute
        real_transaction = SQLiteConnection.transaction

        async def fetchall(conn: SQLiteConnection, sql: str, params: Params = ()) -> list:  # type: ignore[type-arg]
            self.reads += 1
            return await real_fetchall(conn, sql, params)

        async def execute(conn: SQLiteConnection, sql: str, params: Params = ()) -> int:
            self.writes += 1
            return await real_execute(conn, sql, params)

        def transaction(conn: SQLiteConnection):  # type: ignore[no-untyped-def]
            self.writes += 1
            return real_transaction(conn)

        monkeypatch.setattr(SQLiteConnection, "fetchall", fetchall)
        monkeypatch.setattr(SQLiteConnection, "execute", execute)
        monkeypatch.setattr(SQLiteConnection, "transaction", transaction)


async def traced(db: Database) -> list[str]:
    """Every statement that reaches SQLite from now on, BEGIN and COMMIT included."""
    statements: list[str] = []
    await db._conn.raw.set_trace_callback(statements.append)
    return statements


# --- RowCache ----------------------------------------------------------------------------------


def test_least_recently_used_row_goes_first() -> None:
    cache: RowCache[int, str] = RowCache(2)
    cache.put(1, "one")
    cache.put(2, "two")
    assert cache.get(1) == "one"  # 2 is now the least recently used
    cache.put(3, "three")
    assert (cache.get(1), cache.get(2), cache.get(3)) == ("one", None, "three")
    assert len(cache) == 2


def test_a_read_older_than_a_write_is_not_kept() -> None:
    cache: RowCache[int, str] = RowCache(10)
    ticket = cache.ticket()
    cache.put(1, "written")
    cache.fill(1, "read before the write", ticket)
    assert cache.get(1) == "written"
    ticket = cache.ticket()
    cache.discard(1)
    cache.fill(1, "read before the delete", ticket)
    assert cache.get(1) is None
    ticket = cache.ticket()
    cache.fill(1, "fresh", ticket)
    assert cache.get(1) == "fresh"


def test_zero_capacity_keeps_nothing() -> None:
    cache: RowCache[int, str] = RowCache(0)
    cache.put(1, "x")
    cache.fill(2, "y", cache.ticket())
    assert (cache.get(1), cache.get(2), len(cache)) == (None, None, 0)
    with pytest.raises(ValueError):
        RowCache(-1)


def test_discard_where() -> None:
    cache: RowCache[tuple[int, int], str] = RowCache(10)
    for chat in (1, 2):
        for user in (5, 6):
            cache.put((chat, user), f"{chat}/{user}")
    cache.discard_where(lambda key: key[1] == 5)
    assert sorted(key for key in [(1, 5), (2, 5), (1, 6), (2, 6)] if cache.get(key)) == [
        (1, 6),
        (2, 6),
    ]


# --- users -------------------------------------------------------------------------------------


async def test_a_known_user_is_read_once(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await db.users.link(5, 55, "user-five-key-0000")
    statements = Statements(monkeypatch)
    for _ in range(3):
        _, account = await db.users.ensure_with_account(5, "en")
        assert account == Account(55, "user-five-key-0000")
    # The user's row and the access to the account, once and in one statement: both stay true
    # until a write (the tests below and tests/test_access_cache.py show every write is seen).
    assert (statements.reads, statements.writes) == (1, 0)


async def test_every_user_write_is_seen_by_the_next_read(db: Database) -> None:
    user, account = await db.users.ensure_with_account(6, "ru")
    assert (user.language, account) == ("ru", None)
    await db.users.set_language(6, "en")
    assert (await db.users.ensure_with_account(6, "ru"))[0].language == "en"
    await db.users.link(6, 66, "user-six-key-00000")
    assert (await db.users.ensure_with_account(6, "ru"))[1] == Account(66, "user-six-key-00000")
    await db.users.link(6, 67, "user-six-new-key-0")
    assert (await db.users.ensure_with_account(6, "ru"))[1] == Account(67, "user-six-new-key-0")
    await db.users.unlink(6)
    # Linking another cid added an account: unlinking the active one leaves the first.
    assert (await db.users.ensure_with_account(6, "ru"))[1] == Account(66, "user-six-key-00000")
    await db.users.unlink(6)
    user, account = await db.users.ensure_with_account(6, "ru")
    assert (user.linked, account) == (False, None)


async def test_a_read_racing_a_link_does_not_bring_the_old_row_back(db: Database) -> None:
    await db.users.ensure(8, "en")
    db.users._cache.discard(8)  # a cold cache: the next read goes to the database
    racing_read = asyncio.create_task(db.users.ensure_with_account(8, "en"))
    await asyncio.sleep(0)  # the read has taken its ticket and waits for SQLite
    await db.users.link(8, 88, "user-eight-key-000")
    await racing_read
    assert (await db.users.ensure_with_account(8, "en"))[1] == Account(88, "user-eight-key-000")


async def test_a_new_user_is_one_read_and_one_insert(db: Database) -> None:
    statements = await traced(db)
    user, account = await db.users.ensure_with_account(10, "en")
    assert (user.id, user.language, user.linked, account) == (10, "en", False, None)
    # The user's row, its insert, and the (missing) access to an account.
    assert [statement.split()[0] for statement in statements] == ["SELECT", "INSERT", "SELECT"]
    assert (await db.users.ensure_with_account(10, "ru"))[0] == user
    assert len(statements) == 3, "the inserted row and the missing access are kept"


async def test_a_link_racing_a_new_user_is_kept(db: Database) -> None:
    racing_ensure = asyncio.create_task(db.users.ensure_with_account(12, "en"))
    await asyncio.sleep(0)  # the ensure has found no row and waits for SQLite
    await db.users.link(12, 120, "user-twelve-key-00")
    user, account = await racing_ensure
    assert user.linked and account == Account(120, "user-twelve-key-00")
    assert (await db.users.ensure_with_account(12, "en"))[1] == account


async def test_the_cache_holds_no_key(db: Database) -> None:
    await db.users.link(9, 99, "user-nine-key-0000")
    await db.users.ensure_with_account(9, "en")
    row = db.users._cache.get(9)
    assert row is not None and not hasattr(row, "api_key")
    assert "user-nine-key-0000" not in repr(row)
    # The access keeps the key as stored, encrypted, and decrypts it on each use.
    sealed = db.accounts._cache.get((9, None))
    assert sealed is not None and b"user-nine-key-0000" not in sealed.api_key
    assert "user-nine-key-0000" not in repr(sealed)


# --- FSM ---------------------------------------------------------------------------------------


async def test_clearing_a_clear_dialog_touches_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db.fsm.get_state(KEY)  # the first read of this key goes to the database
    statements = Statements(monkeypatch)
    for _ in range(3):
        assert await db.fsm.get_state(KEY) is None
        await db.fsm.set_state(KEY, None)
        await db.fsm.set_data(KEY, {})
        assert await db.fsm.get_data(KEY) == {}
    assert (statements.reads, statements.writes) == (0, 0)


async def test_writes_go_through_and_equal_writes_are_skipped(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements = Statements(monkeypatch)
    await db.fsm.set_state(KEY, "Form:step")
    await db.fsm.set_state(KEY, "Form:step")
    await db.fsm.set_data(KEY, {"a": 1})
    await db.fsm.set_data(KEY, {"a": 1})
    assert statements.writes == 2
    monkeypatch.undo()
    row = await db._conn.fetchone("SELECT state, data FROM fsm")
    assert row is not None and (row["state"], row["data"]) == ("Form:step", '{"a":1}')


async def test_each_dialog_write_is_one_statement(db: Database) -> None:
    statements = await traced(db)
    await db.fsm.set_state(KEY, "Form:step")
    await db.fsm.set_data(KEY, {"a": 1})
    await db.fsm.set_state(KEY, None)
    await db.fsm.set_data(KEY, {})
    verbs = [statement.split()[0] for statement in statements]
    assert verbs == ["SELECT", "INSERT", "INSERT", "INSERT", "DELETE"]
    row = await db._conn.fetchone("SELECT COUNT(*) FROM fsm")
    assert row is not None and row[0] == 0, "a cleared dialog leaves no row"


async def test_a_caller_mutating_its_data_does_not_change_the_dialog(db: Database) -> None:
    await db.fsm.set_data(KEY, {"items": [1]})
    data = await db.fsm.get_data(KEY)
    data["items"].append(2)
    assert await db.fsm.get_data(KEY) == {"items": [1]}


async def test_a_read_racing_a_write_does_not_bring_the_old_state_back(db: Database) -> None:
    other = StorageKey(bot_id=1, chat_id=8, user_id=8)
    racing_read = asyncio.create_task(db.fsm.get_state(other))
    await asyncio.sleep(0)  # the read waits for SQLite
    await db.fsm.set_state(other, "Form:step")
    assert await racing_read in (None, "Form:step")
    assert await db.fsm.get_state(other) == "Form:step"
    await db.fsm.set_state(other, None)
    assert await db.fsm.get_state(other) is None


async def test_a_failed_write_leaves_the_database_truth(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db.fsm.set_state(KEY, "Form:first")

    async def broken_execute(conn: SQLiteConnection, sql: str, params: Params = ()) -> int:
        raise OSError("disk on fire")

    monkeypatch.setattr(SQLiteConnection, "execute", broken_execute)
    with pytest.raises(OSError):
        await db.fsm.set_state(KEY, "Form:second")
    monkeypatch.undo()
    assert await db.fsm.get_state(KEY) == "Form:first"


async def test_a_dialog_survives_a_restart_without_the_cache(tmp_path: Path) -> None:
    keyring = new_keyring()
    async with await Database.open(tmp_path / "bot.sqlite3", keyring) as db:
        await db.fsm.set_state(KEY, "Form:step")
        await db.fsm.set_data(KEY, {"cid": 5})
    async with await Database.open(tmp_path / "bot.sqlite3", keyring) as db:
        assert await db.fsm.get_state(KEY) == "Form:step"
        assert await db.fsm.get_data(KEY) == {"cid": 5}


# --- shared databases --------------------------------------------------------------------------


async def test_what_another_process_writes_is_read_at_once(backend: Backend) -> None:
    # On SQLite a second process is a key rotation or forget-undecryptable, which the file lock
    # keeps apart from a running bot; on PostgreSQL it is another replica, running now.
    keyring = new_keyring()
    one, other = await backend.open(keyring), await backend.open(keyring)
    assert one.shared is other.shared is (backend.name == "postgres")
    await one.users.ensure(5, "en")
    await one.fsm.set_state(KEY, "Menu:main")
    assert (await one.users.get(5), await one.fsm.get_state(KEY)) != (None, None)
    await other.users.set_language(5, "ru")
    await other.users.link(5, 55, "user-five-key-0000")
    await other.fsm.set_state(KEY, "Link:key")
    user, account = await one.users.ensure_with_account(5, "en")
    if backend.name == "postgres":
        assert user.language == "ru" and account == Account(55, "user-five-key-0000")
        assert await one.fsm.get_state(KEY) == "Link:key"
    else:
        # The cache is why SQLite must have one writer while the bot runs: the user's row was
        # kept; the access was never read by ``one`` before, so it is read now.
        assert user.language == "en" and account == Account(55, "user-five-key-0000")
        assert await one.fsm.get_state(KEY) == "Menu:main"
