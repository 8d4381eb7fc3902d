"""Repositories: typed rows in, typed rows out. No Telegram or provider semantics here."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from bot.masking import mask_key
from bot.storage.accounts import Access, AccountRepository, Role, leave_account, unlink_accounts
from bot.storage.cache import ForgetOnWrite, RowCache
from bot.storage.connection import Connection, Executor, Params, Row, in_chunks
from bot.storage.crypto import KeyRing
from bot.storage.errors import DecryptionError
from bot.storage.history import current_actor

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

WatchKind = Literal["install", "reinstall"]
DEFAULT_CONFIRMATION_TTL = 3600.0


# Both engines allow far more bound parameters; chunks keep each statement modest.
# User rows kept in memory (with the key still encrypted); the rest are read when needed.
USER_CACHE_SIZE = 10_000

Record = TypeVar("Record", bound="DataclassInstance")


def _from_row(cls: type[Record], row: Row, **derived: Any) -> Record:
    """``cls`` from the columns named like its fields; ``derived`` gives the fields that are
    not stored as they are. Columns without a field (an encrypted key) are left behind."""
    stored = {name: row[name] for name in _field_names(cls) if name not in derived}
    return cls(**stored, **derived)


@cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    # Once per class: the watcher maps every open watch on every pass.
    return tuple(f.name for f in fields(cls))


# --- users -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    id: int
    language: str | None
    cid: int | None
    linked: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class Account:
    cid: int
    api_key: str = field(repr=False)

    @property
    def masked_key(self) -> str:
        return mask_key(self.api_key)

    def __repr__(self) -> str:
        return f"Account(cid={self.cid!r}, api_key={self.masked_key!r})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class _UserRow:
    """A users row as stored (the keys live in the accounts' rows, bot/storage/accounts.py)."""

    id: int
    language: str | None
    created_at: float
    updated_at: float

    def user(self, cid: int | None) -> User:
        return User(self.id, self.language, cid, cid is not None, self.created_at, self.updated_at)


def _user_row(row: Row) -> _UserRow:
    return _from_row(_UserRow, row)


class UserRepository:
    """Users, and through :class:`~bot.storage.accounts.AccountRepository` the account each
    one acts on.

    Rows are cached (see :mod:`bot.storage.cache`): every method that writes a user row drops
    that row from the cache before writing it. Every statement goes through the accounts'
    connection, whose writes forget the accesses it keeps (a revoked member must be refused on
    their very next update; see :mod:`bot.storage.accounts`).
    """

    def __init__(
        self,
        conn: Connection,
        keyring: KeyRing,
        *,
        accounts: AccountRepository | None = None,
        cache_size: int = USER_CACHE_SIZE,
        on_unlink: Callable[[int], None] | None = None,
    ) -> None:
        self._keyring = keyring
        self._accounts = accounts if accounts is not None else AccountRepository(conn, keyring)
        # The users' rows (their active account) are part of what the accounts' repository
        # keeps in memory: every write here goes through its connection, which forgets it.
        self._conn = self._accounts.connection
        self._cache: RowCache[int, _UserRow] = RowCache(cache_size)
        self._on_unlink = on_unlink

    async def ensure(self, user_id: int, language: str | None) -> User:
        """Insert the user if missing; an existing user keeps its stored language."""
        row = await self._ensure_row(user_id, language)
        return row.user(await self._accounts.active_cid(user_id))

    async def ensure_with_account(
        self, user_id: int, language: str | None
    ) -> tuple[User, Account | None]:
        """:meth:`ensure` and the user's active account, decrypted.

        Raises :class:`~bot.storage.errors.DecryptionError` for an unreadable key.
        """
        user, access = await self.ensure_with_access(user_id, language)
        if access is None:
            return user, None
        return user, Account(cid=access.account.cid, api_key=access.api_key)

    async def ensure_with_access(
        self, user_id: int, language: str | None, account_id: int | None = None
    ) -> tuple[User, Access | None]:
        """:meth:`ensure` and the user's access to ``account_id`` (their active account when
        None) — what every update needs. ``User.cid`` is that account's.

        Raises :class:`~bot.storage.errors.DecryptionError` for an unreadable key.
        """
        row = self._cache.get(user_id)
        if row is None:
            # Not kept (always on PostgreSQL): the row and the access in one statement.
            ticket = self._cache.ticket()
            found, access = await self._accounts.user_and_access(user_id, account_id)
            if found is not None:
                row = _UserRow(
                    found["u_id"],
                    found["u_language"],
                    found["u_created_at"],
                    found["u_updated_at"],
                )
                self._cache.fill(user_id, row, ticket)
                return row.user(access.account.cid if access else None), access
            row = await self._insert_row(user_id, language)
        access = await self._accounts.access(user_id, account_id)
        return row.user(access.account.cid if access else None), access

    async def _ensure_row(self, user_id: int, language: str | None) -> _UserRow:
        # Called on every update: a known user is a cache hit or one read, a new one a read
        # and an insert.
        row = await self._row(user_id)
        if row is not None:
            return row
        return await self._insert_row(user_id, language)

    async def _insert_row(self, user_id: int, language: str | None) -> _UserRow:
        now = self._conn.clock()
        self._cache.discard(user_id)
        ticket = self._cache.ticket()
        # DO UPDATE (keeping the language) rather than DO NOTHING: RETURNING then also yields
        # the row when a racing write created it first. RETURNING needs SQLite 3.35.
        found = await self._conn.fetchone(
            "INSERT INTO users (id, language, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET language = users.language RETURNING *",
            (user_id, language, now, now),
        )
        assert found is not None
        row = _user_row(found)
        self._cache.fill(user_id, row, ticket)
        return row

    async def _row(self, user_id: int) -> _UserRow | None:
        cached = self._cache.get(user_id)
        if cached is not None:
            return cached
        ticket = self._cache.ticket()
        found = await self._conn.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        if found is None:
            return None
        row = _user_row(found)
        self._cache.fill(user_id, row, ticket)
        return row

    async def get(self, user_id: int) -> User | None:
        row = await self._row(user_id)
        return row.user(await self._accounts.active_cid(user_id)) if row is not None else None

    async def set_language(self, user_id: int, lang: str | None) -> None:
        now = self._conn.clock()
        self._cache.discard(user_id)
        await self._conn.execute(
            "INSERT INTO users (id, language, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET language = excluded.language, "
            "updated_at = excluded.updated_at",
            (user_id, lang, now, now),
        )

    async def link(self, user_id: int, cid: int, api_key: str) -> int:
        """Store the provider account as one of the user's own (the key encrypted, bound to
        ``user_id``) and make it their active one; returns the account's id."""
        self._cache.discard(user_id)
        return await self._accounts.link(user_id, cid, api_key)

    async def languages(self, user_ids: list[int]) -> dict[int, str | None]:
        """The stored language of each known user among ``user_ids``."""
        found: dict[int, str | None] = {}
        for chunk, marks in in_chunks(user_ids):
            rows = await self._conn.fetchall(
                f"SELECT id, language FROM users WHERE id IN ({marks})", chunk
            )
            found.update((int(row["id"]), row["language"]) for row in rows)
        return found

    async def unlink(self, user_id: int, account_id: int | None = None) -> None:
        """Give up ``account_id`` (the user's active account when None), atomically: the owner
        unlinks it for every member (its key, memberships and install watches go); a member
        leaves it. Either way the
        user's dialogs and pending confirmations go too.

        Keeps the user row (language) and the action log. Scheduled message deletions are kept
        on purpose: they remove root passwords from the chat, which must still happen.
        """
        self._cache.discard(user_id)
        if self._on_unlink is not None:
            self._on_unlink(user_id)
        async with self._conn.transaction() as tx:
            active = await tx.fetchone(
                "SELECT m.account_id, m.role FROM users u JOIN memberships m "
                "ON m.user_id = u.id AND m.account_id = COALESCE(?, u.active_account) "
                "WHERE u.id = ?",
                (account_id, user_id),
            )
            if active is not None and active["role"] == Role.OWNER.value:
                await unlink_accounts(tx, [int(active["account_id"])])
            elif active is not None:
                await leave_account(tx, user_id, int(active["account_id"]))
            await tx.execute("DELETE FROM fsm WHERE user_id = ?", (user_id,))
            await tx.execute("DELETE FROM confirmations WHERE user_id = ?", (user_id,))

    async def has_stored_key(self, user_id: int) -> bool:
        """Whether the user has an active account, its key decryptable or not."""
        row = await self._conn.fetchone(
            "SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id "
            "AND m.account_id = u.active_account WHERE u.id = ?",
            (user_id,),
        )
        return row is not None

    async def undecryptable(self) -> list[tuple[int, str | None]]:
        """(owner id, key id) of every stored key this key ring cannot decrypt, by owner id."""
        return [(owner, key_id) for owner, key_id, _ in await self._undecryptable()]

    async def _undecryptable(self) -> list[tuple[int, str | None, int]]:
        rows = await self._conn.fetchall(
            "SELECT id, owner_id, key_id, api_key FROM accounts ORDER BY owner_id, id"
        )
        found: list[tuple[int, str | None, int]] = []
        for row in rows:
            try:
                self._keyring.decrypt(row["owner_id"], row["key_id"], row["api_key"])
            except DecryptionError:
                found.append((int(row["owner_id"]), row["key_id"], int(row["id"])))
        return found

    async def forget(self, user_ids: list[int], notice: str) -> None:
        """Unlink the accounts of ``user_ids`` whose key cannot be decrypted, as :meth:`unlink`
        does, and leave each owner a ``notice`` (see :class:`NoticeRepository`), all in one
        transaction."""
        now = self._conn.clock()
        owners = set(user_ids)
        broken = [account for owner, _, account in await self._undecryptable() if owner in owners]
        for user_id in user_ids:
            self._cache.discard(user_id)
            if self._on_unlink is not None:
                self._on_unlink(user_id)
        params: list[Params] = [(user_id,) for user_id in user_ids]
        async with self._conn.transaction() as tx:
            await unlink_accounts(tx, broken)
            await tx.executemany("DELETE FROM fsm WHERE user_id = ?", params)
            await tx.executemany("DELETE FROM confirmations WHERE user_id = ?", params)
            await tx.executemany(
                "INSERT INTO notices (user_id, kind, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, kind) DO UPDATE SET created_at = excluded.created_at",
                [(user_id, notice, now) for user_id in user_ids],
            )

    # Used by key rotation.

    async def ids_not_on_key(self, key_id: str) -> list[int]:
        """The owners of the stored keys not encrypted with ``key_id``."""
        rows = await self._conn.fetchall(
            "SELECT DISTINCT owner_id FROM accounts WHERE key_id != ? ORDER BY owner_id",
            (key_id,),
        )
        return [int(row["owner_id"]) for row in rows]

    async def reencrypt(self, user_id: int) -> bool:
        """Re-encrypt the keys of one owner's accounts with the current master key; ``False``
        if there was nothing to do."""
        done = False
        async with self._conn.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id, api_key, key_id FROM accounts WHERE owner_id = ? AND key_id != ?",
                (user_id, self._keyring.current_id),
            )
            for row in rows:
                plain = self._keyring.decrypt(user_id, row["key_id"], row["api_key"])
                key_id, blob = self._keyring.encrypt(user_id, plain)
                await tx.execute(
                    "UPDATE accounts SET api_key = ?, key_id = ? WHERE id = ?",
                    (blob, key_id, row["id"]),
                )
                done = True
        return done


