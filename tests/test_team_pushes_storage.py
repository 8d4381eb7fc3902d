"""The outbox of the teammates' "server ready" copies, on both engines: stored with the watch's
"notified" mark, listed until each is done, never twice for one watch and member, and gone
with the member's access or the account."""

from __future__ import annotations

from bot.storage import TeamPush
from bot.storage.accounts import Role
from tests.storage_backends import Backend
from tests.storage_helpers import new_keyring


def copy(watch_id: int, user_id: int, account_id: int, text: str = "ready") -> TeamPush:
    return TeamPush(watch_id, user_id, account_id, "4701", text, "Open server")


async def test_copies_are_stored_with_the_mark_and_sent_once(backend: Backend) -> None:
    keyring = new_keyring()
    db = await backend.open(keyring)
    account = await db.users.link(1, 11, "owner-key-0123456789")
    assert await db.accounts.join(2, account, Role.VIEWER, "Mate")
    assert await db.accounts.join(3, account, Role.OPERATOR, "Otto")
    await db.users.ensure(2, "en")
    await db.users.ensure(3, "ru")

    await db.watches.mark_notified(7, [copy(7, 2, account, "<b>ready</b>"), copy(7, 3, account)])
    # Marked again (a pass repeating after a crash between mark and send): nothing doubles.
    await db.watches.mark_notified(7, [copy(7, 2, account, "other")])
    # Another replica (or the restarted bot) sees the same outbox.
    again = await backend.open(keyring)
    pending = await again.watches.team_pushes()
    assert pending == [copy(7, 2, account, "<b>ready</b>"), copy(7, 3, account)]

    await again.watches.team_push_done(7, 2)
    assert [p.user_id for p in await db.watches.team_pushes()] == [3]

    # A member whose access goes loses what was waiting for them; the account's unlink, all.
    await db.watches.mark_notified(8, [copy(8, 2, account)])
    assert await db.accounts.revoke(account, 3)
    assert [(p.watch_id, p.user_id) for p in await db.watches.team_pushes()] == [(8, 2)]
    await db.accounts.unlink(account)
    assert await db.watches.team_pushes() == []
    assert not await backend.in_transaction(db)
