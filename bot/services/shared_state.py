"""The Redis that replicas share (``REDIS_URL``): one client per process and the bot's key names.

Every key starts with ``REDIS_PREFIX`` and the bot's id (the number before the colon of the
token), so several bots, or a test per prefix, can use one Redis without seeing each other's
keys.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import cast

from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.config import Settings
from bot.storage.errors import StorageError

# A command that takes longer than this means Redis is gone: the update fails instead of hanging.
SOCKET_TIMEOUT = 5.0


async def ping(redis: Redis) -> None:
    """Raises when Redis does not answer."""
    # redis-py types ping() for its sync and async clients at once (bool | Awaitable[bool]).
    await cast("Awaitable[bool]", redis.ping())


class RedisUnavailableError(StorageError):
    """REDIS_URL does not answer at start-up; the text names it without its password."""


def open_redis(settings: Settings) -> Redis:
    """A client for ``REDIS_URL`` (connects on first use). The caller closes it with
    ``await redis.aclose()`` after everything that uses it has stopped."""
    assert settings.redis_url is not None
    return Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=SOCKET_TIMEOUT,
        health_check_interval=30,
    )


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """The names of everything the bot keeps in Redis."""

    base: str

    @classmethod
    def of(cls, settings: Settings) -> RedisKeys:
        bot_id = settings.bot_token.get_secret_value().partition(":")[0]
        return cls(f"{settings.redis_prefix}:{bot_id}")

    @property
    def fsm(self) -> str:
        """The prefix of aiogram's FSM keys and of its per-chat update locks."""
        return f"{self.base}:fsm"

    def user_lock(self, user_id: int) -> str:
        return f"{self.base}:user-lock:{user_id}"

    def update(self, update_id: int) -> str:
        return f"{self.base}:update:{update_id}"


async def check_redis(redis: Redis, settings: Settings) -> None:
    """Fails the start-up in one line when Redis does not answer."""
    try:
        await ping(redis)
    except (RedisError, OSError) as exc:
        # redis-py's texts name the host and port, never the password.
        raise RedisUnavailableError(
            f"REDIS_URL={settings.redis_url_for_log} does not answer: {type(exc).__name__}: {exc}"
        ) from None


class SharedRedisStorage(RedisStorage):
    """aiogram's ``RedisStorage`` on a client the bot shares (locks, update ids): the
    dispatcher closes its storage first thing at shutdown, while handlers may still be
    finishing, so closing is left to whoever opened the client."""

    async def close(self) -> None:
        pass
