"""No down alert for what the user did through the bot (issue 17): a reboot or a reinstall
tapped on the card leaves the server not running for a while, and that is theirs, not an
outage — for ``GRACE`` after the action, and for as long as the reinstall's watch is open.
After that, the server going down is an outage again and is told; so is a reboot that has not
brought it back within the grace, but not a stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.inferno.simulator import Customer, Simulator
from bot.services.alerts import GRACE
from tests.harness import EVERY_PASS_BY_TEST, BotEnv, Production, running_bot
from tests.test_alerts import account_pass, later, monitor_pass, order_of, running_server, texts
from tests.test_flow_servers import open_card, sim_server_ip
from tests.watch_helpers import force_due, watcher_of, woken_pass_done

UID = 7101


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """Installs finish when the test says so; every pass is run by the test."""
    async with running_bot(
        tmp_path,
        production=engines,
        sim=Simulator(install_delay=3600.0),
        **EVERY_PASS_BY_TEST,
        read_cache_ttl=0.0,
    ) as bot_env:
        yield bot_env


async def monitored(env: BotEnv) -> tuple[Customer, str]:
    customer = await env.linked(UID)
    order_id = await running_server(env, customer)
    await account_pass(env)  # learns the Active order
    await monitor_pass(env)  # running: monitored from now on
    return customer, order_id


async def goes_down_after_the_grace(env: BotEnv, order_id: str) -> None:
    """A later outage, past the grace, is told once."""
    env.sim.set_power(order_id, True)
    await monitor_pass(env)  # running again
    later(env, GRACE + 60)
    env.sim.set_power(order_id, False)
    await monitor_pass(env)
    await monitor_pass(env)
    down = texts(env, UID, "is down")
    assert len(down) == 1 and order_id in down[0]


async def reboot_through_the_card(env: BotEnv, order_id: str) -> None:
    card = await open_card(env, order_id, UID)
    await env.tg.tap_button(UID, "Reboot", message_id=card.message_id)
    await env.settle()
    await env.tg.tap_button(UID, "Yes, reboot", message_id=card.message_id)
    await env.settle()
    assert env.sim.calls["reboot"] == 1


async def test_no_alert_while_a_reboot_through_the_bot_keeps_it_down(env: BotEnv) -> None:
    _, order_id = await monitored(env)
    await reboot_through_the_card(env, order_id)
    # The server takes its time to come back: seen not running on three passes.
    env.sim.set_power(order_id, False)
    for _ in range(3):
        await monitor_pass(env)
    assert texts(env, UID, "is down") == []

    await goes_down_after_the_grace(env, order_id)


async def test_no_alert_while_a_reinstall_through_the_bot_runs_even_past_the_grace(
    env: BotEnv,
) -> None:
    customer, order_id = await monitored(env)
    ip = sim_server_ip(customer, order_id)
    await open_card(env, order_id, UID)
    wizard = await env.tap(UID, "Reinstall")
    assert "Reinstall the OS" in wizard.text
    await env.tap(UID, "Ubuntu 24.04")
    await env.tap(UID, "without a key")
    await env.tap(UID, "Reinstall…")
    await env.tap(UID, f"erase {ip}")
    await woken_pass_done(env)
    assert env.sim.runs["reinstall"] == 1

    # Installing: not running on every pass, within the grace (the action is in the log)…
    for _ in range(3):
        await monitor_pass(env)
    assert texts(env, UID, "is down") == []
    # …then the installer reboots into the new system, seen running for a pass…
    server = order_of(customer, order_id).server
    server.installing, server.powered = False, True
    await monitor_pass(env)
    # …and goes on installing past the grace: the action is old now, but its watch is open.
    later(env, GRACE + 60)
    server.installing, server.powered = True, False
    for _ in range(3):
        await monitor_pass(env)
    assert texts(env, UID, "is down") == []

    # Ready: the watcher announces it and closes the watch; an outage after that is told.
    env.sim.complete_installs()
    await force_due(env.db)
    assert env.bot is not None
    await watcher_of(env).sweep(env.bot)
    assert len(texts(env, UID, "Your server is ready")) == 1
    await goes_down_after_the_grace(env, order_id)


async def test_a_reboot_that_does_not_bring_it_back_within_the_grace_is_told_once(
    env: BotEnv,
) -> None:
    _, order_id = await monitored(env)
    await reboot_through_the_card(env, order_id)
    env.sim.set_power(order_id, False)
    await monitor_pass(env)
    await monitor_pass(env)
    assert texts(env, UID, "is down") == []
    # Still not running once the grace is over: the reboot has failed, which the user must hear.
    later(env, GRACE + 60)
    for _ in range(4):
        await monitor_pass(env)
    down = texts(env, UID, "is down")
    assert len(down) == 1 and order_id in down[0]
    # And back up once it runs.
    env.sim.set_power(order_id, True)
    await monitor_pass(env)
    assert len(texts(env, UID, "is back up")) == 1


async def test_a_server_stopped_through_the_bot_stays_quiet_past_the_grace(env: BotEnv) -> None:
    _, order_id = await monitored(env)
    card = await open_card(env, order_id, UID)
    await env.tg.tap_button(UID, "Stop", message_id=card.message_id)
    await env.settle()
    await env.tg.tap_button(UID, "Yes, stop", message_id=card.message_id)
    await env.settle()
    assert env.sim.calls["stop"] == 1
    for _ in range(2):
        await monitor_pass(env)
    later(env, GRACE + 60)
    for _ in range(3):
        await monitor_pass(env)
    assert texts(env, UID, "is down") == []
