"""Invites in storage: the token is never stored, an invite is used up once, and an expired or
revoked one opens nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.storage import Database
from bot.storage.accounts import Role
from bot.storage.invites import token_hash
from tests.storage_helpers import new_keyring


async def test_an_invite_is_taken_once_expires_and_is_revocable(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3", new_keyring()) as db:
        account = await db.users.link(1, 11, "owner-key-0123456789")
        invite_id, token = await db.invites.create(account, Role.OPERATOR, "Olga")
        assert len(token) == 32
        row = await db._conn.fetchone("SELECT * FROM invites")
        assert row is not None and row["token_hash"] == token_hash(token)
        assert token not in " ".join(str(value) for value in tuple(row))
        # Two answers at once: one takes it.
        taken = await asyncio.gather(db.invites.take(token), db.invites.take(token))
        assert sorted(x is None for x in taken) == [False, True]
        assert await db.invites.peek(token) is None

        _, expired = await db.invites.create(account, Role.VIEWER, "Olga", ttl=-1.0)
        assert await db.invites.peek(expired) is None and await db.invites.take(expired) is None

        revoked_id, revoked = await db.invites.create(account, Role.ADMIN, "Olga")
        assert await db.invites.revoke(account, revoked_id)
        assert await db.invites.peek(revoked) is None
        assert not await db.invites.revoke(account + 1, invite_id), "another account's"

        # Unlinking the account takes its invites with it.
        _, pending = await db.invites.create(account, Role.VIEWER, "Olga")
        await db.accounts.unlink(account)
        assert await db.invites.peek(pending) is None
