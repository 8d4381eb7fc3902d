"""One process at a time per database: an exclusive ``flock`` on ``<database>.lock``.

The running bot holds it for its whole life; ``rotate-key`` and ``forget-undecryptable`` take it
too, so neither can change keys or rows under a bot that keeps its key ring and row cache in
memory. The lock is taken without waiting: a second process is told at once who holds it.

The kernel drops the lock when its holder dies, so a file left behind by ``kill -9`` is
harmless; a clean release also removes the file. Removing a lock file is safe only because
:meth:`DatabaseLock.acquire` checks, after locking, that the path still names the very file it
locked (otherwise it locked a file someone just removed, and tries again).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from bot.storage.errors import StorageError

FILE_MODE = 0o600
# What a process holding the lock does; recorded in the file for the next one's message.
BOT = "bot"


class DatabaseInUseError(StorageError):
    """Another process holds the database's lock."""


def lock_path(database_path: Path) -> Path:
    return database_path.with_name(database_path.name + ".lock")


if sys.platform == "win32":  # pragma: no cover - the bot is deployed on Linux

    def _try_lock(fd: int) -> bool:
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


class DatabaseLock:
    __slots__ = ("_fd", "path")

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, database_path: Path, role: str = BOT) -> DatabaseLock:
        """Lock ``database_path`` for ``role`` (``"bot"`` or the command's name).

        Raises :class:`DatabaseInUseError` when another process holds it, and ``OSError`` when
        the lock file cannot be created (the caller names the setting in its message).
        """
        path = lock_path(database_path)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
            try:
                if not _try_lock(fd):
                    raise DatabaseInUseError(_in_use(database_path, role, _holder(fd)))
                if _same_file(fd, path):
                    _record(fd, role)
                    return cls(path, fd)
            except BaseException:
                os.close(fd)
                raise
            # The previous holder removed the file between our open and our lock: start over.
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        # Removed while still locked, so no one can lock this file after we let it go.
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

    def __repr__(self) -> str:
        return f"DatabaseLock(path={str(self.path)!r}, held={self._fd is not None})"


def _same_file(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _record(fd: int, role: str) -> None:
    # Only for the message another process shows; failing to write it changes nothing.
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {role}\n".encode("ascii"), 0)


def _holder(fd: int) -> tuple[str, str]:
    """(pid, role) written by the holder; empty strings when it did not say."""
    try:
        text = os.pread(fd, 200, 0).decode("ascii", "replace")
    except OSError:
        text = ""
    pid, _, role = text.strip().partition(" ")
    return (pid if pid.isdigit() else ""), role.strip()


def _in_use(database_path: Path, role: str, holder: tuple[str, str]) -> str:
    pid, holder_role = holder
    where = f"DATABASE_PATH={database_path}" + (f" (pid {pid})" if pid else "")
    if holder_role and holder_role != BOT:
        return f"`python -m bot {holder_role}` is running on {where}: wait for it to finish"
    if role == BOT:
        return f"another inferno-bot is already running on {where}"
    return f"an inferno-bot is running on {where}: stop the bot first, then run {role} again"
