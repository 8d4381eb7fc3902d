"""Pushes leave out the buttons the recipient's role may not use, as screens do: a viewer's
"server down" alert has no Boot button (the gate would refuse it), an operator's has."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.inferno.simulator import Simulator
from tests.harness import ALERT_PASSES_BY_TEST, BotEnv, Production, labels, running_bot
from tests.test_alerts import account_pass, monitor_pass
from tests.test_flow_members import MATE, shared


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path,
        production=engines,
        sim=Simulator(install_delay=60.0),
        **ALERT_PASSES_BY_TEST,
        read_cache_ttl=0.0,
    ) as bot_env:
        yield bot_env


@pytest.mark.parametrize(("role", "boot"), [("Viewer", False), ("Operator", True)])
async def test_a_members_down_alert_shows_boot_only_to_a_role_that_may_boot(
    env: BotEnv, role: str, boot: bool
) -> None:
    _, order_id = await shared(env, role)
    await account_pass(env)
    await monitor_pass(env)
    env.sim.set_power(order_id, False)
    for _ in range(3):
        await monitor_pass(env)
    alert = await env.tg.wait_for_bot_message(MATE, lambda m: "is down" in m.text)
    assert any("Boot" in label for label in labels(alert)) is boot, labels(alert)
    assert any("Open server" in label for label in labels(alert))
