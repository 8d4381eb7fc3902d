"""The demo account shows an alert within a minute of linking (issue 17): linking wakes the
account pass, and the simulator's demo service is due in two days."""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import bot.services.alerts as alerts_module
from bot.inferno.models import Credentials
from tests import harness
from tests.e2e_process import SETTING_NAMES, BotProcess
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotEnv, Production, labels, running_bot

UID = 7101
# The promise, used only as the deadline of a wait.
WITHIN_A_MINUTE = 60.0


def renewal_alerts(tg: FakeTelegram, uid: int) -> list[str]:
    return [m.text for m in tg.bot_messages(uid) if "due for renewal" in m.text]


@pytest.fixture
async def demo_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engines: Production | None
) -> AsyncIterator[BotEnv]:
    # No tick to fall back on: only the link itself can start the first account check.
    monkeypatch.setattr(alerts_module, "ACCOUNT_TICK", 3600.0)
    async with running_bot(tmp_path, production=engines, start=False, alert_interval=900.0) as env:
        demo = env.sim.demo()
        services = functools.partial(harness.Services, demo_account=Credentials(demo.cid, demo.key))
        monkeypatch.setattr(harness, "Services", services)
        await env.start()
        yield env


async def test_linking_the_demo_account_checks_it_at_once(demo_env: BotEnv) -> None:
    env = demo_env
    await env.command(UID, "/start")
    await env.tap(UID, "Use the demo account")
    await env.tg.wait_for(lambda: renewal_alerts(env.tg, UID) != [], WITHIN_A_MINUTE, "renewal")
    (alert,) = renewal_alerts(env.tg, UID)
    assert "in 2 days" in alert and "account 777" in alert
    assert env.tg.errors == []


async def test_demo_process_shows_a_renewal_alert_within_a_minute(tmp_path: Path) -> None:
    """``python -m bot --demo`` with its default intervals, linked by the demo button."""
    async with FakeTelegram() as tg:
        env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
        env.update(
            BOT_TOKEN=tg.token,
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
            ENCRYPTION_KEY_FILE=str(tmp_path / "secret.key"),
            DEFAULT_LANGUAGE="en",
        )
        proc = BotProcess(
            tmp_path=tmp_path, env=env, log_path=tmp_path / "bot.log", args=("--demo",)
        )
        await proc.start()
        try:
            await tg.wait_for(lambda: tg.polling_active, 30.0, "the bot to start polling")
            await tg.send_command(UID, "/start", language_code="en")
            await tg.wait_for_bot_message(
                UID, lambda m: any("demo account" in label for label in labels(m)), timeout=10.0
            )
            await tg.tap_button(UID, "Use the demo account")
            await tg.wait_for(
                lambda: renewal_alerts(tg, UID) != [], WITHIN_A_MINUTE, "the demo's renewal alert"
            )
            assert await proc.stop(signal.SIGTERM, timeout=10) == 0
        finally:
            if proc.process is not None:
                proc.process.kill()
                await proc.process.wait()
    (alert,) = renewal_alerts(tg, UID)
    assert "in 2 days" in alert and "DEMO" in alert
    assert "Traceback" not in proc.logs()
