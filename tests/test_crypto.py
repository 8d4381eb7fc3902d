from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from bot.storage import DecryptionError, KeyFileError, KeyRing
from bot.storage.keyfile import (
    create_key_file,
    format_key_file,
    generate_key,
    key_id_of,
    read_key_file,
)
from tests.storage_helpers import new_keyring

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def _env_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def test_round_trip_and_fresh_nonce() -> None:
    ring = new_keyring()
    key_id, blob1 = ring.encrypt(123, "secret-api-key")
    _, blob2 = ring.encrypt(123, "secret-api-key")
    assert key_id == ring.current_id
    assert blob1 != blob2  # a fresh nonce each time
    assert b"secret-api-key" not in blob1
    assert ring.decrypt(123, key_id, blob1) == "secret-api-key"
    assert ring.decrypt(123, key_id, blob2) == "secret-api-key"


def test_ciphertext_bound_to_user() -> None:
    ring = new_keyring()
    key_id, blob = ring.encrypt(1, "alice-key")
    with pytest.raises(DecryptionError):
        ring.decrypt(2, key_id, blob)


@pytest.mark.parametrize("position", [0, 12, -1])
def test_tampered_blob_rejected(position: int) -> None:
    ring = new_keyring()
    key_id, blob = ring.encrypt(1, "key")
    tampered = bytearray(blob)
    tampered[position] ^= 0x01
    with pytest.raises(DecryptionError):
        ring.decrypt(1, key_id, bytes(tampered))
    with pytest.raises(DecryptionError):
        ring.decrypt(1, key_id, blob[:10])


def test_unknown_key_id_and_wrong_key() -> None:
    ring, other = new_keyring(), new_keyring()
    key_id, blob = ring.encrypt(1, "key")
    with pytest.raises(DecryptionError, match="not loaded"):
        other.decrypt(1, key_id, blob)
    with pytest.raises(DecryptionError):
        other.decrypt(1, other.current_id, blob)


def test_older_keys_stay_readable() -> None:
    old, new = generate_key(), generate_key()
    key_id, blob = KeyRing([old]).encrypt(5, "x")
    ring = KeyRing([new, old])
    assert ring.current_id == key_id_of(new)
    assert ring.key_ids == (key_id_of(new), key_id_of(old))
    assert ring.decrypt(5, key_id, blob) == "x"
    assert ring.encrypt(5, "x")[0] == key_id_of(new)


def test_repr_has_no_key_material() -> None:
    raw = generate_key()
    ring = KeyRing([raw])
    text = repr(ring)
    assert ring.current_id in text
    assert _env_key(raw) not in text
    assert raw.hex() not in text


@posix_only
def test_key_file_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    keys, created = create_key_file(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(key_id_of(keys[0]) + ":")
    # Creating again gives the key already there, not a new one.
    assert create_key_file(path) == (keys, False)
    assert KeyRing.load(None, path).current_id == key_id_of(keys[0])
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


@posix_only
def test_key_file_created_0600_despite_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "secret.key"
        create_key_file(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_loading_never_creates_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    with pytest.raises(KeyFileError, match=r"secret\.key does not exist"):
        KeyRing.load(None, path)
    assert not path.exists()


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_with_loose_permissions_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secret.key"
    path.write_text(format_key_file([generate_key()]))
    path.chmod(mode)
    with pytest.raises(KeyFileError, match=r"group/others \(chmod 600 .*secret.key\)"):
        KeyRing.load(None, path)


@pytest.mark.parametrize(
    "content",
    [
        "",
        "\n\n",
        "not a key\n",
        "deadbeef:notbase64!!\n",
        "deadbeef:" + _env_key(b"short") + "\n",
        "zzzzzzzz:" + _env_key(b"\x00" * 32) + "\n",
        "\xff\xfe garbage",
    ],
)
def test_malformed_key_file_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(content.encode("latin-1"))
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=r"secret\.key"):
        KeyRing.load(None, path)


def test_key_id_mismatch_and_duplicates_refused(tmp_path: Path) -> None:
    a, b = generate_key(), generate_key()
    path = tmp_path / "secret.key"
    path.write_text(f"{key_id_of(a)}:{_env_key(b)}\n")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="does not match"):
        read_key_file(path)
    path.write_text(format_key_file([a]) * 2)
    with pytest.raises(KeyFileError, match="twice"):
        read_key_file(path)


def test_malformed_message_has_no_key_material(tmp_path: Path) -> None:
    secret = _env_key(generate_key())
    path = tmp_path / "secret.key"
    path.write_text(f"badid:{secret}\n")
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as info:
        KeyRing.load(None, path)
    assert secret not in str(info.value)


def test_unreadable_key_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.mkdir()
    with pytest.raises(KeyFileError, match=r"secret\.key"):
        KeyRing.load(None, path)


@posix_only
@pytest.mark.skipif(os.name == "posix" and os.geteuid() == 0, reason="root reads anything")
def test_key_file_without_read_permission(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text(format_key_file([generate_key()]))
    path.chmod(0o200)
    with pytest.raises(KeyFileError, match="cannot read key file"):
        KeyRing.load(None, path)


def test_multi_key_file_order(tmp_path: Path) -> None:
    new, old = generate_key(), generate_key()
    path = tmp_path / "secret.key"
    path.write_text(format_key_file([new, old]))
    path.chmod(0o600)
    ring = KeyRing.load(None, path)
    assert ring.key_ids == (key_id_of(new), key_id_of(old))


def test_encryption_key_env_used(tmp_path: Path) -> None:
    raw = generate_key()
    path = tmp_path / "secret.key"
    ring = KeyRing.load(_env_key(raw), path)
    assert ring.current_id == key_id_of(raw)
    assert not path.exists()  # the key file is neither read nor created
    # Standard base64 and missing padding are accepted too.
    std = base64.b64encode(raw).decode().rstrip("=")
    assert KeyRing.load(std, path).current_id == key_id_of(raw)


def test_encryption_key_accepts_secret_str(tmp_path: Path) -> None:
    from pydantic import SecretStr

    raw = generate_key()
    ring = KeyRing.load(SecretStr(_env_key(raw)), tmp_path / "k")
    assert ring.current_id == key_id_of(raw)


@pytest.mark.parametrize("bad", ["hello", _env_key(b"x" * 16), _env_key(b"x" * 33), "a b c"])
def test_bad_encryption_key_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(KeyFileError, match="ENCRYPTION_KEY") as info:
        KeyRing.load(bad, tmp_path / "secret.key")
    assert bad not in str(info.value)


def test_a_fingerprint_tells_a_changed_secret_without_holding_it() -> None:
    ring = new_keyring()
    mark = ring.fingerprint("root-pass-1")
    assert "root-pass-1" not in mark and mark.startswith(f"{ring.current_id}:")
    assert ring.matches(mark, "root-pass-1") is True
    assert ring.matches(mark, "root-pass-2") is False
    # Keyed: another key ring makes another digest, and cannot judge this one.
    other = new_keyring()
    assert other.fingerprint("root-pass-1").split(":")[1] != mark.split(":")[1]
    assert other.matches(mark, "root-pass-1") is None
    assert ring.matches("not a fingerprint", "root-pass-1") is None
