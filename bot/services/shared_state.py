"""The Redis that replicas share (``REDIS_URL``): one client per process and the bot's key names.

Every key starts with ``REDIS_PREFIX`` and the bot's id (the number before the colon of the
token), so several bots, or a test per prefix, can use one Redis without seeing each other's
keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Message
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.config import Settings
from bot.screens import DrawnScreens, touched
from bot.storage.errors import StorageError

# Telegram lets a bot edit its messages for 48 hours: what one shows matters no longer.
SCREEN_TTL = 2 * 24 * 3600
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

    def screen(self, chat_id: int, message_id: int) -> str:
        return f"{self.base}:screen:{chat_id}:{message_id}"


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


class SharedDrawnScreens(DrawnScreens):
    """What each message shows (bot/screens.py), shared by the replicas through Redis: a tap
    handled here may follow an edit another replica made, and comparing with this process's
    own memory would skip an edit that is due (or make one Telegram calls "not modified").

    Before a screen is compared (:meth:`drawing`, which holds the message's lock) its
    fingerprint is read from Redis; after every send, edit or delete the new one (or its
    absence) is written back. One user's updates are handled one at a time across replicas
    (the update isolation), so the read and the write cannot interleave with another's."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        super().__init__()
        self._redis = redis
        self._keys = keys

    @asynccontextmanager
    async def drawing(self, chat_id: int, message_id: int) -> AsyncIterator[None]:
        async with super().drawing(chat_id, message_id):
            stored = await self._redis.get(self._keys.screen(chat_id, message_id))
            self.restore(chat_id, message_id, int(stored) if stored is not None else None)
            yield

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        keys: list[tuple[int, int]] = list(touched(method))
        edit = method if isinstance(method, EditMessageText) else None
        if edit is not None and isinstance(edit.chat_id, int) and edit.message_id is not None:
            keys.append((edit.chat_id, edit.message_id))
        try:
            result = await super().__call__(make_request, bot, method)
        finally:
            await self._share(keys)
        if isinstance(method, SendMessage):
            sent: Any = result
            if isinstance(sent, Message):
                await self._share([(sent.chat.id, sent.message_id)])
        return result

    async def _share(self, keys: list[tuple[int, int]]) -> None:
        for chat_id, message_id in keys:
            print_ = self.drawn(chat_id, message_id)
            name = self._keys.screen(chat_id, message_id)
            if print_ is None:
                await self._redis.delete(name)
            else:
                await self._redis.set(name, str(print_), ex=SCREEN_TTL)
