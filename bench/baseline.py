"""The baseline: a bare aiogram 3 bot serving the very screens our bot showed.

One callback handler answers the tap and edits the message with a fixed text and keyboard — the
ones our bot produced for the same button, captured from a real lap (see
:func:`bench.traffic.capture_screens`) — so both bots send byte-for-byte the same requests to the
fake Bot API server and the difference in CPU is what our middlewares, handlers, storage and
provider calls add on top of aiogram itself. It uses our ``create_bot`` (same session and
defaults) and is polled exactly like ours.

The baseline's users are paced like ours (:func:`paced_like_our_bot`): after a tap for which
our bot had to ask the provider (the server card), a user waits as long as the simulator makes
that call wait before tapping again. Our bot's users wait that long for the screen, so without
the pause the baseline's users would stay in lockstep and their taps would reach it in large
getUpdates batches, which cost aiogram less per update than the trickle a provider's latency
makes of our bot's traffic. The pause is the simulated user's (harness CPU); the baseline bot
itself stays bare.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bench.faketg import BenchTelegram
from bench.traffic import Screens
from bot.app import create_bot
from bot.config import Settings
from bot.inferno.simulator import Faults

UNUSED_PROVIDER_URL = "http://127.0.0.1:9/api_client.php"


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup


def paced_like_our_bot(
    screens: Screens, latency: float, jitter: float
) -> Callable[[str], float] | None:
    """How long a baseline user pauses after tapping ``data``: the simulator's delay (same
    latency and jitter) if our bot called the provider for that tap, else nothing."""
    if latency <= 0:
        return None
    provider = Faults(latency=latency, latency_jitter=jitter)
    waits = {data for data, calls in screens.provider_calls.items() if calls}
    rng = random.Random("baseline pace")

    def pause(data: str) -> float:
        return provider.delay(rng) if data in waits else 0.0

    return pause


def build_dispatcher(screens: Screens) -> Dispatcher:
    """A Dispatcher with a /menu command (to open the menu message) and one callback handler."""
    assert screens.main is not None
    main = Screen(screens.main[0], InlineKeyboardMarkup.model_validate(screens.main[1]))
    after = {
        data: Screen(text, InlineKeyboardMarkup.model_validate(markup))
        for data, (text, markup) in screens.after.items()
    }
    # A fresh router per dispatcher: a module-level one could be attached to one dispatcher only.
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


@contextlib.asynccontextmanager
async def running_baseline(screens: Screens) -> AsyncIterator[BenchTelegram]:
    """The baseline bot polling its own fake Bot API server; yields that server."""
    tg = BenchTelegram()
    await tg.start()
    try:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            bot_token=tg.token,
            telegram_api_url=tg.base_url,
            inferno_api_url=UNUSED_PROVIDER_URL,
        )
        bot: Bot = create_bot(settings)
        dp = build_dispatcher(screens)
        polling = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False)
        )
        try:
            await tg.wait_for(
                lambda: tg.polls > 0 or polling.done(),
                timeout=10,
                message="baseline polling",
            )
            if polling.done():
                await polling
            yield tg
        finally:
            if not polling.done():
                with contextlib.suppress(RuntimeError):
                    await dp.stop_polling()
            await asyncio.wait_for(polling, timeout=10)
            await bot.session.close()
    finally:
        await tg.stop()
