"""Alerts at their edges (issue 17), through the running bot: an unpaid order whose date the
provider does not give, a user who blocked the bot among others, the install watcher and the
monitor sharing one limit on provider calls, and unlinking through the bot's own buttons."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.inferno.simulator import Simulator
from bot.services.bounded import ProviderSlots
from tests.harness import EVERY_PASS_BY_TEST, BotEnv, Production, creds_of, paid_order, running_bot
from tests.push_helpers import flood_is_over
from tests.storage_helpers import count_unsent, start_watch
from tests.test_alerts import account_pass, later, monitor_pass, order_of, texts
from tests.test_flow_servers import installed_server
from tests.watch_helpers import watcher_of

UID = 7301
OTHER = 7302
UNPAID_AFTER = 7200.0
CONCURRENCY = 2


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """Every pass is the test's: the loops wait an hour."""
    async with running_bot(
        tmp_path,
        production=engines,
        sim=Simulator(install_delay=3600.0),
        **EVERY_PASS_BY_TEST,
        watch_concurrency=CONCURRENCY,
        unpaid_order_after=UNPAID_AFTER,
        read_cache_ttl=0.0,
    ) as bot_env:
        yield bot_env


async def test_an_unpaid_order_without_a_date_counts_from_when_the_bot_first_saw_it(
    env: BotEnv,
) -> None:
    customer = await env.linked(UID, balance="0.00")
    assert env.services is not None
    created = await env.services.inferno.create(creds_of(customer), "102")
    order = order_of(customer, created.order_id)
    # Placed long ago, but the provider's answer does not say when.
    order.date = order.date - dt.timedelta(days=3)
    order.date_shown = False
    await account_pass(env)  # first seen Pending now
    later(env, UNPAID_AFTER - 3500)  # due for a check again, not yet unpaid for long enough
    await account_pass(env)
    assert texts(env, UID, "is still unpaid") == []
    later(env, 3600)  # the next check: UNPAID_ORDER_AFTER since it was first seen has passed
    await account_pass(env)
    reminders = texts(env, UID, "is still unpaid")
    assert len(reminders) == 1 and created.order_id in reminders[0]
    later(env, 3600)
    await account_pass(env)
    assert len(texts(env, UID, "is still unpaid")) == 1


async def test_a_user_who_blocked_the_bot_does_not_hold_up_the_others_alerts(
    env: BotEnv,
) -> None:
    for uid in (UID, OTHER):
        await env.linked(uid, balance="5.00")
        await env.db.alerts.set_prefs(uid, low_balance=True, balance_threshold="10")
    # UID's alert is first in the outbox, and UID has blocked the bot.
    env.tg.block(UID)
    await account_pass(env)
    assert texts(env, UID, "below your threshold") == []
    assert len(texts(env, OTHER, "below your threshold")) == 1, "in the same pass"
    assert await count_unsent(env.db) == 0
    assert [(e.method, e.status) for e in env.tg.errors] == [("sendMessage", 403)]


async def test_the_watcher_and_the_monitor_together_never_exceed_the_concurrency(
    env: BotEnv,
) -> None:
    assert env.services is not None and env.bot is not None and env.dp is not None
    customer = await env.linked(UID, balance="1000.00")
    # As many monitored servers as the limit, and as many installs being watched.
    for _ in range(CONCURRENCY):
        await installed_server(env, customer)
    await account_pass(env)
    await monitor_pass(env)
    assert len(await env.db.alerts.monitored()) == CONCURRENCY
    for _ in range(CONCURRENCY):
        order_id = await paid_order(env, customer)
        await start_watch(env.db, UID, UID, order_id, "install", "debian12")
    slots = env.dp["provider_slots"]
    assert isinstance(slots, ProviderSlots) and slots.size == CONCURRENCY

    env.sim.reset_counters()
    env.sim.faults.hold("getinfo")
    both = asyncio.gather(watcher_of(env).sweep(env.bot), monitor_pass(env))
    # Every slot holds an unanswered getinfo, and the other pass's calls wait for a slot.
    await env.tg.wait_for(
        lambda: env.sim.held == CONCURRENCY and slots.waiting == CONCURRENCY,
        timeout=10.0,
        message="both passes at the limit",
    )
    assert env.sim.in_flight == CONCURRENCY
    env.sim.faults.release_held()
    await both
    assert env.sim.calls["getinfo"] == 2 * CONCURRENCY
    assert env.sim.peak_in_flight == CONCURRENCY


async def test_unlinking_through_settings_stops_both_passes_for_that_account(
    env: BotEnv,
) -> None:
    customer = await env.linked(UID, balance="5.00")
    order_id = await installed_server(env, customer)
    await env.db.alerts.set_prefs(UID, low_balance=True, balance_threshold="10")
    env.tg.rate_limit(UID, retry_after=60)  # the low-balance alert stays queued
    await account_pass(env)
    await monitor_pass(env)
    assert len(await env.db.alerts.monitored()) == 1 and await count_unsent(env.db) == 1

    await env.command(UID, "/menu")
    await env.tap(UID, "Settings")
    await env.tap(UID, "Unlink account")
    done = await env.tap(UID, "Yes, unlink")
    assert "unlinked" in done.text
    assert await count_unsent(env.db) == 0, "the queued alert is dropped"
    flood_is_over(env)
    shown = len(env.tg.bot_messages(UID))

    env.sim.reset_counters()
    env.sim.set_power(order_id, False)
    later(env, 4000)
    for _ in range(3):
        await account_pass(env)
        await monitor_pass(env)
    assert sum(env.sim.calls.values()) == 0, dict(env.sim.calls)
    assert len(env.tg.bot_messages(UID)) == shown
    assert await count_unsent(env.db) == 0
