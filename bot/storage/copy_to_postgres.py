"""``python -m bot migrate-to-postgres --from data/bot.sqlite3``: move a single-process
installation into the PostgreSQL database named by DATABASE_URL.

* The SQLite bot must be stopped: the command takes the database's lock
  (:mod:`bot.storage.lock`) and holds it throughout, so it refuses while the bot runs, and the
  bot refuses to start meanwhile.
* Both schemas are brought to the latest version first, as the bot itself would do at its next
  start: an older SQLite file is migrated in place (it stays a working SQLite database), and a
  new PostgreSQL database gets its tables. A schema newer than this bot knows is refused.
* API keys are copied as they are stored, still encrypted: the PostgreSQL bot needs the same
  master key. Every key id the SQLite rows need must be in the key ring the bot is configured
  with (ENCRYPTION_KEY or ENCRYPTION_KEY_FILE), or nothing is copied.
* Every table is copied in one PostgreSQL transaction, all or nothing, and only into a
  database that holds no rows yet. The same transaction writes a marker row (table
  ``copied_from``: which SQLite file, when, how many rows). A second run changes nothing, ever:
  when PostgreSQL holds exactly the rows of the SQLite file there is nothing to do; otherwise
  it refuses in one line. A row-by-row merge would bring back what the PostgreSQL bot has
  spent since (a taken invite, a used confirmation, a deletion done, a push sent), so there is
  none; the marker makes a copied database count as filled even once its tables are empty.
* The identity sequences are set past the copied ids, so new rows never reuse one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from bot.storage.crypto import KeyRing
from bot.storage.db import Database
from bot.storage.errors import StorageError
from bot.storage.migrations import schema_version as sqlite_version
from bot.storage.postgres import TRANSACTION_LOCK, PostgresConnection
from bot.storage.startup import (
    KeyUse,
    StartupError,
    key_use_sql,
    open_existing,
    open_postgres_storage,
    postgres_reason,
)

ROLE = "migrate-to-postgres"
# The marker of a copy (migration 15); it is PostgreSQL's own, never copied.
MARKER = "copied_from"
# PostgreSQL takes at most 65535 parameters in one statement.
_MAX_PARAMS = 30_000
_MAX_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class TableCopy:
    table: str
    rows: int


@dataclass(frozen=True, slots=True)
class CopyReport:
    tables: tuple[TableCopy, ...]
    schema_version: int
    key_ids: tuple[str, ...]
    # False: PostgreSQL already held exactly these rows (an earlier run copied them), and
    # nothing was written.
    copied: bool

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


class CopyConflictError(StorageError):
    """The target holds rows the SQLite file does not: its own, or the bot's since a copy."""


async def copy_to_postgres(sqlite_path: Path | str, url: str, keyring: KeyRing) -> CopyReport:
    """Copy every table of the SQLite database into PostgreSQL (see the module's docstring).
    Raises a :class:`~bot.storage.errors.StorageError` in one line, changing nothing in
    PostgreSQL, when it cannot."""
    source = await open_existing(Path(sqlite_path), ROLE, keyring)
    try:
        raw = source._conn.raw  # type: ignore[attr-defined]
        use = await _key_use(raw)
        missing = use.missing_from(keyring)
        if missing:
            ids = ", ".join(sorted(missing))
            raise StartupError(
                f"{sum(missing.values())} accounts in DATABASE_PATH={sqlite_path} are encrypted "
                f"with key {ids}, which the configured ENCRYPTION_KEY / ENCRYPTION_KEY_FILE does "
                "not hold; the PostgreSQL bot could not read them, so nothing was copied. "
                "Configure the key the SQLite bot uses"
            )
        target = await open_postgres_storage(url, keyring=keyring)
        try:
            named = await asyncio.to_thread(Path(sqlite_path).resolve)
            tables, copied = await _copy_all(raw, target, named)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            # The copy is one transaction: whatever failed, PostgreSQL holds none of it.
            raise StartupError(
                f"DATABASE_URL ({target.name}): {postgres_reason(exc, url)}; nothing was copied"
            ) from None
        finally:
            await target.close()
        version = await sqlite_version(raw)
    finally:
        await source.close()
    return CopyReport(
        tables=tables,
        schema_version=version,
        key_ids=tuple(sorted(use.accounts)),
        copied=copied,
    )


async def _key_use(raw: aiosqlite.Connection) -> KeyUse:
    version = await sqlite_version(raw)
    rows = await raw.execute_fetchall(key_use_sql(version))
    return KeyUse({str(row[0]): int(row[1]) for row in rows})


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    types: tuple[str, ...]  # PostgreSQL's data_type of each column


