"""Schema 14 (alerts per account, one copy per member) takes a database made by schema 13
forward: each user's alert rows move to the account they were checking, the owner's monitor
state and what their checks saw become the account's, a member's mute and low-balance state stay
theirs, nothing waiting in the outbox is lost, and the upgraded bot goes on from there (a server
told down is told back up to everyone who heard it was down). The old database is written as
the bot of schema 13 wrote it."""

from __future__ import annotations

import time
from pathlib import Path

import aiosqlite
import pytest

from bot.inferno.client import InfernoClient
from bot.storage.accounts import Role
from bot.storage.crypto import KeyRing
from bot.storage.keyfile import generate_key, write_key_file
from bot.storage.migrations import migrate
from tests.harness import creds_of, running_bot
from tests.storage_helpers import check_state, count_unsent

OWNER, MATE, ELSEWHERE = 7101, 7102, 7103
ACCOUNT, OTHER_ACCOUNT = 1, 2
DOWN_SINCE = 1_000_000.0


async def _schema_13_database(
    path: Path, keyring: KeyRing, cid: int, key: str, order_id: str
) -> None:
    now = time.time()
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await migrate(conn, target=13) == 13

        async def run(sql: str, *params: object) -> None:
            await conn.execute(sql, params)

        for user_id, language in ((OWNER, "en"), (MATE, "ru"), (ELSEWHERE, "en")):
            await run(
                "INSERT INTO users (id, language, created_at, updated_at) VALUES (?, ?, 1, 1)",
                user_id,
                language,
            )
        key_id, blob = keyring.encrypt(OWNER, key)
        await run(
            "INSERT INTO accounts (id, owner_id, cid, api_key, key_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 1, 1)",
            ACCOUNT,
            OWNER,
            cid,
            blob,
            key_id,
        )
        # ELSEWHERE owns another account (a cid the simulator does not know) and is a viewer
        # of OWNER's, but checks their own.
        other_id, other_blob = keyring.encrypt(ELSEWHERE, "KEY-elsewhere-0123456789")
        await run(
            "INSERT INTO accounts (id, owner_id, cid, api_key, key_id, created_at, updated_at) "
            "VALUES (?, ?, 999999, ?, ?, 1, 1)",
            OTHER_ACCOUNT,
            ELSEWHERE,
            other_blob,
            other_id,
        )
        for user_id, account_id, role in (
            (OWNER, ACCOUNT, Role.OWNER),
            (MATE, ACCOUNT, Role.OPERATOR),
            (ELSEWHERE, ACCOUNT, Role.VIEWER),
            (ELSEWHERE, OTHER_ACCOUNT, Role.OWNER),
        ):
            await run(
                "INSERT INTO memberships (user_id, account_id, role, joined_at) "
                "VALUES (?, ?, ?, 1)",
                user_id,
                account_id,
                role.value,
            )
        for user_id, active in ((OWNER, ACCOUNT), (MATE, ACCOUNT), (ELSEWHERE, OTHER_ACCOUNT)):
            await run("UPDATE users SET active_account = ? WHERE id = ?", active, user_id)
        await run(
            "INSERT INTO alert_prefs (user_id, low_balance, balance_threshold, notice_days) "
            "VALUES (?, 1, '50', '5,2')",
            MATE,
        )
        # Schema 13 checked per user, each their active account's cid.
        for user_id, account_cid, failures in (
            (OWNER, cid, 0),
            (MATE, cid, 0),
            (ELSEWHERE, 999999, 2),
        ):
            await run(
                "INSERT INTO alert_accounts (user_id, cid, next_check_at, failures) "
                "VALUES (?, ?, ?, ?)",
                user_id,
                account_cid,
                now + 3600,
                failures,
            )
        for user_id, monitored in ((OWNER, 1), (MATE, 0)):
            await run(
                "INSERT INTO alert_servers (user_id, order_id, monitored, active, name, ip, "
                "state, since) VALUES (?, ?, ?, 1, 'web', '203.0.113.9', ?, ?)",
                user_id,
                order_id,
                monitored,
                "down" if user_id == OWNER else "idle",
                DOWN_SINCE if user_id == OWNER else None,
            )
        for user_id, kind, subject, value in (
            (OWNER, "status", "svc-1", "active"),
            (OWNER, "balance", "", "fired:0"),
            (MATE, "status", "svc-1", "active"),
            (MATE, "balance", "", "armed:3"),
        ):
            await run(
                "INSERT INTO alert_seen (user_id, kind, subject, value, seen_at) "
                "VALUES (?, ?, ?, ?, 5)",
                user_id,
                kind,
                subject,
                value,
            )
        occurrence = str(int(DOWN_SINCE))
        await run(
            "INSERT INTO alert_events (user_id, kind, subject, occurrence, created_at, sent_at) "
            "VALUES (?, 'down', ?, ?, 6, 7)",
            OWNER,
            order_id,
            occurrence,
        )
        # Stored, not yet sent when the old bot stopped.
        await run(
            "INSERT INTO alert_events (user_id, kind, subject, occurrence, created_at, text) "
            "VALUES (?, 'renewal', 'svc-1', '2030-01-01:3', 8, 'Renew svc-1, please')",
            OWNER,
        )


