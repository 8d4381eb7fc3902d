"""Each account's history in storage, on both engines (tests/storage_backends.py): the action
log read per account, newest first, a page at a time, filtered to the server actions, and
purged by age."""

from __future__ import annotations

from bot.storage.history import SERVER_ACTIONS, acting_as
from tests.storage_backends import Backend
from tests.storage_helpers import new_keyring

START = 1_000_000.0


async def test_a_page_is_one_accounts_entries_newest_first(backend: Backend) -> None:
    now = [START]
    db = await backend.open(new_keyring(), clock=lambda: now[0])
    one = await db.users.link(1, 11, "owner-key-0123456789")
    two = await db.users.link(2, 22, "other-key-0123456789")
    recorded = [
        (1, "reboot", "47001", "ok", "Anna"),
        (3, "stop", "47001", "failed:ApiError", "Tom <b>"),
        (1, "create", None, "ok", "Anna"),
        (3, "install", "47002", "queued", None),
        (1, "payment", "47001", "ok", "Anna"),
    ]
    for user_id, action, order_id, result, actor in recorded:
        now[0] += 1.0
        with acting_as(one, actor):
            await db.actions.record(user_id, action, order_id, result)
    with acting_as(two, "Ivan"):
        await db.actions.record(2, "reboot", "47009", "ok")
    # Named explicitly: another account than the one acted as.
    with acting_as(two, "Ivan"):
        await db.actions.record(2, "boot", "47001", "ok", account_id=one)

    total, entries = await db.history.page(one, 0, 4)
    assert total == 6
    assert [(e.user_id, e.action, e.actor) for e in entries] == [
        (2, "boot", "Ivan"),
        (1, "payment", "Anna"),
        (3, "install", None),
        (1, "create", "Anna"),
    ]
    assert entries[3].order_id is None and entries[2].result == "queued"
    assert entries[1].created_at == START + 5.0
    total, rest = await db.history.page(one, 4, 4)
    assert total == 6
    assert [(e.action, e.actor) for e in rest] == [("stop", "Tom <b>"), ("reboot", "Anna")]
    assert [e.id for e in entries + rest] == sorted((e.id for e in entries + rest), reverse=True)
    assert await db.history.page(one, 8, 4) == (6, [])

    # What operators and viewers see: the server actions only.
    total, servers = await db.history.page(one, 0, 10, only=SERVER_ACTIONS)
    assert total == 4
    assert [e.action for e in servers] == ["boot", "install", "stop", "reboot"]
    total, theirs = await db.history.page(two, 0, 10)
    assert total == 1 and [(e.action, e.order_id) for e in theirs] == [("reboot", "47009")]
    assert await db.history.page(one, 0, 10, only=()) == (0, [])


async def test_purge_forgets_the_entries_older_than_the_age_given(backend: Backend) -> None:
    now = [START]
    db = await backend.open(new_keyring(), clock=lambda: now[0])
    account = await db.users.link(1, 11, "owner-key-0123456789")
    with acting_as(account, "Anna"):
        await db.actions.record(1, "reboot", "47001", "ok")  # at START
        now[0] = START + 100.0
        await db.actions.record(1, "stop", "47001", "ok")
        now[0] = START + 200.0
        await db.actions.record(1, "boot", "47001", "ok")

    now[0] = START + 250.0
    assert await db.history.purge(older_than=150.0) == 1  # before START + 100
    assert await db.history.purge(older_than=150.0) == 0
    total, left = await db.history.page(account, 0, 10)
    assert total == 2 and [e.action for e in left] == ["boot", "stop"]
    # The entry exactly that old (boot, at START + 200) stays.
    assert await db.history.purge(older_than=50.0) == 1
    total, left = await db.history.page(account, 0, 10)
    assert total == 1 and [e.action for e in left] == ["boot"]
