"""Inferno accounts and who may use them.

An account belongs to the Telegram user who linked it (its *owner*): its API key is stored in
the account's row alone, encrypted with the owner's id as associated data, and is decrypted
only to make provider calls inside the bot. Other users reach an account through a membership
with a role (viewer < operator < admin < owner); nothing but the owner's row ever holds the key.
Each user has one *active* account (``users.active_account``), the one the menu opens.

Who may use which account is read on every update, and a revoked membership or a lowered role
must hold on the member's very next one. On a database only this process writes (SQLite), the
accesses read are kept in memory, their keys still encrypted, and forgotten at every write to
``users``, ``memberships`` or ``accounts``: those writes all go through this repository's
connection (:class:`~bot.storage.cache.ForgetOnWrite`; ``UserRepository`` writes through it
too), which empties the cache at each one. On a shared database (PostgreSQL with replicas)
another replica may write at any time, so nothing is kept and every update reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.masking import mask_key
from bot.storage.alerts import forget_accounts, forget_member
from bot.storage.cache import ForgetOnWrite, RowCache
from bot.storage.connection import Connection, Executor, Row, in_chunks
from bot.storage.crypto import KeyRing
from bot.storage.errors import DecryptionError

# Accesses kept in memory (SQLite): one or two per user who taps (the active account, and the
# one a button names); the rest are read when needed.
ACCESS_CACHE_SIZE = 10_000

# SQL for the cid of the active account of the user row ``u`` (NULL when they have none).
ACTIVE_CID = (
    "(SELECT ac.cid FROM accounts ac JOIN memberships am ON am.account_id = ac.id "
    "AND am.user_id = u.id WHERE ac.id = u.active_account)"
)


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        return _RANK[self] >= _RANK[needed]


_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """An account as its members see it: never its key."""

    id: int
    owner_id: int
    label: str | None
    cid: int
    created_at: float


@dataclass(frozen=True, slots=True)
class Access:
    """One user's way into one account: the account, their role, and the owner's key for the
    provider calls the bot makes on their behalf (never shown to anyone)."""

    account: AccountInfo
    user_id: int
    role: Role
    joined_at: float
    api_key: str = field(repr=False)
    # How many accounts the user may use (theirs and shared ones).
    accounts: int = 1

    @property
    def masked_key(self) -> str:
        return mask_key(self.api_key)

    def __repr__(self) -> str:
        return (
            f"Access(account={self.account.id}, cid={self.account.cid}, user={self.user_id}, "
            f"role={self.role.value}, api_key={self.masked_key!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Membership:
    account: AccountInfo
    user_id: int
    role: Role
    joined_at: float
    # The Telegram name the member joined with (None for owners linked before schema 9).
    name: str | None = None


def _info(row: Row) -> AccountInfo:
    return AccountInfo(
        id=int(row["id"]),
        owner_id=int(row["owner_id"]),
        label=row["label"],
        cid=int(row["cid"]),
        created_at=float(row["created_at"]),
    )


def _membership(row: Row) -> Membership:
    return Membership(
        _info(row),
        int(row["user_id"]),
        Role(row["role"]),
        float(row["joined_at"]),
        row["name"],
    )


_ACCOUNT_COLUMNS = "a.id, a.owner_id, a.label, a.cid, a.created_at, a.api_key, a.key_id"

# Memberships with their accounts, for Membership rows (_info reads no key column).
_MEMBERSHIPS = (
    f"SELECT {_ACCOUNT_COLUMNS}, m.user_id, m.role, m.joined_at, m.name "
    "FROM memberships m JOIN accounts a ON a.id = m.account_id"
)

# The account a user acts on: the one named (a button drawn for it), else their active one.
_ACCESS = (
    f"SELECT {_ACCOUNT_COLUMNS}, m.user_id, m.role, m.joined_at, "
    "(SELECT COUNT(*) FROM memberships c WHERE c.user_id = u.id) AS accounts FROM users u "
    "JOIN memberships m ON m.user_id = u.id AND m.account_id = COALESCE(?, u.active_account) "
    "JOIN accounts a ON a.id = m.account_id WHERE u.id = ?"
)


# The same with the user's row, in one statement, for an update whose user row is not kept
# (PostgreSQL, where nothing is kept): no row when the user is new; no account columns when the
# user is no member of the account.
_USER_AND_ACCESS = (
    "SELECT u.id AS u_id, u.language AS u_language, u.created_at AS u_created_at, "
    f"u.updated_at AS u_updated_at, {_ACCOUNT_COLUMNS}, m.user_id, m.role, m.joined_at, "
    "(SELECT COUNT(*) FROM memberships c WHERE c.user_id = u.id) AS accounts FROM users u "
    "LEFT JOIN memberships m ON m.user_id = u.id "
    "AND m.account_id = COALESCE(?, u.active_account) "
    "LEFT JOIN accounts a ON a.id = m.account_id WHERE u.id = ?"
)


async def unlink_accounts(tx: Executor, account_ids: list[int]) -> list[int]:
    """Removes the accounts, every membership in them and their install watches in the
    caller's transaction, with the accounts' alerts; a member whose active account went gets
    another of theirs (or none). Returns those members' ids."""
    moved: list[int] = []
    for account_id in account_ids:
        rows = await tx.fetchall("SELECT id FROM users WHERE active_account = ?", (account_id,))
        moved += [int(row["id"]) for row in rows]
        await tx.execute("DELETE FROM memberships WHERE account_id = ?", (account_id,))
        await tx.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
        await tx.execute("DELETE FROM watches WHERE account_id = ?", (account_id,))
        await tx.execute("DELETE FROM invites WHERE account_id = ?", (account_id,))
        await tx.execute("DELETE FROM server_names WHERE account_id = ?", (account_id,))
        await tx.execute("DELETE FROM team_pushes WHERE account_id = ?", (account_id,))
    for user_id in moved:
        await _pick_active(tx, user_id)
    await forget_accounts(tx, account_ids)
    return moved


