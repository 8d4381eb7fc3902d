"""Menu traffic: simulated users tapping main menu → My servers → a server card → back → menu.

Each user behaves like a person in a hurry: one tap, then wait until the bot has edited the
menu message, then the next tap (a closed loop, no think time). All users run at once, and they
behave the same whichever bot they talk to. For every tap the fake Bot API server gives the
time the user tapped (the update queued), the time ``getUpdates`` handed it out, the time of
``answerCallbackQuery`` and the time of the edit. The bot's CPU is read from the operating
system for its process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench.faketg import BenchTelegram
from bench.stats import summary_ms
from bot.handlers.callbacks import ServerAction, ServerCb
from bot.handlers.navigation import MenuCb, Screen
from bot.handlers.servers import ServerListCb
from bot.inferno.simulator import Simulator
from tests.fakes.telegram import FakeMessage

# One lap of the route; a lap returns to the screen it started from.
ROUTE = ("servers", "card", "back", "menu")
MENU_DATA = MenuCb(screen=Screen.MAIN).pack()
SERVERS_DATA = MenuCb(screen=Screen.SERVERS).pack()
BACK_DATA = ServerListCb().pack()


def _unpacks_as_card(data: str | None) -> bool:
    if data is None:
        return False
    try:
        return ServerCb.unpack(data).action is ServerAction.CARD
    except (TypeError, ValueError):
        return False


def next_tap(step: int, msg: FakeMessage) -> str | None:
    """The callback data a user on ``ROUTE[step]`` taps on this screen, None if not there."""
    datas = [b.callback_data for b in msg.buttons()]
    match ROUTE[step % len(ROUTE)]:
        case "servers":
            wanted: str | None = SERVERS_DATA
        case "card":
            wanted = next((d for d in datas if _unpacks_as_card(d)), None)
        case "back":
            wanted = BACK_DATA
        case _:
            wanted = MENU_DATA
    return wanted if wanted in datas else None


@dataclass
class Screens:
    """What our bot showed for each tapped callback data, for the baselines to replay."""

    main: tuple[str, dict[str, Any]] | None = None
    after: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    @staticmethod
    def of(msg: FakeMessage) -> tuple[str, dict[str, Any]]:
        return (msg.html or msg.text, dict(msg.reply_markup or {}))

    @property
    def complete(self) -> bool:
        return self.main is not None and len(self.after) >= len(ROUTE)

    def save(self, path: Path) -> None:
        """As :func:`bench.baseline_bot.load_screens` reads it."""
        path.write_text(json.dumps({"main": self.main, "after": self.after}), encoding="utf-8")


class Measured(Protocol):
    """What :func:`measure` drives: one bot process, or several replicas behind a proxy."""

    key: str
    tg: BenchTelegram
    menus: dict[int, int]

    def cpu_seconds(self) -> float: ...


@dataclass
class Tap:
    to_handout: float | None  # seconds from the tap to getUpdates handing the update out
    to_answer: float | None  # ... to answerCallbackQuery
    to_edit: float  # ... to the edit of the menu message


@dataclass
class Drive:
    taps: list[Tap] = field(default_factory=list)
    failures: int = 0  # no edit within the timeout
    off_route: int = 0  # the expected button was not on the screen (e.g. an error screen)


@dataclass
class TrafficResult:
    bot: str  # BotProcess.key
    run: int  # the how-manieth interleaved run at this size
    users: int
    taps_per_user: int
    taps: int
    failures: int
    off_route: int
    unanswered: int
    telegram_errors: int
    wall: float
    taps_per_s: float
    handout_ms: dict[str, float]  # tap → getUpdates handed it out
    answer_ms: dict[str, float]  # tap → answerCallbackQuery
    edit_ms: dict[str, float]  # tap → the edit
    cpu_ms_per_tap: float  # the bot's process, user + system, from the operating system
    harness_cpu_ms_per_tap: float  # the bench process: fakes, simulator, simulated users
    provider_calls_per_tap: float
    # getUpdates requests per tap: how the updates were batched, which costs CPU per request.
    polls_per_tap: float
    load: tuple[float, float]  # the machine's 1-minute load average at the start and the end


async def open_menus(tg: BenchTelegram, user_ids: list[int], timeout: float) -> dict[int, int]:
    """Every user sends /menu; returns the id of the menu message the bot sent each of them."""

    async def one(user_id: int) -> tuple[int, int]:
        sent = tg.expect_message(user_id)
        await tg.send_command(user_id, "/menu")
        msg = await asyncio.wait_for(sent, timeout)
        return user_id, msg.message_id

    return dict(await asyncio.gather(*(one(uid) for uid in user_ids)))


async def _user(
    tg: BenchTelegram,
    user_id: int,
    message_id: int,
    taps: int,
    timeout: float,
    drive: Drive,
    record: bool,
    screens: Screens | None,
) -> None:
    step = 0
    for _ in range(taps):
        msg = tg.message(user_id, message_id)
        data = next_tap(step, msg)
        if data is None:
            # Lost (an error screen, say): back to the main menu and start the lap again.
            drive.off_route += 1
            if MENU_DATA not in [b.callback_data for b in msg.buttons()]:
                drive.failures += 1
                return
            data, step = MENU_DATA, len(ROUTE) - 1
        edited = tg.expect_edit(user_id, message_id)
        query_id = await tg.tap(user_id, message_id, data)
        try:
            msg = await asyncio.wait_for(edited, timeout)
        except TimeoutError:
            drive.failures += 1
            return
        query = tg.callback_queries[query_id]
        tapped = query.update.queued_at
        handed_out = query.update.handed_out_at
        answer = tg.callback_answers.get(query_id)
        if record:
            drive.taps.append(
                Tap(
                    to_handout=None if handed_out is None else handed_out - tapped,
                    to_answer=None if answer is None else answer.answered_at - tapped,
                    to_edit=(msg.edited_at or tapped) - tapped,
                )
            )
        if screens is not None:
            screens.after.setdefault(data, Screens.of(msg))
        if answer is not None:
            tg.forget_query(query_id)
        step += 1


async def drive_users(
    tg: BenchTelegram,
    menus: dict[int, int],
    taps: int,
    timeout: float,
    *,
    record: bool = True,
    screens: Screens | None = None,
) -> Drive:
    """All users at once, ``taps`` taps each."""
    drive = Drive()
    await asyncio.gather(
        *(_user(tg, uid, mid, taps, timeout, drive, record, screens) for uid, mid in menus.items())
    )
    return drive


async def measure(
    bot: Measured,
    users: int,
    *,
    run: int,
    taps: int,
    warmup: int,
    timeout: float,
    provider_calls: Counter[str] | None = None,
) -> TrafficResult:
    """Warm up (one lap per user, not measured), then ``taps`` taps for each of the first
    ``users`` users, with the bot process's CPU time read before and after."""
    tg = bot.tg
    menus = dict(list(bot.menus.items())[:users])
    if warmup:
        await drive_users(tg, menus, warmup, timeout, record=False)
    errors_before = len(tg.errors)
    calls_before = sum(provider_calls.values()) if provider_calls is not None else 0
    polls_before = tg.polls
    load_before = os.getloadavg()[0]
    cpu_before, harness_before = bot.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    drive = await drive_users(tg, menus, taps, timeout)
    wall = time.perf_counter() - started
    cpu, harness = bot.cpu_seconds() - cpu_before, time.process_time() - harness_before
    calls = (sum(provider_calls.values()) - calls_before) if provider_calls is not None else 0
    done = len(drive.taps)
    per_tap = 1000.0 / done if done else 0.0
    answers = [t.to_answer for t in drive.taps if t.to_answer is not None]
    if os.environ.get("BENCH_SHOW_ERRORS"):
        for error in tg.errors[errors_before:]:
            print(f"bench: {bot.key} {error.method} {error.status} {error.description}")
    return TrafficResult(
        bot=bot.key,
        run=run,
        users=len(menus),
        taps_per_user=taps,
        taps=done,
        failures=drive.failures,
        off_route=drive.off_route,
        unanswered=done - len(answers),
        telegram_errors=len(tg.errors) - errors_before,
        wall=wall,
        taps_per_s=done / wall if wall > 0 else 0.0,
        handout_ms=summary_ms([t.to_handout for t in drive.taps if t.to_handout is not None]),
        answer_ms=summary_ms(answers),
        edit_ms=summary_ms([t.to_edit for t in drive.taps]),
        cpu_ms_per_tap=cpu * per_tap,
        harness_cpu_ms_per_tap=harness * per_tap,
        provider_calls_per_tap=calls / done if done else 0.0,
        polls_per_tap=(tg.polls - polls_before) / done if done else 0.0,
        load=(load_before, os.getloadavg()[0]),
    )


@contextlib.contextmanager
def provider_latency(sim: Simulator, latency: float, jitter: float = 0.0) -> Iterator[None]:
    faults = sim.faults
    previous = faults.latency, faults.latency_jitter
    faults.latency, faults.latency_jitter = latency, jitter
    try:
        yield
    finally:
        faults.latency, faults.latency_jitter = previous


async def capture_screens(tg: BenchTelegram, menus: dict[int, int], timeout: float) -> Screens:
    """Two laps by the first user, remembering every screen, for the baselines to replay."""
    user_id, message_id = next(iter(menus.items()))
    screens = Screens(main=Screens.of(tg.message(user_id, message_id)))
    drive = await drive_users(
        tg, {user_id: message_id}, 2 * len(ROUTE), timeout, record=False, screens=screens
    )
    if drive.failures or drive.off_route or not screens.complete:
        raise RuntimeError(f"the route did not work on the bot: {drive}")
    return screens
