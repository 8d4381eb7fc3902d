"""Master key rotation for the key file.

Stop the bot first: a running bot keeps its old key ring in memory and would not be able to
read rows re-encrypted with the new key (and would drop the new key on its next start-up only
if the file were rewritten, which it never is).

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
from bot.storage.db import Database
from bot.storage.errors import KeyFileError, StorageError
from bot.storage.keyfile import generate_key, key_id_of, read_key_file, write_key_file


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
    if not database_path.is_file():
        # Rotating against a mistyped path would drop the old key while the real database
        # still needs it.
        raise StorageError(f"database {database_path} does not exist; nothing was rotated")

    keys = read_key_file(key_file)
    resumed = len(keys) > 1
    if not resumed:
        keys = [generate_key(), *keys]
        write_key_file(key_file, keys)
    keyring = KeyRing(keys)
    current = keyring.current_id

    reencrypted = 0
    db = await Database.open(database_path, keyring)
    try:
        for user_id in await db.users.ids_not_on_key(current):
            if await db.users.reencrypt(user_id):
                reencrypted += 1
        leftover = await db.users.ids_not_on_key(current)
        if leftover:
            raise StorageError(
                f"{len(leftover)} rows were written with an old key during rotation; "
                "stop the bot and run the rotation again"
            )
    finally:
        await db.close()

    write_key_file(key_file, [keys[0]])
    return RotationReport(
        key_id=current,
        retired_key_ids=tuple(key_id_of(key) for key in keys[1:]),
        reencrypted=reencrypted,
        resumed=resumed,
    )