async def _copy_all(
    raw: aiosqlite.Connection, target: Database, source: Path
) -> tuple[tuple[TableCopy, ...], bool]:
    """Copies every table (True), or finds them all there already, equal (False)."""
    conn = target._conn
    assert isinstance(conn, PostgresConnection)
    names = [
        str(row[0])
        for row in await raw.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite%' ORDER BY name"
        )
        if row[0] != MARKER
    ]
    async with conn.pool.acquire() as pg, pg.transaction():
        # Serialised with any replica's transactions, should one run already.
        await pg.execute("SELECT pg_advisory_xact_lock($1)", TRANSACTION_LOCK)
        marker = await pg.fetchrow(f"SELECT source, copied_at FROM {MARKER} WHERE id = 1")
        tables: list[_Table] = []
        rows: list[dict[tuple[Any, ...], tuple[Any, ...]]] = []
        differs: str | None = None
        filled: str | None = None
        for name in names:
            table = await _describe(raw, pg, name)
            source_rows = await _source_rows(raw, table)
            target_rows = await _target_rows(pg, table)
            if differs is None and source_rows != target_rows:
                differs = name
            if filled is None and target_rows:
                filled = name
            tables.append(table)
            rows.append(source_rows)
        copies = tuple(TableCopy(t.name, len(r)) for t, r in zip(tables, rows, strict=True))
        if differs is None and (marker is not None or filled is not None):
            return copies, False
        if marker is not None:
            when = datetime.fromtimestamp(float(marker["copied_at"]), UTC)
            raise CopyConflictError(
                f"PostgreSQL was filled from {marker['source']} on "
                f"{when:%Y-%m-%d %H:%M} UTC and its table {differs} differs from {source} "
                "now (a bot has run on one of them since): copying again would bring back rows "
                "spent since; nothing was copied"
            )
        if filled is not None:
            raise CopyConflictError(
                f"PostgreSQL's table {filled} already holds rows that {source} does not: the "
                "target is not empty (another installation, or a bot has run on it); nothing "
                "was copied"
            )
        for table, table_rows in zip(tables, rows, strict=True):
            fresh = list(table_rows.values())
            batch = max(1, min(_MAX_BATCH, _MAX_PARAMS // len(table.columns)))
            for start in range(0, len(fresh), batch):
                await _insert(pg, table, fresh[start : start + batch])
            if "id" in table.columns and await _is_identity(pg, table.name):
                await pg.execute(
                    f"SELECT setval(pg_get_serial_sequence($1, 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)",
                    table.name,
                )
        await pg.execute(
            f"INSERT INTO {MARKER} (id, source, copied_at, row_count) VALUES (1, $1, $2, $3)",
            str(source),
            time.time(),
            sum(len(r) for r in rows),
        )
    return copies, True


async def _describe(raw: aiosqlite.Connection, pg: asyncpg.Connection, name: str) -> _Table:
    info = list(await raw.execute_fetchall(f"PRAGMA table_info({name})"))
    columns = tuple(str(row[1]) for row in info)
    key = tuple(str(row[1]) for row in sorted(info, key=lambda r: int(r[5])) if int(row[5]) > 0)
    if not key:
        raise StartupError(
            f"table {name} has no primary key, so copying it again could duplicate rows; "
            "nothing was copied"
        )
    pg_types = {
        str(row["column_name"]): str(row["data_type"])
        for row in await pg.fetch(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = $1",
            name,
        )
    }
    absent = [c for c in columns if c not in pg_types]
    if absent:
        raise StartupError(
            f"PostgreSQL's table {name} lacks columns {', '.join(absent)}; nothing was copied"
        )
    return _Table(name, columns, key, tuple(pg_types[c] for c in columns))


async def _is_identity(pg: asyncpg.Connection, name: str) -> bool:
    found = await pg.fetchval(
        "SELECT is_identity FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id'",
        name,
    )
    return bool(found == "YES")


def _convert(value: Any, pg_type: str) -> Any:
    """A SQLite value as the PostgreSQL column takes it (SQLite's types are only affinities)."""
    if value is None:
        return None
    if pg_type == "bigint":
        return int(value)
    if pg_type == "double precision":
        return float(value)
    if pg_type == "bytea":
        return bytes(value)
    if pg_type == "text":
        return str(value)
    return value


async def _source_rows(
    raw: aiosqlite.Connection, table: _Table
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """The SQLite table's rows by primary key, each as PostgreSQL's columns take them."""
    key_at = [table.columns.index(k) for k in table.key]
    found: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for source_row in await raw.execute_fetchall(
        f"SELECT {', '.join(table.columns)} FROM {table.name}"
    ):
        row = tuple(_convert(v, t) for v, t in zip(source_row, table.types, strict=True))
        found[tuple(row[i] for i in key_at)] = row
    return found


async def _target_rows(
    pg: asyncpg.Connection, table: _Table
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {
        tuple(row[k] for k in table.key): tuple(row)
        for row in await pg.fetch(f"SELECT {', '.join(table.columns)} FROM {table.name}")
    }


async def _insert(pg: asyncpg.Connection, table: _Table, rows: list[tuple[Any, ...]]) -> None:
    width = len(table.columns)
    values = ", ".join(
        "(" + ", ".join(f"${n * width + i + 1}" for i in range(width)) + ")"
        for n in range(len(rows))
    )
    # The ids are copied as they are (identity columns are GENERATED BY DEFAULT).
    await pg.execute(
        f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES {values}",
        *(value for row in rows for value in row),
    )
