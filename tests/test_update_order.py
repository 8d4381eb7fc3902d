"""One user's updates are handled one at a time, in the order they were sent; other users'
updates go on meanwhile, and every tap is still answered at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.handlers.navigation import Screen, menu_data
from bot.inferno.models import Balance, Credentials
from tests.harness import BotEnv

UID, OTHER = 511, 512


async def begin_key_link(env: BotEnv, uid: int, cid: int) -> None:
    await env.command(uid, "/start")
    await env.tap(uid, "Client id + API key")
    asking = await env.say(uid, str(cid))
    assert "API key" in asking.text


async def test_a_menu_sent_while_the_key_is_checked_shows_the_linked_account(
    env: BotEnv,
) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    # The key check takes a while; /menu arrives meanwhile, in the same poll or the next.
    env.sim.faults.latency = 0.5
    key = await env.tg.send_text(UID, customer.key)
    menu = await env.tg.send_command(UID, "/menu")
    await env.tg.wait_for_bot_message(UID, lambda m: "Inferno VPS" in m.text, after=menu.message_id)
    await env.settle()

    answers = [m for m in env.tg.bot_messages(UID) if m.message_id > key.message_id]
    linked = [i for i, m in enumerate(answers) if "is linked" in m.text]
    shown = [i for i, m in enumerate(answers) if "Inferno VPS" in m.text]
    assert linked and shown and linked[0] < shown[0], [m.text for m in answers]
    assert str(customer.cid) in answers[shown[0]].text
    assert not [m for m in answers if "not linked" in m.text]
    assert env.tg.errors == []


async def test_another_users_update_is_not_held_up_by_a_slow_one(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = await env.linked(UID)
    await env.linked(OTHER)
    assert env.services is not None
    inferno = env.services.inferno
    # The slow user's balance read waits until released; the other user's goes through.
    original = inferno.balance
    held, release = asyncio.Event(), asyncio.Event()

    async def held_for_slow_user(creds: Credentials, *args: Any, **kwargs: Any) -> Balance:
        if creds.cid == slow.cid:
            held.set()
            await release.wait()
        return await original(creds, *args, **kwargs)

    monkeypatch.setattr(inferno, "balance", held_for_slow_user)
    menu = await env.command(UID, "/menu")
    await env.tg.tap_button(UID, "Balance")
    # Held before the next tap is sent: a webhook takes several deliveries at once, so two taps
    # sent together may reach the bot in either order.
    await asyncio.wait_for(held.wait(), timeout=10)
    # The slow user's next tap waits behind the held one, yet it is answered at once.
    tapped = await env.tg.tap(UID, menu.message_id, menu_data(Screen.HELP), verify=False)
    await env.tg.wait_for(lambda: tapped in env.tg.callback_answers, message="tap answered")
    # env.command would wait for every update, the held ones too: watch the other chat alone.
    sent = await env.tg.send_command(OTHER, "/menu")
    await env.tg.wait_for_bot_message(
        OTHER, lambda m: "Inferno VPS" in m.text, after=sent.message_id
    )
    await env.tg.tap_button(OTHER, "Balance")
    await env.tg.wait_for_bot_message(OTHER, lambda m: "Balance of account" in m.text)
    assert not [m for m in env.tg.bot_messages(UID) if "Balance of account" in m.text]
    release.set()
    await env.settle()
    # In the order they were sent: the balance first, then help over it.
    drawn = env.tg.message(UID, menu.message_id)
    assert "/start" in drawn.text and "Balance of account" not in drawn.text
    assert any("Balance of account" in text for text, *_ in drawn.history)
    assert env.tg.errors == []