@pytest.mark.embedded_only(
    "an upgrade of a SQLite file an older bot wrote; tests/test_postgres.py migrates PostgreSQL"
)
async def test_a_schema_13_database_keeps_its_alerts_and_goes_on(tmp_path: Path) -> None:
    async with running_bot(
        tmp_path, start=False, alert_interval=3600.0, monitor_interval=3600.0
    ) as env:
        customer = env.customer()
        client = InfernoClient(env.sim_server.url)
        try:
            order_id = (await client.create(creds_of(customer), "101")).order_id
            await client.install(creds_of(customer), order_id, "debian12", [], run=True)
        finally:
            await client.aclose()
        env.sim.complete_installs()  # running again: the outage the old bot told is over
        key = generate_key()
        write_key_file(env.settings.encryption_key_file, [key])
        await _schema_13_database(
            env.settings.database_path, KeyRing([key]), customer.cid, customer.key, order_id
        )
        for user_id in (OWNER, MATE, ELSEWHERE):
            env.tg.add_user(user_id)
        await env.start()
        db = env.db

        # One check state per account.
        state = await check_state(db, ACCOUNT)
        assert state is not None and state.failures == 0
        other = await check_state(db, OTHER_ACCOUNT)
        assert other is not None and other.failures == 2
        # The account's monitor state is the owner's: the server they were told was down runs
        # again, so the first down check of the upgraded bot tells them it is back up (and
        # nobody else: nobody else heard it was down).
        await env.tg.wait_for(
            lambda: any("is back up" in m.text for m in env.tg.bot_messages(OWNER)),
            10.0,
            "back up",
        )
        (server,) = [s for s in await db.alerts.monitored() if s.order_id == order_id]
        assert server.account_id == ACCOUNT
        # The mate's mute and low-balance state are theirs; the settings stay.
        assert not await db.alerts.is_monitored(MATE, ACCOUNT, order_id)
        assert await db.alerts.is_monitored(OWNER, ACCOUNT, order_id)
        seen = await db.alerts.seen(ACCOUNT)
        assert seen[("status", "svc-1")].value == "active"
        assert seen[("balance", str(OWNER))].value == "fired:0"
        assert seen[("balance", str(MATE))].value == "armed:3"
        prefs = await db.alerts.prefs(MATE)
        assert (prefs.low_balance, prefs.balance_threshold, prefs.notice_days) == (
            True,
            "50",
            (5, 2),
        )
        # What was told and what waited are kept, under the account.
        assert await db.alerts.told(ACCOUNT, "down", order_id, str(int(DOWN_SINCE))) == {OWNER}
        await env.tg.wait_for(
            lambda: any("Renew svc-1" in m.text for m in env.tg.bot_messages(OWNER)),
            10.0,
            "the renewal alert that waited in the outbox",
        )

        await env.settle()
        assert not any("back up" in m.text for m in env.tg.bot_messages(MATE))
        assert not any("back up" in m.text for m in env.tg.bot_messages(ELSEWHERE))
        assert await count_unsent(db) == 0
        assert env.tg.errors == []
