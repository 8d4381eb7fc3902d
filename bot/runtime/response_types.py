"""Keep aiogram's per-method answer models alive, and build the everyday ones at start-up.

**What it changes.** aiogram builds ``Response[method.__returning__]`` for every request;
pydantic caches such parametrised models only weakly, so once the garbage collector frees one it
is rebuilt, schema and all (1–4 ms each). :class:`KeepResponseTypes`, a session middleware that
``create_bot`` installs, holds one reference per method type, for the whole process. It also
builds the answers of the methods every update and every tap use when the first bot is created:
aiogram's types are built on first use (``bot.runtime.lazy_types``), so this way the first user
does not wait for them, and they are frozen with the rest of the start-up heap
(``bot.runtime.gc_tuning``). ``Message`` is built on its own first: pydantic-core reuses a nested
model's validator when that model is already built, so the answers of getUpdates,
editMessageText and sendMessage hold Message's own validator instead of compiling a copy each
(the definitions pydantic lists beside it are still compiled per answer).

**Measured gain** (``bench/RESULTS.md``, "Round 1 findings" and "Round 5"): rebuilding the answer
models was 10.7 % of the CPU samples of a tap, and keeping them saved 9 % of its CPU; sharing
``Message``'s validator saves 2.3 MB at start-up.

**Switching it off.** Remove the ``KeepResponseTypes()`` middleware in ``bot/app.py``'s
``create_bot``. Only public aiogram and pydantic API is used (``model_rebuild``,
``Response[...]``).

**When a dependency changes under it.** ``tests/test_lazy_types.py``
(``test_the_bot_builds_what_every_tap_needs_when_it_is_created``) fails if the kept answers are
not complete when the bot is created or no longer share ``Message``'s validator.
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


# One keep for the process, not one per bot: the models are the process's, and a bot created
# after another was dropped (a test, a restart in the same process) finds them built instead of
# rebuilding the everyday ones (about 60 ms of CPU).
_KEPT: dict[type[Any], Any] = {}


class KeepResponseTypes(BaseRequestMiddleware):
    def __init__(self) -> None:
        self._kept = _KEPT
        if all(kind in _KEPT for kind in EVERYDAY_METHODS):
            return
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
