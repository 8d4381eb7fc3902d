"""Keeps aiogram's per-method response models alive.

aiogram builds ``Response[method.__returning__]`` for every request; pydantic caches such
parametrised models only weakly, so once the garbage collector frees one it is rebuilt, schema
and all (1–4 ms each). The benchmark measured this at about a tenth of the bot's CPU; holding
one reference per method type keeps the cache warm (bench/RESULTS.md).

The methods that every update and every tap use, and their answers, are built when the bot is
created: aiogram's types are built on first use (``bot.lazy_types``), so this way the first user
does not wait for them, and they are frozen with the rest of the start-up heap
(``bot.gc_tuning``).

``Message`` is built on its own first. pydantic-core reuses a nested model's validator when that
model is already built, so the answers of getUpdates, editMessageText and sendMessage hold
Message's own validator instead of compiling a copy each; the definitions pydantic lists beside
it are still compiled per answer. About 2.3 MB less at start-up (``bench/RESULTS.md``, round 5).
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageText,
    GetUpdates,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Message

EVERYDAY_METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    GetUpdates,
    AnswerCallbackQuery,
    EditMessageText,
    SendMessage,
    DeleteMessage,
)


class KeepResponseTypes(BaseRequestMiddleware):
    def __init__(self) -> None:
        self._kept: dict[type[Any], Any] = {}
        Message.model_rebuild()  # before the answers that hold one, so that they share it
        for kind in EVERYDAY_METHODS:
            kind.model_rebuild()
            self._kept[kind] = Response.__class_getitem__(kind.__returning__)

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