# --- watches -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamPush:
    """The "server ready" copy for another member of the watch's account, as stored: its text
    (in the member's language, naming the account) and its "open server" button's label."""

    watch_id: int
    user_id: int
    account_id: int
    order_id: str
    text: str
    button: str


@dataclass(frozen=True, slots=True)
class Watch:
    id: int
    user_id: int
    chat_id: int
    order_id: str
    kind: str
    template: str
    started_at: float
    last_state: str | None
    status_message_id: int | None
    last_edit_at: float | None
    failures: int
    next_poll_at: float
    notified: bool
    timed_out: bool
    # Written before the provider was asked, and the provider's answer never arrived (yet).
    outcome_unknown: bool = False
    # When the provider accepted the install; None when it never said so.
    accepted_at: float | None = None
    # A keyed digest of the root password before a reinstall (KeyRing.fingerprint).
    password_mac: str | None = field(default=None, repr=False)
    # The server's address before a reinstall, while the provider shows none.
    known_ip: str | None = None
    # A digest of what the watcher last drew into the status message.
    status_drawn: str | None = None
    # The account the install runs on (whose key the watcher polls with).
    account_id: int | None = None
    # Until then the install call may still be waiting for the provider's answer, in this
    # replica or another: the watcher leaves the watch alone (None: no call is under way).
    busy_until: float | None = None


