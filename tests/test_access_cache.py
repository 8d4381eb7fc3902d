"""The accesses kept in memory (bot/storage/accounts.py): every update reads who may use which
account, so on SQLite the answer is kept until the next write to ``users``, ``memberships`` or
``accounts``, and every such write forgets it, whatever method makes it. The names of an
account's servers (bot/storage/server_names.py) and the addresses of a user's open watches
(``WatchRepository.known_ips``) are kept the same way.

The flow tests hold the promise itself end to end (tests/test_flow_members.py,
tests/test_flow_accounts.py: a lowered role, a revocation, a switch or an unlink holds on the very
next tap); these hold the mechanism: every method is known as a read or a write, each write
empties the cache, no read does, nothing outside the two repositories writes those tables, and
on a shared database (PostgreSQL) nothing is kept at all.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import bot
from bot.storage import Database
from bot.storage.accounts import AccountRepository, Role
from bot.storage.cache import ForgetOnWrite, RowCache
from bot.storage.connection import Connection
from bot.storage.repositories import UserRepository, WatchIntent
from tests.storage_backends import Backend
from tests.storage_helpers import new_keyring

OWNER, MATE, STRANGER = 1, 2, 3
KEY = "owner-key-0000-0000"

Call = Callable[[Database, int], Awaitable[Any]]

# Every public method of the two repositories that may write users, memberships or accounts,
# with a call that writes.
WRITES: dict[str, Call] = {
    "accounts.link": lambda db, a: db.accounts.link(OWNER, 78, "second-key-0000-000"),
    "accounts.set_label": lambda db, a: db.accounts.set_label(a, "shop"),
    "accounts.switch": lambda db, a: db.accounts.switch(OWNER, a),
    "accounts.unlink": lambda db, a: db.accounts.unlink(a),
    "accounts.join": lambda db, a: db.accounts.join(STRANGER, a, Role.VIEWER, "Sam"),
    "accounts.set_name": lambda db, a: db.accounts.set_name(a, MATE, "Max"),
    "accounts.set_role": lambda db, a: db.accounts.set_role(a, MATE, Role.VIEWER),
    "accounts.revoke": lambda db, a: db.accounts.revoke(a, MATE),
    "users.set_language": lambda db, a: db.users.set_language(MATE, "ru"),
    "users.link": lambda db, a: db.users.link(MATE, 79, "mate-own-key-0000-0"),
    "users.unlink": lambda db, a: db.users.unlink(MATE),
    "users.forget": lambda db, a: db.users.forget([OWNER], "link-again"),
    "users.reencrypt": lambda db, a: db.users.reencrypt(OWNER),
}

# ... and those that only read (for users the bot knows: a new user's row is an insert).
READS: dict[str, Call] = {
    "accounts.access": lambda db, a: db.accounts.access(MATE, a),
    "accounts.user_and_access": lambda db, a: db.accounts.user_and_access(MATE, a),
    "accounts.active_cid": lambda db, a: db.accounts.active_cid(MATE),
    "accounts.count": lambda db, a: db.accounts.count(MATE),
    "accounts.with_several": lambda db, a: db.accounts.with_several([OWNER, MATE]),
    "accounts.active_id": lambda db, a: db.accounts.active_id(MATE),
    "accounts.memberships": lambda db, a: db.accounts.memberships(MATE),
    "accounts.find": lambda db, a: db.accounts.find(OWNER, 77),
    "accounts.owned": lambda db, a: db.accounts.owned(OWNER),
    "accounts.credentials": lambda db, a: db.accounts.credentials([a]),
    "accounts.members": lambda db, a: db.accounts.members(a),
    "accounts.member": lambda db, a: db.accounts.member(a, MATE),
    "accounts.info": lambda db, a: db.accounts.info(a),
    "accounts.exists": lambda db, a: db.accounts.exists(a),
    "users.ensure": lambda db, a: db.users.ensure(MATE, "en"),
    "users.ensure_with_account": lambda db, a: db.users.ensure_with_account(MATE, "en"),
    "users.ensure_with_access": lambda db, a: db.users.ensure_with_access(MATE, "en", a),
    "users.get": lambda db, a: db.users.get(MATE),
    "users.languages": lambda db, a: db.users.languages([OWNER, MATE]),
    "users.has_stored_key": lambda db, a: db.users.has_stored_key(MATE),
    "users.undecryptable": lambda db, a: db.users.undecryptable(),
    "users.ids_not_on_key": lambda db, a: db.users.ids_not_on_key("no-such-key"),
}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3", new_keyring())
    try:
        yield database
    finally:
        await database.close()


async def team(db: Database) -> int:
    """OWNER's account shared with MATE as operator; returns its id."""
    await db.users.ensure(OWNER, "en")
    await db.users.ensure(MATE, "en")
    account = await db.users.link(OWNER, 77, KEY)
    assert await db.accounts.join(MATE, account, Role.OPERATOR, "Mate")
    return account