async def leave_account(tx: Executor, user_id: int, account_id: int) -> None:
    """A member gives up (or loses) an account, in the caller's transaction: their membership
    their install watches and their alerts of it go; another of their accounts becomes active if
    it was."""
    await tx.execute(
        "DELETE FROM memberships WHERE user_id = ? AND account_id = ?", (user_id, account_id)
    )
    await tx.execute(
        "DELETE FROM watches WHERE user_id = ? AND account_id = ?", (user_id, account_id)
    )
    await tx.execute(
        "DELETE FROM team_pushes WHERE user_id = ? AND account_id = ?", (user_id, account_id)
    )
    row = await tx.fetchone(
        "SELECT 1 FROM users WHERE id = ? AND active_account = ?", (user_id, account_id)
    )
    await forget_member(tx, user_id, account_id)
    if row is not None:
        await _pick_active(tx, user_id)


async def _pick_active(tx: Executor, user_id: int) -> None:
    await tx.execute(
        "UPDATE users SET active_account = "
        "(SELECT MIN(account_id) FROM memberships WHERE user_id = ?) WHERE id = ?",
        (user_id, user_id),
    )


@dataclass(frozen=True, slots=True)
class _Sealed:
    """An access as read, its key still encrypted: what the cache keeps."""

    account: AccountInfo
    user_id: int
    role: Role
    joined_at: float
    accounts: int
    key_id: str
    api_key: bytes = field(repr=False)


def _sealed(row: Row) -> _Sealed:
    return _Sealed(
        account=_info(row),
        user_id=int(row["user_id"]),
        role=Role(row["role"]),
        joined_at=float(row["joined_at"]),
        accounts=int(row["accounts"]),
        key_id=row["key_id"],
        api_key=row["api_key"],
    )


# What the cache keeps for a user who is no member of the account asked for.
_NO_ACCESS = _Sealed(AccountInfo(0, 0, None, 0, 0.0), 0, Role.VIEWER, 0.0, 0, "", b"")


