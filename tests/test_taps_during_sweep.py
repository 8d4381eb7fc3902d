"""A user's taps are never queued behind the background checks (issue 17).

The down checks and the install watcher share WATCH_CONCURRENCY slots, and the settings keep
that below INFERNO_MAX_CONNECTIONS; so even a sweep whose every provider call hangs leaves
connections for the user. The test makes the provider hold every ``getinfo`` answer, lets a
down-check pass fill all its slots with them, and taps a screen meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import ALERT_PASSES_BY_TEST, BotEnv, Production, running_bot
from tests.test_alerts import account_pass, alerts_of, monitor_pass, running_server
from tests.test_flow_link import command, tap

UID = 7301
SLOTS = 2
SERVERS = 4  # more servers than slots: the pass would keep every slot busy


@pytest.fixture
async def narrow(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path,
        production=engines,
        **ALERT_PASSES_BY_TEST,
        read_cache_ttl=0.0,
        watch_concurrency=SLOTS,
        inferno_max_connections=SLOTS + 1,
        # Held calls must stay held for the whole test, not give their connection back by
        # timing out.
        inferno_timeout=120.0,
    ) as env:
        yield env


async def test_balance_tap_is_answered_while_a_sweep_holds_every_slot(narrow: BotEnv) -> None:
    env = narrow
    customer = env.customer(balance="42.50")
    await env.link(UID, customer)
    for _ in range(SERVERS):
        await running_server(env, customer)
    await account_pass(env)  # learns the Active orders
    await monitor_pass(env)  # running: monitored from now on
    await command(env, UID, "/menu")
    menu = env.tg.last_bot_message(UID).message_id

    env.sim.faults.hold("getinfo")
    assert env.bot is not None
    sweep = asyncio.ensure_future(alerts_of(env).monitor_pass(env.bot))
    try:
        await env.tg.wait_for(lambda: env.sim.held == SLOTS, message="the sweep to fill its slots")
        await tap(env, UID, "Balance")
        assert "Balance of account" in env.tg.message(UID, menu).text
        assert not sweep.done()  # the tap did not wait for the sweep to finish
        assert env.sim.held == SLOTS  # and the sweep never took more than its slots
    finally:
        env.sim.faults.release_held()
        await sweep
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []
