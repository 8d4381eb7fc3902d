"""Failed attempts to link an account, kept so that nobody can guess credentials through the bot.

Every check of credentials the user typed (a client id and key, an email and password, a new
key) costs one request to the provider from the operator's whitelisted address; a stranger
trying many pairs could get that address banned. Two limits apply, and both survive a restart:

* per user: after ``per_user`` failures in a row each further failure makes the user wait,
  a minute at first, twice as long after every further failure (at most a day); a success
  starts the count again;
* across all users: at most ``per_minute`` attempts that failed — or are still running —
  within the last minute; beyond that every attempt waits until the oldest one of them is a
  minute old.

An attempt is reserved (:meth:`LinkAttemptRepository.begin`) before the provider is asked, so
users checking at the same moment cannot together pass the limit; a reservation left behind by
a crash counts as a failure until it is a minute old. One user's attempts never overlap (the
dispatcher handles one user's updates one at a time), so the per-user count needs no
reservation of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.connection import Connection, Executor

WINDOW = 60.0


@dataclass(frozen=True, slots=True)
class LinkLimits:
    per_user: int
    per_minute: int
    first_wait: float = 60.0
    max_wait: float = 86_400.0

    def wait_after(self, failures: int) -> float:
        """The wait a user's ``failures``-th failure in a row imposes (0 before the limit)."""
        if failures < self.per_user:
            return 0.0
        # Capped before the power grows without bound: 2**17 minutes is already past a day.
        doublings = min(failures - self.per_user, 32)
        return float(min(self.first_wait * 2**doublings, self.max_wait))


@dataclass(frozen=True, slots=True)
class LinkRefusal:
    """An attempt that must not go to the provider now: ``wait`` seconds are left, for this
    user alone or (``everyone``) for every user of the bot."""

    wait: float
    everyone: bool


@dataclass(frozen=True, slots=True)
class LinkAttempt:
    """A reserved attempt: end it with ``failed``, ``succeeded`` or ``not_counted``."""

    id: int
    user_id: int


class LinkAttemptRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def check(self, user_id: int, limits: LinkLimits) -> LinkRefusal | None:
        """Whether an attempt would be refused now, reserving nothing (to say so up front)."""
        async with self._conn.transaction() as tx:
            return await self._refusal(tx, user_id, limits, self._conn.clock())

    async def begin(self, user_id: int, limits: LinkLimits) -> LinkAttempt | LinkRefusal:
        """Reserve an attempt, or say how long to wait. Check and reservation are one
        transaction, so two users can never both take the last free attempt."""
        now = self._conn.clock()
        async with self._conn.transaction() as tx:
            refusal = await self._refusal(tx, user_id, limits, now)
            if refusal is not None:
                return refusal
            attempt_id = await tx.insert(
                "INSERT INTO link_attempts (user_id, at) VALUES (?, ?)", (user_id, now)
            )
        return LinkAttempt(id=attempt_id, user_id=user_id)

    async def failed(self, attempt: LinkAttempt, limits: LinkLimits) -> float:
        """The provider refused the credentials: counts for the user and for everyone.
        Returns the wait this failure imposes on the user (0 when none yet)."""
        now = self._conn.clock()
        async with self._conn.transaction() as tx:
            # The failure counts in the bot-wide minute from now on, not from its start.
            await tx.execute("DELETE FROM link_attempts WHERE id = ?", (attempt.id,))
            await tx.insert(
                "INSERT INTO link_attempts (user_id, at, failed) VALUES (?, ?, 1)",
                (attempt.user_id, now),
            )
            row = await tx.fetchone(
                "INSERT INTO link_guard (user_id, failures, wait_until) VALUES (?, 1, 0) "
                "ON CONFLICT (user_id) DO UPDATE SET failures = link_guard.failures + 1 "
                "RETURNING failures",
                (attempt.user_id,),
            )
            assert row is not None
            wait = limits.wait_after(int(row["failures"]))
            await tx.execute(
                "UPDATE link_guard SET wait_until = ? WHERE user_id = ?",
                (now + wait if wait else 0.0, attempt.user_id),
            )
        return wait

    async def succeeded(self, attempt: LinkAttempt) -> None:
        """The credentials were right: the user's failures are forgotten."""
        async with self._conn.transaction() as tx:
            await tx.execute("DELETE FROM link_attempts WHERE id = ?", (attempt.id,))
            await tx.execute("DELETE FROM link_guard WHERE user_id = ?", (attempt.user_id,))

    async def not_counted(self, attempt: LinkAttempt) -> None:
        """No verdict on the credentials (the provider did not answer): as if never made."""
        await self._conn.execute("DELETE FROM link_attempts WHERE id = ?", (attempt.id,))

    async def _refusal(
        self, tx: Executor, user_id: int, limits: LinkLimits, now: float
    ) -> LinkRefusal | None:
        row = await tx.fetchone("SELECT wait_until FROM link_guard WHERE user_id = ?", (user_id,))
        if row is not None and row["wait_until"] > now:
            return LinkRefusal(wait=float(row["wait_until"]) - now, everyone=False)
        await tx.execute("DELETE FROM link_attempts WHERE at <= ?", (now - WINDOW,))
        count_row = await tx.fetchone("SELECT COUNT(*) FROM link_attempts")
        count = int(count_row[0]) if count_row is not None else 0
        if count < limits.per_minute:
            return None
        # Free again once enough of them are a minute old to bring the count under the limit.
        freed = await tx.fetchone(
            "SELECT at FROM link_attempts ORDER BY at, id LIMIT 1 OFFSET ?",
            (count - limits.per_minute,),
        )
        at = float(freed["at"]) if freed is not None else now
        return LinkRefusal(wait=max(at + WINDOW - now, 1.0), everyone=True)
