"""``python -m bot healthcheck``: whether a bot is running on the database and can read it.

In webhook mode (``WEBHOOK_URL`` set: one of several replicas, perhaps on PostgreSQL and
Redis) it asks the running bot's own ``GET /healthz`` on ``WEBHOOK_LISTEN`` instead
(:func:`check_webhook`): that answers 200 only while the database and Redis answer it. Polling
on PostgreSQL (``DATABASE_URL``, no lock file) it asks the database whether the poller's
session, which holds the polling lock, is there (:func:`check_postgres`).

For Docker's ``HEALTHCHECK``, so it is cheap and changes nothing: it never takes the database's
lock (a lock taken even for a moment could make a bot that is starting refuse to start) and
never writes. The running bot holds an exclusive ``flock`` on ``<database>.lock`` for its whole
life (:mod:`bot.storage.lock`); the kernel lists every such lock in ``/proc/locks``, which is
read instead of trying the lock. Only then is the database opened, read-only, for one trivial
query: a bot that holds the lock has its ``-wal``/``-shm`` files open, so the read-only
connection creates none of its own.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.config import parse_listen
from bot.storage.lock import BOT, lock_path

PROC_LOCKS = Path("/proc/locks")
# Seconds the query may wait for a writer's lock: the bot's writes are short.
QUERY_TIMEOUT = 5.0
# Seconds /healthz may take (it gives the database and Redis 3 s each at most).
HTTP_TIMEOUT = 10.0
# A bot listening on every address answers on loopback.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


@dataclass(frozen=True)
class Health:
    ok: bool
    line: str


def check(database_path: Path, *, demo_path: Path | None = None) -> Health:
    """Healthy when a bot holds the lock of ``database_path`` (or of ``demo_path``, where
    ``--demo`` keeps its data) and that database answers a read-only query."""
    health = _check_one(database_path)
    if not health.ok and demo_path is not None:
        demo = _check_one(demo_path)
        if demo.ok:
            return demo
    return health


def _check_one(database_path: Path) -> Health:
    where = f"DATABASE_PATH={database_path}"
    try:
        holder = _lock_holder(lock_path(database_path))
    except OSError as exc:
        return Health(False, f"unhealthy: cannot tell whether a bot runs on {where}: {exc}")
    if holder is None:
        return Health(False, f"unhealthy: no bot is running on {where}")
    if holder != BOT:
        return Health(False, f"unhealthy: `python -m bot {holder}` is running on {where}")
    try:
        tables = _count_tables(database_path)
    except sqlite3.Error as exc:
        return Health(False, f"unhealthy: the bot's database {database_path} cannot be read: {exc}")
    if not tables:
        return Health(False, f"unhealthy: the bot's database {database_path} has no tables")
    return Health(True, f"healthy: a bot is running on {where} and its database answers")


def _lock_holder(path: Path) -> str | None:
    """The role (``bot``, ``rotate-key``, …) of whoever holds the lock; None when nobody does.

    Raises OSError when the locks cannot be listed (no ``/proc``: not Linux).
    """
    try:
        # O_RDONLY without O_CREAT: a missing lock file is simply "no bot", and nothing is made.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        held = os.fstat(fd)
        recorded = os.pread(fd, 200, 0).decode("ascii", "replace").split()
    finally:
        os.close(fd)
    if not _flocked(held, PROC_LOCKS.read_text(encoding="ascii", errors="replace")):
        return None
    # The holder writes "<pid> <role>" into the file; a bot writes "bot".
    return recorded[1] if len(recorded) > 1 else BOT


def _flocked(file: os.stat_result, proc_locks: str) -> bool:
    """Whether ``/proc/locks`` lists an exclusive ``flock`` on ``file``.

    A line reads ``7: FLOCK  ADVISORY  WRITE 3099 fe:00:2146480 0 EOF`` — the device as hex
    major:minor, then the inode; a waiter's line has ``->`` after the number.
    """
    for line in proc_locks.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK" or fields[3] != "WRITE":
            continue
        try:
            major, minor, inode = fields[5].split(":", 2)
            device = os.makedev(int(major, 16), int(minor, 16))
            if (device, int(inode)) == (file.st_dev, file.st_ino):
                return True
        except ValueError:
            continue
    return False


def _count_tables(database_path: Path) -> int:
    if not database_path.is_file():
        raise sqlite3.OperationalError("no such file")
    uri = f"{database_path.resolve().as_uri()}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=QUERY_TIMEOUT)
    try:
        (count,) = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        connection.close()
    return int(count)


def check_webhook(listen: str) -> Health:
    """Healthy when the bot listening on ``listen`` (``WEBHOOK_LISTEN``) answers ``/healthz``
    with 200."""
    import urllib.error
    import urllib.request

    host, port = parse_listen(listen)
    host = _LOOPBACK.get(host, host)
    url = f"http://[{host}]:{port}/healthz" if ":" in host else f"http://{host}:{port}/healthz"
    where = f"WEBHOOK_LISTEN={listen}"
    # No proxy: HTTP_PROXY in the container's environment must not catch a loopback request.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=HTTP_TIMEOUT) as response:
            status = int(response.status)
            body = response.read(200).decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        reason = exc.read(200).decode("utf-8", "replace").strip() or exc.reason
        return Health(False, f"unhealthy: the bot on {where} answers {exc.code}: {reason}")
    except (OSError, ValueError) as exc:
        return Health(False, f"unhealthy: no bot answers on {where}: {exc}")
    if status != 200:
        return Health(False, f"unhealthy: the bot on {where} answers {status}: {body}")
    return Health(True, f"healthy: the bot on {where} and its database answer")


def check_postgres(database_url: str, name: str) -> Health:
    """Healthy when the database at ``database_url`` (``name``: its host and database, never
    the URL) answers and a polling bot's session is connected to it."""
    import asyncio

    from bot.services.leader import POLLER_SESSION

    async def pollers() -> int:
        import asyncpg

        conn = await asyncpg.connect(database_url, timeout=QUERY_TIMEOUT)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = $1",
                    POLLER_SESSION,
                    timeout=QUERY_TIMEOUT,
                )
            )
        finally:
            await conn.close()

    where = f"DATABASE_URL ({name})"
    try:
        found = asyncio.run(pollers())
    except Exception as exc:  # the text of any of them may not quote the URL: the class only
        return Health(
            False, f"unhealthy: the database {where} does not answer ({type(exc).__name__})"
        )
    if not found:
        return Health(False, f"unhealthy: no bot is polling on {where}")
    return Health(True, f"healthy: a bot is polling on {where} and its database answers")