def _watch(row: Row) -> Watch:
    return _from_row(
        Watch,
        row,
        notified=bool(row["notified"]),
        timed_out=bool(row["timed_out"]),
        outcome_unknown=bool(row["outcome_unknown"]),
    )


@dataclass(frozen=True, slots=True)
class WatchPoll:
    """The outcome of polling one watch, as ``update_progress_many`` takes it."""

    watch_id: int
    last_state: str | None
    failures: int
    next_poll_at: float
    last_edit_at: float | None = None
    # The install turned out to have started: the watch's outcome is known from now on.
    resolved: bool = False
    # What the status message shows now (None: unchanged).
    status_drawn: str | None = None


@dataclass(frozen=True, slots=True)
class WatchIntent:
    """What a confirmed install or reinstall is watched as, recorded before it is sent."""

    order_id: str
    template: str
    known_ip: str | None = None
    # The root password before a reinstall; only its keyed digest is stored.
    password: str | None = field(default=None, repr=False)


class _Declined(Exception):
    """Rolls back a confirmation the caller would not act on."""


class WatchRepository:
    """Install watches. The addresses of a user's open watches (:meth:`known_ips`), which every
    server list shows, are kept in memory on SQLite until the next write to ``watches``: every
    write here goes through a :class:`~bot.storage.cache.ForgetOnWrite` connection, and the
    accounts' repository forgets them too (it deletes the watches of an account it removes;
    ``Database`` wires it so)."""

    def __init__(
        self, conn: Connection, keyring: KeyRing, *, cache_size: int = USER_CACHE_SIZE
    ) -> None:
        # Nothing is kept when another process writes to the database too.
        self.known: RowCache[int, dict[str, str]] = RowCache(0 if conn.shared else cache_size)
        self._conn = ForgetOnWrite(conn, self.known)
        self._keyring = keyring

    async def start_confirmed(
        self,
        user_id: int,
        token: str,
        actions: Collection[str],
        *,
        chat_id: int,
        status_message_id: int | None,
        intent: Callable[[Confirmation], WatchIntent | None],
        account_id: int | None = None,
        busy_for: float | None = None,
    ) -> tuple[Confirmation, Watch] | None:
        """Spend the confirmation (as :meth:`ConfirmationRepository.consume` does) and, in the
        same transaction, start watching what it confirmed — ``intent(confirmation)``, of the
        kind named by its action — marked *outcome unknown* until :meth:`accepted`.

        So no crash can leave a spent confirmation without a watch: whatever happens to the
        provider call that follows, the watcher finds the watch and finds out. None when the
        confirmation is not there to spend, or when ``intent`` declines it (returns None):
        then it is left unspent and nothing is written. ``busy_for``: the watch is busy (the
        watcher leaves it alone) this many seconds at most, until :meth:`call_done`.
        """
        now = self._conn.clock()
        try:
            async with self._conn.transaction() as tx:
                confirmation = await _take_confirmation(tx, user_id, token, actions, now)
                if confirmation is None:
                    return None
                wanted = intent(confirmation)
                if wanted is None:
                    raise _Declined
                watch = await self._insert(
                    tx,
                    user_id,
                    chat_id,
                    confirmation.action,
                    wanted,
                    status_message_id,
                    outcome_unknown=True,
                    account_id=account_id,
                    busy_until=now + busy_for if busy_for is not None else None,
                )
        except _Declined:
            return None
        return confirmation, watch

    async def _insert(
        self,
        tx: Executor,
        user_id: int,
        chat_id: int,
        kind: WatchKind | str,
        intent: WatchIntent,
        status_message_id: int | None,
        *,
        outcome_unknown: bool,
        account_id: int | None = None,
        busy_until: float | None = None,
    ) -> Watch:
        if kind not in ("install", "reinstall"):
            raise ValueError(f"watch kind must be 'install' or 'reinstall', not {kind!r}")
        now = self._conn.clock()
        mac = self._keyring.fingerprint(intent.password) if intent.password else None
        await tx.execute(
            "DELETE FROM watches WHERE user_id = ? AND order_id = ?", (user_id, intent.order_id)
        )
        watch_id = await tx.insert(
            "INSERT INTO watches (user_id, chat_id, order_id, kind, template, started_at, "
            "status_message_id, next_poll_at, outcome_unknown, accepted_at, password_mac, "
            "known_ip, busy_until, account_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            # Not named: the account the user acts on now.
            "COALESCE(?, (SELECT active_account FROM users WHERE id = ?)))",
            (
                user_id,
                chat_id,
                intent.order_id,
                kind,
                intent.template,
                now,
                status_message_id,
                now,
                int(outcome_unknown),
                None if outcome_unknown else now,
                mac,
                intent.known_ip,
                busy_until,
                account_id,
                user_id,
            ),
        )
        row = await tx.fetchone("SELECT * FROM watches WHERE id = ?", (watch_id,))
        assert row is not None
        return _watch(row)

    async def accepted(self, watch_id: int) -> None:
        """The provider accepted the install: an ordinary watch, due at once."""
        now = self._conn.clock()
        await self._conn.execute(
            "UPDATE watches SET outcome_unknown = 0, accepted_at = ?, next_poll_at = ? "
            "WHERE id = ?",
            (now, now, watch_id),
        )

    async def call_done(self, watch_id: int) -> None:
        """The install call about this watch ended: the watcher may look into it again."""
        await self._conn.execute("UPDATE watches SET busy_until = NULL WHERE id = ?", (watch_id,))

    async def forget_calls(self) -> None:
        """No install call is under way anywhere (a single process starting): every watch may
        be looked into."""
        await self._conn.execute(
            "UPDATE watches SET busy_until = NULL WHERE busy_until IS NOT NULL"
        )

    def same_password(self, watch: Watch, password: str) -> bool | None:
        """Whether ``password`` is the root password recorded when the watch began; None when
        none was recorded or the digest's key is no longer loaded."""
        if watch.password_mac is None:
            return None
        return self._keyring.matches(watch.password_mac, password)

    async def known_ips(self, user_id: int) -> dict[str, str]:
        """The server addresses recorded by the user's open watches, by order id."""
        kept = self.known.get(user_id)
        if kept is None:
            ticket = self.known.ticket()
            rows = await self._conn.fetchall(
                "SELECT order_id, known_ip FROM watches WHERE user_id = ? "
                "AND known_ip IS NOT NULL AND notified = 0 AND timed_out = 0",
                (user_id,),
            )
            kept = {str(row["order_id"]): str(row["known_ip"]) for row in rows}
            self.known.fill(user_id, kept, ticket)
        # A copy: what the caller does with it must not change what is kept.
        return dict(kept)

    async def open(self) -> list[Watch]:
        """Watches still running (neither notified nor timed out), soonest poll first."""
        rows = await self._conn.fetchall(
            "SELECT * FROM watches WHERE notified = 0 AND timed_out = 0 ORDER BY next_poll_at, id"
        )
        return [_watch(row) for row in rows]

    async def count_open(self) -> int:
        row = await self._conn.fetchone(
            "SELECT COUNT(*) FROM watches WHERE notified = 0 AND timed_out = 0"
        )
        return int(row[0]) if row is not None else 0

    async def is_open(self, user_id: int, order_id: str) -> bool:
        """The user's watch of this order is still running (neither notified nor timed out)."""
        row = await self._conn.fetchone(
            "SELECT 1 FROM watches WHERE user_id = ? AND order_id = ? "
            "AND notified = 0 AND timed_out = 0 LIMIT 1",
            (user_id, order_id),
        )
        return row is not None

    async def update_progress_many(self, polls: list[WatchPoll]) -> None:
        """Record a whole sweep's polls in one transaction (one commit instead of one each)."""
        if not polls:
            return
        async with self._conn.transaction() as tx:
            # outcome_unknown is only ever cleared here: the install handler may have settled
            # it while the pass was polling.
            await tx.executemany(
                "UPDATE watches SET last_state = ?, failures = ?, next_poll_at = ?, "
                "last_edit_at = COALESCE(?, last_edit_at), "
                "outcome_unknown = CASE WHEN ? = 1 THEN 0 ELSE outcome_unknown END, "
                "status_drawn = COALESCE(?, status_drawn) WHERE id = ?",
                [
                    (
                        p.last_state,
                        p.failures,
                        p.next_poll_at,
                        p.last_edit_at,
                        int(p.resolved),
                        p.status_drawn,
                        p.watch_id,
                    )
                    for p in polls
                ],
            )

    async def set_status_message(self, watch_id: int, message_id: int | None) -> None:
        await self._conn.execute(
            "UPDATE watches SET status_message_id = ? WHERE id = ?", (message_id, watch_id)
        )

    async def set_status_drawn(self, watch_id: int, drawn: str) -> None:
        await self._conn.execute(
            "UPDATE watches SET status_drawn = ? WHERE id = ?", (drawn, watch_id)
        )

    # An ended watch keeps no digest of a root password: it is needed only while it runs.

    async def mark_notified(self, watch_id: int, team: Sequence[TeamPush] = ()) -> None:
        """The ready message went; ``team``, the copies for the account's other members, are
        stored in the same transaction and sent from there (:meth:`team_pushes`)."""
        async with self._conn.transaction() as tx:
            await tx.execute(
                "UPDATE watches SET notified = 1, password_mac = NULL WHERE id = ?", (watch_id,)
            )
            if team:
                now = self._conn.clock()
                await tx.executemany(
                    "INSERT INTO team_pushes (watch_id, user_id, account_id, order_id, "
                    "created_at, text, button) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (watch_id, user_id) DO NOTHING",
                    [
                        (watch_id, p.user_id, p.account_id, p.order_id, now, p.text, p.button)
                        for p in team
                    ],
                )

    async def team_pushes(self, limit: int = 100) -> list[TeamPush]:
        """Copies of ready messages not sent yet, oldest first."""
        rows = await self._conn.fetchall(
            "SELECT watch_id, user_id, account_id, order_id, text, button FROM team_pushes "
            "ORDER BY created_at, watch_id, user_id LIMIT ?",
            (limit,),
        )
        return [
            TeamPush(
                watch_id=int(r["watch_id"]),
                user_id=int(r["user_id"]),
                account_id=int(r["account_id"]),
                order_id=str(r["order_id"]),
                text=str(r["text"]),
                button=str(r["button"]),
            )
            for r in rows
        ]

    async def team_push_done(self, watch_id: int, user_id: int) -> None:
        """The copy went (or never can): it is not sent again."""
        await self._conn.execute(
            "DELETE FROM team_pushes WHERE watch_id = ? AND user_id = ?", (watch_id, user_id)
        )

    async def mark_timed_out(self, watch_id: int) -> None:
        await self._conn.execute(
            "UPDATE watches SET timed_out = 1, password_mac = NULL WHERE id = ?", (watch_id,)
        )

    async def delete(self, watch_id: int) -> None:
        await self._conn.execute("DELETE FROM watches WHERE id = ?", (watch_id,))