class AccountRepository:
    def __init__(
        self,
        conn: Connection,
        keyring: KeyRing,
        *,
        cache_size: int = ACCESS_CACHE_SIZE,
        forget_too: tuple[RowCache[Any, Any], ...] = (),
    ) -> None:
        """``forget_too``: other caches of rows that go with an account (its servers' names),
        forgotten at the same writes."""
        # Nothing is kept when another process writes to the database too.
        self._cache: RowCache[tuple[int, int | None], _Sealed] = RowCache(
            0 if conn.shared else cache_size
        )
        self._conn = ForgetOnWrite(conn, self._cache, *forget_too)
        self._keyring = keyring

    @property
    def connection(self) -> Connection:
        """The connection every read and write of ``users``, ``memberships`` and ``accounts``
        goes through: each write forgets the accesses kept in memory."""
        return self._conn

    def _open(self, sealed: _Sealed) -> Access:
        api_key = self._keyring.decrypt(sealed.account.owner_id, sealed.key_id, sealed.api_key)
        return Access(
            account=sealed.account,
            user_id=sealed.user_id,
            role=sealed.role,
            joined_at=sealed.joined_at,
            api_key=api_key,
            accounts=sealed.accounts,
        )

    async def access(self, user_id: int, account_id: int | None = None) -> Access | None:
        """The user's access to ``account_id`` (their active account when None); None when
        they are no member of it. Raises :class:`DecryptionError` for an unreadable key.

        Kept in memory between writes on a database only this process writes (see the
        module's doc); the key is decrypted on each call all the same."""
        key = (user_id, account_id)
        sealed = self._cache.get(key)
        if sealed is None:
            ticket = self._cache.ticket()
            row = await self._conn.fetchone(_ACCESS, (account_id, user_id))
            sealed = _sealed(row) if row is not None else _NO_ACCESS
            self._cache.fill(key, sealed, ticket)
        return None if sealed is _NO_ACCESS else self._open(sealed)

    async def user_and_access(
        self, user_id: int, account_id: int | None = None
    ) -> tuple[Row | None, Access | None]:
        """The user's row (its columns prefixed ``u_``; None for a user not stored yet) and
        :meth:`access`, in one statement: what an update needs when nothing is kept."""
        key = (user_id, account_id)
        ticket = self._cache.ticket()
        row = await self._conn.fetchone(_USER_AND_ACCESS, (account_id, user_id))
        if row is None:
            return None, None
        sealed = _NO_ACCESS if row["user_id"] is None or row["id"] is None else _sealed(row)
        self._cache.fill(key, sealed, ticket)
        return row, None if sealed is _NO_ACCESS else self._open(sealed)

    async def active_cid(self, user_id: int) -> int | None:
        """The cid of the user's active account, without decrypting anything."""
        row = await self._conn.fetchone(
            f"SELECT {ACTIVE_CID} AS cid FROM users u WHERE u.id = ?", (user_id,)
        )
        return None if row is None or row["cid"] is None else int(row["cid"])

    async def count(self, user_id: int) -> int:
        """How many accounts the user may use."""
        row = await self._conn.fetchone(
            "SELECT COUNT(*) FROM memberships WHERE user_id = ?", (user_id,)
        )
        return int(row[0]) if row is not None else 0

    async def with_several(self, user_ids: list[int]) -> set[int]:
        """Those of ``user_ids`` who may use more than one account."""
        found: set[int] = set()
        for chunk, marks in in_chunks(user_ids):
            rows = await self._conn.fetchall(
                f"SELECT user_id FROM memberships WHERE user_id IN ({marks}) "
                "GROUP BY user_id HAVING COUNT(*) > 1",
                chunk,
            )
            found.update(int(row["user_id"]) for row in rows)
        return found

    async def active_id(self, user_id: int) -> int | None:
        row = await self._conn.fetchone(
            "SELECT u.active_account FROM users u JOIN memberships m ON m.user_id = u.id "
            "AND m.account_id = u.active_account WHERE u.id = ?",
            (user_id,),
        )
        return None if row is None else int(row[0])

    async def memberships(self, user_id: int) -> list[Membership]:
        """Every account the user may use, oldest first."""
        rows = await self._conn.fetchall(
            f"{_MEMBERSHIPS} WHERE m.user_id = ? ORDER BY a.id", (user_id,)
        )
        return [_membership(row) for row in rows]

    async def link(self, owner_id: int, cid: int, api_key: str) -> int:
        """Stores checked credentials as an account of ``owner_id`` (the same cid again gets the
        new key) and makes it their active one; returns its id."""
        key_id, blob = self._keyring.encrypt(owner_id, api_key)
        now = self._conn.clock()
        async with self._conn.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id FROM accounts WHERE owner_id = ? AND cid = ?", (owner_id, cid)
            )
            if row is not None:
                account_id = int(row["id"])
                await tx.execute(
                    "UPDATE accounts SET api_key = ?, key_id = ?, updated_at = ? WHERE id = ?",
                    (blob, key_id, now, account_id),
                )
            else:
                account_id = await tx.insert(
                    "INSERT INTO accounts (owner_id, cid, api_key, key_id, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (owner_id, cid, blob, key_id, now, now),
                )
            await tx.execute(
                "INSERT INTO memberships (user_id, account_id, role, joined_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, account_id) DO NOTHING",
                (owner_id, account_id, Role.OWNER.value, now),
            )
            await tx.execute(
                "INSERT INTO users (id, created_at, updated_at, active_account) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "active_account = excluded.active_account, updated_at = excluded.updated_at",
                (owner_id, now, now, account_id),
            )
        return account_id

    async def set_label(self, account_id: int, label: str | None) -> None:
        await self._conn.execute(
            "UPDATE accounts SET label = ?, updated_at = ? WHERE id = ?",
            (label, self._conn.clock(), account_id),
        )

    async def switch(self, user_id: int, account_id: int) -> bool:
        """Makes ``account_id`` the user's active account; False when they are no member."""
        changed = await self._conn.execute(
            "UPDATE users SET active_account = ?, updated_at = ? WHERE id = ? AND EXISTS "
            "(SELECT 1 FROM memberships WHERE user_id = ? AND account_id = ?)",
            (account_id, self._conn.clock(), user_id, user_id, account_id),
        )
        return changed == 1

    async def unlink(self, account_id: int) -> list[int]:
        """Removes the account and every member's access to it (see :func:`unlink_accounts`)."""
        async with self._conn.transaction() as tx:
            return await unlink_accounts(tx, [account_id])

    async def find(self, owner_id: int, cid: int) -> int | None:
        """The id of ``owner_id``'s account of that cid, if they linked one."""
        row = await self._conn.fetchone(
            "SELECT id FROM accounts WHERE owner_id = ? AND cid = ?", (owner_id, cid)
        )
        return None if row is None else int(row["id"])

    async def owned(self, owner_id: int) -> list[int]:
        rows = await self._conn.fetchall(
            "SELECT id FROM accounts WHERE owner_id = ? ORDER BY id", (owner_id,)
        )
        return [int(row["id"]) for row in rows]

    async def credentials(self, account_ids: list[int]) -> dict[int, tuple[AccountInfo, str]]:
        """The accounts and their decrypted keys, for work the bot does on its own (the install
        watcher). Accounts whose key cannot be decrypted are left out."""
        found: dict[int, tuple[AccountInfo, str]] = {}
        for chunk, marks in in_chunks(account_ids):
            rows = await self._conn.fetchall(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.id IN ({marks})", chunk
            )
            for row in rows:
                try:
                    key = self._keyring.decrypt(row["owner_id"], row["key_id"], row["api_key"])
                except DecryptionError:
                    continue
                found[int(row["id"])] = (_info(row), key)
        return found

    # --- sharing -----------------------------------------------------------------------------

    async def members(self, account_id: int) -> list[Membership]:
        """Everyone who may use the account, the owner first, then by joining time."""
        rows = await self._conn.fetchall(
            f"{_MEMBERSHIPS} WHERE a.id = ? "
            "ORDER BY CASE WHEN m.role = 'owner' THEN 0 ELSE 1 END, m.joined_at, m.user_id",
            (account_id,),
        )
        return [_membership(row) for row in rows]

    async def member(self, account_id: int, user_id: int) -> Membership | None:
        row = await self._conn.fetchone(
            f"{_MEMBERSHIPS} WHERE a.id = ? AND m.user_id = ?", (account_id, user_id)
        )
        return _membership(row) if row is not None else None

    async def join(self, user_id: int, account_id: int, role: Role, name: str | None) -> bool:
        """Makes the user a member with ``role`` (an owner stays owner); their active account
        when they had none. False when the account is gone."""
        now = self._conn.clock()
        async with self._conn.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM accounts WHERE id = ?", (account_id,)) is None:
                return False
            await tx.execute(
                "INSERT INTO memberships (user_id, account_id, role, joined_at, name) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, account_id) DO UPDATE SET "
                "role = CASE WHEN memberships.role = 'owner' THEN memberships.role "
                "ELSE excluded.role END, name = excluded.name",
                (user_id, account_id, role.value, now, name),
            )
            await tx.execute(
                "INSERT INTO users (id, created_at, updated_at, active_account) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET active_account = "
                "COALESCE(users.active_account, excluded.active_account)",
                (user_id, now, now, account_id),
            )
        return True

    async def set_name(self, account_id: int, user_id: int, name: str | None) -> None:
        """The Telegram name the members' screens and the history show for this member."""
        await self._conn.execute(
            "UPDATE memberships SET name = ? WHERE account_id = ? AND user_id = ?",
            (name, account_id, user_id),
        )

    async def set_role(self, account_id: int, user_id: int, role: Role) -> bool:
        """Changes a member's role (never the owner's, never to owner)."""
        if role == Role.OWNER:
            raise ValueError("ownership is not handed over")
        changed = await self._conn.execute(
            "UPDATE memberships SET role = ? WHERE account_id = ? AND user_id = ? "
            "AND role != 'owner'",
            (role.value, account_id, user_id),
        )
        return changed == 1

    async def revoke(self, account_id: int, user_id: int) -> bool:
        """Takes a member's access away (never the owner's); their watches of it go too."""
        async with self._conn.transaction() as tx:
            row = await tx.fetchone(
                "SELECT role FROM memberships WHERE account_id = ? AND user_id = ?",
                (account_id, user_id),
            )
            if row is None or row["role"] == Role.OWNER.value:
                return False
            await leave_account(tx, user_id, account_id)
        return True

    async def info(self, account_id: int) -> AccountInfo | None:
        row = await self._conn.fetchone(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ?", (account_id,)
        )
        return _info(row) if row is not None else None

    async def exists(self, account_id: int) -> bool:
        """Whether the account is still linked (its key readable or not)."""
        row = await self._conn.fetchone("SELECT 1 FROM accounts WHERE id = ?", (account_id,))
        return row is not None
