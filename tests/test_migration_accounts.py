"""Schema 8 (accounts and memberships) takes a database made by schema 7 forward: a linked user
stays linked with the same key, an open install watch is still watched (and finishes), and
the settings stay. The old database is written as the bot of schema 7 wrote it."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import aiosqlite
import pytest

from bot.inferno.client import InfernoClient
from bot.storage.crypto import KeyRing
from bot.storage.keyfile import generate_key, write_key_file
from bot.storage.migrations import migrate
from tests.harness import creds_of, running_bot
from tests.storage_helpers import stored_account, watch_by_id
from tests.test_flow_servers import sim_server_ip

LINKED, UNLINKED = 7001, 7002


async def _schema_7_database(path: Path, keyring: KeyRing, cid: int, key: str) -> None:
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await migrate(conn, target=7) == 7
        key_id, blob = keyring.encrypt(LINKED, key)
        await conn.execute(
            "INSERT INTO users (id, language, cid, api_key, key_id, created_at, updated_at) "
            "VALUES (?, 'ru', ?, ?, ?, 1.0, 2.0)",
            (LINKED, cid, blob, key_id),
        )
        await conn.execute(
            "INSERT INTO users (id, language, created_at, updated_at) VALUES (?, 'en', 1.0, 1.0)",
            (UNLINKED,),
        )
        await conn.execute(
            "INSERT INTO alert_prefs (user_id, down, renewals, notice_days, low_balance, "
            "balance_threshold) VALUES (?, 0, 1, '5,2', 1, '25')",
            (LINKED,),
        )
        await conn.execute(
            "INSERT INTO notices (user_id, kind, created_at) VALUES (?, 'link-again', 3.0)",
            (UNLINKED,),
        )


@pytest.mark.embedded_only(
    "an upgrade of a SQLite file an older bot wrote; tests/test_postgres.py migrates PostgreSQL"
)
async def test_a_schema_7_database_keeps_its_user_watch_and_settings(tmp_path: Path) -> None:
    async with running_bot(tmp_path, start=False) as env:
        customer = env.customer()
        # An install the old bot started and was watching at the upgrade.
        client = InfernoClient(env.sim_server.url)
        try:
            order_id = (await client.create(creds_of(customer), "101")).order_id
            await client.install(creds_of(customer), order_id, "debian12", [], run=True)
        finally:
            await client.aclose()
        key = generate_key()
        write_key_file(env.settings.encryption_key_file, [key])
        await _schema_7_database(
            env.settings.database_path, KeyRing([key]), customer.cid, customer.key
        )
        with sqlite3.connect(env.settings.database_path) as conn:
            conn.execute(
                "INSERT INTO watches (user_id, chat_id, order_id, kind, template, started_at, "
                "next_poll_at, accepted_at) VALUES (?, ?, ?, 'install', 'debian12', ?, ?, ?)",
                (LINKED, LINKED, order_id, time.time(), time.time(), time.time()),
            )
        env.tg.add_user(LINKED, language_code="ru")
        await env.start()

        db = env.db
        # The key moved with its ciphertext; nothing of it stays in the users row.
        assert await stored_account(db, LINKED) is not None
        user, account = await db.users.ensure_with_account(LINKED, "en")
        assert user.language == "ru" and user.linked and user.cid == customer.cid
        assert account is not None and account.api_key == customer.key
        row = await db._conn.fetchone(
            "SELECT COUNT(*) FROM users WHERE api_key IS NOT NULL OR cid IS NOT NULL"
        )
        assert row is not None and row[0] == 0
        (membership,) = await db.accounts.memberships(LINKED)
        assert membership.role == "owner" and membership.account.owner_id == LINKED
        # The unlinked user is still unlinked, and still owed the notice.
        other = await db.users.get(UNLINKED)
        assert other is not None and not other.linked and other.language == "en"
        # The settings are kept.
        prefs = await db.alerts.prefs(LINKED)
        assert (prefs.down, prefs.notice_days, prefs.low_balance, prefs.balance_threshold) == (
            False,
            (5, 2),
            True,
            "25",
        )
        # The watch belongs to the account, and the watcher finishes it with that key.
        watch = await watch_by_id(db, 1)
        assert watch is not None and watch.account_id == membership.account.id
        await env.tg.wait_for(lambda: bool(env.tg.bot_messages(LINKED)), 10.0, "the ready message")
        await env.settle()
        done = await watch_by_id(db, watch.id)
        assert done is not None and done.notified
        ip = sim_server_ip(customer, order_id)
        assert any(ip in m.text for m in env.tg.bot_messages(LINKED))
        # And the user goes on using the bot as before.
        listing = await env.command(LINKED, "/servers")
        assert "VPS Start" in listing.text
        assert env.tg.errors == []
