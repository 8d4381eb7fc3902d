"""Encoding of master keys and the on-disk key file.

File format: one key per line, ``key_id:base64key`` (URL-safe base64 of 32 bytes). The first
line is the current key used for new encryptions; later lines are older keys that stay readable
until a rotation has re-encrypted everything.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

from bot.storage.errors import KeyFileError

KEY_BYTES = 32
FILE_MODE = 0o600
_B64_RE = re.compile(r"^[A-Za-z0-9_\-+/]+={0,2}$")
_ID_RE = re.compile(r"^[0-9a-f]{8}$")


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def key_id_of(key: bytes) -> str:
    # A hash prefix identifies the key without revealing anything useful about it (32 bits of a
    # SHA-256 of 256 random bits), and is stable across restarts and machines.
    return hashlib.sha256(key).hexdigest()[:8]


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def decode_key(text: str) -> bytes | None:
    """Decode a base64 key; ``None`` when it is not exactly 32 bytes of base64.

    Standard base64 (``+/``) is accepted too, because ``openssl rand -base64 32`` is the
    obvious way for an operator to make one; missing padding is tolerated.
    """
    text = text.strip()
    if not _B64_RE.fullmatch(text):
        return None
    text = text.replace("+", "-").replace("/", "_").rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == KEY_BYTES else None


def format_key_file(keys: Sequence[bytes]) -> str:
    return "".join(f"{key_id_of(key)}:{encode_key(key)}\n" for key in keys)


def parse_key_file(text: str, path: Path) -> list[bytes]:
    keys: list[bytes] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        key_id, sep, encoded = line.partition(":")
        key = decode_key(encoded) if sep and _ID_RE.fullmatch(key_id) else None
        if key is None:
            raise KeyFileError(
                f"key file {path} is malformed at line {number}: expected key_id:base64key"
            )
        if key_id_of(key) != key_id:
            raise KeyFileError(
                f"key file {path} is damaged at line {number}: the key id does not match the key"
            )
        if key_id in seen:
            raise KeyFileError(f"key file {path} lists key {key_id} twice")
        seen.add(key_id)
        keys.append(key)
    if not keys:
        raise KeyFileError(f"key file {path} contains no keys")
    return keys


def read_key_file(path: Path) -> list[bytes]:
    """Read and validate the key file; refuse it if group or others can access it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"key file {path} is not a regular file")
        # Windows has no POSIX permission bits worth checking.
        if os.name == "posix" and info.st_mode & 0o077:
            raise KeyFileError(
                f"key file {path} must not be readable by group/others (chmod 600 {path})"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(
            f"key file {path} is malformed: expected key_id:base64key lines"
        ) from None
    return parse_key_file(text, path)


def _write_temp(path: Path, keys: Sequence[bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL + explicit mode: the key never exists on disk with wider permissions, whatever
    # the umask is.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)
        os.write(fd, format_key_file(keys).encode("ascii"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, hence best effort.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_key_file(path: Path, keys: Sequence[bytes]) -> None:
    """Atomically replace the key file: readers see either the old or the new file, never a mix."""
    if not keys:
        raise ValueError("at least one key is required")
    try:
        tmp = _write_temp(path, keys)
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise KeyFileError(f"cannot write key file {path}: {exc.strerror}") from None
    _fsync_dir(path.parent)


def create_key_file(path: Path) -> tuple[list[bytes], bool]:
    """Create a key file holding one new key, unless one appeared meanwhile; return its keys
    and whether this call created it.

    Uses a hard link so that two processes starting at once cannot both create a key and have
    one of them encrypt with a key that is then overwritten. The folder must exist.
    """
    key = generate_key()
    try:
        tmp = _write_temp(path, [key])
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {path}: {exc.strerror}") from None
    try:
        os.link(tmp, path)
    except FileExistsError:
        return read_key_file(path), False
    except OSError:
        # Some filesystems (certain network or container mounts) have no hard links.
        if path.exists():
            return read_key_file(path), False
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise KeyFileError(f"cannot create key file {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return [key], True
