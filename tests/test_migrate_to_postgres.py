"""``python -m bot migrate-to-postgres``: a SQLite installation built through the repositories
is copied whole into PostgreSQL, read back through the repositories, never twice, never while
the SQLite bot runs, never over data PostgreSQL already has of its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.storage import Account, Database, KeyRing, LinkLimits, LinkRefusal, TeamPush
from bot.storage.accounts import Role
from bot.storage.alerts import (
    AccountCheck,
    Addressed,
    CheckState,
    NewAlert,
    SeenUpdate,
    ServerUpdate,
)
from bot.storage.copy_to_postgres import MARKER
from bot.storage.keyfile import create_key_file, generate_key, write_key_file
from bot.storage.lock import BOT, DatabaseLock
from bot.storage.migrations import LATEST_VERSION, migrate
from bot.storage.repositories import WatchIntent
from bot.storage.startup import open_storage
from tests.startup_process import Result, process_env, run
from tests.storage_helpers import (
    actions_of,
    check_state,
    schema_version,
    start_watch,
    stored_account,
)

FSM_KEY = StorageKey(bot_id=1, chat_id=3, user_id=3)
LIMITS = LinkLimits(per_user=5, per_minute=20)
NOW = 1_000_000.0


def clock() -> float:
    return NOW


@dataclass(frozen=True)
class Built:
    """What build_installation made that a test uses again."""

    watch: int
    deletion: int
    invite: str  # the token of the invite still pending
    confirmation: str  # the token of the reboot confirmation not used yet


async def build_installation(path: Path, keyring: KeyRing) -> Built:
    """A SQLite database with a row in every table, written as the bot writes them (checked:
    :func:`assert_every_table_filled`)."""
    db = await Database.open(path, keyring, clock=clock)
    try:
        await db.users.ensure(1, "en")
        one = await db.users.link(1, 101, "KEY-user-one-0123456789")
        await db.users.set_language(2, "ru")
        await db.users.link(3, 303, "KEY-user-three-0123456789")
        await db.users.link(4, 404, "KEY-user-four-0123456789")
        # A key that cannot be read any more, given up with a notice owed.
        await db._conn.execute("UPDATE accounts SET key_id = 'lost' WHERE owner_id = 4")
        await db.users.forget([4], "link-again")
        watch = await start_watch(db, 1, 1, "47001", "install", "debian12", status_message_id=9)
        started = await db.watches.start_confirmed(
            3,
            await db.confirmations.issue(3, "reinstall", {"order_id": "47003"}),
            {"reinstall"},
            chat_id=3,
            status_message_id=None,
            intent=lambda _c: WatchIntent(order_id="47003", template="alma", password="pw-1"),
        )
        assert started is not None
        token = await db.confirmations.issue(1, "reboot", {"order_id": "47001"})
        await db.actions.record(1, "reboot", "47001", "ok")
        await db.actions.record(3, "create", None, "failed")
        deletion = await db.deletions.schedule(1, 77, NOW + 300)
        await db.fsm.set_state(FSM_KEY, "Link:key")
        await db.fsm.set_data(FSM_KEY, {"cid": 303, "ünïcode": "✓"})
        await db.alerts.set_prefs(1, notice_days=(5, 2), low_balance=True)
        applied = await db.alerts.apply(
            AccountCheck(
                state=CheckState(account_id=one, next_check_at=NOW + 900),
                active_orders=["47001"],
                seen=[SeenUpdate("balance", "1", "12.50")],
                alerts=[Addressed(1, one, NewAlert("renewal", "47001", "7", "Renews in 7 days"))],
            )
        )
        assert applied
        await db.alerts.save_servers(
            [ServerUpdate(one, "47001", "up", NOW, "web-1", "203.0.113.5")], []
        )
        await db.alerts.set_monitored(1, one, "47009", False)
        for _ in range(5):
            attempt = await db.link_attempts.begin(3, LIMITS)
            assert not isinstance(attempt, LinkRefusal)
            await db.link_attempts.failed(attempt, LIMITS)
        assert await db.seen_updates.first_time(555)
        _, invite = await db.invites.create(one, Role.OPERATOR, "Olga")
        await db.server_names.set(one, "47001", "web-1 ✓")
        # A ready install whose copy for the teammate (user 3, an operator) waits to be sent.
        ready = await start_watch(db, 1, 1, "47002", "install", "debian12")
        assert await db.accounts.join(3, one, Role.OPERATOR, "Tom")
        await db.watches.mark_notified(
            ready.id, [TeamPush(ready.id, 3, one, "47002", "Server ready", "Open")]
        )
        return Built(watch.id, deletion, invite, token)
    finally:
        await db.close()


async def assert_every_table_filled(path: Path) -> None:
    """Every table of the SQLite file (but the marker, PostgreSQL's own) holds a row, so a
    table added later cannot go uncopied unnoticed: build_installation must fill it too."""
    async with aiosqlite.connect(path) as conn:
        names = [
            str(row[0])
            for row in await conn.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
            )
        ]
        assert MARKER in names
        empty = []
        for name in names:
            rows = list(await conn.execute_fetchall(f"SELECT COUNT(*) FROM {name}"))
            if rows[0][0] == 0 and name != MARKER:
                empty.append(name)
    assert empty == [], f"build_installation writes no row into {empty}"


async def check_installation(db: Database, ids: Built) -> None:
    """Everything build_installation wrote, read through the repositories."""
    one = await db.users.get(1)
    assert one is not None and one.language == "en" and one.linked
    two = await db.users.get(2)
    assert two is not None and two.language == "ru" and not two.linked
    assert await stored_account(db, 1) == Account(101, "KEY-user-one-0123456789")
    assert await stored_account(db, 3) == Account(303, "KEY-user-three-0123456789")
    assert await stored_account(db, 4) is None
    notices = await db.notices.pending(10)
    assert [(n.user_id, n.kind) for n in notices] == [(4, "link-again")]
    watches = await db.watches.open()
    assert {(w.user_id, w.order_id, w.kind) for w in watches} == {
        (1, "47001", "install"),
        (3, "47003", "reinstall"),
    }
    first = next(w for w in watches if w.user_id == 1)
    assert first.id == ids.watch and first.status_message_id == 9
    reinstall = next(w for w in watches if w.user_id == 3)
    assert db.watches.same_password(reinstall, "pw-1") is True
    assert [a.action for a in await actions_of(db, 1)] == ["reboot"]
    due = await db.deletions.due(NOW + 300)
    assert [(d.id, d.chat_id, d.message_id) for d in due] == [(ids.deletion, 1, 77)]
    assert await db.fsm.get_state(FSM_KEY) == "Link:key"
    assert await db.fsm.get_data(FSM_KEY) == {"cid": 303, "ünïcode": "✓"}
    prefs = await db.alerts.prefs(1)
    assert prefs.notice_days == (5, 2) and prefs.low_balance
    account = await db.accounts.active_id(1)
    assert account is not None
    state = await check_state(db, account)
    assert state is not None and state.next_check_at == NOW + 900
    assert (await db.alerts.seen(account))[("balance", "1")].value == "12.50"
    assert not await db.alerts.is_monitored(1, account, "47009")
    assert [(a.kind, a.text) for a in await db.alerts.unsent(10)] == [
        ("renewal", "Renews in 7 days")
    ]
    servers = await db.alerts.monitored()
    assert [(s.order_id, s.state, s.ip) for s in servers] == [("47001", "up", "203.0.113.5")]
    refusal = await db.link_attempts.check(3, LIMITS)
    assert refusal == LinkRefusal(wait=60.0, everyone=False)
    assert not await db.seen_updates.first_time(555)
    invite = await db.invites.peek(ids.invite)
    assert invite is not None and (invite.account_id, invite.role) == (account, Role.OPERATOR)
    assert await db.confirmations.peek(1, ids.confirmation) is not None
    assert await db.server_names.all(account) == {"47001": "web-1 ✓"}
    pushes = await db.watches.team_pushes()
    assert [(p.user_id, p.order_id, p.text) for p in pushes] == [(3, "47002", "Server ready")]


async def migrate_command(tmp_path: Path, env: dict[str, str], *args: str) -> Result:
    return await run(tmp_path, env, "migrate-to-postgres", *args)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "secret.key"
    path.parent.mkdir(mode=0o700)
    create_key_file(path)
    return path


def command_env(tmp_path: Path, key_file: Path, postgres_url: str) -> dict[str, str]:
    return process_env(
        DATABASE_URL=postgres_url,
        ENCRYPTION_KEY_FILE=str(key_file),
        DATABASE_PATH=str(tmp_path / "elsewhere.sqlite3"),
    )


async def test_an_installation_is_copied_whole_once(
    tmp_path: Path, key_file: Path, postgres_url: str
) -> None:
    keyring = KeyRing.load(None, key_file)
    source = tmp_path / "data" / "bot.sqlite3"
    ids = await build_installation(source, keyring)
    await assert_every_table_filled(source)
    before = source.read_bytes()
    env = command_env(tmp_path, key_file, postgres_url)

    copied = await migrate_command(tmp_path, env, "--from", str(source))
    assert copied.code == 0, copied.stderr
    assert copied.stdout.startswith("inferno-bot: copied ")
    assert "API keys stay encrypted with key" in copied.stdout
    assert source.read_bytes() == before, "the SQLite database is left as it was"

    db = await open_storage(source, key_file, database_url=postgres_url, clock=clock)
    try:
        assert await schema_version(db) == LATEST_VERSION
        await check_installation(db, ids)
    finally:
        await db.close()

    again = await migrate_command(tmp_path, env, "--from", str(source))
    assert again.code == 0, again.stderr
    assert again.stdout.startswith("inferno-bot: nothing to do: PostgreSQL already holds ")
    db = await open_storage(source, key_file, database_url=postgres_url, clock=clock)
    try:
        await check_installation(db, ids)  # nothing doubled: e.g. one action, one notice
        # The PostgreSQL bot runs: new rows never take a copied id...
        new_watch = await start_watch(db, 2, 2, "47009", "install", "debian12")
        assert new_watch.id > ids.watch
        assert await db.deletions.schedule(2, 1, NOW) > ids.deletion
    finally:
        await db.close()


async def test_a_second_copy_never_brings_back_what_the_postgres_bot_spent(
    tmp_path: Path, key_file: Path, postgres_url: str
) -> None:
    keyring = KeyRing.load(None, key_file)
    source = tmp_path / "data" / "bot.sqlite3"
    ids = await build_installation(source, keyring)
    env = command_env(tmp_path, key_file, postgres_url)
    copied = await migrate_command(tmp_path, env, "--from", str(source))
    assert copied.code == 0, copied.stderr

    # The PostgreSQL bot runs: an invite is taken, a confirmation used, the due deletion done,
    # the teammate's copy sent, the watch ended; none of them happens twice.
    db = await open_storage(source, key_file, database_url=postgres_url, clock=clock)
    try:
        assert await db.invites.take(ids.invite) is not None
        assert await db.confirmations.consume(1, ids.confirmation, {"reboot"}) is not None
        await db.deletions.remove(ids.deletion)
        (push,) = await db.watches.team_pushes()
        await db.watches.team_push_done(push.watch_id, push.user_id)
        await db.watches.delete(ids.watch)
    finally:
        await db.close()

    again = await migrate_command(tmp_path, env, "--from", str(source))
    assert again.code == 2, again.stdout
    assert f"PostgreSQL was filled from {source.resolve()} on " in again.line
    assert "copying again would bring back rows spent since; nothing was copied" in again.line
    db = await open_storage(source, key_file, database_url=postgres_url, clock=clock)
    try:
        assert await db.invites.take(ids.invite) is None
        assert await db.confirmations.consume(1, ids.confirmation, {"reboot"}) is None
        assert await db.deletions.due(NOW + 300) == []
        assert await db.watches.team_pushes() == []
        assert ids.watch not in {w.id for w in await db.watches.open()}
        # Even with every table emptied, the database counts as filled by that copy.
        for table in await db._conn.fetchall(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename NOT IN ('schema_version', 'copied_from')"
        ):
            await db._conn.execute(f"DELETE FROM {table[0]}")
    finally:
        await db.close()
    emptied = await migrate_command(tmp_path, env, "--from", str(source))
    assert emptied.code == 2 and "nothing was copied" in emptied.line, emptied.stdout


async def test_refused_into_a_database_a_bot_has_run_on(
    tmp_path: Path, key_file: Path, postgres_url: str
) -> None:
    source = tmp_path / "data" / "bot.sqlite3"
    await build_installation(source, KeyRing.load(None, key_file))
    async with await Database.open_url(postgres_url, KeyRing.load(None, key_file)) as db:
        await db.users.ensure(9, "en")  # a PostgreSQL bot met someone, no copy was made
    env = command_env(tmp_path, key_file, postgres_url)
    refused = await migrate_command(tmp_path, env, "--from", str(source))
    assert refused.code == 2, refused.stdout
    assert "PostgreSQL's table users already holds rows that " in refused.line
    assert refused.line.endswith(
        "the target is not empty (another installation, or a bot has run on it); nothing was copied"
    )
    async with await Database.open_url(postgres_url, KeyRing.load(None, key_file)) as db:
        for table in ("actions", "invites", "copied_from"):
            row = await db._conn.fetchone(f"SELECT COUNT(*) FROM {table}")
            assert row is not None and row[0] == 0, table


async def test_refused_while_the_sqlite_bot_runs_or_without_its_key(
    tmp_path: Path, key_file: Path, postgres_url: str
) -> None:
    source = tmp_path / "data" / "bot.sqlite3"
    await build_installation(source, KeyRing.load(None, key_file))
    env = command_env(tmp_path, key_file, postgres_url)

    lock = DatabaseLock.acquire(source, BOT)  # what the running bot holds
    try:
        refused = await migrate_command(tmp_path, env, "--from", str(source))
    finally:
        lock.release()
    assert refused.code == 2
    assert "stop the bot first, then run migrate-to-postgres again" in refused.line

    other_key = tmp_path / "other.key"
    write_key_file(other_key, [generate_key()])
    wrong = await migrate_command(
        tmp_path, {**env, "ENCRYPTION_KEY_FILE": str(other_key)}, "--from", str(source)
    )
    assert wrong.code == 2
    assert "could not read them, so nothing was copied" in wrong.line

    no_url = await migrate_command(
        tmp_path, {k: v for k, v in env.items() if k != "DATABASE_URL"}, "--from", str(source)
    )
    assert no_url.code == 2 and "DATABASE_URL, which is not set" in no_url.line

    # Nothing reached PostgreSQL: a first real run copies everything.
    copied = await migrate_command(tmp_path, env, "--from", str(source))
    assert copied.code == 0 and copied.stdout.startswith("inferno-bot: copied "), copied.stderr


async def test_an_older_sqlite_schema_is_migrated_first(
    tmp_path: Path, key_file: Path, postgres_url: str
) -> None:
    keyring = KeyRing.load(None, key_file)
    source = tmp_path / "data" / "bot.sqlite3"
    async with aiosqlite.connect(source, isolation_level=None) as conn:
        await migrate(conn, target=1)
        key_id, blob = keyring.encrypt(42, "KEY-42-0123456789")
        await conn.execute(
            "INSERT INTO users (id, language, cid, api_key, key_id, created_at, updated_at) "
            "VALUES (42, 'ru', 777, ?, ?, 1.0, 1.0)",
            (blob, key_id),
        )
    env = command_env(tmp_path, key_file, postgres_url)
    copied = await migrate_command(tmp_path, env, "--from", str(source))
    assert copied.code == 0, copied.stderr
    async with aiosqlite.connect(source) as conn:
        rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    assert rows[0][0] == LATEST_VERSION
    db = await open_storage(source, key_file, database_url=postgres_url)
    try:
        assert await stored_account(db, 42) == Account(777, "KEY-42-0123456789")
    finally:
        await db.close()


async def test_a_failing_copy_leaves_postgres_as_it_was(
    tmp_path: Path, key_file: Path, postgres_url: str
) -> None:
    source = tmp_path / "data" / "bot.sqlite3"
    await build_installation(source, KeyRing.load(None, key_file))
    async with await Database.open_url(postgres_url, KeyRing.load(None, key_file)) as db:
        # Tables are copied in name order: actions and users go in before watches fails.
        await db._conn.execute(
            "ALTER TABLE watches ADD CONSTRAINT no_debian CHECK (template != 'debian12')"
        )
    env = command_env(tmp_path, key_file, postgres_url)
    failed = await migrate_command(tmp_path, env, "--from", str(source))
    assert failed.code == 2, failed.stderr
    assert "no_debian" in failed.line and failed.line.endswith("; nothing was copied")
    async with await Database.open_url(postgres_url, KeyRing.load(None, key_file)) as db:
        for table in ("actions", "users", "watches"):
            row = await db._conn.fetchone(f"SELECT COUNT(*) FROM {table}")
            assert row is not None and row[0] == 0, table
