"""The baseline bot itself (started by :mod:`bench.baseline`): aiogram and nothing of ours.

One ``/menu`` command (to open the menu message) and one callback handler that answers the tap
and edits the message with a fixed text and keyboard — the ones our bot produced for the same
button, captured from a real lap (:func:`bench.traffic.capture_screens`) — so that both bots
send the same requests to the fake Bot API server, and the difference in CPU is what our
middlewares, handlers, storage and provider calls add to aiogram. The text is HTML and links
have no preview, as in our bot: ``DefaultBotProperties``, a public setting any aiogram bot uses.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bench.baseline import TOKEN_VARIABLE


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup


def load_screens(path: Path) -> tuple[Screen, dict[str, Screen]]:
    """The main menu, and the screen shown after each callback data (``Screens.save``)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))

    def screen(pair: list[Any]) -> Screen:
        return Screen(pair[0], InlineKeyboardMarkup.model_validate(pair[1]))

    return screen(data["main"]), {key: screen(pair) for key, pair in data["after"].items()}


def build_dispatcher(main: Screen, after: dict[str, Screen]) -> Dispatcher:
    router = Router(name="baseline")

    @router.message(Command("menu"))
    async def menu(message: Message) -> None:
        await message.answer(main.text, reply_markup=main.markup)

    @router.callback_query()
    async def tap(query: CallbackQuery) -> None:
        await query.answer()
        screen = after.get(query.data or "", main)
        if isinstance(query.message, Message):
            await query.message.edit_text(screen.text, reply_markup=screen.markup)

    dp = Dispatcher()
    dp.include_router(router)
    return dp


def describe(*, tuned: bool, types_built_at_import: bool) -> dict[str, Any]:
    """What this process runs with, for the report: evidence, not the build's name."""
    ours = sorted(name for name in sys.modules if name == "bot" or name.startswith("bot."))
    return {
        "build": "tuned" if tuned else "as shipped",
        "aiogram": version("aiogram"),
        "bot_modules_imported": len(ours),
        "types_built_at_import": types_built_at_import,
        "gc_threshold": list(gc.get_threshold()),
        "gc_frozen_objects": gc.get_freeze_count(),
        "log_level": logging.getLevelName(logging.getLogger().getEffectiveLevel()),
    }


def write_description(path: Path, facts: dict[str, Any]) -> None:
    path.write_text(json.dumps(facts) + "\n", encoding="utf-8")


async def serve(api: str, screens: Path, describe_to: Path | None, *, tuned: bool) -> None:
    types_built_at_import = Message.__pydantic_complete__  # before anything here builds it
    logging.basicConfig(level=logging.INFO)  # as aiogram's examples start
    bot = Bot(
        os.environ[TOKEN_VARIABLE],
        session=AiohttpSession(api=TelegramAPIServer.from_base(api)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    dp = build_dispatcher(*load_screens(screens))
    if tuned:
        # What `python -m bot` applies (create_bot, create_dispatcher, run_bot), in its order.
        from bot.runtime.forget_updates import forget_handled_updates
        from bot.runtime.gc_tuning import tune_garbage_collector
        from bot.runtime.response_types import KeepResponseTypes

        bot.session.middleware(KeepResponseTypes())
        forget_handled_updates()
        await bot.me()
        tune_garbage_collector()
    if describe_to is not None:
        write_description(
            describe_to, describe(tuned=tuned, types_built_at_import=types_built_at_import)
        )
    await dp.start_polling(bot)
