"""The FSM storage in the bot's database, on SQLite and on PostgreSQL (used without REDIS_URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey

from bot.storage import Database, KeyRing, SQLiteStorage
from tests.storage_backends import Backend
from tests.storage_helpers import new_keyring


class Link(StatesGroup):
    cid = State()
    key = State()


KEY = StorageKey(bot_id=1, chat_id=10, user_id=10)


@pytest.fixture
def keyring() -> KeyRing:
    return new_keyring()


@pytest.fixture
async def db(backend: Backend, keyring: KeyRing) -> AsyncIterator[Database]:
    yield await backend.open(keyring)


async def _rows(db: Database) -> int:
    row = await db._conn.fetchone("SELECT COUNT(*) FROM fsm")
    assert row is not None
    return int(row[0])


async def test_state_round_trip(db: Database) -> None:
    storage = db.fsm
    assert isinstance(storage, SQLiteStorage)
    assert await storage.get_state(KEY) is None
    await storage.set_state(KEY, Link.cid)
    assert await storage.get_state(KEY) == "Link:cid"
    await storage.set_state(KEY, "custom")
    assert await storage.get_state(KEY) == "custom"
    await storage.set_state(KEY, None)
    assert await storage.get_state(KEY) is None
    assert await _rows(db) == 0  # nothing left behind


async def test_data_round_trip(db: Database) -> None:
    storage = db.fsm
    assert await storage.get_data(KEY) == {}
    data = {"cid": 123, "names": ["a", "б"], "nested": {"x": None, "y": 1.5}, "ok": True}
    await storage.set_data(KEY, data)
    got = await storage.get_data(KEY)
    assert got == data
    got["cid"] = 0  # a copy, not shared state
    assert (await storage.get_data(KEY))["cid"] == 123
    assert await storage.update_data(KEY, {"cid": 5, "extra": "e"}) == {
        **data,
        "cid": 5,
        "extra": "e",
    }
    assert await storage.get_value(KEY, "extra") == "e"
    assert await storage.get_value(KEY, "missing", 7) == 7
    await storage.set_state(KEY, Link.key)
    await storage.set_data(KEY, {})
    assert await storage.get_state(KEY) == "Link:key"  # clearing data keeps the state
    assert await _rows(db) == 1
    await storage.set_state(KEY, None)
    assert await _rows(db) == 0


async def test_data_must_be_dict(db: Database) -> None:
    with pytest.raises(DataNotDictLikeError):
        await db.fsm.set_data(KEY, [("a", 1)])  # type: ignore[arg-type]


async def test_every_key_part_matters(db: Database) -> None:
    keys = [
        KEY,
        StorageKey(bot_id=2, chat_id=10, user_id=10),
        StorageKey(bot_id=1, chat_id=11, user_id=10),
        StorageKey(bot_id=1, chat_id=10, user_id=11),
        StorageKey(bot_id=1, chat_id=10, user_id=10, thread_id=5),
        StorageKey(bot_id=1, chat_id=10, user_id=10, business_connection_id="bc"),
        StorageKey(bot_id=1, chat_id=10, user_id=10, destiny="other"),
    ]
    for n, key in enumerate(keys):
        await db.fsm.set_state(key, f"s{n}")
        await db.fsm.set_data(key, {"n": n})
    for n, key in enumerate(keys):
        assert await db.fsm.get_state(key) == f"s{n}"
        assert await db.fsm.get_data(key) == {"n": n}
    assert await _rows(db) == len(keys)


async def test_survives_close_and_reopen(backend: Backend, keyring: KeyRing) -> None:
    db = await backend.open(keyring)
    await db.fsm.set_state(KEY, Link.key)
    await db.fsm.set_data(KEY, {"cid": 42})
    await db.fsm.close()  # aiogram's shutdown hook; the shared connection stays usable
    assert await db.fsm.get_state(KEY) == "Link:key"
    await db.close()

    db = await backend.open(keyring)
    assert await db.fsm.get_state(KEY) == "Link:key"
    assert await db.fsm.get_data(KEY) == {"cid": 42}


async def test_works_through_fsm_context(db: Database) -> None:
    context = FSMContext(storage=db.fsm, key=KEY)
    await context.set_state(Link.cid)
    await context.update_data(cid=7)
    assert await context.get_state() == Link.cid.state
    assert await context.get_data() == {"cid": 7}
    await context.clear()
    assert await context.get_state() is None
    assert await context.get_data() == {}
    assert await _rows(db) == 0
