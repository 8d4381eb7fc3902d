"""Balance and help through the real dispatcher, and the ALLOWED_USERS refusal."""

from __future__ import annotations

from pathlib import Path

from tests.harness import BotEnv, Production, running_bot
from tests.storage_helpers import user_count
from tests.test_flow_link import command, say, tap

UID = 801


async def test_balance_and_refresh(env: BotEnv) -> None:
    customer = env.customer(balance="42.50")
    await env.link(UID, customer)
    await command(env, UID, "/menu")
    mid = env.tg.last_bot_message(UID).message_id
    await tap(env, UID, "Balance")
    msg = env.tg.message(UID, mid)
    assert "42.50 USD" in msg.text and str(customer.cid) in msg.text
    assert env.tg.calls("sendChatAction")  # "typing…" while the provider works

    # Same figure: Refresh asks the provider again but must not provoke "message is not modified".
    await tap(env, UID, "Refresh", changes=False)
    assert env.sim.calls["balance"] == 2
    env.sim.add_funds(customer, "10.00")
    await tap(env, UID, "Refresh")
    assert "52.50 USD" in env.tg.message(UID, mid).text
    assert env.sim.calls["balance"] == 3
    assert env.tg.last_bot_message(UID).message_id == mid
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


async def test_balance_provider_errors_offer_retry(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    await command(env, UID, "/menu")
    mid = env.tg.last_bot_message(UID).message_id

    env.sim.faults.whitelist_denied = True
    await tap(env, UID, "Balance")
    msg = env.tg.message(UID, mid)
    assert "whitelist" in msg.text
    assert {b.text for b in msg.buttons()} >= {"🔄 Retry", "« Main menu"}

    env.sim.faults.whitelist_denied = False
    env.sim.faults.html_next = 1  # a Cloudflare page: the provider's HTML never reaches the chat
    await tap(env, UID, "Retry", changes=False)
    assert "whitelist" in env.tg.message(UID, mid).text
    assert "<html" not in env.tg.message(UID, mid).text.lower()

    await tap(env, UID, "Retry")
    assert "100.00 USD" in env.tg.message(UID, mid).text
    assert env.tg.errors == []


async def test_balance_with_a_revoked_key_says_so(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    customer.key = "revoked-and-replaced-key"
    await command(env, UID, "/menu")
    await tap(env, UID, "Balance")
    assert "rejected" in env.tg.last_bot_message(UID).text
    assert env.tg.errors == []


async def test_help_explains_linking_whitelist_and_privacy(env: BotEnv) -> None:
    await command(env, UID, "/help")
    text = env.tg.last_bot_message(UID).text
    for expected in (
        "client id",
        "API key",
        "Email + password",
        "whitelist",
        "support ticket",
        "AES-256-GCM",
        "never stored",
        "/logout",
        "Unlink account",
    ):
        assert expected.lower() in text.lower(), expected
    assert len(text) <= 4096

    await command(env, UID, "/menu")
    mid = env.tg.last_bot_message(UID).message_id
    await tap(env, UID, "Help")
    assert env.tg.message(UID, mid).text == text
    # Once the user exists the stored language wins over the client's language_code.
    await say(env, UID, "/help", language_code="ru")
    assert "Privacy" in env.tg.last_bot_message(UID).text
    assert env.tg.errors == []


async def test_help_in_russian(env: BotEnv) -> None:
    await command(env, UID, "/help", language_code="ru")
    text = env.tg.last_bot_message(UID).text
    assert "белый список" in text and "AES-256-GCM" in text and "/logout" in text
    assert env.tg.errors == []


async def test_strangers_get_one_short_refusal_and_no_row(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, allowed_users=frozenset({1})) as env:
        stranger = 2
        for text in ("/start", "hello", "/menu"):
            sent = await env.tg.send_text(stranger, text)
            await env.tg.wait_for_bot_message(stranger, after=sent.message_id)
        # A tap (say on a forwarded menu) is refused in the callback answer, not in the chat.
        query_id = await env.tg.tap(stranger, 1, "m:main", verify=False)
        await env.tg.wait_for(lambda: query_id in env.tg.callback_answers, message="the answer")
        await env.tg.wait_idle(quiet=0.3)
        refusals = env.tg.bot_messages(stranger)
        assert len(refusals) == 3
        assert all(m.text == "Sorry, this bot is private." for m in refusals)
        assert all(not m.buttons() for m in refusals)
        assert env.tg.callback_answers[query_id].text == "Sorry, this bot is private."
        assert await env.db.users.get(stranger) is None
        assert await user_count(env.db) == 0

        # The allowed user is served normally.
        await command(env, 1, "/start")
        assert "Hi, Test!" in env.tg.last_bot_message(1).text
        assert env.tg.errors == []


async def test_groups_are_ignored(env: BotEnv) -> None:
    # The bot asks for keys and shows passwords: nothing of it may happen where others read.
    before = len(env.tg.requests)
    env.tg.send_group_text(UID, -100123, "/start")
    env.tg.send_group_text(UID, -100123, "hello")
    await env.settle()
    assert [r.method for r in env.tg.requests[before:] if r.method != "getUpdates"] == []
    assert await env.db.users.get(UID) is None
    assert env.tg.errors == []
    await command(env, UID, "/start")  # the same user in private is served
    assert env.tg.last_bot_message(UID).text


async def test_the_bot_leaves_a_group_it_is_added_to(env: BotEnv) -> None:
    before = len(env.tg.requests)
    env.tg.add_bot_to_group(UID, -100777)
    await env.tg.wait_for(lambda: -100777 not in env.tg.groups, message="the bot to leave")
    await env.settle()
    sent = [r.method for r in env.tg.requests[before:] if r.method != "getUpdates"]
    assert sent == ["leaveChat"], "nothing said in the group, nothing else done"
    assert await env.db.users.get(UID) is None
    assert env.tg.errors == []


async def test_a_message_nobody_waits_for_gets_a_hint(env: BotEnv) -> None:
    await say(env, UID, "hello there")
    reply = env.tg.last_bot_message(UID)
    assert "Open the menu" in reply.text and reply.buttons()
    await command(env, UID, "/frobnicate")
    assert "do not know this command" in env.tg.last_bot_message(UID).text
    await command(env, UID, "/help")  # a real command still goes where it belongs
    assert "do not know" not in env.tg.last_bot_message(UID).text
    assert env.tg.errors == []
