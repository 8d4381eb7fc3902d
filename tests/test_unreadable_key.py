"""At run time a stored API key that cannot be decrypted (a damaged or tampered row) loses
nothing: the row and its watches stay, it is logged once without a traceback, and the user is
told once, in their language, to link again."""

from __future__ import annotations

import logging

import pytest

from bot.services.watcher import InstallWatcher
from bot.storage import Database
from tests.harness import BotEnv, paid_order
from tests.storage_helpers import (
    start_watch,
    store_api_key,
    stored_account,
    stored_api_key,
    watches_of,
)

UID = 5150


async def damage_key(db: Database, user_id: int) -> bytes:
    """Flips one bit of the user's stored ciphertext; returns the damaged ciphertext."""
    blob = await stored_api_key(db, user_id)
    assert blob is not None
    damaged = bytearray(blob)
    damaged[-1] ^= 0x01
    await store_api_key(db, user_id, bytes(damaged))
    return bytes(damaged)


def told(env: BotEnv, text: str) -> list[str]:
    return [m.text for m in env.tg.bot_messages(UID) if text in m.text]


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "Please link your account again"), ("ru", "привяжите аккаунт снова")],
)
async def test_unreadable_key_is_kept_and_the_user_told_once(
    env: BotEnv, caplog: pytest.LogCaptureFixture, language: str, text: str
) -> None:
    customer = await env.linked(UID, language=language)
    order_id = await paid_order(env, customer)
    await start_watch(env.db, UID, UID, order_id, "install", "debian12")
    damaged = await damage_key(env.db, UID)
    await env.restart()  # the key id is loaded: start-up cannot tell, run time must cope
    caplog.set_level(logging.INFO)

    await env.command(UID, "/menu")
    assert len(told(env, text)) == 1
    await env.command(UID, "/menu")
    await env.command(UID, "/start")
    assert len(told(env, text)) == 1, "told once, not on every update"

    unusable = [r for r in caplog.records if "stored API key cannot be used" in r.getMessage()]
    assert len(unusable) == 1 and unusable[0].levelno == logging.WARNING
    assert [r for r in caplog.records if r.exc_info] == [], "no traceback"

    # The install watcher waits for the user instead of dropping the watch.
    assert env.dp is not None and env.bot is not None
    watcher: InstallWatcher = env.dp["watcher"]
    for _ in range(3):
        await watcher.sweep(env.bot)
    (watch,) = await watches_of(env.db, UID)
    assert watch.order_id == order_id and not watch.notified and not watch.timed_out
    assert await stored_api_key(env.db, UID) == damaged, "the row is never deleted"

    # Linking again replaces the key; the watch is still there for the watcher to follow.
    await env.link(UID, customer, language=language)
    account = await stored_account(env.db, UID)
    assert account is not None and account.cid == customer.cid
    assert [w.order_id for w in await watches_of(env.db, UID)] == [order_id]