def cache_of(db: Database) -> RowCache[Any, Any]:
    return db.accounts._cache


async def warm(db: Database, account: int) -> None:
    """Every access the two users' updates read, kept."""
    for user in (OWNER, MATE):
        await db.accounts.access(user)
        await db.accounts.access(user, account)
    await db.accounts.access(STRANGER)
    assert len(cache_of(db)) == 5


def test_every_method_is_known_as_a_read_or_a_write() -> None:
    """A new method must be put in WRITES or READS: its test then says whether it forgets."""
    found = {
        f"{prefix}.{name}"
        for prefix, cls in (("accounts", AccountRepository), ("users", UserRepository))
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }
    assert found == set(WRITES) | set(READS)


@pytest.mark.parametrize("method", sorted(WRITES))
async def test_every_write_forgets_the_accesses(db: Database, method: str) -> None:
    account = await team(db)
    await warm(db, account)
    ticket = cache_of(db).ticket()
    await WRITES[method](db, account)
    assert len(cache_of(db)) == 0
    assert cache_of(db).ticket() != ticket, "a read begun before the write is not kept"


@pytest.mark.parametrize("method", sorted(READS))
async def test_no_read_forgets_them(db: Database, method: str) -> None:
    account = await team(db)
    await warm(db, account)
    ticket = cache_of(db).ticket()
    await READS[method](db, account)
    assert (len(cache_of(db)), cache_of(db).ticket()) == (5, ticket)


async def test_a_warm_cache_serves_what_the_last_write_left(db: Database) -> None:
    account = await team(db)
    await warm(db, account)
    kept = await db.accounts.access(MATE, account)
    assert kept is not None and kept.role == Role.OPERATOR and kept.api_key == KEY
    await db.accounts.set_role(account, MATE, Role.VIEWER)
    lowered = await db.accounts.access(MATE, account)
    assert lowered is not None and lowered.role == Role.VIEWER
    await db.accounts.access(MATE)
    await db.accounts.revoke(account, MATE)
    assert await db.accounts.access(MATE, account) is None
    assert await db.accounts.access(MATE) is None
    assert await db.accounts.join(MATE, account, Role.ADMIN, "Mate")
    back = await db.accounts.access(MATE)
    assert back is not None and back.role == Role.ADMIN


async def test_a_read_racing_a_lowered_role_does_not_bring_the_old_one_back(
    db: Database,
) -> None:
    account = await team(db)
    racing_read = asyncio.create_task(db.accounts.access(MATE, account))
    await asyncio.sleep(0)  # the read has taken its ticket and waits for SQLite
    await db.accounts.set_role(account, MATE, Role.VIEWER)
    await racing_read
    now = await db.accounts.access(MATE, account)
    assert now is not None and now.role == Role.VIEWER


def test_the_wrapper_covers_every_method_of_a_connection() -> None:
    """A statement method added to the interface must forget on writes too, not be inherited
    or missing (ForgetOnWrite is no subclass: a method it lacks fails the type check)."""
    wanted = {
        name
        for name, member in vars(Connection).items()
        if not name.startswith("_") and callable(member)
    } | {
        name
        for base in Connection.__mro__[1:]
        if base.__module__ == Connection.__module__
        for name, member in vars(base).items()
        if not name.startswith("_") and callable(member)
    }
    assert wanted <= set(vars(ForgetOnWrite)), wanted - set(vars(ForgetOnWrite))


# The tables the accesses are read from, and what writes a row of them.
_WRITE = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:users|memberships|accounts)\b", re.IGNORECASE
)
# The helpers of bot/storage/accounts.py that write them inside a caller's transaction.
_HELPERS = re.compile(r"\b(?:unlink_accounts|leave_account|_pick_active)\(")
# Where they may be written: the two repositories (through ForgetOnWrite), and the migrations,
# which run before the bot does.
_WRITERS = {"storage/accounts.py", "storage/repositories.py"}
_OFFLINE = {"storage/migrations.py"}


