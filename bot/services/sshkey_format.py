"""OpenSSH public key lines: what users paste into the bot, checked before the provider sees them.

A pasted key is accepted only when it is exactly one ``authorized_keys``-style line of a supported
type whose base64 body decodes to the SSH wire format of that same type. Everything else is
refused with a :class:`KeyProblem` the handler can explain in the user's language. Private keys
are recognised separately (:func:`looks_like_private_key`) so the chat message holding one can be
deleted before anything else happens.

No Telegram or provider code here: this is plain parsing, unit-tested on its own.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

__all__ = [
    "MAX_COMMENT_LENGTH",
    "MAX_PASTE_LENGTH",
    "InvalidPublicKey",
    "KeyProblem",
    "PublicKey",
    "fingerprint_of",
    "looks_like_private_key",
    "parse_public_key",
]

_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)

# An RSA key of 16384 bits is about 2.8 KB of base64; nothing legitimate is longer than this.
MAX_PASTE_LENGTH = 4096
MAX_COMMENT_LENGTH = 256
# OpenSSH itself refuses shorter RSA keys.
MIN_RSA_BITS = 1024

_PRIVATE_MARKERS = (
    re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----", re.IGNORECASE),
    re.compile(r"PuTTY-User-Key-File-\d", re.IGNORECASE),
    re.compile(r"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----", re.IGNORECASE),
    # The body of an OpenSSH private key ("openssh-key-v1\0") pasted without its armour lines.
    re.compile(r"b3BlbnNzaC1rZXktdjE"),
)
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")
# A key type followed by a base64 blob: a second key hiding in what would be the comment.
_EMBEDDED_KEY_RE = re.compile(
    r"(?:^|\s)(?:" + "|".join(re.escape(t) for t in _TYPES) + r")\s+AAAA[A-Za-z0-9+/]{16,}"
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class KeyProblem(enum.StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too-long"
    PRIVATE_KEY = "private-key"
    SEVERAL_KEYS = "several-keys"
    SEVERAL_LINES = "several-lines"
    UNSUPPORTED_TYPE = "unsupported-type"
    NO_BODY = "no-body"
    BAD_BASE64 = "bad-base64"
    TYPE_MISMATCH = "type-mismatch"
    BAD_KEY_DATA = "bad-key-data"
    WEAK_KEY = "weak-key"


class InvalidPublicKey(ValueError):
    def __init__(self, problem: KeyProblem, detail: str = "") -> None:
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)
        self.problem = problem
        # For the user: e.g. the type that was declared, never the pasted text itself.
        self.detail = detail


@dataclass(frozen=True)
class PublicKey:
    key_type: str
    body: str
    comment: str | None
    fingerprint: str

    @property
    def line(self) -> str:
        """The normalised line sent to the provider: single spaces, no stray whitespace."""
        base = f"{self.key_type} {self.body}"
        return f"{base} {self.comment}" if self.comment else base

    @property
    def short_type(self) -> str:
        """``ed25519``, ``rsa``, ``ecdsa-nistp256``, ``sk-ed25519``…: compact, for labels."""
        name = self.key_type.removesuffix("@openssh.com")
        return name.replace("ssh-", "").replace("sha2-", "")


def fingerprint_of(blob: bytes) -> str:
    """``SHA256:…`` exactly as ``ssh-keygen -l`` prints it."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def looks_like_private_key(text: str) -> bool:
    return any(marker.search(text) for marker in _PRIVATE_MARKERS)


def parse_public_key(text: str) -> PublicKey:
    """The one public key in ``text``; raises :class:`InvalidPublicKey` otherwise."""
    # The private-key check comes first and looks at everything, however long or malformed:
    # the caller must learn it has to delete the message.
    if looks_like_private_key(text):
        raise InvalidPublicKey(KeyProblem.PRIVATE_KEY)
    stripped = text.strip()
    if not stripped:
        raise InvalidPublicKey(KeyProblem.EMPTY)
    if len(stripped) > MAX_PASTE_LENGTH:
        raise InvalidPublicKey(KeyProblem.TOO_LONG)
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    if len(lines) > 1:
        if sum(1 for line in lines if _starts_like_key(line)) > 1:
            raise InvalidPublicKey(KeyProblem.SEVERAL_KEYS)
        raise InvalidPublicKey(KeyProblem.SEVERAL_LINES)
    return _parse_line(lines[0])


def _starts_like_key(line: str) -> bool:
    return line.split(maxsplit=1)[0] in _TYPES


def _parse_line(line: str) -> PublicKey:
    parts = line.split(maxsplit=2)
    key_type = parts[0]
    if key_type not in _TYPES:
        # Only the first word is echoed back, and only if it is short and looks like a type.
        shown = key_type if len(key_type) <= 40 and re.fullmatch(r"[\w.@-]+", key_type) else ""
        raise InvalidPublicKey(KeyProblem.UNSUPPORTED_TYPE, shown)
    if len(parts) < 2:
        raise InvalidPublicKey(KeyProblem.NO_BODY)
    body = parts[1]
    comment = parts[2].strip() if len(parts) > 2 else ""
    if comment and _EMBEDDED_KEY_RE.search(" " + comment):
        raise InvalidPublicKey(KeyProblem.SEVERAL_KEYS)
    if not _BASE64_RE.fullmatch(body):
        raise InvalidPublicKey(KeyProblem.BAD_BASE64)
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidPublicKey(KeyProblem.BAD_BASE64) from None
    _check_key(key_type, body, blob)
    comment = _CONTROL_RE.sub("", comment)[:MAX_COMMENT_LENGTH].strip()
    return PublicKey(
        key_type=key_type, body=body, comment=comment or None, fingerprint=fingerprint_of(blob)
    )


def _check_key(key_type: str, body: str, blob: bytes) -> None:
    # The blob starts with its own type (RFC 4253): one that differs from the declared type is
    # worth its own message, as it is what a hand-edited type word looks like.
    size = int.from_bytes(blob[:4], "big")
    if len(blob) >= 4 + size and blob[4 : 4 + size] != key_type.encode():
        raise InvalidPublicKey(KeyProblem.TYPE_MISMATCH, key_type)
    # cryptography checks the rest: the wire format, the curve and the point, key lengths, the
    # FIDO application string, and no trailing bytes.
    try:
        public = load_ssh_public_key(f"{key_type} {body}".encode())
    except (ValueError, TypeError, NotImplementedError, UnsupportedAlgorithm):
        raise InvalidPublicKey(KeyProblem.BAD_KEY_DATA) from None
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS:
        raise InvalidPublicKey(KeyProblem.WEAK_KEY, str(public.key_size))
