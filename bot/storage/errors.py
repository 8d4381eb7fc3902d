"""Exceptions raised by the storage layer.

Messages are short human sentences meant for an operator's log or terminal; they name files and
key ids but never contain key material, API keys or decrypted values.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class for every error raised on purpose by ``bot.storage``."""


class KeyFileError(StorageError):
    """The master key (ENCRYPTION_KEY or the key file) is missing, unreadable or unsafe."""


class DecryptionError(StorageError):
    """A stored secret cannot be decrypted: wrong key, unknown key id, wrong row or tampering."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer version of the bot than this one."""