# --- action log --------------------------------------------------------------------------------


class ActionRepository:
    """Audit trail of what users asked the provider to do. Never pass secrets in here."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def record(
        self,
        user_id: int,
        action: str,
        order_id: str | None,
        result: str,
        *,
        account_id: int | None = None,
    ) -> None:
        """Logs the action; the account and the actor's name come from
        :func:`bot.storage.history.acting_as` (``account_id`` names another account)."""
        actor = current_actor()
        if account_id is None and actor is not None:
            account_id = actor.account_id
        await self._conn.execute(
            "INSERT INTO actions (user_id, action, order_id, result, created_at, account_id, "
            "actor) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                user_id,
                action,
                order_id,
                result,
                self._conn.clock(),
                account_id,
                actor.name if actor is not None else None,
            ),
        )


# --- confirmations -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Confirmation:
    token: str
    user_id: int
    action: str
    payload: dict[str, Any]
    created_at: float
    expires_at: float


def _confirmation(row: Row) -> Confirmation:
    return _from_row(Confirmation, row, payload=json.loads(row["payload"]))


def _take_statement(
    user_id: int, token: str, actions: Collection[str]
) -> tuple[str, tuple[Any, ...]]:
    """The single DELETE … RETURNING that spends a confirmation of one of ``actions``."""
    wanted = sorted(set(actions))
    if not wanted:
        raise ValueError("consume needs the actions the token may belong to")
    marks = ",".join("?" * len(wanted))
    sql = (
        "DELETE FROM confirmations WHERE token = ? AND user_id = ? "
        f"AND action IN ({marks}) RETURNING *"
    )
    return sql, (token, user_id, *wanted)


def _valid_confirmation(row: Row | None, now: float) -> Confirmation | None:
    if row is None or row["expires_at"] <= now:
        return None
    return _confirmation(row)


async def _take_confirmation(
    tx: Executor, user_id: int, token: str, actions: Collection[str], now: float
) -> Confirmation | None:
    sql, params = _take_statement(user_id, token, actions)
    return _valid_confirmation(await tx.fetchone(sql, params), now)


class ConfirmationRepository:
    """One-shot tokens for "are you sure?" buttons; consuming deletes, so a tap counts once."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def issue(
        self,
        user_id: int,
        action: str,
        payload: dict[str, Any],
        ttl: float = DEFAULT_CONFIRMATION_TTL,
    ) -> str:
        """Store a pending confirmation; return its token (11 url-safe chars, fits callback data).

        ``payload`` must be JSON-serialisable.
        """
        encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        now = self._conn.clock()
        while True:
            token = secrets.token_urlsafe(8)
            stored = await self._conn.execute(
                "INSERT INTO confirmations (token, user_id, action, payload, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING",
                (token, user_id, action, encoded, now, now + ttl),
            )
            if stored == 1:
                return token
            # A 64-bit token collision: draw another.

    async def consume(
        self, user_id: int, token: str, actions: Collection[str]
    ) -> Confirmation | None:
        """Take the confirmation: returns it at most once, ``None`` if wrong user, expired, or
        issued for an action not in ``actions``.

        The single DELETE … RETURNING makes this atomic even across processes. A token shown
        to another user, or issued for another action (a forged button carrying another
        screen's token), is left alone: nobody can burn a confirmation they were not shown.
        """
        sql, params = _take_statement(user_id, token, actions)
        row = await self._conn.fetchone(sql, params)
        return _valid_confirmation(row, self._conn.clock())

    async def peek(self, user_id: int, token: str) -> Confirmation | None:
        row = await self._conn.fetchone(
            "SELECT * FROM confirmations WHERE token = ? AND user_id = ? AND expires_at > ?",
            (token, user_id, self._conn.clock()),
        )
        return _confirmation(row) if row is not None else None

    async def purge_expired(self) -> int:
        return await self._conn.execute(
            "DELETE FROM confirmations WHERE expires_at <= ?", (self._conn.clock(),)
        )


