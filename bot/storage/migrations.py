"""Schema migrations: one numbered list for SQLite and PostgreSQL.

``MIGRATIONS[n]`` upgrades a database from version ``n`` to ``n + 1``. Never edit a migration
that has shipped; append a new one instead. Migrations are written in SQLite's DDL with the
types INTEGER, REAL, TEXT and BLOB only; :func:`to_postgres` maps them for PostgreSQL by rule
(never by a second, hand-kept copy). SQLite keeps the version in ``PRAGMA user_version``,
PostgreSQL in the one-row table ``schema_version`` (bot/storage/postgres.py).
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import suppress
from pathlib import Path

import aiosqlite

from bot.storage.errors import SchemaTooNewError

MIGRATIONS: tuple[str, ...] = (
    # 1: initial schema
    """
    CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        language    TEXT,
        cid         INTEGER,
        api_key     BLOB,
        key_id      TEXT,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL
    );
    CREATE TABLE watches (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id            INTEGER NOT NULL,
        chat_id            INTEGER NOT NULL,
        order_id           TEXT NOT NULL,
        kind               TEXT NOT NULL CHECK (kind IN ('install', 'reinstall')),
        template           TEXT NOT NULL,
        started_at         REAL NOT NULL,
        last_state         TEXT,
        status_message_id  INTEGER,
        last_edit_at       REAL,
        failures           INTEGER NOT NULL DEFAULT 0,
        next_poll_at       REAL NOT NULL,
        notified           INTEGER NOT NULL DEFAULT 0,
        timed_out          INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE actions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id     INTEGER NOT NULL,
        action      TEXT NOT NULL,
        order_id    TEXT,
        result      TEXT NOT NULL,
        created_at  REAL NOT NULL
    );
    CREATE TABLE fsm (
        bot_id                  INTEGER NOT NULL,
        chat_id                 INTEGER NOT NULL,
        user_id                 INTEGER NOT NULL,
        thread_id               INTEGER NOT NULL,
        business_connection_id  TEXT NOT NULL,
        destiny                 TEXT NOT NULL,
        state                   TEXT,
        data                    TEXT NOT NULL DEFAULT '{}',
        updated_at              REAL NOT NULL,
        PRIMARY KEY (bot_id, chat_id, user_id, thread_id, business_connection_id, destiny)
    );
    """,
    # 2: confirmations and scheduled message deletions, plus indexes for the hot queries
    """
    CREATE TABLE confirmations (
        token       TEXT PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        action      TEXT NOT NULL,
        payload     TEXT NOT NULL,
        created_at  REAL NOT NULL,
        expires_at  REAL NOT NULL
    );
    CREATE INDEX confirmations_user ON confirmations (user_id);
    CREATE INDEX confirmations_expiry ON confirmations (expires_at);
    CREATE TABLE deletions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id     INTEGER NOT NULL,
        message_id  INTEGER NOT NULL,
        delete_at   REAL NOT NULL,
        UNIQUE (chat_id, message_id)
    );
    CREATE INDEX deletions_due ON deletions (delete_at);
    CREATE INDEX watches_user_order ON watches (user_id, order_id);
    CREATE INDEX watches_open ON watches (next_poll_at) WHERE notified = 0 AND timed_out = 0;
    CREATE INDEX actions_user ON actions (user_id, id);
    CREATE INDEX fsm_user ON fsm (user_id);
    """,
    # 3: messages owed to users, sent by the bot when it runs (e.g. "link your account again"
    # after the operator gave up accounts whose key was lost)
    """
    CREATE TABLE notices (
        user_id     INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        created_at  REAL NOT NULL,
        PRIMARY KEY (user_id, kind)
    );
    """,
    # 4: install watches written before the provider is asked (outcome_unknown until it answers),
    # so a crash during the call leaves a watch to find out what happened; a keyed digest of
    # the root password before a reinstall (never the password), the server's known address,
    # when the provider accepted, and what the status message shows. Touches only `watches`.
    """
    ALTER TABLE watches ADD COLUMN outcome_unknown INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE watches ADD COLUMN accepted_at REAL;
    ALTER TABLE watches ADD COLUMN password_mac TEXT;
    ALTER TABLE watches ADD COLUMN known_ip TEXT;
    ALTER TABLE watches ADD COLUMN status_drawn TEXT;
    """,
    # 5: alerts (bot/services/alerts.py): notification settings, what the last checks saw,
    # and the outbox of alert messages. An alert's key (user, kind, subject, occurrence) is its
    # primary key, so an event is stored once; a row is sent while sent_at is NULL.
    """
    CREATE TABLE alert_prefs (
        user_id            INTEGER PRIMARY KEY,
        down               INTEGER NOT NULL DEFAULT 1,
        renewals           INTEGER NOT NULL DEFAULT 1,
        notice_days        TEXT NOT NULL DEFAULT '7,3,1',
        unpaid             INTEGER NOT NULL DEFAULT 1,
        low_balance        INTEGER NOT NULL DEFAULT 0,
        balance_threshold  TEXT NOT NULL DEFAULT '10',
        blocked            INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE alert_accounts (
        user_id        INTEGER PRIMARY KEY,
        cid            INTEGER NOT NULL,
        next_check_at  REAL NOT NULL,
        failures       INTEGER NOT NULL DEFAULT 0,
        refused_told   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX alert_accounts_due ON alert_accounts (next_check_at);
    CREATE TABLE alert_servers (
        user_id     INTEGER NOT NULL,
        order_id    TEXT NOT NULL,
        monitored   INTEGER NOT NULL DEFAULT 1,
        active      INTEGER NOT NULL DEFAULT 1,
        name        TEXT,
        ip          TEXT,
        state       TEXT NOT NULL DEFAULT 'idle',
        since       REAL,
        PRIMARY KEY (user_id, order_id)
    );
    CREATE TABLE alert_seen (
        user_id   INTEGER NOT NULL,
        kind      TEXT NOT NULL,
        subject   TEXT NOT NULL,
        value     TEXT NOT NULL,
        seen_at   REAL NOT NULL,
        PRIMARY KEY (user_id, kind, subject)
    );
    CREATE TABLE alert_events (
        user_id     INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        subject     TEXT NOT NULL,
        occurrence  TEXT NOT NULL,
        created_at  REAL NOT NULL,
        text        TEXT,
        markup      TEXT,
        sent_at     REAL,
        PRIMARY KEY (user_id, kind, subject, occurrence)
    );
    CREATE INDEX alert_events_unsent ON alert_events (created_at) WHERE sent_at IS NULL;
    """,
    # 6: failed link attempts, per user and across all users (bot/storage/link_attempts.py)
    """
    CREATE TABLE link_guard (
        user_id     INTEGER PRIMARY KEY,
        failures    INTEGER NOT NULL,
        wait_until  REAL NOT NULL
    );
    CREATE TABLE link_attempts (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id  INTEGER NOT NULL,
        at       REAL NOT NULL,
        failed   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX link_attempts_at ON link_attempts (at);
    """,
    # 7: update ids taken in over the webhook, so a delivery Telegram retries is handled once;
    # only recent ones are kept (the housekeeping loop purges the rest)
    """
    CREATE TABLE seen_updates (
        update_id  INTEGER PRIMARY KEY,
        seen_at    REAL NOT NULL
    );
    CREATE INDEX seen_updates_age ON seen_updates (seen_at);
    """,
    # 8: several Inferno accounts per Telegram user, shared by role. The key moves from the
    # users row into the account's row (still encrypted with its owner's id as associated data,
    # so the ciphertext moves as it is); every linked user becomes the owner of one account,
    # which is their active one, and each open install watch belongs to it.
    """
    CREATE TABLE accounts (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        owner_id    INTEGER NOT NULL,
        label       TEXT,
        cid         INTEGER NOT NULL,
        api_key     BLOB NOT NULL,
        key_id      TEXT NOT NULL,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL,
        UNIQUE (owner_id, cid)
    );
    CREATE TABLE memberships (
        user_id     INTEGER NOT NULL,
        account_id  INTEGER NOT NULL,
        role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
        joined_at   REAL NOT NULL,
        PRIMARY KEY (user_id, account_id)
    );
    CREATE INDEX memberships_account ON memberships (account_id);
    ALTER TABLE users ADD COLUMN active_account INTEGER;
    ALTER TABLE watches ADD COLUMN account_id INTEGER;
    INSERT INTO accounts (owner_id, cid, api_key, key_id, created_at, updated_at)
        SELECT id, cid, api_key, key_id, created_at, updated_at FROM users
        WHERE cid IS NOT NULL AND api_key IS NOT NULL AND key_id IS NOT NULL;
    INSERT INTO memberships (user_id, account_id, role, joined_at)
        SELECT owner_id, id, 'owner', created_at FROM accounts;
    UPDATE users SET active_account = (SELECT a.id FROM accounts a WHERE a.owner_id = users.id);
    UPDATE watches SET account_id = (
        SELECT a.id FROM accounts a WHERE a.owner_id = watches.user_id
    );
    UPDATE users SET cid = NULL, api_key = NULL, key_id = NULL;
    """,
    # 9: sharing an account: one-time invites (only a hash of the token is stored; an invite
    # carries a role, never a key) and the Telegram name a member joined with (for the owner's
    # members screen and the history).
    """
    CREATE TABLE invites (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        token_hash  TEXT NOT NULL UNIQUE,
        account_id  INTEGER NOT NULL,
        role        TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
        owner_name  TEXT,
        created_at  REAL NOT NULL,
        expires_at  REAL NOT NULL
    );
    CREATE INDEX invites_account ON invites (account_id);
    ALTER TABLE memberships ADD COLUMN name TEXT;
    """,
    # 10: whether a member is told when a server of an account they share gets ready after a
    # teammate's install (each member's own setting)
    """
    ALTER TABLE alert_prefs ADD COLUMN team_ready INTEGER NOT NULL DEFAULT 1;
    """,
    # 11: the history of each account (bot/storage/history.py): the action log names the
    # account acted on and the Telegram name of who acted; older entries are purged
    # (HISTORY_DAYS)
    """
    ALTER TABLE actions ADD COLUMN account_id INTEGER;
    ALTER TABLE actions ADD COLUMN actor TEXT;
    UPDATE actions SET account_id = (
        SELECT MIN(a.id) FROM accounts a WHERE a.owner_id = actions.user_id
    );
    CREATE INDEX actions_account ON actions (account_id, id);
    CREATE INDEX actions_age ON actions (created_at);
    """,
    # 12: the names an account's members give its servers, shown instead of the provider's
    """
    CREATE TABLE server_names (
        account_id  INTEGER NOT NULL,
        order_id    TEXT NOT NULL,
        name        TEXT NOT NULL,
        updated_at  REAL NOT NULL,
        PRIMARY KEY (account_id, order_id)
    );
    """,
    # 13: the outbox of the "server ready" copies for an account's other members, written with
    # the watch's "notified" mark (bot/services/watcher.py), so a crash loses none
    """
    CREATE TABLE team_pushes (
        watch_id    INTEGER NOT NULL,
        user_id     INTEGER NOT NULL,
        account_id  INTEGER NOT NULL,
        order_id    TEXT NOT NULL,
        created_at  REAL NOT NULL,
        text        TEXT NOT NULL,
        button      TEXT NOT NULL,
        PRIMARY KEY (watch_id, user_id)
    );
    CREATE INDEX team_pushes_account ON team_pushes (account_id);
    """,
    # 14: alerts follow accounts, not each user's active one (bot/storage/alerts.py): one check
    # per account (alert_checks), its servers' monitor state (alert_orders) and what its checks
    # saw (alert_observed) are the account's; every member gets their own copy of an alert
    # (alert_outbox, keyed by recipient and account) and turns a server's down alerts off for
    # themselves (alert_mutes). Each user's rows move to the account they were checking (their
    # active one of that cid); the monitor state and what was seen come from the owner's rows,
    # a member's low-balance state stays theirs (subject: their user id).
    """
    CREATE TABLE alert_checks (
        account_id     INTEGER PRIMARY KEY,
        next_check_at  REAL NOT NULL,
        failures       INTEGER NOT NULL DEFAULT 0,
        refused_told   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX alert_checks_due ON alert_checks (next_check_at);
    CREATE TABLE alert_orders (
        account_id  INTEGER NOT NULL,
        order_id    TEXT NOT NULL,
        active      INTEGER NOT NULL DEFAULT 1,
        name        TEXT,
        ip          TEXT,
        state       TEXT NOT NULL DEFAULT 'idle',
        since       REAL,
        PRIMARY KEY (account_id, order_id)
    );
    CREATE TABLE alert_mutes (
        user_id     INTEGER NOT NULL,
        account_id  INTEGER NOT NULL,
        order_id    TEXT NOT NULL,
        PRIMARY KEY (user_id, account_id, order_id)
    );
    CREATE INDEX alert_mutes_account ON alert_mutes (account_id);
    CREATE TABLE alert_observed (
        account_id  INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        subject     TEXT NOT NULL,
        value       TEXT NOT NULL,
        seen_at     REAL NOT NULL,
        PRIMARY KEY (account_id, kind, subject)
    );
    CREATE TABLE alert_outbox (
        user_id     INTEGER NOT NULL,
        account_id  INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        subject     TEXT NOT NULL,
        occurrence  TEXT NOT NULL,
        created_at  REAL NOT NULL,
        text        TEXT,
        markup      TEXT,
        sent_at     REAL,
        PRIMARY KEY (user_id, account_id, kind, subject, occurrence)
    );
    CREATE INDEX alert_outbox_unsent ON alert_outbox (created_at) WHERE sent_at IS NULL;
    CREATE INDEX alert_outbox_account ON alert_outbox (account_id, kind, subject);
    CREATE TABLE alert_move (
        user_id     INTEGER PRIMARY KEY,
        account_id  INTEGER NOT NULL,
        owner       INTEGER NOT NULL
    );
    INSERT INTO alert_move (user_id, account_id, owner)
        SELECT aa.user_id, MIN(m.account_id), MAX(CASE WHEN m.role = 'owner' THEN 1 ELSE 0 END)
        FROM alert_accounts aa
        JOIN memberships m ON m.user_id = aa.user_id
        JOIN accounts ac ON ac.id = m.account_id AND ac.cid = aa.cid
        GROUP BY aa.user_id;
    INSERT INTO alert_checks (account_id, next_check_at, failures, refused_told)
        SELECT mv.account_id, MIN(aa.next_check_at), MAX(aa.failures), MAX(aa.refused_told)
        FROM alert_accounts aa JOIN alert_move mv ON mv.user_id = aa.user_id
        GROUP BY mv.account_id;
    INSERT INTO alert_orders (account_id, order_id, active, name, ip, state, since)
        SELECT mv.account_id, s.order_id, s.active, s.name, s.ip, s.state, s.since
        FROM alert_servers s JOIN alert_move mv ON mv.user_id = s.user_id AND mv.owner = 1;
    INSERT INTO alert_mutes (user_id, account_id, order_id)
        SELECT s.user_id, mv.account_id, s.order_id
        FROM alert_servers s JOIN alert_move mv ON mv.user_id = s.user_id
        WHERE s.monitored = 0;
    INSERT INTO alert_observed (account_id, kind, subject, value, seen_at)
        SELECT mv.account_id, o.kind, o.subject, o.value, o.seen_at
        FROM alert_seen o JOIN alert_move mv ON mv.user_id = o.user_id AND mv.owner = 1
        WHERE o.kind != 'balance';
    INSERT INTO alert_observed (account_id, kind, subject, value, seen_at)
        SELECT mv.account_id, o.kind, CAST(o.user_id AS TEXT), o.value, o.seen_at
        FROM alert_seen o JOIN alert_move mv ON mv.user_id = o.user_id
        WHERE o.kind = 'balance';
    INSERT INTO alert_outbox (user_id, account_id, kind, subject, occurrence, created_at, text,
        markup, sent_at)
        SELECT e.user_id, mv.account_id, e.kind, e.subject, e.occurrence, e.created_at, e.text,
            e.markup, e.sent_at
        FROM alert_events e JOIN alert_move mv ON mv.user_id = e.user_id;
    DROP TABLE alert_move;
    DROP TABLE alert_accounts;
    DROP TABLE alert_servers;
    DROP TABLE alert_seen;
    DROP TABLE alert_events;
    """,
    # 15: which SQLite file filled this database, and when (bot/storage/copy_to_postgres.py):
    # once a copy was made, running it again refuses rather than bring back rows spent since.
    # And until when a watch's install call may still be waiting for the provider in some
    # replica (bot/services/watcher.py): every replica's watcher leaves it alone till then.
    """
    ALTER TABLE watches ADD COLUMN busy_until REAL;
    CREATE TABLE copied_from (
        id         INTEGER PRIMARY KEY,
        source     TEXT NOT NULL,
        copied_at  REAL NOT NULL,
        row_count  INTEGER NOT NULL
    );
    """,
)

LATEST_VERSION = len(MIGRATIONS)


def split_statements(script: str) -> list[str]:
    """Split a migration script into statements.

    ``executescript`` cannot be used: it COMMITs any open transaction first, and the version
    check plus the migration must share one transaction so that two processes starting at once
    cannot both apply the same migration.
    """
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError("migration script ends with an incomplete statement")
    return statements


# SQLite type -> PostgreSQL type. INTEGER is 64-bit in SQLite, and Telegram ids need it.
_PG_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA", "TEXT": "TEXT"}
_AUTOINCREMENT = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.IGNORECASE)
_TYPE_WORD = re.compile(r"\b(INTEGER|REAL|BLOB|NUMERIC|BOOLEAN|DATETIME|VARCHAR)\b", re.IGNORECASE)
_SQLITE_ONLY = re.compile(
    r"\b(AUTOINCREMENT|WITHOUT\s+ROWID|PRAGMA|INSERT\s+OR|REPLACE\s+INTO|STRICT|GLOB|rowid|"
    r"strftime|julianday|datetime|IFNULL)\b",
    re.IGNORECASE,
)


def to_postgres(statement: str) -> str:
    """One migration statement in PostgreSQL's DDL.

    ``INTEGER PRIMARY KEY AUTOINCREMENT`` becomes an identity column (filled by
    ``Connection.insert``'s ``RETURNING id``); every other INTEGER a BIGINT (a plain
    ``INTEGER PRIMARY KEY``, the Telegram user id, stays a plain key), REAL a DOUBLE PRECISION,
    BLOB a BYTEA. Quoted literals are left alone. Anything only SQLite understands raises
    ``ValueError``, so a migration that breaks the rules fails the tests on both engines.
    """
    parts = statement.split("'")
    for i in range(0, len(parts), 2):  # the even parts are outside quoted literals
        code = _AUTOINCREMENT.sub("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", parts[i])
        found = _SQLITE_ONLY.search(code)
        if found:
            raise ValueError(f"not portable to PostgreSQL: {found.group(0)!r} in {statement!r}")

        def mapped(match: re.Match[str]) -> str:
            word = match.group(1).upper()
            if word not in _PG_TYPES:
                raise ValueError(f"migrations use INTEGER, REAL, TEXT, BLOB only, not {word}")
            return _PG_TYPES[word]

        parts[i] = _TYPE_WORD.sub(mapped, code)
    return "'".join(parts)


async def schema_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


def check_version(version: int, path: Path | str) -> None:
    """Raise :class:`SchemaTooNewError` for a schema this version of the bot does not know."""
    if version > LATEST_VERSION:
        raise SchemaTooNewError(
            f"database {path} has schema version {version}, but this version of the bot only "
            f"knows up to {LATEST_VERSION}: it was written by a newer inferno-bot. Upgrade the "
            "bot or restore a backup made with this version."
        )


async def migrate(
    conn: aiosqlite.Connection, *, target: int | None = None, path: Path | str = "database"
) -> int:
    """Bring the schema up to ``target`` (default: latest); return the resulting version.

    ``conn`` must be in autocommit mode (``isolation_level=None``). ``path`` only names the
    database in error messages.
    """
    target = LATEST_VERSION if target is None else target
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"unknown schema version {target}")
    version = await schema_version(conn)
    check_version(version, path)
    while version < target:
        await conn.execute_fetchall("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = await schema_version(conn)
            if version < target:
                for statement in split_statements(MIGRATIONS[version]):
                    await conn.execute_fetchall(statement)
                version += 1
                # PRAGMA cannot take bound parameters; version is an int we computed.
                await conn.execute_fetchall(f"PRAGMA user_version = {version:d}")
            await conn.execute_fetchall("COMMIT")
        except BaseException:
            with suppress(sqlite3.OperationalError):
                await conn.execute_fetchall("ROLLBACK")
            raise
    return version
