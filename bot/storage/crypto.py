"""AES-256-GCM encryption of per-user secrets (the provider API key) with rotatable master keys."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.storage.errors import DecryptionError, KeyFileError
from bot.storage.keyfile import (
    KEY_BYTES,
    decode_key,
    key_id_of,
    read_key_file,
)

NONCE_BYTES = 12
# What the keys used for fingerprints are derived with: never the encryption keys themselves.
FINGERPRINT_CONTEXT = b"inferno-bot secret fingerprint v1"


class SecretLike(Protocol):
    """Like pydantic's ``SecretStr``, so ``settings.encryption_key`` can be passed as is."""

    def get_secret_value(self) -> str: ...


def associated_data(user_id: int) -> bytes:
    # Binding the ciphertext to the row's owner makes a blob copied into another user's row
    # fail authentication instead of silently handing that user someone else's API key.
    return f"user:{user_id}".encode("ascii")


class KeyRing:
    """Master keys by key id; the first one is current and used for every new encryption."""

    __slots__ = ("_ciphers", "_keys")

    def __init__(self, keys: Iterable[bytes]) -> None:
        self._keys: dict[str, bytes] = {}
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"master keys must be {KEY_BYTES} bytes")
            self._keys.setdefault(key_id_of(key), key)
        if not self._keys:
            raise ValueError("a key ring needs at least one key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in self._keys.items()}

    @classmethod
    def load(cls, key: str | SecretLike | None, key_file: Path | str) -> KeyRing:
        """Use ``key`` (the ENCRYPTION_KEY value) if given, else the key file.

        Raises :class:`KeyFileError` for a bad ENCRYPTION_KEY or a missing, unreadable,
        malformed or group/other-accessible key file. A new key file is made only by the
        bot's start-up (:func:`bot.storage.startup.open_storage`), and only for a database
        that holds no encrypted row.
        """
        if key is not None and not isinstance(key, str):
            key = key.get_secret_value()
        if key is not None and key.strip():
            raw = decode_key(key)
            if raw is None:
                raise KeyFileError(
                    "ENCRYPTION_KEY is invalid: it must be 32 random bytes in URL-safe base64 "
                    "(for example the output of: openssl rand -base64 32)"
                )
            return cls([raw])
        return cls(read_key_file(Path(key_file)))

    @property
    def current_id(self) -> str:
        return next(iter(self._keys))

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def encrypt(self, user_id: int, plaintext: str) -> tuple[str, bytes]:
        key_id = self.current_id
        nonce = os.urandom(NONCE_BYTES)
        blob = nonce + self._ciphers[key_id].encrypt(
            nonce, plaintext.encode("utf-8"), associated_data(user_id)
        )
        return key_id, blob

    def decrypt(self, user_id: int, key_id: str, blob: bytes) -> str:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(
                f"secret of user {user_id} is encrypted with key {key_id}, which is not loaded"
            )
        if len(blob) < NONCE_BYTES + 16:
            raise DecryptionError(f"secret of user {user_id} is truncated")
        try:
            plain = cipher.decrypt(
                bytes(blob[:NONCE_BYTES]), bytes(blob[NONCE_BYTES:]), associated_data(user_id)
            )
        except InvalidTag:
            raise DecryptionError(
                f"secret of user {user_id} failed authentication (wrong key, wrong row or tampered)"
            ) from None
        return plain.decode("utf-8")

    def fingerprint(self, secret: str) -> str:
        """A keyed one-way digest of ``secret`` (``key_id:hex``), to tell later whether a secret
        changed without keeping it: HMAC-SHA256 under a key derived from the current master
        key, so the database alone does not allow guessing the secret offline."""
        key_id = self.current_id
        return f"{key_id}:{self._mac(key_id, secret)}"

    def matches(self, fingerprint: str, secret: str) -> bool | None:
        """Whether ``secret`` is what ``fingerprint`` was made of; None when that cannot be
        told (the fingerprint's key is no longer loaded, or it is not a fingerprint)."""
        key_id, _, digest = fingerprint.rpartition(":")
        if key_id not in self._keys or not digest:
            return None
        return hmac.compare_digest(digest, self._mac(key_id, secret))

    def _mac(self, key_id: str, secret: str) -> str:
        derived = hmac.new(self._keys[key_id], FINGERPRINT_CONTEXT, hashlib.sha256).digest()
        return hmac.new(derived, secret.encode("utf-8"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"KeyRing(current_id={self.current_id!r}, key_ids={list(self._keys)!r})"