# --- scheduled deletions -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduledDeletion:
    id: int
    chat_id: int
    message_id: int
    delete_at: float


class DeletionRepository:
    """Messages to delete later (e.g. a root password); persisted so restarts don't forget them."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def schedule(self, chat_id: int, message_id: int, delete_at: float) -> int:
        """Schedule (or reschedule) a message; return the row id."""
        row = await self._conn.fetchone(
            "INSERT INTO deletions (chat_id, message_id, delete_at) VALUES (?, ?, ?) "
            "ON CONFLICT (chat_id, message_id) DO UPDATE SET delete_at = excluded.delete_at "
            "RETURNING id",
            (chat_id, message_id, delete_at),
        )
        assert row is not None
        return int(row["id"])

    async def due(self, now: float) -> list[ScheduledDeletion]:
        rows = await self._conn.fetchall(
            "SELECT * FROM deletions WHERE delete_at <= ? ORDER BY delete_at, id", (now,)
        )
        return [_from_row(ScheduledDeletion, row) for row in rows]

    async def remove(self, deletion_id: int) -> None:
        await self._conn.execute("DELETE FROM deletions WHERE id = ?", (deletion_id,))

    async def cancel(self, chat_id: int, message_id: int) -> None:
        await self._conn.execute(
            "DELETE FROM deletions WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )

    async def next_due_at(self) -> float | None:
        row = await self._conn.fetchone("SELECT MIN(delete_at) FROM deletions")
        return None if row is None or row[0] is None else float(row[0])


# --- notices -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """A message owed to a user; ``linked`` tells whether they have linked an account since."""

    user_id: int
    kind: str
    language: str | None
    linked: bool


class NoticeRepository:
    """Messages the bot owes users and sends when it runs (written by commands that run while
    the bot is stopped, such as ``forget-undecryptable``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def pending(self, limit: int) -> list[Notice]:
        rows = await self._conn.fetchall(
            # Linked: a member (the owner, at least) of some account again.
            "SELECT n.user_id, n.kind, u.language, "
            "EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = n.user_id) AS linked "
            "FROM notices n LEFT JOIN users u ON u.id = n.user_id "
            "ORDER BY n.created_at, n.user_id LIMIT ?",
            (limit,),
        )
        return [
            Notice(
                user_id=int(row["user_id"]),
                kind=row["kind"],
                language=row["language"],
                linked=bool(row["linked"]),
            )
            for row in rows
        ]

    async def remove(self, user_id: int, kind: str) -> None:
        await self._conn.execute(
            "DELETE FROM notices WHERE user_id = ? AND kind = ?", (user_id, kind)
        )


class SeenUpdateRepository:
    """Update ids already taken in (webhook mode): Telegram delivers a webhook update again when
    its answer did not arrive in time, and the second delivery must not act twice. Satisfies
    ``bot.webhook.UpdateDeduplicator``."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def first_time(self, update_id: int) -> bool:
        """Records ``update_id``; True only for the first call with it (atomic: one INSERT)."""
        changed = await self._conn.execute(
            "INSERT INTO seen_updates (update_id, seen_at) VALUES (?, ?) "
            "ON CONFLICT (update_id) DO NOTHING",
            (update_id, self._conn.clock()),
        )
        return changed == 1

    async def purge(self, older_than: float) -> int:
        """Forgets ids seen more than ``older_than`` seconds ago; returns how many."""
        return await self._conn.execute(
            "DELETE FROM seen_updates WHERE seen_at < ?", (self._conn.clock() - older_than,)
        )

    async def ping(self) -> None:
        """A trivial query: raises when the database does not answer (the health check)."""
        await self._conn.fetchone("SELECT 1")
