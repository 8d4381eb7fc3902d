"""One-time invites to an account: a random token, shown once as a link; only its SHA-256 is
stored, with the account and the role it offers (never a key). An invite is used up when it is
accepted or declined (one ``DELETE … RETURNING``, so two taps cannot both take it), revoked by
the owner, or expires."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from bot.storage.accounts import Role
from bot.storage.connection import Connection, Row

INVITE_TTL = 24 * 3600.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Invite:
    id: int
    account_id: int
    role: Role
    owner_name: str | None
    created_at: float
    expires_at: float


def _invite(row: Row) -> Invite:
    return Invite(
        id=int(row["id"]),
        account_id=int(row["account_id"]),
        role=Role(row["role"]),
        owner_name=row["owner_name"],
        created_at=float(row["created_at"]),
        expires_at=float(row["expires_at"]),
    )


class InviteRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def create(
        self, account_id: int, role: Role, owner_name: str | None, ttl: float = INVITE_TTL
    ) -> tuple[int, str]:
        """A new invite; returns its id and its token (32 url-safe characters), which is not
        stored."""
        if role == Role.OWNER:
            raise ValueError("an invite cannot offer ownership")
        now = self._conn.clock()
        token = secrets.token_urlsafe(24)
        invite_id = await self._conn.insert(
            "INSERT INTO invites (token_hash, account_id, role, owner_name, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (token_hash(token), account_id, role.value, owner_name, now, now + ttl),
        )
        return invite_id, token

    async def peek(self, token: str) -> Invite | None:
        """The invite behind ``token`` while it can still be used."""
        row = await self._conn.fetchone(
            "SELECT * FROM invites WHERE token_hash = ? AND expires_at > ?",
            (token_hash(token), self._conn.clock()),
        )
        return _invite(row) if row is not None else None

    async def take(self, token: str) -> Invite | None:
        """Uses the invite up (accepted or declined): returns it at most once."""
        row = await self._conn.fetchone(
            "DELETE FROM invites WHERE token_hash = ? RETURNING *", (token_hash(token),)
        )
        if row is None or float(row["expires_at"]) <= self._conn.clock():
            return None
        return _invite(row)

    async def pending(self, account_id: int) -> list[Invite]:
        rows = await self._conn.fetchall(
            "SELECT * FROM invites WHERE account_id = ? AND expires_at > ? ORDER BY id",
            (account_id, self._conn.clock()),
        )
        return [_invite(row) for row in rows]

    async def revoke(self, account_id: int, invite_id: int) -> bool:
        changed = await self._conn.execute(
            "DELETE FROM invites WHERE id = ? AND account_id = ?", (invite_id, account_id)
        )
        return changed == 1

    async def purge_expired(self) -> int:
        return await self._conn.execute(
            "DELETE FROM invites WHERE expires_at <= ?", (self._conn.clock(),)
        )
