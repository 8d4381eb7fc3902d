"""Invites in storage, on both engines (tests/storage_backends.py): the token is never stored,
an invite is used up once (also by two replicas at once), and an expired or revoked one opens
nothing."""

from __future__ import annotations

import asyncio

from bot.storage.accounts import Role
from bot.storage.invites import token_hash
from tests.storage_backends import Backend
from tests.storage_helpers import new_keyring


async def test_an_invite_is_taken_once_expires_and_is_revocable(backend: Backend) -> None:
    keyring = new_keyring()
    db = await backend.open(keyring)
    other = await backend.open(keyring)  # another replica (PostgreSQL), or a restart
    account = await db.users.link(1, 11, "owner-key-0123456789")
    invite_id, token = await db.invites.create(account, Role.OPERATOR, "Olga")
    assert len(token) == 32
    row = await db._conn.fetchone("SELECT * FROM invites")
    assert row is not None and row["token_hash"] == token_hash(token)
    assert token not in " ".join(str(value) for value in tuple(row))
    seen = await other.invites.peek(token)
    assert seen is not None and (seen.id, seen.account_id, seen.role) == (
        invite_id,
        account,
        Role.OPERATOR,
    )
    assert seen.owner_name == "Olga"
    # Two answers at once, through both: one takes it.
    taken = await asyncio.gather(db.invites.take(token), other.invites.take(token))
    assert sorted(x is None for x in taken) == [False, True]
    assert await db.invites.peek(token) is None and await other.invites.peek(token) is None

    _, expired = await db.invites.create(account, Role.VIEWER, "Olga", ttl=-1.0)
    assert await db.invites.peek(expired) is None and await db.invites.take(expired) is None

    revoked_id, revoked = await db.invites.create(account, Role.ADMIN, "Olga")
    assert not await other.invites.revoke(account + 1, revoked_id), "another account's"
    assert await other.invites.revoke(account, revoked_id)
    assert await db.invites.peek(revoked) is None

    # Unlinking the account takes its invites with it.
    _, pending = await db.invites.create(account, Role.VIEWER, "Olga")
    await db.accounts.unlink(account)
    assert await db.invites.peek(pending) is None
    assert not await backend.in_transaction(db)


async def test_pending_lists_the_usable_ones_and_purge_drops_the_expired(
    backend: Backend,
) -> None:
    now = [1_000_000.0]
    db = await backend.open(new_keyring(), clock=lambda: now[0])
    account = await db.users.link(1, 11, "owner-key-0123456789")
    other_account = await db.users.link(2, 22, "other-key-0123456789")
    short_id, _ = await db.invites.create(account, Role.VIEWER, "Olga", ttl=60.0)
    long_id, long_token = await db.invites.create(account, Role.OPERATOR, None, ttl=3600.0)
    await db.invites.create(other_account, Role.ADMIN, "Ivan")
    assert [i.id for i in await db.invites.pending(account)] == [short_id, long_id]

    now[0] += 120.0  # the short one expired
    assert [i.id for i in await db.invites.pending(account)] == [long_id]
    assert await db.invites.purge_expired() == 1
    row = await db._conn.fetchone("SELECT COUNT(*) FROM invites")
    assert row is not None and row[0] == 2
    invite = await db.invites.take(long_token)
    assert invite is not None and invite.owner_name is None and invite.role is Role.OPERATOR
    assert await db.invites.purge_expired() == 0
