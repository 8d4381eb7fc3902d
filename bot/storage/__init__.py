"""Storage (SQLite, or PostgreSQL for replicas): users and their encrypted provider keys,
watches, logs, FSM state.

The names below are imported from their modules on first use (PEP 562): a command that needs
one module of the package (``python -m bot healthcheck`` reads only the lock file's
``bot.storage.lock``) does not import the rest, and with it aiogram (``bot.storage.fsm``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.storage.crypto import KeyRing
    from bot.storage.db import Database
    from bot.storage.errors import DecryptionError, KeyFileError, SchemaTooNewError, StorageError
    from bot.storage.fsm import DatabaseStorage, SQLiteStorage
    from bot.storage.link_attempts import LinkAttempt, LinkLimits, LinkRefusal
    from bot.storage.repositories import (
        Account,
        Confirmation,
        Notice,
        ScheduledDeletion,
        TeamPush,
        User,
        Watch,
        WatchIntent,
        WatchPoll,
    )

_HOMES = {
    "KeyRing": "bot.storage.crypto",
    "Database": "bot.storage.db",
    "DecryptionError": "bot.storage.errors",
    "KeyFileError": "bot.storage.errors",
    "SchemaTooNewError": "bot.storage.errors",
    "StorageError": "bot.storage.errors",
    "DatabaseStorage": "bot.storage.fsm",
    "SQLiteStorage": "bot.storage.fsm",
    "LinkAttempt": "bot.storage.link_attempts",
    "LinkLimits": "bot.storage.link_attempts",
    "LinkRefusal": "bot.storage.link_attempts",
    "Account": "bot.storage.repositories",
    "Confirmation": "bot.storage.repositories",
    "Notice": "bot.storage.repositories",
    "ScheduledDeletion": "bot.storage.repositories",
    "TeamPush": "bot.storage.repositories",
    "User": "bot.storage.repositories",
    "Watch": "bot.storage.repositories",
    "WatchIntent": "bot.storage.repositories",
    "WatchPoll": "bot.storage.repositories",
}

__all__ = [
    "Account",
    "Confirmation",
    "Database",
    "DatabaseStorage",
    "DecryptionError",
    "KeyFileError",
    "KeyRing",
    "LinkAttempt",
    "LinkLimits",
    "LinkRefusal",
    "Notice",
    "SQLiteStorage",
    "ScheduledDeletion",
    "SchemaTooNewError",
    "StorageError",
    "TeamPush",
    "User",
    "Watch",
    "WatchIntent",
    "WatchPoll",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once: later lookups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
