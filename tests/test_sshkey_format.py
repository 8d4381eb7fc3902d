"""The public-key validator, fed with real keys made by the ``cryptography`` library."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bot.services.sshkey_format import (
    MAX_PASTE_LENGTH,
    InvalidPublicKey,
    KeyProblem,
    PublicKey,
    looks_like_private_key,
    parse_public_key,
)

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _openssh(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def _wire(*parts: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def _line(key_type: str, blob: bytes, comment: str = "") -> str:
    line = f"{key_type} {base64.b64encode(blob).decode()}"
    return f"{line} {comment}" if comment else line


def sk_ed25519() -> str:
    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return _line("sk-ssh-ed25519@openssh.com", _wire(b"sk-ssh-ed25519@openssh.com", raw, b"ssh:"))


def sk_ecdsa() -> str:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    key_type = b"sk-ecdsa-sha2-nistp256@openssh.com"
    return _line(key_type.decode(), _wire(key_type, b"nistp256", point, b"ssh:"))


VALID_KEYS: dict[str, Callable[[], str]] = {
    "ssh-ed25519": lambda: _openssh(ed25519.Ed25519PrivateKey.generate()),
    "ssh-rsa": lambda: _openssh(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    "ecdsa-sha2-nistp256": lambda: _openssh(ec.generate_private_key(ec.SECP256R1())),
    "ecdsa-sha2-nistp384": lambda: _openssh(ec.generate_private_key(ec.SECP384R1())),
    "ecdsa-sha2-nistp521": lambda: _openssh(ec.generate_private_key(ec.SECP521R1())),
    "sk-ssh-ed25519@openssh.com": sk_ed25519,
    "sk-ecdsa-sha2-nistp256@openssh.com": sk_ecdsa,
}


def problem_of(text: str) -> KeyProblem:
    with pytest.raises(InvalidPublicKey) as caught:
        parse_public_key(text)
    return caught.value.problem


@pytest.mark.parametrize("key_type", list(VALID_KEYS))
def test_real_keys_of_every_supported_type_are_accepted(key_type: str) -> None:
    line = VALID_KEYS[key_type]()
    parsed = parse_public_key(f"{line} me@laptop")
    assert parsed.key_type == key_type
    assert parsed.comment == "me@laptop"
    assert parsed.line == f"{line} me@laptop"
    blob = base64.b64decode(line.split()[1])
    expected = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    assert parsed.fingerprint == f"SHA256:{expected}"


def test_comment_is_optional_and_may_contain_spaces() -> None:
    line = VALID_KEYS["ssh-ed25519"]()
    assert parse_public_key(line).comment is None
    assert parse_public_key(f"{line} work laptop (2024)").comment == "work laptop (2024)"


def test_leading_and_trailing_whitespace_and_crlf_are_ignored() -> None:
    line = VALID_KEYS["ssh-ed25519"]()
    parsed = parse_public_key(f"  \n\t{line}   me@host \r\n  ")
    assert parsed.line == f"{line} me@host"
    # Several spaces between the fields collapse to one in what the provider gets.
    key_type, body = line.split()
    assert parse_public_key(f"{key_type}    {body}").line == line


def test_short_type_for_labels() -> None:
    assert parse_public_key(VALID_KEYS["ssh-ed25519"]()).short_type == "ed25519"
    assert parse_public_key(sk_ecdsa()).short_type == "sk-ecdsa-nistp256"


def test_empty_and_blank() -> None:
    assert problem_of("") is KeyProblem.EMPTY
    assert problem_of("   \n\t ") is KeyProblem.EMPTY


def test_garbage_of_ten_kilobytes_is_too_long() -> None:
    assert problem_of("A" * 10_240) is KeyProblem.TOO_LONG
    assert problem_of("ssh-ed25519 " + "A" * MAX_PASTE_LENGTH) is KeyProblem.TOO_LONG


def test_bad_base64() -> None:
    key_type, body = VALID_KEYS["ssh-ed25519"]().split()
    assert problem_of(f"{key_type} {body[:-3]}") is KeyProblem.BAD_BASE64
    assert problem_of(f"{key_type} not*base64!") is KeyProblem.BAD_BASE64
    assert problem_of(f"{key_type} {body[:20]}!!{body[20:]}") is KeyProblem.BAD_BASE64


def test_declared_type_must_match_the_embedded_one() -> None:
    _, body = VALID_KEYS["ssh-ed25519"]().split()
    assert problem_of(f"ssh-rsa {body}") is KeyProblem.TYPE_MISMATCH
    _, ec_body = VALID_KEYS["ecdsa-sha2-nistp256"]().split()
    assert problem_of(f"ecdsa-sha2-nistp384 {ec_body}") is KeyProblem.TYPE_MISMATCH


def test_an_ecdsa_blob_whose_curve_contradicts_its_own_type_is_damaged() -> None:
    # The line and the blob agree on the type, so this is not the hand-edited type word that
    # TYPE_MISMATCH explains; the contradiction is inside the blob, where nobody edits.
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    forged = _line("ecdsa-sha2-nistp256", _wire(b"ecdsa-sha2-nistp256", b"nistp384", point))
    assert problem_of(forged) is KeyProblem.BAD_KEY_DATA


def test_structurally_broken_blobs() -> None:
    # Right type string, but a truncated key, trailing bytes, or a point that is not on the curve.
    assert problem_of(_line("ssh-ed25519", _wire(b"ssh-ed25519", b"short"))) is (
        KeyProblem.BAD_KEY_DATA
    )
    _, body = VALID_KEYS["ssh-ed25519"]().split()
    blob = base64.b64decode(body) + b"\x00\x00"
    assert problem_of(_line("ssh-ed25519", blob)) is KeyProblem.BAD_KEY_DATA
    point = bytearray(65)
    point[0] = 4
    not_on_curve = _wire(b"ecdsa-sha2-nistp256", b"nistp256", bytes(point))
    assert problem_of(_line("ecdsa-sha2-nistp256", not_on_curve)) is KeyProblem.BAD_KEY_DATA
    # A length prefix that claims more bytes than there are.
    assert problem_of(_line("ssh-ed25519", b"\x00\x00\x10\x00ssh")) is KeyProblem.BAD_KEY_DATA
    # A point of the right length in compressed form, which cryptography refuses with
    # NotImplementedError rather than ValueError.
    compressed = _wire(b"ecdsa-sha2-nistp256", b"nistp256", b"\x02" + bytes(64))
    assert problem_of(_line("ecdsa-sha2-nistp256", compressed)) is KeyProblem.BAD_KEY_DATA


def test_weak_rsa_is_refused() -> None:
    weak = _openssh(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    assert parse_public_key(weak).key_type == "ssh-rsa"
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    modulus = numbers.public_numbers().n >> 500  # about 524 bits
    blob = _wire(b"ssh-rsa", b"\x01\x00\x01", b"\x00" + modulus.to_bytes(66, "big"))
    assert problem_of(_line("ssh-rsa", blob)) is KeyProblem.WEAK_KEY


def test_unsupported_types() -> None:
    assert problem_of("ssh-dss AAAAB3NzaC1kc3MAAACBAP") is KeyProblem.UNSUPPORTED_TYPE
    assert problem_of("hello world") is KeyProblem.UNSUPPORTED_TYPE
    assert problem_of("AAAAC3NzaC1lZDI1NTE5AAAAI") is KeyProblem.UNSUPPORTED_TYPE
    with pytest.raises(InvalidPublicKey) as caught:
        parse_public_key("ssh-dss AAAA")
    assert caught.value.detail == "ssh-dss"
    with pytest.raises(InvalidPublicKey) as caught:
        parse_public_key("<b>" + "x" * 100 + " AAAA")
    assert caught.value.detail == ""


def test_type_without_body() -> None:
    assert problem_of("ssh-ed25519") is KeyProblem.NO_BODY


def test_two_keys_in_one_paste() -> None:
    first, second = VALID_KEYS["ssh-ed25519"](), VALID_KEYS["ssh-rsa"]()
    assert problem_of(f"{first} a@b\n{second} c@d") is KeyProblem.SEVERAL_KEYS
    # On one line, the second key would otherwise pass for the first one's comment.
    assert problem_of(f"{first} a@b {second} c@d") is KeyProblem.SEVERAL_KEYS
    assert problem_of(f"{first} {second}") is KeyProblem.SEVERAL_KEYS


def test_a_key_wrapped_over_several_lines() -> None:
    key_type, body = VALID_KEYS["ssh-rsa"]().split()
    wrapped = f"{key_type} {body[:70]}\n{body[70:]}"
    assert problem_of(wrapped) is KeyProblem.SEVERAL_LINES


@pytest.mark.parametrize(
    "encoding, fmt",
    [
        (serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH),
        (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL),
    ],
)
def test_private_keys_are_recognised(
    encoding: serialization.Encoding, fmt: serialization.PrivateFormat
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(encoding, fmt, serialization.NoEncryption()).decode()
    assert looks_like_private_key(pem)
    assert problem_of(pem) is KeyProblem.PRIVATE_KEY
    # Even buried in a long paste, or with only the body lines copied.
    assert problem_of("A" * 9000 + "\n" + pem) is KeyProblem.PRIVATE_KEY


def test_openssh_private_key_body_without_armour() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    body = "\n".join(pem.splitlines()[1:-1])
    assert problem_of(body) is KeyProblem.PRIVATE_KEY


def test_putty_private_key() -> None:
    ppk = (
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: me\n"
        "Public-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIH\nPrivate-Lines: 1\nAAAAIB\n"
    )
    assert problem_of(ppk) is KeyProblem.PRIVATE_KEY


def test_public_keys_are_not_mistaken_for_private_ones() -> None:
    for make in VALID_KEYS.values():
        assert not looks_like_private_key(make())


def test_control_characters_are_dropped_from_the_comment() -> None:
    line = VALID_KEYS["ssh-ed25519"]()
    parsed = parse_public_key(f"{line} me\x07@host\x1b")
    assert parsed.comment == "me@host"


def test_public_key_is_a_plain_value() -> None:
    parsed = parse_public_key(VALID_KEYS["ssh-ed25519"]())
    assert isinstance(parsed, PublicKey)
    assert parsed == parse_public_key(parsed.line)
