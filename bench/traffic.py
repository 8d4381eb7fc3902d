"""Menu traffic: simulated users tapping main menu → My servers → a server card → back → menu.

Each user behaves like a person: one tap, then wait until the bot has edited the menu message,
then the next tap. All users run at once. For every tap the fake Bot API server gives the time
the update was handed out by ``getUpdates``, the time of ``answerCallbackQuery`` and the time of
the edit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.cpu import CpuMeter, CpuReport
from bench.faketg import BenchTelegram
from bench.servers import cheapest_plan, customer_with_server
from bench.stats import summary_ms
from bot.handlers.callbacks import ServerAction, ServerCb
from bot.handlers.navigation import MenuCb, Screen
from bot.handlers.servers import ServerListCb
from bot.inferno.simulator import Simulator
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv

# One lap of the route; a lap returns to the screen it started from.
ROUTE = ("servers", "card", "back", "menu")
MENU_DATA = MenuCb(screen=Screen.MAIN).pack()
SERVERS_DATA = MenuCb(screen=Screen.SERVERS).pack()
BACK_DATA = ServerListCb().pack()
SETUP_CONCURRENCY = 16


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
    """What the bot showed for each tapped callback data (for the baseline to replay)."""

    main: tuple[str, dict[str, Any]] | None = None
    after: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # Provider calls our bot made for each tapped data, on a lap with warm caches: the baseline's
    # users pause for the provider's latency after those taps, so both bots get the same pace.
    provider_calls: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def of(msg: FakeMessage) -> tuple[str, dict[str, Any]]:
        return (msg.html or msg.text, dict(msg.reply_markup or {}))

    @property
    def complete(self) -> bool:
        return self.main is not None and len(self.after) >= len(ROUTE)


@dataclass
class Tap:
    to_answer: float | None  # seconds from getUpdates handing the update out to the answer
    to_edit: float  # ... to the edit of the menu message


@dataclass
class Drive:
    taps: list[Tap] = field(default_factory=list)
    failures: int = 0  # no edit within the timeout
    off_route: int = 0  # the expected button was not on the screen (e.g. an error screen)


@dataclass
class TrafficResult:
    label: str
    users: int
    taps_per_user: int
    taps: int
    failures: int
    off_route: int
    unanswered: int
    telegram_errors: int
    wall: float
    taps_per_s: float
    answer_ms: dict[str, float]
    edit_ms: dict[str, float]
    cpu: CpuReport
    cpu_per_1k_taps: float  # whole process
    bot_cpu_per_1k_taps: float  # the bot's share (see bench.cpu)
    harness_cpu_per_1k_taps: float
    provider_calls_per_tap: float
    # getUpdates requests per tap: how the updates were batched, which costs CPU per request.
    polls_per_tap: float


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
    provider_calls: Counter[str] | None,
    pause: Callable[[str], float] | None,
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
        calls_before = sum(provider_calls.values()) if provider_calls is not None else 0
        query_id = await tg.tap(user_id, message_id, data)
        try:
            msg = await asyncio.wait_for(edited, timeout)
        except TimeoutError:
            drive.failures += 1
            return
        query = tg.callback_queries[query_id]
        handed_out = query.update.handed_out_at or query.created_at
        answer = tg.callback_answers.get(query_id)
        if record:
            drive.taps.append(
                Tap(
                    to_answer=None if answer is None else answer.answered_at - handed_out,
                    to_edit=(msg.edited_at or handed_out) - handed_out,
                )
            )
        if screens is not None:
            screens.after.setdefault(data, Screens.of(msg))
            if provider_calls is not None:
                screens.provider_calls[data] = sum(provider_calls.values()) - calls_before
        if answer is not None:
            tg.forget_query(query_id)
        step += 1
        if pause is not None and (delay := pause(data)) > 0:
            await asyncio.sleep(delay)


async def drive_users(
    tg: BenchTelegram,
    menus: dict[int, int],
    taps: int,
    timeout: float,
    *,
    record: bool = True,
    screens: Screens | None = None,
    provider_calls: Counter[str] | None = None,
    pause: Callable[[str], float] | None = None,
) -> Drive:
    """All users at once, ``taps`` taps each; after each tap a user waits ``pause(data)``
    seconds, if given, before the next one."""
    drive = Drive()
    await asyncio.gather(
        *(
            _user(tg, uid, mid, taps, timeout, drive, record, screens, provider_calls, pause)
            for uid, mid in menus.items()
        )
    )
    return drive


async def measure(
    label: str,
    tg: BenchTelegram,
    menus: dict[int, int],
    *,
    taps: int,
    warmup: int,
    timeout: float,
    provider_calls: Counter[str] | None = None,
    sample_cpu: bool = True,
    pause: Callable[[str], float] | None = None,
) -> TrafficResult:
    """Warm up (not measured), then ``taps`` taps per user under the CPU meter."""
    if warmup:
        await drive_users(tg, menus, warmup, timeout, record=False, pause=pause)
    errors_before = len(tg.errors)
    calls_before = sum(provider_calls.values()) if provider_calls is not None else 0
    polls_before = tg.polls
    with CpuMeter(sample=sample_cpu) as meter:
        drive = await drive_users(tg, menus, taps, timeout, pause=pause)
    report = meter.report
    assert report is not None
    calls = (sum(provider_calls.values()) - calls_before) if provider_calls is not None else 0
    done = len(drive.taps)
    per_1k = 1000.0 / done if done else 0.0
    answers = [t.to_answer for t in drive.taps if t.to_answer is not None]
    return TrafficResult(
        label=label,
        users=len(menus),
        taps_per_user=taps,
        taps=done,
        failures=drive.failures,
        off_route=drive.off_route,
        unanswered=done - len(answers),
        telegram_errors=len(tg.errors) - errors_before,
        wall=report.wall,
        taps_per_s=done / report.wall if report.wall > 0 else 0.0,
        answer_ms=summary_ms(answers),
        edit_ms=summary_ms([t.to_edit for t in drive.taps]),
        cpu=report,
        cpu_per_1k_taps=report.process * per_1k,
        bot_cpu_per_1k_taps=report.bot * per_1k,
        harness_cpu_per_1k_taps=report.harness * per_1k,
        provider_calls_per_tap=calls / done if done else 0.0,
        polls_per_tap=(tg.polls - polls_before) / done if done else 0.0,
    )


# --------------------------------------------------------------------------- our bot's users


async def add_server_users(env: BotEnv, user_ids: list[int]) -> None:
    """Each user: an own simulator customer with one running server, linked in the bot.

    The server is bought and installed through the real client over HTTP, as a user would.
    """
    assert env.services is not None
    client = env.services.inferno
    plan = await cheapest_plan(client)
    limiter = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(user_id: int) -> None:
        async with limiter:
            customer, _order_id = await customer_with_server(
                client, env.sim, f"bench{user_id}@example.com", plan
            )
            await env.link(user_id, customer)
            env.tg.add_user(user_id)

    await asyncio.gather(*(one(uid) for uid in user_ids))
    env.sim.complete_installs()


@contextlib.contextmanager
def provider_latency(sim: Simulator, latency: float, jitter: float = 0.0) -> Iterator[None]:
    faults = sim.faults
    previous = faults.latency, faults.latency_jitter
    faults.latency, faults.latency_jitter = latency, jitter
    try:
        yield
    finally:
        faults.latency, faults.latency_jitter = previous


async def capture_screens(
    tg: BenchTelegram, menus: dict[int, int], timeout: float, provider_calls: Counter[str]
) -> Screens:
    """Two laps by the first user, remembering every screen and, from the second lap (caches
    warm, as in the measured taps), the provider calls each tap made, for the baseline."""
    user_id, message_id = next(iter(menus.items()))
    screens = Screens(main=Screens.of(tg.message(user_id, message_id)))
    drive = await drive_users(
        tg,
        {user_id: message_id},
        2 * len(ROUTE),
        timeout,
        record=False,
        screens=screens,
        provider_calls=provider_calls,
    )
    if drive.failures or drive.off_route or not screens.complete:
        raise RuntimeError(f"the route did not work on the bot: {drive}")
    return screens
