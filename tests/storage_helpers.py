"""What tests read from the database that the bot itself never asks for.

Plain SQL on the bot's own connection (so a test sees exactly what the bot committed), mapped
to the storage layer's row types. None of this belongs in the product: no screen needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage import Account, Database, KeyRing, Watch
from bot.storage.alerts import CheckState
from bot.storage.connection import Connection
from bot.storage.keyfile import generate_key
from bot.storage.repositories import WatchIntent, _from_row, _watch


@dataclass(frozen=True, slots=True)
class ActionEntry:
    """One row of the action log."""

    id: int
    user_id: int
    action: str
    order_id: str | None
    result: str
    created_at: float


def _conn(db: Database) -> Connection:
    return db._conn


def new_keyring() -> KeyRing:
    """A key ring with one fresh key that lives only in memory."""
    return KeyRing([generate_key()])


async def stored_account(db: Database, user_id: int) -> Account | None:
    """The user's decrypted credentials, or None when not linked.

    Raises :class:`~bot.storage.DecryptionError` when the stored key cannot be decrypted.
    """
    row = await _conn(db).fetchone(
        "SELECT a.owner_id, a.cid, a.api_key, a.key_id FROM users u "
        "JOIN memberships m ON m.user_id = u.id AND m.account_id = u.active_account "
        "JOIN accounts a ON a.id = m.account_id WHERE u.id = ?",
        (user_id,),
    )
    if row is None:
        return None
    api_key = db.keyring.decrypt(row["owner_id"], row["key_id"], row["api_key"])
    return Account(cid=row["cid"], api_key=api_key)


async def user_count(db: Database) -> int:
    row = await _conn(db).fetchone("SELECT COUNT(*) FROM users")
    return int(row[0]) if row is not None else 0


async def linked_user_ids(db: Database) -> list[int]:
    rows = await _conn(db).fetchall(
        "SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id "
        "AND m.account_id = u.active_account ORDER BY u.id"
    )
    return [int(row["id"]) for row in rows]


async def watch_by_id(db: Database, watch_id: int) -> Watch | None:
    row = await _conn(db).fetchone("SELECT * FROM watches WHERE id = ?", (watch_id,))
    return _watch(row) if row is not None else None


async def watches_of(db: Database, user_id: int) -> list[Watch]:
    """Every watch of the user, open or finished, oldest first."""
    rows = await _conn(db).fetchall(
        "SELECT * FROM watches WHERE user_id = ? ORDER BY started_at, id", (user_id,)
    )
    return [_watch(row) for row in rows]


async def actions_of(db: Database, user_id: int, limit: int = 50) -> list[ActionEntry]:
    """The user's action log, newest first."""
    rows = await _conn(db).fetchall(
        "SELECT * FROM actions WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user_id, limit)
    )
    return [_from_row(ActionEntry, row) for row in rows]


async def schema_version(db: Database) -> int:
    sql = "PRAGMA user_version" if db.path is not None else "SELECT version FROM schema_version"
    row = await _conn(db).fetchone(sql)
    return int(row[0]) if row is not None else 0


async def start_watch(
    db: Database,
    user_id: int,
    chat_id: int,
    order_id: str,
    kind: str,
    template: str,
    status_message_id: int | None = None,
) -> Watch:
    """A watch of an install the provider accepted, made the way the bot makes one: a
    confirmation of ``kind`` spent by ``start_confirmed``, then ``accepted``. Any earlier watch
    of the same user and order is dropped, as on a real confirm."""
    token = await db.confirmations.issue(user_id, kind, {"order_id": order_id})
    started = await db.watches.start_confirmed(
        user_id,
        token,
        {kind},
        chat_id=chat_id,
        status_message_id=status_message_id,
        intent=lambda _confirmation: WatchIntent(order_id=order_id, template=template),
    )
    assert started is not None, "a fresh confirmation is always there to spend"
    _confirmation, watch = started
    await db.watches.accepted(watch.id)
    # None when a concurrent start for the same order has already replaced it.
    accepted = await watch_by_id(db, watch.id)
    return accepted if accepted is not None else watch


async def check_state(db: Database, account_id: int) -> CheckState | None:
    """How the alerts' checks of an account stand; None before the first one."""
    row = await _conn(db).fetchone(
        "SELECT next_check_at, failures, refused_told FROM alert_checks WHERE account_id = ?",
        (account_id,),
    )
    if row is None:
        return None
    return CheckState(
        account_id=account_id,
        next_check_at=float(row["next_check_at"]),
        failures=int(row["failures"]),
        refused_told=bool(row["refused_told"]),
    )


async def next_account_check(db: Database) -> float | None:
    """When the alerts' next account check is due."""
    row = await _conn(db).fetchone("SELECT MIN(next_check_at) FROM alert_checks")
    return None if row is None or row[0] is None else float(row[0])


async def count_unsent(db: Database) -> int:
    """How many alerts wait in the outbox."""
    row = await _conn(db).fetchone("SELECT COUNT(*) FROM alert_outbox WHERE sent_at IS NULL")
    return int(row[0]) if row is not None else 0


async def stored_api_key(db: Database, owner_id: int) -> bytes | None:
    """The ciphertext of the API key of the account ``owner_id`` owns, as stored."""
    row = await _conn(db).fetchone("SELECT api_key FROM accounts WHERE owner_id = ?", (owner_id,))
    return None if row is None else bytes(row["api_key"])


async def store_api_key(db: Database, owner_id: int, ciphertext: bytes) -> None:
    """Overwrites that ciphertext: a damaged or tampered row. The bot's row caches do not see
    it; restart the bot after."""
    await _conn(db).execute(
        "UPDATE accounts SET api_key = ? WHERE owner_id = ?", (ciphertext, owner_id)
    )
