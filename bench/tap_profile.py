"""What one menu tap costs the bot, counted rather than timed: ``python -m bench.tap_profile``.

The whole bot runs in this process with the fakes (``tests/harness.py``), one owner and one
member (a viewer of the owner's account, whose buttons name the account) walk the benchmark's
route (menu → My servers → a server card → back, ``bench/traffic.py``) one tap at a time, and
for the measured laps the script counts, per tap:

* the SQL statements SQLite ran (its trace callback: every statement, ``BEGIN``/``COMMIT``
  included), and which ones;
* the calls into the bot's database connection (``fetchall``/``execute``/``insert``/
  ``executemany``/``transaction``): each is at least one round trip to aiosqlite's thread;
* the Bot API requests the bot made;
* with ``--cprofile``, the functions of the bot's own code (``bot/``) with the most own time.

Counts are deterministic (timing is not: the machine is shared), so a change to the per-tap
work shows here before any benchmark run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from bench.servers import cheapest_plan, customer_with_server
from bench.traffic import ROUTE, next_tap
from bot.account_scope import split
from bot.inferno.simulator import Simulator
from bot.storage.accounts import Role
from bot.storage.connection import SQLiteConnection
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, running_bot

OWNER = 1001
MEMBER = 1002
_CALLS = ("fetchall", "execute", "executemany", "insert", "transaction")


@dataclass
class Counts:
    statements: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    taps: int = 0

    def per_tap(self, counter: Counter[str]) -> float:
        return sum(counter.values()) / self.taps if self.taps else 0.0


def _count_calls(conn: SQLiteConnection, counts: Counts) -> None:
    """Counts each call into the connection (fetchone goes through fetchall)."""
    for name in _CALLS:
        method: Callable[..., Any] = getattr(conn, name)

        def wrapped(*args: Any, _name: str = name, _method: Callable[..., Any] = method) -> Any:
            counts.calls[_name] += 1
            return _method(*args)

        setattr(conn, name, wrapped)


def _short(sql: str) -> str:
    return " ".join(sql.split())[:110]


async def _tap(env: BotEnv, user_id: int, msg: FakeMessage, data: str) -> FakeMessage:
    before = env.screen(user_id)
    await env.tg.tap(user_id, msg.message_id, data)
    return await env.answered(user_id, before)


async def _lap(env: BotEnv, user_id: int, msg: FakeMessage, step: int) -> tuple[FakeMessage, int]:
    for _ in ROUTE:
        data = _next_tap(step, msg)
        if data is None:
            raise AssertionError(f"{ROUTE[step % len(ROUTE)]!r} is not on the screen: {msg.text}")
        msg = await _tap(env, user_id, msg, data)
        step += 1
    return msg, step


def _next_tap(step: int, msg: FakeMessage) -> str | None:
    """:func:`bench.traffic.next_tap` for buttons that may name the account (a member's): the
    data as drawn."""
    drawn = {split(b.callback_data)[1]: b.callback_data for b in msg.buttons() if b.callback_data}
    wanted = next_tap(step, cast(FakeMessage, _Plain(list(drawn))))
    return None if wanted is None else drawn[wanted]


@dataclass
class _Plain:
    """What :func:`bench.traffic.next_tap` reads of a message: its buttons' data."""

    datas: list[str]

    def buttons(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(callback_data=data) for data in self.datas]


async def profile(laps: int, cprofile: cProfile.Profile | None) -> dict[int, Counts]:
    results: dict[int, Counts] = {}
    with tempfile.TemporaryDirectory(prefix="tap-profile-") as folder:
        sim = Simulator(install_delay=0.0)
        async with running_bot(Path(folder), sim=sim) as env:
            assert env.services is not None
            plan = await cheapest_plan(env.services.inferno)
            customer, _ = await customer_with_server(env.services.inferno, sim, "o@x.org", plan)
            sim.complete_installs()
            env.tg.add_user(OWNER)
            await env.link(OWNER, customer)
            env.tg.add_user(MEMBER)
            await env.db.users.ensure(MEMBER, "en")
            account = await env.db.accounts.find(OWNER, customer.cid)
            assert account is not None
            await env.db.accounts.join(MEMBER, account, Role.VIEWER, "member")
            conn = env.db._conn
            assert isinstance(conn, SQLiteConnection), "the profile runs on SQLite"
            for user_id in (OWNER, MEMBER):
                counts = Counts()
                menu = await env.command(user_id, "/menu")
                # Warm-up: every cache the route fills is filled once.
                menu, step = await _lap(env, user_id, menu, 0)
                requests_before = len(env.tg.requests)

                def trace(sql: str, _counts: Counts = counts) -> None:
                    _counts.statements[_short(sql)] += 1

                await conn.raw.set_trace_callback(trace)
                original = {name: getattr(conn, name) for name in _CALLS}
                _count_calls(conn, counts)
                if cprofile is not None:
                    cprofile.enable()
                try:
                    for _ in range(laps):
                        menu, step = await _lap(env, user_id, menu, step)
                        counts.taps += len(ROUTE)
                finally:
                    if cprofile is not None:
                        cprofile.disable()
                    for name, method in original.items():
                        setattr(conn, name, method)
                    await conn.raw.set_trace_callback(None)
                counts.requests.update(r.method for r in env.tg.requests[requests_before:])
                results[user_id] = counts
    return results


def report(results: dict[int, Counts]) -> str:
    lines: list[str] = []
    for user_id, counts in results.items():
        who = "owner" if user_id == OWNER else "member (viewer)"
        lines.append(
            f"{who}: {counts.taps} taps; per tap: {counts.per_tap(counts.statements):.2f} SQL "
            f"statements, {counts.per_tap(counts.calls):.2f} connection calls "
            f"({', '.join(f'{k} {v / counts.taps:.2f}' for k, v in counts.calls.most_common())}), "
            f"{counts.per_tap(counts.requests):.2f} Bot API requests "
            f"({', '.join(f'{k} {v / counts.taps:.2f}' for k, v in counts.requests.most_common())})"
        )
        for sql, n in counts.statements.most_common():
            lines.append(f"    {n / counts.taps:5.2f}  {sql}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tap_profile", description=__doc__)
    parser.add_argument("--laps", type=int, default=5, help="measured laps per user (4 taps)")
    parser.add_argument(
        "--cprofile", type=int, default=0, metavar="N", help="the N bot functions of most own time"
    )
    args = parser.parse_args(argv)
    prof = cProfile.Profile() if args.cprofile else None
    runner: Callable[[], Awaitable[dict[int, Counts]]] = lambda: profile(args.laps, prof)  # noqa: E731
    results = asyncio.run(runner())
    print(report(results))
    if prof is not None:
        stats = pstats.Stats(prof)
        stats.sort_stats("tottime")
        taps = sum(c.taps for c in results.values())
        print(f"\nThe bot's own functions, own time over {taps} taps:")
        stats.print_stats(r"/bot/", args.cprofile)


if __name__ == "__main__":
    main()
