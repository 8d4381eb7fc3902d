"""Keeps aiogram's per-method response models alive.

aiogram builds ``Response[method.__returning__]`` for every request; pydantic caches such
parametrised models only weakly, so once the garbage collector frees one it is rebuilt, schema
and all (1–4 ms each). The benchmark measured this at about a tenth of the bot's CPU; holding
one reference per method type keeps the cache warm (bench/RESULTS.md).
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType


class KeepResponseTypes(BaseRequestMiddleware):
    def __init__(self) -> None:
        self._kept: dict[type[Any], Any] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        kind = type(method)
        if kind not in self._kept:
            self._kept[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return await make_request(bot, method)