_WRITE_NAMES = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+server_names\b", re.IGNORECASE
)
_NAME_WRITERS = {"storage/server_names.py", "storage/accounts.py"}
_WRITE_WATCHES = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+watches\b", re.IGNORECASE)
_WATCH_WRITERS = {"storage/repositories.py", "storage/accounts.py"}


_WRITE_MUTES = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+alert_mutes\b", re.IGNORECASE
)
# alerts.py writes them through its own ForgetOnWrite and in forget_member / forget_accounts,
# which only the accounts' transactions call (their connection forgets the mutes too).
_MUTE_WRITERS = {"storage/alerts.py"}
_FORGETS = re.compile(r"\b(?:forget_member|forget_accounts)\(")
_FORGET_CALLERS = {"storage/alerts.py", "storage/accounts.py"}


def test_nothing_else_writes_those_tables() -> None:
    package = Path(bot.__file__).parent
    strays = []
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        if name in _OFFLINE:
            continue
        text = path.read_text(encoding="utf-8")
        if name not in _WRITERS:
            strays += [f"{name}: {m.group(0)}" for m in _WRITE.finditer(text)]
            strays += [f"{name}: {m.group(0)}" for m in _HELPERS.finditer(text)]
        if name not in _NAME_WRITERS:
            strays += [f"{name}: {m.group(0)}" for m in _WRITE_NAMES.finditer(text)]
        if name not in _WATCH_WRITERS:
            strays += [f"{name}: {m.group(0)}" for m in _WRITE_WATCHES.finditer(text)]
        if name not in _MUTE_WRITERS:
            strays += [f"{name}: {m.group(0)}" for m in _WRITE_MUTES.finditer(text)]
        if name not in _FORGET_CALLERS:
            strays += [f"{name}: {m.group(0)}" for m in _FORGETS.finditer(text)]
    assert strays == []


# --- the servers' names --------------------------------------------------------------------------


async def test_names_are_read_once_and_every_change_is_seen(db: Database) -> None:
    account = await team(db)
    statements: list[str] = []
    await db._conn.raw.set_trace_callback(statements.append)  # type: ignore[attr-defined]
    assert await db.server_names.all(account) == {}
    await db.server_names.set(account, "47001", "web")
    names = await db.server_names.all(account)
    names["47002"] = "a caller's own change"
    assert await db.server_names.get(account, "47001") == "web"
    assert await db.server_names.many(account, ["47001", "47002"]) == {"47001": "web"}
    assert [s.split()[0] for s in statements] == ["SELECT", "INSERT", "SELECT"]
    await db.server_names.set(account, "47001", None)
    assert await db.server_names.all(account) == {}


@pytest.mark.parametrize("method", ["accounts.unlink", "users.unlink"])
async def test_unlinking_an_account_forgets_its_names(db: Database, method: str) -> None:
    account = await team(db)
    await db.server_names.set(account, "47001", "web")
    assert await db.server_names.all(account) == {"47001": "web"}
    if method == "users.unlink":
        await db.users.unlink(OWNER)
    else:
        await WRITES[method](db, account)
    assert len(db.server_names.cache) == 0
    assert await db.server_names.all(account) == {}


async def test_a_shared_database_keeps_nothing(backend: Backend) -> None:
    keyring = new_keyring()
    one, other = await backend.open(keyring), await backend.open(keyring)
    if backend.name == "sqlite":
        # One writer at a time on SQLite (the file lock): the caches are on.
        assert cache_of(one).capacity > 0 and one.server_names.cache.capacity > 0
        assert one.watches.known.capacity > 0
        return
    assert cache_of(one).capacity == one.server_names.cache.capacity == 0
    assert one.watches.known.capacity == 0
    account = await team(one)
    await one.server_names.set(account, "47001", "web")
    assert await one.server_names.get(account, "47001") == "web"
    await other.server_names.set(account, "47001", "db")
    assert await one.server_names.get(account, "47001") == "db"
    seen = await one.accounts.access(MATE, account)
    assert seen is not None and seen.role == Role.OPERATOR
    # Another replica lowers the role: the very next read here sees it.
    await other.accounts.set_role(account, MATE, Role.VIEWER)
    now = await one.accounts.access(MATE, account)
    assert now is not None and now.role == Role.VIEWER
    await other.accounts.revoke(account, MATE)
    assert await one.accounts.access(MATE, account) is None


