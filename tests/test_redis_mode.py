"""REDIS_URL: dialogs, the per-user locks and the update ids taken in live in the real Redis,
shared by every replica (two clients here stand for two replicas)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis

from bot.config import Settings, SettingsError, load_settings
from bot.middlewares.update_order import redis_update_order
from bot.services.locks import RedisUserLocks
from bot.services.shared_state import (
    RedisKeys,
    RedisUnavailableError,
    SharedRedisStorage,
    check_redis,
    open_redis,
)
from bot.webhook.dedup import RedisSeenUpdates
from bot.webhook.server import HEALTH_PATH
from tests.harness import BotEnv, free_port, running_bot
from tests.test_flow_buy import confirmation

UID = 7401
TOKEN = "123456:redis-test-token"


def settings_for(redis_url: str, redis_prefix: str, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, bot_token=TOKEN, redis_url=redis_url, redis_prefix=redis_prefix, **extra
    )


@pytest.fixture
async def two_clients(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[Redis, Redis]]:
    """Two connections to one Redis: two replicas."""
    settings = settings_for(redis_url, redis_prefix)
    one, other = open_redis(settings), open_redis(settings)
    try:
        yield one, other
    finally:
        keys = [key async for key in one.scan_iter(match=f"{redis_prefix}:*", count=1000)]
        if keys:
            await one.delete(*keys)
        await one.aclose()
        await other.aclose()


# --------------------------------------------------------------------------- settings


def test_redis_url_is_checked_and_its_password_never_shown() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None, bot_token=TOKEN, redis_url="http://u:hunter2pw@host:1/0")
    assert "REDIS_URL" in str(err.value) and "hunter2pw" not in str(err.value)
    with pytest.raises(SettingsError, match="REDIS_URL is invalid: is empty"):
        load_settings(_env_file=None, bot_token=TOKEN, redis_url=" ")
    settings = load_settings(
        _env_file=None, bot_token=TOKEN, redis_url="redis://bot:hunter2pw@redis:6379/2"
    )
    assert settings.redis_url_for_log == "redis://redis:6379/2"
    assert settings.redis_secrets == ["hunter2pw"]
    assert "hunter2pw" not in repr(settings)
    assert load_settings(_env_file=None, bot_token=TOKEN).redis_url is None


async def test_a_redis_that_does_not_answer_stops_the_start_in_one_line() -> None:
    settings = settings_for(f"redis://:hunter2pw@127.0.0.1:{free_port()}/0", "p")
    redis = open_redis(settings)
    try:
        with pytest.raises(RedisUnavailableError) as err:
            await check_redis(redis, settings)
    finally:
        await redis.aclose()
    text = str(err.value)
    assert text.startswith(f"REDIS_URL={settings.redis_url_for_log} does not answer: ")
    assert "\n" not in text and "hunter2pw" not in text


# --------------------------------------------------------------------------- building blocks


async def test_an_update_id_is_taken_in_by_exactly_one_replica(
    two_clients: tuple[Redis, Redis], redis_url: str, redis_prefix: str
) -> None:
    keys = RedisKeys.of(settings_for(redis_url, redis_prefix))
    one, other = (RedisSeenUpdates(client, keys, keep=60) for client in two_clients)
    results = await asyncio.gather(*(seen.first_time(500) for seen in (one, other, one, other)))
    assert sorted(results) == [False, False, False, True]
    assert await other.first_time(501) is True
    # Expiring: Telegram has long given up on a delivery by then.
    ttl = await two_clients[0].ttl(keys.update(500))
    assert 0 < ttl <= 60


async def test_a_user_lock_held_on_one_replica_holds_the_other_back(
    two_clients: tuple[Redis, Redis], redis_url: str, redis_prefix: str
) -> None:
    keys = RedisKeys.of(settings_for(redis_url, redis_prefix))
    one, other = (RedisUserLocks(client, keys) for client in two_clients)
    order: list[str] = []
    first_holds, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with one.hold(UID):
            order.append("first in")
            first_holds.set()
            await release.wait()
            order.append("first out")

    async def second() -> None:
        await first_holds.wait()
        async with other.hold(UID):
            order.append("second in")

    async def someone_else() -> None:
        await first_holds.wait()
        async with other.hold(UID + 1):
            order.append("other user")

    tasks = [asyncio.create_task(f()) for f in (first, second, someone_else)]
    await asyncio.wait_for(first_holds.wait(), 5)
    # Another user's lock is free meanwhile; this user's is not.
    await asyncio.wait_for(tasks[2], 5)
    assert order == ["first in", "other user"]
    assert await two_clients[1].exists(keys.user_lock(UID)) == 1
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert order == ["first in", "other user", "first out", "second in"]
    assert await two_clients[0].exists(keys.user_lock(UID)) == 0


async def test_a_lock_left_by_a_dead_replica_expires(
    two_clients: tuple[Redis, Redis], redis_url: str, redis_prefix: str
) -> None:
    keys = RedisKeys.of(settings_for(redis_url, redis_prefix))
    one, _other = two_clients
    # What a killed replica leaves: the key, never released; its lease runs out.
    held = one.lock(keys.user_lock(UID), timeout=60)
    assert await held.acquire()
    ttl = await one.pttl(keys.user_lock(UID))
    assert 0 < ttl <= 60_000


async def test_the_update_isolation_orders_one_users_updates_across_replicas(
    two_clients: tuple[Redis, Redis], redis_url: str, redis_prefix: str
) -> None:
    builder = DefaultKeyBuilder(prefix=RedisKeys.of(settings_for(redis_url, redis_prefix)).fsm)
    one, other = (redis_update_order(client, builder) for client in two_clients)
    key = StorageKey(bot_id=123456, chat_id=UID, user_id=UID)
    inside = asyncio.Event()
    release = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with one.lock(key):
            inside.set()
            order.append("first")
            await release.wait()

    async def second() -> None:
        await inside.wait()
        async with other.lock(key):
            order.append("second")

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await asyncio.wait_for(inside.wait(), 5)
    # The user-lock key is a different one: a handler holding this lock may take it.
    user_lock = RedisUserLocks(two_clients[1], RedisKeys.of(settings_for(redis_url, redis_prefix)))
    async with asyncio.timeout(5), user_lock.hold(UID):
        pass
    assert order == ["first"]
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert order == ["first", "second"]


async def test_a_lost_lease_ends_the_update_with_a_warning_not_a_failure(
    two_clients: tuple[Redis, Redis],
    redis_url: str,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    builder = DefaultKeyBuilder(prefix=RedisKeys.of(settings_for(redis_url, redis_prefix)).fsm)
    isolation = redis_update_order(two_clients[0], builder)
    key = StorageKey(bot_id=123456, chat_id=UID, user_id=UID)
    async with isolation.lock(key):
        # The lease ran out (the key is gone) while the update was still being handled.
        assert await two_clients[1].delete(builder.build(key, "lock")) == 1
    assert "no longer owned" in caplog.text


# --------------------------------------------------------------------------- the bot on Redis

# REDIS_URL beside a SQLite database is a configuration of its own, which these tests are
# about; the production mode (PostgreSQL and Redis) runs every flow test (tests/conftest.py).
ON_SQLITE = pytest.mark.embedded_only("REDIS_URL with SQLite, a configuration of its own")


@pytest.fixture
async def redis_env(tmp_path: Path, redis_url: str, redis_prefix: str) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path, webhook=True, redis_url=redis_url, redis_prefix=redis_prefix
    ) as bot_env:
        yield bot_env


def _storage_key(env: BotEnv, uid: int) -> StorageKey:
    assert env.bot is not None
    return StorageKey(bot_id=env.bot.id, chat_id=uid, user_id=uid)


@ON_SQLITE
async def test_dialogs_live_in_redis_and_survive_a_restart(redis_env: BotEnv) -> None:
    env = redis_env
    customer = env.customer()
    env.tg.add_user(UID)
    await env.command(UID, "/start")
    await env.tap(UID, "Client id + API key")
    assert env.dp is not None and isinstance(env.dp.storage, SharedRedisStorage)
    state = await env.dp.storage.get_state(_storage_key(env, UID))
    assert state is not None
    # Not in the database: another replica reads the dialog from Redis.
    assert await env.db.fsm.get_state(_storage_key(env, UID)) is None

    await env.restart()
    await env.say(UID, str(customer.cid))
    reply = await env.say(UID, customer.key)
    assert "100.00 USD" in reply.text
    assert (await env.db.users.get(UID)) is not None
    assert env.dp is not None
    assert await env.dp.storage.get_state(_storage_key(env, UID)) is None
    assert env.tg.errors == []


@ON_SQLITE
async def test_a_repeated_delivery_is_dropped_through_redis_not_the_database(
    redis_env: BotEnv,
) -> None:
    env = redis_env
    await env.linked(UID)
    confirm = await confirmation(env, "VPS Start", "5.00", uid=UID)
    env.tg.lose_webhook_answer()
    await env.tg.tap_button(UID, "Confirm the purchase", message_id=confirm.message_id)
    await env.tg.wait_for(
        lambda: "Order created" in env.tg.message(UID, confirm.message_id).text,
        message="the order",
    )
    await env.settle()
    update_id = env.tg.updates[-1].update_id
    attempts = [d.error for d in env.tg.deliveries if d.update_id == update_id]
    assert attempts == ["Read timeout expired", None]
    assert env.sim.calls["create"] == 1
    assert env.services is not None and env.services.redis is not None
    keys = RedisKeys.of(env.settings)
    assert await env.services.redis.exists(keys.update(update_id)) == 1
    # Nothing recorded in the database: its seen_updates is not used when Redis is set.
    assert await env.db.seen_updates.first_time(update_id) is True


class _TcpRelay:
    """Forwards connections to ``target``; :meth:`cut` closes them and refuses new ones: Redis
    going away for this bot alone (the server is shared with other tests)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, up_writer}
        pipes = {
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        }
        self._pipes |= pipes
        await asyncio.wait(pipes)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._writers:
            writer.close()
        for task in self._pipes:
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


