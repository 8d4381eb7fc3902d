"""The alerts' storage and the repositories the key commands use, on SQLite and on PostgreSQL:
every statement of AlertRepository, NoticeRepository and the users' bulk reads runs on both
engines here (the alert flows themselves are tested through the bot in test_alerts.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.storage import Account, Database, KeyRing
from bot.storage.alerts import (
    DOWN,
    IDLE,
    UP,
    AccountCheck,
    AccountState,
    AlertPrefs,
    NewAlert,
    SeenUpdate,
    ServerUpdate,
)
from tests.storage_backends import Backend
from tests.storage_helpers import new_keyring
from tests.test_storage import Clock

NOW = 1_000_000.0


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def keyring() -> KeyRing:
    return new_keyring()


@pytest.fixture
async def db(backend: Backend, keyring: KeyRing, clock: Clock) -> AsyncIterator[Database]:
    yield await backend.open(keyring, clock=clock)


def check(user_id: int, cid: int, **parts: object) -> AccountCheck:
    return AccountCheck(
        state=AccountState(user_id=user_id, cid=cid, next_check_at=NOW + 900), **parts
    )  # type: ignore[arg-type]


async def test_prefs_and_blocking(db: Database) -> None:
    assert await db.alerts.prefs(1) == AlertPrefs(1)
    prefs = await db.alerts.set_prefs(1, notice_days=(3, 14), low_balance=True, down=False)
    assert (prefs.notice_days, prefs.low_balance, prefs.down) == ((14, 3), True, False)
    prefs = await db.alerts.set_prefs(1, balance_threshold="25")
    assert prefs.balance_threshold == "25" and prefs.low_balance, "other settings are kept"
    with pytest.raises(ValueError):
        await db.alerts.set_prefs(1, blocked=True)

    await db.users.link(2, 20, "KEY-two-0123456789")
    assert await db.alerts.apply(check(2, 20, alerts=[NewAlert("k", "s", "o", "text")]))
    assert await db.alerts.count_unsent() == 1
    await db.alerts.block(2, NOW)
    assert await db.alerts.blocked_users() == {2}
    assert await db.alerts.count_unsent() == 0, "what waited for a blocked user is dropped"
    assert await db.alerts.due_accounts(NOW + 10_000, 10) == []
    await db.alerts.unblock(2)
    assert await db.alerts.blocked_users() == set()


async def test_account_checks(db: Database, clock: Clock) -> None:
    await db.users.link(1, 10, "KEY-one-0123456789")
    await db.users.ensure(2, "en")  # never linked: never due
    due = await db.alerts.due_accounts(NOW, 10)
    assert [(d.user_id, d.state) for d in due] == [(1, None)]
    assert await db.alerts.apply(
        check(
            1,
            10,
            active_orders=["o1", "o2"],
            seen=[SeenUpdate("balance", "", "5.00"), SeenUpdate("renewal", "o1", "2030-01-01")],
            alerts=[NewAlert("renewal", "o1", "7", "Renews in 7 days", markup='{"k": 1}')],
        )
    )
    assert await db.alerts.due_accounts(NOW, 10) == []
    state = await db.alerts.account_state(1)
    assert state == AccountState(1, 10, NOW + 900)
    assert await db.alerts.next_account_check() == NOW + 900
    assert await db.alerts.sent_at(1, "renewal") == {("o1", "7"): NOW}

    # A value seen again without a time keeps the stored time; one with a time takes it.
    clock.now += 100
    assert await db.alerts.apply(
        check(
            1,
            10,
            seen=[SeenUpdate("balance", "", "6.00"), SeenUpdate("renewal", "o1", "x", NOW + 50)],
            alerts=[NewAlert("renewal", "o1", "7", "again: stored once")],
        )
    )
    seen = await db.alerts.seen(1)
    assert (seen[("balance", "")].value, seen[("balance", "")].seen_at) == ("6.00", NOW)
    assert seen[("renewal", "o1")].seen_at == NOW + 50
    unsent = await db.alerts.unsent(10)
    assert [(a.key, a.text, a.markup) for a in unsent] == [
        ((1, "renewal", "o1", "7"), "Renews in 7 days", '{"k": 1}')
    ]
    await db.alerts.mark_sent([a.key for a in unsent])
    assert await db.alerts.unsent(10) == [] and await db.alerts.count_unsent() == 0

    # Relinked to another account: due at once, and its first check starts from nothing.
    await db.users.link(1, 11, "KEY-one-other-0123")
    due = await db.alerts.due_accounts(NOW, 10)
    assert [(d.user_id, d.state) for d in due] == [(1, None)]
    assert not await db.alerts.apply(check(1, 10)), "a check of the old account writes nothing"
    assert await db.alerts.apply(check(1, 11))
    assert await db.alerts.seen(1) == {}
    assert await db.alerts.sent_at(1, "renewal") == {}


async def test_the_monitor(db: Database, clock: Clock) -> None:
    await db.users.link(1, 10, "KEY-one-0123456789")
    await db.users.link(2, 20, "KEY-two-0123456789")
    assert await db.alerts.apply(check(1, 10, active_orders=["a", "b"]))
    assert await db.alerts.apply(check(2, 20, active_orders=["c"]))
    await db.alerts.set_prefs(2, down=False)
    assert [(s.user_id, s.order_id, s.state) for s in await db.alerts.monitored()] == [
        (1, "a", IDLE),
        (1, "b", IDLE),
    ]
    await db.alerts.set_monitored(1, "b", False)
    assert not await db.alerts.is_monitored(1, "b")
    assert await db.alerts.is_monitored(1, "zzz"), "unknown servers are monitored"
    await db.alerts.save_servers(
        [ServerUpdate(1, "a", UP, NOW, "web", "203.0.113.1")],
        [
            (1, 10, NewAlert("down", "a", "1", "a is down")),
            (1, 99, NewAlert("down", "a", "2", "x")),
        ],
    )
    servers = await db.alerts.monitored()
    assert [(s.order_id, s.state, s.name, s.ip, s.cid) for s in servers] == [
        ("a", UP, "web", "203.0.113.1", 10)
    ]
    await db.alerts.save_servers([ServerUpdate(1, "a", DOWN, NOW, None, None)], [])
    assert (await db.alerts.monitored())[0].name == "web", "None keeps the name"
    assert [a.text for a in await db.alerts.unsent(10)] == ["a is down"], "not of account 99"
    # An order that is no longer Active drops out and starts from idle when it returns.
    assert await db.alerts.apply(check(1, 10, active_orders=["b"]))
    assert await db.alerts.monitored() == []
    await db.alerts.set_monitored(1, "b", True)
    assert [s.order_id for s in await db.alerts.monitored()] == ["b"]

    await db.actions.record(1, "stop", "a", "ok")
    assert await db.alerts.acted_since(1, "a", ("stop", "reboot"), NOW)
    assert not await db.alerts.acted_since(1, "a", ("stop",), NOW + 1)
    assert not await db.alerts.acted_since(1, "b", ("stop",), NOW)

    await db.users.unlink(1)
    assert await db.alerts.account_state(1) is None
    assert await db.alerts.unsent(10) == []
    assert (await db.alerts.prefs(1)) == AlertPrefs(1), "settings stay"


async def test_notices_and_the_users_bulk_reads(db: Database, keyring: KeyRing) -> None:
    for user_id in (1, 2, 3):
        await db.users.link(user_id, user_id * 10, f"KEY-{user_id}-0123456789")
    await db.users.set_language(2, "ru")
    accounts = await db.users.accounts([3, 1, 2, 1, 99])
    assert accounts == {
        1: (Account(10, "KEY-1-0123456789"), None),
        2: (Account(20, "KEY-2-0123456789"), "ru"),
        3: (Account(30, "KEY-3-0123456789"), None),
    }
    assert await db.users.undecryptable() == []
    assert await db.users.ids_not_on_key(keyring.current_id) == []
    assert await db.users.ids_not_on_key("other") == [1, 2, 3]
    assert not await db.users.reencrypt(1), "already on the current key"
    assert await db.users.has_stored_key(1) and not await db.users.has_stored_key(99)

    # Their keys cannot be read any more (a master key lost): forget-undecryptable's case.
    await db._conn.execute("UPDATE accounts SET key_id = 'lost' WHERE owner_id IN (2, 3)")
    await db.users.forget([2, 3], "link-again")
    notices = await db.notices.pending(10)
    assert [(n.user_id, n.kind, n.language, n.linked) for n in notices] == [
        (2, "link-again", "ru", False),
        (3, "link-again", None, False),
    ]
    await db.users.link(3, 30, "KEY-3-again-012345")
    assert [n.linked for n in await db.notices.pending(10)] == [False, True]
    await db.notices.remove(2, "link-again")
    assert [n.user_id for n in await db.notices.pending(10)] == [3]
    assert list(await db.users.accounts([1, 2, 3])) == [1, 3]
