"""Storage (SQLite, or PostgreSQL for replicas): users and their encrypted provider keys,
watches, logs, FSM state."""

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
