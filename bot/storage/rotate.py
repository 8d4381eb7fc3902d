"""Master key rotation for the key file.

The bot must be stopped: a running bot keeps its old key ring in memory and could not read
rows re-encrypted with the new key. Both take the database's lock
(:mod:`bot.storage.lock`), so a rotation refuses to run beside a bot and the other way round.

The procedure is crash-safe at every step, because each row records the id of the key that
encrypted it and the key file only loses the old keys after every row has moved:

1. write the key file atomically as ``[new, old...]`` (old rows stay readable);
2. re-encrypt each row whose key id is not the new one, one small transaction per row;
3. write the key file atomically as ``[new]``.

A re-run after a crash finds more than one key in the file and resumes at step 2 with the first
(current) key instead of generating yet another one.

Usage: ``python -m bot rotate-key``, which finds the database and the key file through the
bot's own settings (``DATABASE_PATH``, ``ENCRYPTION_KEY_FILE``, ``.env``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.storage.crypto import KeyRing
from bot.storage.errors import DecryptionError, KeyFileError, StorageError
from bot.storage.keyfile import generate_key, key_id_of, read_key_file, write_key_file
from bot.storage.startup import FORGET_COMMAND, open_existing

ROLE = "rotate-key"


@dataclass(frozen=True, slots=True)
class RotationReport:
    key_id: str
    retired_key_ids: tuple[str, ...]
    reencrypted: int
    resumed: bool


async def rotate_key(
    database_path: Path | str,
    key_file: Path | str,
    *,
    env_key: str | None = None,
) -> RotationReport:
    """Rotate the master key in ``key_file`` and re-encrypt every stored API key.

    ``env_key`` is the ENCRYPTION_KEY value, if any: with it set the bot never reads the key
    file, so rotating the file would achieve nothing.
    """
    if env_key is not None and env_key.strip():
        raise KeyFileError(
            "ENCRYPTION_KEY is set, so the master key comes from your secret store and cannot be "
            "rotated here; rotate it there yourself, or unset ENCRYPTION_KEY to use a key file"
        )
    key_file = Path(key_file)
    database_path = Path(database_path)
    keys = read_key_file(key_file)
    resumed = len(keys) > 1
    if not resumed:
        keys = [generate_key(), *keys]
    keyring = KeyRing(keys)
    current = keyring.current_id

    reencrypted = 0
    # Locked like a running bot, which refuses to start meanwhile (and is refused here if it
    # runs). A mistyped path is refused too: it would drop the old key while the real
    # database still needs it.
    db = await open_existing(database_path, ROLE, keyring)
    try:
        broken = await db.users.undecryptable()
        if broken:
            ids = ", ".join(sorted({str(key_id) for _, key_id in broken}))
            raise DecryptionError(
                f"{len(broken)} stored API keys cannot be decrypted with the keys in {key_file} "
                f"(they need key {ids}); nothing was rotated. Restore that key, or give those "
                f"accounts up first with `{FORGET_COMMAND} --yes`"
            )
        if not resumed:
            write_key_file(key_file, keys)
        for user_id in await db.users.ids_not_on_key(current):
            if await db.users.reencrypt(user_id):
                reencrypted += 1
        leftover = await db.users.ids_not_on_key(current)
        if leftover:
            raise StorageError(
                f"{len(leftover)} rows are still on an old key; run the rotation again"
            )
        write_key_file(key_file, [keys[0]])
    finally:
        await db.close()

    return RotationReport(
        key_id=current,
        retired_key_ids=tuple(key_id_of(key) for key in keys[1:]),
        reencrypted=reencrypted,
        resumed=resumed,
    )
