"""The storage layer through its repositories, on SQLite and on PostgreSQL (the ``backend``
fixture, tests/storage_backends.py). Tests without it are about SQLite alone and say why."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.storage import (
    Account,
    Database,
    DecryptionError,
    KeyRing,
    SchemaTooNewError,
    WatchIntent,
    WatchPoll,
)
from bot.storage.connection import Params
from bot.storage.db import PAGE_CACHE_KIB
from bot.storage.migrations import LATEST_VERSION, MIGRATIONS, migrate, split_statements
from tests.storage_backends import Backend
from tests.storage_helpers import (
    actions_of,
    linked_user_ids,
    new_keyring,
    schema_version,
    start_watch,
    stored_account,
    user_count,
    watch_by_id,
    watches_of,
)

API_KEY = "KEY-9f8e7d6c5b4a-SUPERSECRET-0123456789"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keyring() -> KeyRing:
    return new_keyring()


@pytest.fixture
async def db(backend: Backend, keyring: KeyRing, clock: Clock) -> AsyncIterator[Database]:
    yield await backend.open(keyring, clock=clock)


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {row[0] for row in rows}


# --- migrations --------------------------------------------------------------------------------


# SQLite only: the file, its folders and PRAGMAs.
async def test_open_creates_folder_and_latest_schema(tmp_path: Path, keyring: KeyRing) -> None:
    path = tmp_path / "a" / "b" / "bot.sqlite3"
    db = await Database.open(path, keyring)
    try:
        assert await schema_version(db) == LATEST_VERSION == len(MIGRATIONS)
        row = await db._conn.fetchone("PRAGMA journal_mode")
        assert row is not None and row[0] == "wal"
        row = await db._conn.fetchone("PRAGMA foreign_keys")
        assert row is not None and row[0] == 1
        row = await db._conn.fetchone("PRAGMA cache_size")
        assert row is not None and row[0] == -PAGE_CACHE_KIB
    finally:
        await db.close()
    assert {"users", "watches", "actions", "fsm", "confirmations", "deletions"} <= _tables(path)
    # Re-opening an up-to-date database changes nothing.
    db = await Database.open(path, keyring)
    assert await schema_version(db) == LATEST_VERSION
    await db.close()


# SQLite only: built with SQLite's own migrate; PostgreSQL's in test_postgres.py.
async def test_upgrade_from_version_1_keeps_data(tmp_path: Path, keyring: KeyRing) -> None:
    path = tmp_path / "bot.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await migrate(conn, target=1) == 1
        key_id, blob = keyring.encrypt(42, API_KEY)
        await conn.execute(
            "INSERT INTO users (id, language, cid, api_key, key_id, created_at, updated_at) "
            "VALUES (42, 'ru', 777, ?, ?, 1.0, 1.0)",
            (blob, key_id),
        )
        await conn.execute(
            "INSERT INTO watches (user_id, chat_id, order_id, kind, template, started_at, "
            "next_poll_at) VALUES (42, 42, 'o1', 'install', 'debian', 1.0, 1.0)"
        )
    assert "confirmations" not in _tables(path)

    db = await Database.open(path, keyring)
    try:
        assert await schema_version(db) == LATEST_VERSION
        user = await db.users.get(42)
        assert user is not None and user.language == "ru" and user.linked
        assert await stored_account(db, 42) == Account(cid=777, api_key=API_KEY)
        assert [w.order_id for w in await db.watches.open()] == ["o1"]
        token = await db.confirmations.issue(42, "reboot", {"order": "o1"})
        assert (await db.confirmations.consume(42, token, {"reboot"})) is not None
    finally:
        await db.close()
    with sqlite3.connect(path) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"watches_user_order", "deletions_due", "actions_user"} <= indexes


# SQLite only: PRAGMA user_version; PostgreSQL's in test_postgres.py.
async def test_too_new_database_refused(tmp_path: Path, keyring: KeyRing) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    with pytest.raises(SchemaTooNewError, match=r"newer inferno-bot") as info:
        await Database.open(path, keyring)
    assert str(path) in str(info.value)


def test_split_statements() -> None:
    script = "CREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE INDEX i ON a (x);\n"
    assert split_statements(script) == [
        "CREATE TABLE a (x TEXT DEFAULT ';');",
        "CREATE INDEX i ON a (x);",
    ]
    with pytest.raises(ValueError):
        split_statements("CREATE TABLE b (x")
    for migration in MIGRATIONS:
        assert split_statements(migration)


# SQLite only: SQLite's migrate; PostgreSQL's in test_postgres.py.
async def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await migrate(conn, target=1)
        # A conflicting object makes migration 2 fail half way.
        await conn.execute("CREATE TABLE deletions (x)")
        with pytest.raises(sqlite3.OperationalError):
            await migrate(conn)
        assert not conn.in_transaction
        rows = list(await conn.execute_fetchall("PRAGMA user_version"))
        assert rows[0][0] == 1
        rows = list(
            await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE name='confirmations'")
        )
        assert rows == []


# --- users -------------------------------------------------------------------------------------


async def test_users_ensure_get_language(db: Database, clock: Clock) -> None:
    assert await db.users.get(1) is None
    user = await db.users.ensure(1, "en")
    assert (user.id, user.language, user.cid, user.linked) == (1, "en", None, False)
    assert user.created_at == user.updated_at == clock.now
    clock.now += 10
    again = await db.users.ensure(1, "ru")  # existing language is kept
    assert again.language == "en"
    await db.users.set_language(1, "ru")
    got = await db.users.get(1)
    assert got is not None and got.language == "ru" and got.updated_at == clock.now
    assert got.created_at == clock.now - 10
    await db.users.ensure(2, None)
    assert await user_count(db) == 2


async def test_link_account_and_masked_repr(db: Database) -> None:
    await db.users.ensure(5, "en")
    assert await stored_account(db, 5) is None
    await db.users.link(5, 1234, API_KEY)
    account = await stored_account(db, 5)
    assert account == Account(cid=1234, api_key=API_KEY)
    assert API_KEY not in repr(account) and API_KEY not in str(account)
    assert "'…6789'" in repr(account) and "KEY-" not in repr(account)
    user = await db.users.get(5)
    assert user is not None and user.linked and user.cid == 1234
    await db.users.link(6, 99, "k")  # linking creates a missing user row
    assert await linked_user_ids(db) == [5, 6]
    assert "api_key='…'" in repr(await stored_account(db, 6)), "a short key shows nothing"


async def test_api_key_column_is_encrypted_blob(db: Database, keyring: KeyRing) -> None:
    await db.users.link(5, 1234, API_KEY)
    row = await db._conn.fetchone("SELECT api_key, key_id FROM accounts")
    assert row is not None
    assert isinstance(row[0], bytes) and row[1] == keyring.current_id
    assert API_KEY.encode() not in row[0]


# SQLite only: reads the database file and its WAL.
async def test_api_key_never_on_disk(tmp_path: Path, keyring: KeyRing) -> None:
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path, keyring)
    try:
        for user_id in range(1, 20):
            await db.users.link(user_id, 100 + user_id, f"{API_KEY}-{user_id}")
        await db.users.unlink(3)
        wal = path.with_name(path.name + "-wal")
        assert wal.exists()  # still open: the writes sit in the WAL
        for file in (path, wal):
            data = file.read_bytes()
            assert API_KEY.encode() not in data, file
            assert API_KEY.encode("utf-16-le") not in data, file
    finally:
        await db.close()
    assert API_KEY.encode() not in path.read_bytes()


async def test_swapped_ciphertext_fails(db: Database) -> None:
    await db.users.link(1, 11, "alice-key-0000000")
    await db.users.link(2, 22, "bob-key-00000000")
    await db._conn.execute(
        "UPDATE accounts SET api_key = (SELECT api_key FROM accounts WHERE owner_id = 1) "
        "WHERE owner_id = 2"
    )
    with pytest.raises(DecryptionError):
        await stored_account(db, 2)
    assert await stored_account(db, 1) == Account(11, "alice-key-0000000")


async def test_account_with_unknown_key_raises(backend: Backend, keyring: KeyRing) -> None:
    async with await backend.open(keyring) as db:
        await db.users.link(1, 11, API_KEY)
    async with await backend.open(new_keyring()) as db:
        with pytest.raises(DecryptionError):
            await stored_account(db, 1)


async def test_unlink_clears_everything(db: Database) -> None:
    from aiogram.fsm.storage.base import StorageKey

    await db.users.ensure(1, "en")
    await db.users.link(1, 10, API_KEY)
    await db.users.link(2, 20, "other-user-key-xyz")
    await start_watch(db, 1, 1, "o1", "install", "debian")
    await start_watch(db, 2, 2, "o2", "install", "debian")
    await db.fsm.set_state(StorageKey(bot_id=9, chat_id=1, user_id=1), "Link:key")
    await db.fsm.set_data(StorageKey(bot_id=9, chat_id=1, user_id=1), {"x": 1})
    other_key = StorageKey(bot_id=9, chat_id=2, user_id=2)
    await db.fsm.set_state(other_key, "Link:key")
    token1 = await db.confirmations.issue(1, "reboot", {"order": "o1"})
    token2 = await db.confirmations.issue(2, "reboot", {"order": "o2"})
    await db.actions.record(1, "reboot", "o1", "ok")
    await db.deletions.schedule(1, 555, 10.0)

    await db.users.unlink(1)

    user = await db.users.get(1)
    assert user is not None and not user.linked and user.cid is None and user.language == "en"
    assert await stored_account(db, 1) is None
    row = await db._conn.fetchone("SELECT COUNT(*) FROM accounts WHERE owner_id = 1")
    assert row is not None and row[0] == 0, "the key is gone with the account"
    assert await watches_of(db, 1) == []
    assert await db.fsm.get_state(StorageKey(bot_id=9, chat_id=1, user_id=1)) is None
    assert await db.fsm.get_data(StorageKey(bot_id=9, chat_id=1, user_id=1)) == {}
    assert await db.confirmations.peek(1, token1) is None
    assert len(await actions_of(db, 1)) == 1  # the log stays
    # Deleting the root-password message must still happen after unlinking.
    assert len(await db.deletions.due(100.0)) == 1
    # The other user is untouched.
    assert await stored_account(db, 2) == Account(20, "other-user-key-xyz")
    assert len(await watches_of(db, 2)) == 1
    assert await db.fsm.get_state(other_key) == "Link:key"
    assert await db.confirmations.peek(2, token2) is not None
    assert await linked_user_ids(db) == [2]


async def test_unlink_is_one_transaction(
    db: Database, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db.users.link(1, 10, API_KEY)
    await start_watch(db, 1, 1, "o1", "install", "debian")
    executor = backend.executor
    real_execute = executor.execute

    async def failing_execute(self: Any, sql: str, params: Params = ()) -> int:
        if sql.startswith("DELETE FROM fsm"):
            raise OSError("disk on fire")
        return await real_execute(self, sql, params)

    monkeypatch.setattr(executor, "execute", failing_execute)
    with pytest.raises(OSError, match="disk on fire"):
        await db.users.unlink(1)
    monkeypatch.undo()
    assert await stored_account(db, 1) == Account(10, API_KEY)
    assert len(await watches_of(db, 1)) == 1


# --- watches -----------------------------------------------------------------------------------


async def test_watch_replace_semantics(db: Database, clock: Clock) -> None:
    first = await start_watch(db, 1, 100, "o1", "install", "debian-12", status_message_id=7)
    assert (first.kind, first.template, first.status_message_id) == ("install", "debian-12", 7)
    assert first.started_at == first.next_poll_at == clock.now
    assert (first.failures, first.notified, first.timed_out) == (0, False, False)
    assert first.last_state is None and first.last_edit_at is None
    other_order = await start_watch(db, 1, 100, "o2", "install", "ubuntu")
    other_user = await start_watch(db, 2, 200, "o1", "install", "ubuntu")

    clock.now += 60
    second = await start_watch(db, 1, 100, "o1", "reinstall", "alma-9")
    assert second.id != first.id
    assert await watch_by_id(db, first.id) is None
    assert second.kind == "reinstall" and second.started_at == clock.now
    assert {w.id for w in await watches_of(db, 1)} == {other_order.id, second.id}
    assert await watch_by_id(db, other_user.id) is not None
    with pytest.raises(ValueError):
        await start_watch(db, 1, 100, "o3", "delete", "x")


async def test_watch_status_and_open(db: Database) -> None:
    a = await start_watch(db, 1, 1, "a", "install", "t")
    b = await start_watch(db, 1, 1, "b", "install", "t")
    c = await start_watch(db, 1, 1, "c", "install", "t")
    await db.watches.set_status_message(a.id, 99)
    got = await watch_by_id(db, a.id)
    assert got is not None and got.status_message_id == 99
    await db.watches.mark_notified(b.id)
    await db.watches.mark_timed_out(c.id)
    assert [w.id for w in await db.watches.open()] == [a.id]
    b_row = await watch_by_id(db, b.id)
    c_row = await watch_by_id(db, c.id)
    assert b_row is not None and b_row.notified and not b_row.timed_out
    assert c_row is not None and c_row.timed_out and not c_row.notified
    await db.watches.delete(a.id)
    assert await db.watches.open() == []
    assert await watch_by_id(db, a.id) is None


async def test_watch_survives_reopen(backend: Backend, keyring: KeyRing) -> None:
    async with await backend.open(keyring) as db:
        watch = await start_watch(db, 1, 1, "o", "install", "t")
    async with await backend.open(keyring) as db:
        assert await db.watches.open() == [watch]


# --- action log --------------------------------------------------------------------------------


async def test_action_log(db: Database, clock: Clock) -> None:
    for n in range(5):
        clock.now += 1
        await db.actions.record(1, f"act{n}", None if n % 2 else f"o{n}", "ok")
    await db.actions.record(2, "other", None, "failed")
    entries = await actions_of(db, 1, limit=3)
    assert [e.action for e in entries] == ["act4", "act3", "act2"]
    assert entries[0].order_id == "o4" and entries[1].order_id is None
    assert entries[0].created_at == clock.now and entries[0].user_id == 1
    assert len(await actions_of(db, 1)) == 5


# --- confirmations -----------------------------------------------------------------------------


async def test_confirmation_issue_peek_consume(db: Database, clock: Clock) -> None:
    payload = {"order_id": "o1", "template": "debian", "keys": [1, 2], "n": 3}
    token = await db.confirmations.issue(1, "reinstall", payload)
    assert len(token) <= 12
    assert token.replace("-", "").replace("_", "").isalnum()
    peeked = await db.confirmations.peek(1, token)
    assert peeked is not None and peeked.payload == payload
    assert await db.confirmations.peek(2, token) is None
    assert await db.confirmations.consume(2, token, {"reinstall"}) is None  # wrong user
    got = await db.confirmations.consume(1, token, {"reinstall"})  # ... did not burn it
    assert got is not None
    assert (got.token, got.user_id, got.action, got.payload) == (token, 1, "reinstall", payload)
    assert got.created_at == clock.now and got.expires_at == clock.now + 3600
    assert await db.confirmations.consume(1, token, {"reinstall"}) is None
    assert await db.confirmations.peek(1, token) is None
    assert await db.confirmations.consume(1, "nonexistent", {"reinstall"}) is None


async def test_a_token_is_spent_only_by_its_own_action(db: Database) -> None:
    token = await db.confirmations.issue(1, "reinstall", {"order_id": "o1"})
    assert await db.confirmations.consume(1, token, {"reboot", "stop"}) is None
    got = await db.confirmations.consume(1, token, {"install", "reinstall"})
    assert got is not None and got.action == "reinstall"
    with pytest.raises(ValueError):
        await db.confirmations.consume(1, token, set())


async def test_confirmation_tokens_unique(db: Database) -> None:
    tokens = {await db.confirmations.issue(1, "a", {}) for _ in range(50)}
    assert len(tokens) == 50


async def test_confirmation_consumed_exactly_once(db: Database) -> None:
    token = await db.confirmations.issue(1, "buy", {"product": "p1"})
    results = await asyncio.gather(
        *(db.confirmations.consume(1, token, {"buy"}) for _ in range(10))
    )
    assert sum(r is not None for r in results) == 1


async def test_confirmation_consumed_once_across_connections(
    backend: Backend, keyring: KeyRing
) -> None:
    # Three connections to one file; on PostgreSQL three replicas, each with a pool.
    dbs = [await backend.open(keyring) for _ in range(3)]
    for _ in range(5):
        token = await dbs[0].confirmations.issue(1, "buy", {})
        results = await asyncio.gather(
            *(db.confirmations.consume(1, token, {"buy"}) for db in dbs for _ in range(8))
        )
        assert sum(r is not None for r in results) == 1


async def test_a_confirmation_spent_by_a_watch_start_is_spent_once_across_replicas(
    backend: Backend, keyring: KeyRing
) -> None:
    # The install path spends its confirmation inside a transaction (start_confirmed); racing
    # it against plain consumes on other connections still lets exactly one of them win.
    dbs = [await backend.open(keyring) for _ in range(2)]
    token = await dbs[0].confirmations.issue(1, "install", {"order_id": "o1"})
    starts = [
        db.watches.start_confirmed(
            1,
            token,
            {"install"},
            chat_id=1,
            status_message_id=None,
            intent=lambda _c: WatchIntent(order_id="o1", template="t"),
        )
        for db in dbs
        for _ in range(3)
    ]
    consumes = [db.confirmations.consume(1, token, {"install"}) for db in dbs for _ in range(3)]
    results = await asyncio.gather(*starts, *consumes)
    assert sum(r is not None for r in results) == 1
    assert len(await watches_of(dbs[1], 1)) == sum(r is not None for r in results[: len(starts)])


async def test_confirmation_expiry(db: Database, clock: Clock) -> None:
    token = await db.confirmations.issue(1, "stop", {"o": "1"}, ttl=60)
    short = await db.confirmations.issue(1, "stop", {"o": "2"}, ttl=10)
    clock.now += 30
    assert await db.confirmations.peek(1, short) is None
    assert await db.confirmations.consume(1, short, {"stop"}) is None
    clock.now += 30
    assert await db.confirmations.peek(1, token) is None
    assert await db.confirmations.consume(1, token, {"stop"}) is None
    default = await db.confirmations.issue(1, "stop", {})
    other = await db.confirmations.issue(1, "stop", {}, ttl=1)
    clock.now += 3599
    assert await db.confirmations.purge_expired() == 1
    assert await db.confirmations.peek(1, other) is None
    assert await db.confirmations.peek(1, default) is not None
    clock.now += 1
    assert await db.confirmations.consume(1, default, {"stop"}) is None


async def test_confirmation_payload_must_be_json(db: Database) -> None:
    with pytest.raises(TypeError):
        await db.confirmations.issue(1, "x", {"bad": object()})


# --- deletions ---------------------------------------------------------------------------------


async def test_deletions(db: Database) -> None:
    assert await db.deletions.next_due_at() is None
    assert await db.deletions.due(1e12) == []
    a = await db.deletions.schedule(10, 1, 200.0)
    b = await db.deletions.schedule(10, 2, 100.0)
    await db.deletions.schedule(11, 1, 300.0)
    assert await db.deletions.next_due_at() == 100.0
    due = await db.deletions.due(200.0)
    assert [(d.id, d.chat_id, d.message_id, d.delete_at) for d in due] == [
        (b, 10, 2, 100.0),
        (a, 10, 1, 200.0),
    ]
    assert await db.deletions.schedule(10, 1, 50.0) == a  # reschedule, no duplicate
    assert [d.id for d in await db.deletions.due(60.0)] == [a]
    await db.deletions.remove(a)
    await db.deletions.remove(b)
    assert await db.deletions.next_due_at() == 300.0
    assert await db.deletions.due(299.0) == []


async def test_deletions_survive_reopen(backend: Backend, keyring: KeyRing) -> None:
    async with await backend.open(keyring) as db:
        await db.deletions.schedule(1, 2, 3.0)
    async with await backend.open(keyring) as db:
        assert [(d.chat_id, d.message_id) for d in await db.deletions.due(3.0)] == [(1, 2)]


# --- connection --------------------------------------------------------------------------------


async def test_cancelled_transaction_rolls_back(db: Database, backend: Backend) -> None:
    started = asyncio.Event()

    async def slow_transaction() -> None:
        async with db._conn.transaction() as tx:
            await tx.execute(
                "INSERT INTO actions (user_id, action, result, created_at) VALUES (1, 'a', 'r', 0)"
            )
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(slow_transaction())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await backend.in_transaction(db)
    assert await actions_of(db, 1) == []
    await db.actions.record(1, "b", None, "ok")
    assert [e.action for e in await actions_of(db, 1)] == ["b"]


@pytest.mark.parametrize("yields", range(8))
async def test_cancellation_at_any_point_leaves_no_open_transaction(
    backend: Backend, keyring: KeyRing, yields: int
) -> None:
    # A transaction leaked by a cancelled BEGIN shows up as a hang (locked database), so bound it.
    async with asyncio.timeout(20):
        db = await backend.open(keyring)
        task = asyncio.create_task(start_watch(db, 1, 1, "o", "install", "t"))
        for _ in range(yields):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await db.actions.record(1, "after", None, "ok")
        assert not await backend.in_transaction(db)
        await db.close()
        async with await backend.open(keyring) as db:
            assert [e.action for e in await actions_of(db, 1)] == ["after"]
            assert len(await watches_of(db, 1)) in (0, 1)


async def test_concurrent_writers_do_not_interleave(db: Database) -> None:
    await db.users.link(1, 10, API_KEY)
    await asyncio.gather(
        *(start_watch(db, 1, 1, "o", "install", f"t{n}") for n in range(20)),
        *(db.actions.record(1, "x", None, "ok") for _ in range(20)),
    )
    assert len(await watches_of(db, 1)) == 1
    assert len(await actions_of(db, 1)) == 20


# SQLite only: names the file.
async def test_close_is_idempotent(tmp_path: Path, keyring: KeyRing) -> None:
    db = await Database.open(tmp_path / "x.sqlite3", keyring)
    assert db.postgres_pool is None and not db.shared
    await db.close()
    await db.close()
    assert "x.sqlite3" in repr(db)


async def test_a_sweeps_polls_are_written_together(db: Database) -> None:
    first = await start_watch(db, 1, 1, "47001", "install", "debian12")
    second = await start_watch(db, 1, 1, "47002", "install", "debian12", status_message_id=9)
    await db.watches.update_progress_many(
        [
            WatchPoll(first.id, "not-ready", 0, 100.0),
            WatchPoll(second.id, None, 3, 200.0, last_edit_at=50.0),
        ]
    )
    one, two = await watch_by_id(db, first.id), await watch_by_id(db, second.id)
    assert one is not None and two is not None
    assert (one.last_state, one.failures, one.next_poll_at) == ("not-ready", 0, 100.0)
    assert (two.failures, two.next_poll_at, two.last_edit_at) == (3, 200.0, 50.0)
    await db.watches.update_progress_many([WatchPoll(second.id, None, 0, 300.0)])
    again = await watch_by_id(db, second.id)
    assert again is not None and again.last_edit_at == 50.0, "None keeps the last edit time"
    await db.watches.update_progress_many([])


async def test_ensure_with_account_reads_user_and_credentials_at_once(db: Database) -> None:
    user, account = await db.users.ensure_with_account(11, "ru")
    assert (user.id, user.language, user.linked, account) == (11, "ru", False, None)
    await db.users.link(11, 777, "key-for-eleven-123")
    user, account = await db.users.ensure_with_account(11, "en")
    assert user.language == "ru", "an existing user keeps its language"
    assert account == Account(cid=777, api_key="key-for-eleven-123")
    await db.users.unlink(11)
    assert (await db.users.ensure_with_account(11, "en"))[1] is None


async def test_ensure_with_account_refuses_a_foreign_ciphertext(db: Database) -> None:
    await db.users.link(21, 1, "first-user-key-000")
    await db.users.link(22, 2, "second-user-key-00")
    await db._conn.execute(  # a ciphertext copied into another user's row
        "UPDATE accounts SET api_key = (SELECT api_key FROM accounts WHERE owner_id = 21) "
        "WHERE owner_id = 22"
    )
    with pytest.raises(DecryptionError):
        await db.users.ensure_with_account(22, "en")


async def test_open_watches_are_counted_and_checked_one_by_one(db: Database) -> None:
    assert await db.watches.count_open() == 0
    running = await start_watch(db, 1, 1, "47001", "install", "debian12")
    notified = await start_watch(db, 1, 1, "47002", "install", "debian12")
    timed_out = await start_watch(db, 1, 1, "47003", "install", "debian12")
    await db.watches.mark_notified(notified.id)
    await db.watches.mark_timed_out(timed_out.id)
    assert await db.watches.count_open() == 1
    assert await db.watches.is_open(1, running.order_id)
    assert not await db.watches.is_open(2, running.order_id), "another user's order"
    assert not await db.watches.is_open(1, notified.order_id)
    assert not await db.watches.is_open(1, timed_out.order_id)
    assert not await db.watches.is_open(1, "47004")


# SQLite only: every statement shares one connection there, so it must wait for an open
# transaction; PostgreSQL runs a statement outside a transaction on another pool connection.
@pytest.mark.parametrize("statement", ["execute", "executemany", "insert", "fetchall", "fetchone"])
async def test_every_statement_of_the_front_door_holds_the_lock(
    tmp_path: Path, keyring: KeyRing, statement: str
) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3", keyring)
    # A statement that skipped the lock could land inside another coroutine's transaction.
    conn = db._conn
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "execute": lambda: conn.execute("DELETE FROM actions WHERE user_id = 1"),
        "executemany": lambda: conn.executemany("DELETE FROM actions WHERE user_id = ?", [(1,)]),
        "insert": lambda: conn.insert(
            "INSERT INTO actions (user_id, action, order_id, result, created_at) "
            "VALUES (2, 'y', NULL, 'ok', 0)"
        ),
        "fetchall": lambda: conn.fetchall("SELECT * FROM actions"),
        "fetchone": lambda: conn.fetchone("SELECT * FROM actions"),
    }
    async with conn.transaction() as tx:
        await tx.execute(
            "INSERT INTO actions (user_id, action, order_id, result, created_at) "
            "VALUES (1, 'x', NULL, 'ok', 0)"
        )
        outside = asyncio.ensure_future(calls[statement]())
        await asyncio.sleep(0.05)
        assert not outside.done(), "waits for the open transaction"
    await outside
    await db.close()


async def test_a_confirmed_install_is_watched_in_the_transaction_that_spends_it(
    db: Database, clock: Clock
) -> None:
    token = await db.confirmations.issue(1, "reinstall", {"order": "o1"})
    intent = WatchIntent(order_id="o1", template="alma-9", known_ip="10.0.0.1", password="r00t")
    started = await db.watches.start_confirmed(
        1,
        token,
        {"install", "reinstall"},
        chat_id=100,
        status_message_id=7,
        intent=lambda _: intent,
    )
    assert started is not None
    confirmation, watch = started
    assert confirmation.payload == {"order": "o1"}
    assert (watch.kind, watch.order_id, watch.status_message_id) == ("reinstall", "o1", 7)
    assert watch.outcome_unknown and watch.accepted_at is None
    assert watch.known_ip == "10.0.0.1"
    assert watch.password_mac and "r00t" not in watch.password_mac
    assert db.watches.same_password(watch, "r00t") is True
    assert db.watches.same_password(watch, "new-one") is False
    assert await db.confirmations.peek(1, token) is None, "spent with it"
    # Spent once: a second tap writes nothing.
    assert (
        await db.watches.start_confirmed(
            1, token, {"reinstall"}, chat_id=100, status_message_id=7, intent=lambda _: intent
        )
        is None
    )
    clock.now += 5
    await db.watches.accepted(watch.id)
    accepted = await watch_by_id(db, watch.id)
    assert accepted is not None and not accepted.outcome_unknown
    assert accepted.accepted_at == accepted.next_poll_at == clock.now
    assert await db.watches.known_ips(1) == {"o1": "10.0.0.1"}
    await db.watches.mark_notified(watch.id)
    ended = await watch_by_id(db, watch.id)
    assert ended is not None and ended.password_mac is None
    assert await db.watches.known_ips(1) == {}


async def test_a_declined_confirmation_is_left_unspent_and_nothing_is_watched(
    db: Database,
) -> None:
    token = await db.confirmations.issue(1, "install", {"order": "o2"})
    declined = await db.watches.start_confirmed(
        1, token, {"install"}, chat_id=1, status_message_id=None, intent=lambda _: None
    )
    assert declined is None
    assert await db.confirmations.peek(1, token) is not None
    assert await watches_of(db, 1) == []
    # Another user's token is neither spent nor watched.
    assert (
        await db.watches.start_confirmed(
            2,
            token,
            {"install"},
            chat_id=2,
            status_message_id=None,
            intent=lambda _: WatchIntent(order_id="o2", template="x"),
        )
        is None
    )
    assert await db.confirmations.peek(1, token) is not None
    assert await watches_of(db, 2) == []
