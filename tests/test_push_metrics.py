"""``/metrics`` counts every push the bot sends on its own (issues 17 and 19): alerts and
notices as well as the install watcher's messages, by kind and result — a user who blocked the
bot as failed, Telegram's flood control as delayed (it is sent later, not lost)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from bot.services.notices import NoticeSender
from bot.storage.startup import LINK_AGAIN
from bot.webhook.server import METRICS_PATH
from tests.harness import EVERY_PASS_BY_TEST, BotEnv, Production, running_bot
from tests.push_helpers import flood_is_over
from tests.test_alerts import account_pass

SENT_TO = 7501
BLOCKED = 7502
FLOODED = 7503
NOTICE_UID = 7504


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path,
        production=engines,
        webhook=True,
        **EVERY_PASS_BY_TEST,
    ) as bot_env:
        yield bot_env


async def pushes(env: BotEnv) -> dict[tuple[str, str], float]:
    assert env.settings.webhook_url is not None
    url = URL(env.settings.webhook_url).with_path(METRICS_PATH)
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        text = await response.text()
    counts: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if line.startswith("inferno_bot_pushes_total{"):
            labels, value = line.rsplit(" ", 1)
            kind = labels.split('kind="', 1)[1].split('"', 1)[0]
            result = labels.split('result="', 1)[1].split('"', 1)[0]
            counts[(kind, result)] = float(value)
    return counts


async def test_alerts_and_notices_are_counted_sent_failed_and_delayed(env: BotEnv) -> None:
    assert env.services is not None and env.bot is not None
    for uid in (SENT_TO, BLOCKED, FLOODED):
        await env.linked(uid, balance="5.00")
        await env.db.alerts.set_prefs(uid, low_balance=True, balance_threshold="10")
    env.tg.block(BLOCKED)
    # Longer than the session waits by itself: the outbox meets it.
    env.tg.rate_limit(FLOODED, retry_after=60)
    await account_pass(env)
    assert len([m for m in env.tg.bot_messages(SENT_TO) if "below your threshold" in m.text]) == 1
    assert await pushes(env) == {
        ("alert", "sent"): 1.0,
        ("alert", "failed"): 1.0,
        ("alert", "delayed"): 1.0,
    }

    # A notice, once Telegram lets pushes go again.
    env.tg.add_user(NOTICE_UID)
    await env.db._conn.execute(
        "INSERT INTO notices (user_id, kind, created_at) VALUES (?, ?, ?)",
        (NOTICE_UID, LINK_AGAIN, 1.0),
    )
    pacer = flood_is_over(env)
    await NoticeSender(env.db, env.services.hub, pacer).deliver(env.bot)
    counts = await pushes(env)
    assert counts[("notice", "sent")] == 1.0
    assert counts[("alert", "failed")] == 1.0
