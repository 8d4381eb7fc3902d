"""``python -m bot forget-undecryptable``: give up, on purpose, the accounts whose stored API key
no loaded master key can decrypt (the key file was lost, or ENCRYPTION_KEY changed).

The bot refuses to start while such accounts exist, because starting would treat them as
unlinked and lose them silently. This command is the explicit way out: each such account is
unlinked as the user's own "unlink" does (key, client id, install watches, pending
confirmations and dialogs) and its user is left a notice, which the bot sends at its next
start-up, asking them to link again. Without ``--yes`` it only says what it would do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.storage.crypto import KeyRing, SecretLike
from bot.storage.keyfile import generate_key
from bot.storage.startup import LINK_AGAIN, open_existing

ROLE = "forget-undecryptable"


@dataclass(frozen=True, slots=True)
class ForgetReport:
    user_ids: tuple[int, ...]
    key_ids: tuple[str, ...]
    applied: bool


async def forget_undecryptable(
    database_path: Path | str,
    key_file: Path | str,
    *,
    env_key: str | SecretLike | None = None,
    apply: bool,
) -> ForgetReport:
    """Find (and with ``apply``, unlink) every account whose key cannot be decrypted."""
    db = await open_existing(Path(database_path), ROLE, _keyring(env_key, Path(key_file)))
    try:
        broken = await db.users.undecryptable()
        user_ids = [user_id for user_id, _ in broken]
        if apply and user_ids:
            await db.users.forget(user_ids, LINK_AGAIN)
    finally:
        await db.close()
    return ForgetReport(
        user_ids=tuple(user_ids),
        key_ids=tuple(sorted({str(key_id) for _, key_id in broken})),
        applied=apply,
    )


def _keyring(env_key: str | SecretLike | None, key_file: Path) -> KeyRing:
    """The keys the bot would start with. With no key file at all, a ring of one throwaway key
    stands for "no key": it decrypts nothing, so every stored key counts as lost."""
    if env_key is not None and not isinstance(env_key, str):
        env_key = env_key.get_secret_value()
    if env_key is not None and env_key.strip():
        return KeyRing.load(env_key, key_file)
    if not os.path.lexists(key_file):
        return KeyRing([generate_key()])
    return KeyRing.load(None, key_file)
