"""The alerts' storage and the repositories the key commands use, on SQLite and on PostgreSQL:
every statement of AlertRepository, NoticeRepository and the users' key commands runs on both
engines here (the alert flows themselves are tested through the bot in test_alerts.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.storage import Database, KeyRing
from bot.storage.accounts import Role
from bot.storage.alerts import (
    DOWN,
    IDLE,
    UP,
    AccountCheck,
    Addressed,
    AlertPrefs,
    CheckState,
    NewAlert,
    SeenUpdate,
    ServerUpdate,
)
from bot.storage.history import acting_as
from tests.storage_backends import Backend
from tests.storage_helpers import check_state, count_unsent, new_keyring, next_account_check
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


def check(account_id: int, **parts: object) -> AccountCheck:
    return AccountCheck(state=CheckState(account_id=account_id, next_check_at=NOW + 900), **parts)  # type: ignore[arg-type]


def to(user_id: int, account_id: int, *alerts: NewAlert) -> list[Addressed]:
    return [Addressed(user_id, account_id, alert) for alert in alerts]


async def test_prefs_and_blocking(db: Database) -> None:
    assert await db.alerts.prefs(1) == AlertPrefs(1)
    prefs = await db.alerts.set_prefs(1, notice_days=(3, 14), low_balance=True, down=False)
    assert (prefs.notice_days, prefs.low_balance, prefs.down) == ((14, 3), True, False)
    prefs = await db.alerts.set_prefs(1, balance_threshold="25")
    assert prefs.balance_threshold == "25" and prefs.low_balance, "other settings are kept"
    with pytest.raises(ValueError):
        await db.alerts.set_prefs(1, blocked=True)

    two = await db.users.link(2, 20, "KEY-two-0123456789")
    assert await db.alerts.apply(check(two, alerts=to(2, two, NewAlert("k", "s", "o", "text"))))
    assert await count_unsent(db) == 1
    await db.alerts.block(2, NOW)
    assert await db.alerts.blocked_users() == {2}
    assert await count_unsent(db) == 0, "what waited for a blocked user is dropped"
    assert await db.alerts.due_accounts(NOW + 10_000, 10) == [], "nobody left to tell"
    assert await db.alerts.recipients([two]) == {}
    await db.alerts.unblock(2)
    assert await db.alerts.blocked_users() == set()
    assert [d.account_id for d in await db.alerts.due_accounts(NOW + 10_000, 10)] == [two]


async def test_account_checks(db: Database, clock: Clock) -> None:
    one = await db.users.link(1, 10, "KEY-one-0123456789")
    await db.users.ensure(2, "en")  # never linked: no account
    due = await db.alerts.due_accounts(NOW, 10)
    assert [(d.account_id, d.cid, d.state) for d in due] == [(one, 10, None)]
    assert await db.alerts.apply(
        check(
            one,
            active_orders=["o1", "o2"],
            seen=[SeenUpdate("balance", "1", "5.00"), SeenUpdate("renewal", "o1", "2030-01-01")],
            alerts=to(1, one, NewAlert("renewal", "o1", "7", "Renews in 7 days", '{"k": 1}')),
        )
    )
    assert await db.alerts.due_accounts(NOW, 10) == []
    assert await check_state(db, one) == CheckState(one, NOW + 900)
    assert await next_account_check(db) == NOW + 900
    assert await db.alerts.sent_at(one, "renewal") == {(1, "o1", "7"): NOW}
    assert await db.alerts.told(one, "renewal", "o1", "7") == {1}

    # A value seen again without a time keeps the stored time; one with a time takes it.
    clock.now += 100
    assert await db.alerts.apply(
        check(
            one,
            seen=[SeenUpdate("balance", "1", "6.00"), SeenUpdate("renewal", "o1", "x", NOW + 50)],
            alerts=to(1, one, NewAlert("renewal", "o1", "7", "again: stored once")),
        )
    )
    seen = await db.alerts.seen(one)
    assert (seen[("balance", "1")].value, seen[("balance", "1")].seen_at) == ("6.00", NOW)
    assert seen[("renewal", "o1")].seen_at == NOW + 50
    unsent = await db.alerts.unsent(10)
    assert [(a.key, a.text, a.markup) for a in unsent] == [
        ((1, one, "renewal", "o1", "7"), "Renews in 7 days", '{"k": 1}')
    ]
    await db.alerts.mark_sent([a.key for a in unsent])
    assert await db.alerts.unsent(10) == [] and await count_unsent(db) == 0

    # Another account of the same user is checked on its own; switching changes nothing.
    other = await db.users.link(1, 11, "KEY-one-other-0123")
    assert [d.account_id for d in await db.alerts.due_accounts(NOW, 10)] == [other]
    assert await db.accounts.switch(1, one)
    assert await check_state(db, one) == CheckState(one, NOW + 900)

    # Unlinked during a check: the check writes nothing, and the account's state is gone.
    await db.accounts.unlink(one)
    assert not await db.alerts.apply(check(one, alerts=to(1, one, NewAlert("k", "s", "o", "x"))))
    assert await check_state(db, one) is None
    assert await db.alerts.seen(one) == {} and await db.alerts.sent_at(one, "renewal") == {}
    assert await count_unsent(db) == 0


async def test_members_are_told_each_their_own_and_only_while_members(db: Database) -> None:
    account = await db.users.link(1, 10, "KEY-one-0123456789")
    await db.users.ensure(2, "ru")
    await db.users.ensure(3, "en")
    assert await db.accounts.join(2, account, Role.VIEWER, "Mate")
    assert await db.accounts.join(3, account, Role.OPERATOR, "Ops")
    await db.alerts.set_prefs(3, down=False)
    recipients = (await db.alerts.recipients([account, 999]))[account]
    assert [(r.user_id, r.role, r.language, r.prefs.down) for r in recipients] == [
        (1, "owner", None, True),
        (2, "viewer", "ru", True),
        (3, "operator", "en", False),
    ]
    # One check, one alert per member; one who lost access meanwhile gets nothing.
    await db.accounts.revoke(account, 3)
    alert = NewAlert("renewal", "s1", "2030-01-01:7", "due")
    assert await db.alerts.apply(
        check(account, alerts=to(1, account, alert) + to(2, account, alert) + to(3, account, alert))
    )
    assert sorted(a.user_id for a in await db.alerts.unsent(10)) == [1, 2]
    assert await db.alerts.told(account, "renewal", "s1", "2030-01-01:7") == {1, 2}

    # A member who leaves takes their alerts and per-server settings with them.
    await db.alerts.set_monitored(2, account, "o1", False)
    await db.users.unlink(2)
    assert [a.user_id for a in await db.alerts.unsent(10)] == [1]
    assert await db.alerts.mutes([account]) == set()
    # The owner unlinking ends the account for everyone.
    await db.accounts.join(2, account, Role.VIEWER, "Mate")
    await db.alerts.apply(check(account, alerts=to(2, account, NewAlert("k", "s", "o", "x"))))
    await db.users.unlink(1)
    assert await db.alerts.unsent(10) == [] and await db.alerts.recipients([account]) == {}


async def test_the_monitor(db: Database, clock: Clock) -> None:
    one = await db.users.link(1, 10, "KEY-one-0123456789")
    two = await db.users.link(2, 20, "KEY-two-0123456789")
    assert await db.alerts.apply(check(one, active_orders=["a", "b"]))
    assert await db.alerts.apply(check(two, active_orders=["c"]))
    await db.alerts.set_prefs(2, down=False)
    assert [(s.account_id, s.order_id, s.state) for s in await db.alerts.monitored()] == [
        (one, "a", IDLE),
        (one, "b", IDLE),
    ]
    await db.alerts.set_monitored(1, one, "b", False)
    assert not await db.alerts.is_monitored(1, one, "b")
    assert await db.alerts.is_monitored(1, one, "zzz"), "unknown servers are monitored"
    assert await db.alerts.mutes([one, two]) == {(1, one, "b")}
    # A member who still wants it keeps the server monitored.
    await db.users.ensure(3, "en")
    await db.accounts.join(3, one, Role.VIEWER, None)
    assert [s.order_id for s in await db.alerts.monitored()] == ["a", "b"]
    await db.alerts.set_monitored(3, one, "b", False)
    assert [s.order_id for s in await db.alerts.monitored()] == ["a"]

    await db.alerts.save_servers(
        [ServerUpdate(one, "a", UP, NOW, "web", "203.0.113.1")],
        to(1, one, NewAlert("down", "a", "1", "a is down"))
        + to(2, one, NewAlert("down", "a", "2", "x")),
    )
    servers = await db.alerts.monitored()
    assert [(s.order_id, s.state, s.name, s.ip, s.cid) for s in servers] == [
        ("a", UP, "web", "203.0.113.1", 10)
    ]
    await db.alerts.save_servers([ServerUpdate(one, "a", DOWN, NOW, None, None)], [])
    assert (await db.alerts.monitored())[0].name == "web", "None keeps the name"
    assert [a.text for a in await db.alerts.unsent(10)] == ["a is down"], "2 is no member of it"
    # An order that is no longer Active drops out and starts from idle when it returns.
    assert await db.alerts.apply(check(one, active_orders=["b"]))
    assert await db.alerts.monitored() == []
    await db.alerts.set_monitored(1, one, "b", True)
    assert [(s.order_id, s.state) for s in await db.alerts.monitored()] == [("b", IDLE)]
    # Turned on again, a server that was up starts from idle; one that is down stays down.
    await db.alerts.save_servers([ServerUpdate(one, "b", UP, None, None, None)], [])
    await db.alerts.set_monitored(1, one, "b", True)
    assert (await db.alerts.monitored())[0].state == IDLE
    await db.alerts.save_servers([ServerUpdate(one, "b", DOWN, NOW, None, None)], [])
    await db.alerts.set_monitored(1, one, "b", True)
    assert (await db.alerts.monitored())[0].state == DOWN

    with acting_as(one, "Owner"):
        await db.actions.record(1, "stop", "a", "ok")
    assert await db.alerts.acted_since(one, "a", ("stop", "reboot"), NOW)
    assert not await db.alerts.acted_since(one, "a", ("stop",), NOW + 1)
    assert not await db.alerts.acted_since(one, "b", ("stop",), NOW)
    assert not await db.alerts.acted_since(two, "a", ("stop",), NOW), "another account's log"

    await db.users.unlink(1)
    assert await check_state(db, one) is None
    assert await db.alerts.unsent(10) == []
    assert (await db.alerts.prefs(1)) == AlertPrefs(1), "settings stay"


async def test_notices_and_the_users_bulk_reads(db: Database, keyring: KeyRing) -> None:
    for user_id in (1, 2, 3):
        await db.users.link(user_id, user_id * 10, f"KEY-{user_id}-0123456789")
    await db.users.set_language(2, "ru")
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
    assert await db.users.has_stored_key(1) and await db.users.has_stored_key(3)
    assert not await db.users.has_stored_key(2)