# --- the addresses of open watches ---------------------------------------------------------------


async def watch_with_ip(db: Database, user_id: int, account: int) -> int:
    token = await db.confirmations.issue(user_id, "install", {"order_id": "47001"})
    started = await db.watches.start_confirmed(
        user_id,
        token,
        {"install"},
        chat_id=user_id,
        status_message_id=None,
        intent=lambda _: WatchIntent(order_id="47001", template="debian12", known_ip="10.0.0.7"),
        account_id=account,
    )
    assert started is not None
    return started[1].id


async def test_known_addresses_are_read_once_and_every_change_is_seen(db: Database) -> None:
    account = await team(db)
    assert await db.watches.known_ips(MATE) == {}
    watch_id = await watch_with_ip(db, MATE, account)
    statements: list[str] = []
    await db._conn.raw.set_trace_callback(statements.append)  # type: ignore[attr-defined]
    for _ in range(3):
        known = await db.watches.known_ips(MATE)
        assert known == {"47001": "10.0.0.7"}
        known.clear()  # a caller's own change
    assert len(statements) == 1
    await db.watches.mark_timed_out(watch_id)
    assert await db.watches.known_ips(MATE) == {}


@pytest.mark.parametrize("method", ["accounts.revoke", "accounts.unlink", "users.unlink"])
async def test_losing_the_account_forgets_the_addresses(db: Database, method: str) -> None:
    account = await team(db)
    await watch_with_ip(db, MATE, account)
    assert await db.watches.known_ips(MATE) == {"47001": "10.0.0.7"}
    await WRITES[method](db, account)
    assert await db.watches.known_ips(MATE) == {}


# --- one statement per update where nothing is kept ---------------------------------------------


def count_statements(db: Database) -> list[str]:
    """The statements the users' and accounts' repositories send from now on."""
    sent: list[str] = []
    conn = db.accounts.connection
    for name in ("fetchall", "fetchone", "execute", "executemany", "insert", "transaction"):
        method = getattr(conn, name)

        def counting(*args: Any, _method: Any = method, _name: str = name) -> Any:
            sent.append(_name)
            return _method(*args)

        setattr(conn, name, counting)
    return sent


async def test_an_update_reads_the_user_and_the_access_in_one_statement(
    backend: Backend,
) -> None:
    db = await backend.open(new_keyring())
    account = await team(db)
    sent = count_statements(db)
    for _ in range(2):
        user, access = await db.users.ensure_with_access(MATE, "en", account)
        assert user.linked and access is not None and access.role == Role.OPERATOR
    # SQLite keeps both (the user's row since team() stored it); PostgreSQL reads both at once
    # on every update.
    assert sent == (["fetchone"] if backend.name == "sqlite" else ["fetchone", "fetchone"])
    sent.clear()
    user, access = await db.users.ensure_with_access(STRANGER, "en")
    assert (user.linked, access) == (False, None)
    # A new user: the read finds no row, the insert, and the access (a link may have raced).
    assert sent == ["fetchone", "fetchone", "fetchone"]


# --- the members' down-alert settings of a server card --------------------------------------------


async def test_a_cards_alert_toggle_is_read_once_and_every_change_is_seen(db: Database) -> None:
    account = await db.users.link(OWNER, 10, "KEY-owner-0123456789")
    await db.users.ensure(MATE, "en")
    await db.accounts.join(MATE, account, Role.VIEWER, "Mate")
    assert await db.alerts.is_monitored(MATE, account, "47001")
    assert len(db.alerts.mutes_cache) == 1
    await db.alerts.set_monitored(MATE, account, "47001", False)
    assert not await db.alerts.is_monitored(MATE, account, "47001"), "a mute is seen at once"
    assert await db.alerts.is_monitored(OWNER, account, "47001"), "the member's own"
    await db.alerts.set_monitored(MATE, account, "47001", True)
    assert await db.alerts.is_monitored(MATE, account, "47001")
    await db.alerts.set_monitored(MATE, account, "47001", False)
    assert not await db.alerts.is_monitored(MATE, account, "47001")
    # Revoked (the accounts' transaction deletes the mute): nothing stale is kept.
    await db.accounts.revoke(account, MATE)
    assert len(db.alerts.mutes_cache) == 0
    await db.accounts.join(MATE, account, Role.VIEWER, "Mate")
    assert await db.alerts.is_monitored(MATE, account, "47001")
