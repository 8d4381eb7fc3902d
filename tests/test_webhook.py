"""Webhook mode: the fake Bot API delivers each update by POST to the bot's webhook app.

The flow tests imported below run here a second time, in webhook mode: pytest collects them
in this module, where ``env`` is the bot in webhook mode (their own modules run them polling).
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from bot.middlewares.inflight import UPDATES_AT_ONCE
from bot.webhook.server import HEALTH_PATH, METRICS_PATH
from tests.fakes.telegram import SECRET_HEADER
from tests.harness import WEBHOOK_SECRET, BotEnv, Production, running_bot

# The same flows, in webhook mode (see the module's docstring).
from tests.test_flow_buy import (  # noqa: F401
    confirmation,
    test_forged_confirmation_token_creates_nothing,
    test_two_fast_taps_on_confirm_create_one_order,
)
from tests.test_flow_link import test_link_by_key  # noqa: F401
from tests.test_flow_menu import (  # noqa: F401
    test_menu_lists_every_area_and_is_edited_in_place,
    test_unknown_or_forged_buttons_say_expired,
)
from tests.test_watcher import test_ready_message_arrives_once_with_the_ip

UID = 7301


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """The whole bot in webhook mode, with default test settings."""
    async with running_bot(tmp_path, production=engines, webhook=True) as bot_env:
        yield bot_env


def base_url(env: BotEnv) -> URL:
    assert env.settings.webhook_url is not None
    return URL(env.settings.webhook_url).with_path("/")


async def test_start_sets_the_webhook_and_never_polls(env: BotEnv) -> None:
    assert env.dp is not None
    [call] = env.tg.calls("setWebhook")
    assert call.params["url"] == env.settings.webhook_url
    assert call.params["secret_token"] == WEBHOOK_SECRET
    assert call.params["drop_pending_updates"] == "false"
    assert sorted(call.params["allowed_updates"]) == sorted(env.dp.resolve_used_update_types())
    # The bot's routers ask for edited messages (bot/handlers/edits.py); the default omits none
    # of them but the list must name them.
    assert "edited_message" in call.params["allowed_updates"]
    assert env.tg.calls("getUpdates") == []


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", WEBHOOK_SECRET + "x"])
async def test_a_request_without_the_right_secret_gets_401_and_is_not_handled(
    env: BotEnv, secret: str | None
) -> None:
    assert env.settings.webhook_url is not None
    env.tg.add_user(UID)
    forged = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1,
            "chat": {"id": UID, "type": "private", "first_name": "Eve"},
            "from": {"id": UID, "is_bot": False, "first_name": "Eve"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with (
        aiohttp.ClientSession() as http,
        http.post(env.settings.webhook_url, json=forged, headers=headers) as response,
    ):
        assert response.status == 401
    await env.settle()
    assert env.tg.bot_messages(UID) == []
    assert await env.db.users.get(UID) is None
    assert 1 not in env._handling.fed

    # The same update with the secret is handled: the refusal was the secret's alone.
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            env.settings.webhook_url, json=forged, headers={SECRET_HEADER: WEBHOOK_SECRET}
        ) as response,
    ):
        assert response.status == 200
    await env.tg.wait_for_bot_message(UID)


async def test_a_delivery_retried_after_a_timeout_is_handled_once(env: BotEnv) -> None:
    customer = await env.linked(UID)
    confirm = await confirmation(env, "VPS Start", "5.00", uid=UID)
    before = env.screen(UID)
    env.tg.lose_webhook_answer()
    query_id = await env.tg.tap_button(UID, "Confirm the purchase", message_id=confirm.message_id)
    await env.tg.wait_for(
        lambda: "Order created" in env.tg.message(UID, confirm.message_id).text,
        message="the order",
    )
    await env.settle()

    attempts = [d for d in env.tg.deliveries if d.update_id == env.tg.updates[-1].update_id]
    assert [d.error for d in attempts] == ["Read timeout expired", None]
    assert env.sim.calls["create"] == 1
    assert len(customer.orders) == 1
    # One answer to the tap, one screen: the second delivery reached no handler.
    assert [a.query_id for a in env.tg.callback_answers.values()].count(query_id) == 1
    changed = {i for i, state in env.screen(UID).items() if before.get(i) != state}
    assert changed == {confirm.message_id}
    assert env.tg.errors == []


async def test_updates_sent_while_the_bot_is_down_arrive_after_the_restart(env: BotEnv) -> None:
    env.tg.add_user(UID)
    await env.stop()
    await env.tg.send_command(UID, "/start")
    await env.tg.wait_for(
        lambda: any(d.error for d in env.tg.deliveries), message="a failed delivery"
    )
    await env.start()
    await env.tg.wait_for_bot_message(UID)
    await env.settle()
    assert len(env.tg.bot_messages(UID)) == 1


async def test_healthz_answers_while_the_database_does(env: BotEnv) -> None:
    url = base_url(env).with_path(HEALTH_PATH)
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 200
        await env.db.close()
        async with http.get(url) as response:
            assert response.status == 503


async def test_metrics_has_every_family_after_some_taps(env: BotEnv) -> None:
    await test_ready_message_arrives_once_with_the_ip(env)
    await env.command(UID, "/menu")
    env.sim.faults.http_500_next = 3  # a read that fails for good: counted by its error
    await env.tap(UID, "Buy a server")
    async with (
        aiohttp.ClientSession() as http,
        http.get(base_url(env).with_path(METRICS_PATH)) as response,
    ):
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    lines = text.splitlines()

    def sample(prefix: str) -> float:
        [line] = [line for line in lines if line.startswith(prefix)]
        return float(line.rsplit(" ", 1)[1])

    assert sample('inferno_bot_updates_handled_total{type="message"}') >= 1
    assert sample('inferno_bot_updates_handled_total{type="callback_query"}') >= 1
    assert sample('inferno_bot_handler_seconds_count{type="callback_query"}') >= 1
    assert sample('inferno_bot_handler_seconds_bucket{le="+Inf",type="message"}') >= 1
    assert sample('inferno_bot_provider_calls_total{action="getinfo",result="ok"}') >= 1
    assert (
        sample('inferno_bot_provider_calls_total{action="list",result="ProviderUnavailable"}') == 1
    )
    assert sample('inferno_bot_pushes_total{kind="install",result="sent"}') == 1
    assert sample("inferno_bot_open_watches ") == 0
    assert sample("inferno_bot_updates_repeated_total ") == 0


async def test_a_stopped_bot_is_not_kept_by_the_process(
    tmp_path: Path, engines: Production | None
) -> None:
    """Nothing process-wide holds a bot once its webhook app has stopped: aiohttp keeps the
    handlers of apps with middlewares in a cache of its own (see bot/webhook/server.py)."""
    async with running_bot(tmp_path, production=engines, webhook=True) as env:
        env.tg.add_user(UID)
        await env.command(UID, "/start")
        assert env.dp is not None
        dispatcher = weakref.ref(env.dp)
        bot = weakref.ref(env.bot)
    del env
    gc.collect()
    assert dispatcher() is None
    assert bot() is None


async def test_a_burst_of_deliveries_is_handled_a_bounded_number_at_a_time(env: BotEnv) -> None:
    """aiogram answers each delivery at once and handles its update in a task of its own; the
    bot runs at most UPDATES_AT_ONCE of those handlers, the others waiting their turn, as when
    polling (tests/test_e2e.py)."""
    users = UPDATES_AT_ONCE + 20
    # Every welcome takes Telegram a while: the handlers that send them stay in flight.
    env.tg.answer_delays["sendmessage"] = 0.5
    env.tg.peak_in_flight = 0
    for n in range(users):
        await env.tg.send_command(UID + 1 + n, "/start", language_code="en")
    await env.tg.wait_for(
        lambda: len(env.tg.calls("sendMessage")) >= users, 30.0, "a welcome for everyone"
    )
    await env.settle()
    assert 1 < env.tg.peak_in_flight <= UPDATES_AT_ONCE, env.tg.peak_in_flight
