"""Which replica runs the background work (install watcher, deletions, alerts, notices,
housekeeping): exactly one, the leader.

* One process on SQLite (:class:`SoleLeader`) is the leader from start to stop, as always.
* Replicas on PostgreSQL (:class:`PostgresLeader`) campaign for a session-level advisory lock
  on a connection of their own. PostgreSQL holds that lock for as long as the session lives and
  gives it to nobody else meanwhile: a leader that stops unlocks it, and one that dies loses its
  connection and with it the lock. A follower tries again every ``interval``, so it takes over
  within one interval of a leader's process dying (the kernel closes its socket and PostgreSQL
  ends the session at once); a whole machine that vanishes is noticed by TCP keepalives, set
  on the session below to a few intervals.
* A leader that cannot reach PostgreSQL any more (its check on the connection fails or takes
  longer than an interval, a second at least) stops its loops at once, before the database
  would give the lock to another: two leaders never run side by side on purpose. What makes a
  push or an action happen once lives in the database (a watch is marked notified as its
  ready message goes out, a deletion's row is removed when done): a new leader carries on from
  there exactly as a restarted single bot would, with the same narrow exception (a leader
  that dies between sending a message and recording it).

A second lock of the same kind (:func:`hold_polling_lock`) lets only one replica poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.storage.errors import StorageError

if TYPE_CHECKING:
    import asyncpg  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

# The least time a connection or a check may take before it counts as failed, however short
# the interval: a busy machine must not make a healthy leader step down.
MIN_TIMEOUT = 1.0
CONNECT_TIMEOUT = 5.0

Job = Callable[[], Awaitable[None]]
Connect = Callable[[], Awaitable["asyncpg.Connection"]]


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def leader_key(bot_id: int) -> int:
    return advisory_key(f"inferno-bot:leader:{bot_id}")


def polling_key(bot_id: int) -> int:
    return advisory_key(f"inferno-bot:polling:{bot_id}")


# What the lock-holding sessions call themselves in pg_stat_activity (the health check of a
# polling bot on PostgreSQL looks for the poller's).
LEADER_SESSION = "inferno-bot leader"
POLLER_SESSION = "inferno-bot poller"


def keepalive_settings(interval: float, name: str = LEADER_SESSION) -> dict[str, str]:
    """Session settings that make PostgreSQL notice a vanished peer within about five
    intervals (the leader notices a vanished database within two, and steps down first)."""
    seconds = max(1, round(interval))
    return {
        "tcp_keepalives_idle": str(2 * seconds),
        "tcp_keepalives_interval": str(seconds),
        "tcp_keepalives_count": "3",
        "application_name": name,
    }


class Leadership:
    """Calls ``elected`` when this process becomes the leader and ``deposed`` when it stops
    being one (its loops must stop then)."""

    @property
    def is_leader(self) -> bool:
        raise NotImplementedError

    async def start(self, elected: Job, deposed: Job) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        """Steps down (``deposed`` runs if this process leads) and gives the lead up."""
        raise NotImplementedError


class SoleLeader(Leadership):
    """The only process (SQLite): the leader from :meth:`start` to :meth:`stop`."""

    def __init__(self) -> None:
        self._deposed: Job | None = None

    @property
    def is_leader(self) -> bool:
        return self._deposed is not None

    async def start(self, elected: Job, deposed: Job) -> None:
        self._deposed = deposed
        await elected()

    async def stop(self) -> None:
        deposed, self._deposed = self._deposed, None
        if deposed is not None:
            await deposed()


class PostgresLeader(Leadership):
    """Campaigns for ``key`` on a dedicated connection (``connect``) every ``interval`` seconds
    in a task of its own, from :meth:`start` to :meth:`stop`."""

    def __init__(self, connect: Connect, key: int, interval: float) -> None:
        self._connect = connect
        self._key = key
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._leading = False
        self._elected: Job | None = None
        self._deposed: Job | None = None
        # Campaign rounds so far (each is one try for the lock, or one check that it is held).
        self.rounds = 0

    @property
    def is_leader(self) -> bool:
        return self._leading

    async def start(self, elected: Job, deposed: Job) -> None:
        self._elected, self._deposed = elected, deposed
        self._task = asyncio.create_task(self._campaign(), name="leader-election")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # The task steps down and closes its connection (which unlocks) as it ends.
            await asyncio.gather(task, return_exceptions=True)

    async def _campaign(self) -> None:
        while True:
            try:
                async with asyncio.timeout(max(2 * self._interval, CONNECT_TIMEOUT)):
                    conn = await self._connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down or refuses: try again later
                log.warning(
                    "leader election: cannot connect to the database (%s); next try in %.0fs",
                    type(exc).__name__,
                    self._interval,
                )
                await asyncio.sleep(self._interval)
                continue
            try:
                await self._hold_or_wait(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "leader election: the database connection failed (%s); starting over",
                    type(exc).__name__,
                )
            finally:
                try:
                    await self._step_down()
                finally:
                    # terminate, not close: close waits for the server, which may be gone. The
                    # session ends with the socket, and PostgreSQL frees the lock.
                    conn.terminate()
            # A replica whose connection just failed gives the others, who try every interval,
            # the first chance at the lock: the lead moves to a replica with a working
            # connection instead of flapping.
            await asyncio.sleep(2 * self._interval)

    async def _hold_or_wait(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        while not lost.is_set():
            won = False
            self.rounds += 1
            async with asyncio.timeout(max(self._interval, MIN_TIMEOUT)):
                if self._leading:
                    # The session lives, so the lock is still ours.
                    await conn.fetchval("SELECT 1")
                else:
                    won = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key))
            if won:
                await self._step_up()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await lost.wait()
        raise ConnectionError("the connection was closed")

    async def _step_up(self) -> None:
        log.info("leader election: this replica leads; background work starts here")
        self._leading = True
        assert self._elected is not None
        await self._elected()

    async def _step_down(self) -> None:
        if not self._leading:
            return
        self._leading = False
        log.info("leader election: this replica no longer leads; its background work stops")
        assert self._deposed is not None
        await self._deposed()


def connector(database_url: str, interval: float, name: str = LEADER_SESSION) -> Connect:
    """Opens the dedicated connection an election (or the polling lock) runs on."""

    async def connect() -> asyncpg.Connection:
        import asyncpg

        return await asyncpg.connect(
            database_url,
            server_settings=keepalive_settings(interval, name),
            timeout=max(2 * interval, CONNECT_TIMEOUT),
        )

    return connect


def elect_on(database_url: str | None, bot_id: int, interval: float) -> Leadership:
    """The leadership for a bot: by election on a shared PostgreSQL, else the sole process."""
    if database_url is None:
        return SoleLeader()
    return PostgresLeader(connector(database_url, interval), leader_key(bot_id), interval)


class PollingTakenError(StorageError):
    """Another replica already polls this bot on the shared database."""


async def hold_polling_lock(connect: Connect, key: int) -> asyncpg.Connection:
    """A connection holding the polling lock for as long as it stays open; raises
    :class:`PollingTakenError` in one line when another replica holds it."""
    conn = await connect()
    try:
        taken = await conn.fetchval("SELECT pg_try_advisory_lock($1)", key)
    except BaseException:
        conn.terminate()
        raise
    if not taken:
        conn.terminate()
        raise PollingTakenError(
            "another replica already polls this bot on DATABASE_URL: Telegram hands each "
            "update to one poller only. Run one polling replica, or set WEBHOOK_URL to run "
            "several behind a proxy (docs/DEPLOY.md)"
        )
    return conn