@ON_SQLITE
async def test_healthz_is_503_while_redis_does_not_answer(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    from yarl import URL

    target = URL(redis_url)
    assert target.host is not None and target.port is not None
    relay = _TcpRelay(target.host, target.port)
    await relay.start()
    relayed = str(target.with_host("127.0.0.1").with_port(relay.port))
    try:
        async with running_bot(
            tmp_path, webhook=True, redis_url=relayed, redis_prefix=redis_prefix
        ) as env:
            assert env.settings.webhook_url is not None
            url = URL(env.settings.webhook_url).with_path(HEALTH_PATH)
            async with aiohttp.ClientSession() as http:
                async with http.get(url) as response:
                    assert response.status == 200
                await relay.cut()
                async with http.get(url) as response:
                    assert response.status == 503
                    assert await response.text() == "redis unavailable\n"
    finally:
        await relay.cut()


async def test_what_a_message_shows_is_shared_by_the_replicas(
    two_clients: tuple[Redis, Redis], redis_url: str, redis_prefix: str
) -> None:
    """A replica that drew the menu must not take it for still shown after the other replica
    drew the balance over it (it would skip the edit back to the menu)."""
    from aiogram import Bot
    from aiogram.methods import EditMessageText

    from bot.services.shared_state import SharedDrawnScreens

    keys = RedisKeys.of(settings_for(redis_url, redis_prefix))
    one, other = (SharedDrawnScreens(client, keys) for client in two_clients)
    bot = Bot(TOKEN)
    sent: list[str] = []

    async def make_request(_bot: Bot, method: Any) -> bool:
        sent.append(method.text)
        return True

    async def draw(screens: SharedDrawnScreens, text: str) -> None:
        async with screens.drawing(UID, 2):
            await screens(make_request, bot, EditMessageText(chat_id=UID, message_id=2, text=text))

    await draw(one, "menu")
    await draw(other, "balance")
    async with one.drawing(UID, 2):
        assert one.shows(UID, 2, "menu", None) is False
        assert one.shows(UID, 2, "balance", None) is True
    assert sent == ["menu", "balance"]
    await bot.session.close()


async def test_python_m_bot_stops_in_one_line_when_redis_does_not_answer(tmp_path: Path) -> None:
    """Before Telegram is asked anything, and leaving nothing behind."""
    from tests.startup_process import process_env, run

    port = free_port()
    env = process_env(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL="http://127.0.0.1:9",
        DATABASE_PATH=str(tmp_path / "data" / "bot.sqlite3"),
        ENCRYPTION_KEY_FILE=str(tmp_path / "data" / "secret.key"),
        REDIS_URL=f"redis://:hunter2pw@127.0.0.1:{port}/0",
    )
    result = await run(tmp_path, env)
    assert result.code == 2
    assert result.line.startswith(
        f"inferno-bot: REDIS_URL=redis://127.0.0.1:{port}/0 does not answer: ConnectionError"
    )
    assert "hunter2pw" not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists()


def test_a_screens_fingerprint_is_the_same_in_every_process() -> None:
    """Replicas compare fingerprints another process made: Python's salted hash() would differ
    between them."""
    import subprocess
    import sys

    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    from bot.screens import fingerprint

    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="« Main menu", callback_data="m:main")]]
    )
    code = (
        # The bot first, as `python -m bot` does: aiogram then builds its types on first use.
        "from bot.screens import fingerprint\n"
        "from aiogram.types import InlineKeyboardButton as B, InlineKeyboardMarkup as M\n"
        "print(fingerprint('menu', M(inline_keyboard=[[B(text='« Main menu', "
        "callback_data='m:main')]])))\n"
    )
    printed = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert printed == {str(fingerprint("menu", markup))}
