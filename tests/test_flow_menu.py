"""The main menu, unknown buttons and the last-resort error handler."""

from __future__ import annotations

import pytest

from bot.handlers.navigation import Screen, menu_data
from bot.middlewares.demo import DemoMarkMiddleware
from tests.harness import BotEnv

UID = 3101


async def test_menu_lists_every_area_and_is_edited_in_place(env: BotEnv) -> None:
    await env.link(UID, env.customer())
    menu = await env.command(UID, "/menu")
    labels = [b.text for b in menu.buttons()]
    areas = ("My servers", "Buy a server", "Orders", "SSH keys", "Balance", "Settings", "Help")
    for label in areas:
        assert any(label in text for text in labels), label
    await env.tap(UID, "Help")
    back = await env.tap(UID, "Main menu")
    assert back.message_id == menu.message_id
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


@pytest.mark.parametrize("data", ["zzz", "m:nope", "s:c:" + "9" * 50, "is:abc:q"])
async def test_unknown_or_forged_buttons_say_expired(env: BotEnv, data: str) -> None:
    await env.link(UID, env.customer())
    await env.command(UID, "/menu")
    answer = await env.forge(UID, data)
    assert answer.text, "a forged button must never be answered with silence"
    assert env.tg.unanswered_callbacks() == []
    assert [e for e in env.tg.errors if e.method != "deleteMessage"] == []


async def test_unexpected_error_gets_a_way_back(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    await env.link(UID, env.customer())
    assert env.services is not None

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(env.services.inferno, "balance", broken)
    await env.command(UID, "/menu")
    before = env.screen(UID)
    await env.tg.tap_button(UID, "Balance")
    await env.tg.wait_for(
        lambda: any("Something went wrong" in m.text for m in env.tg.bot_messages(UID)),
        message="the error notice",
    )
    notice = [m for m in env.tg.bot_messages(UID) if "Something went wrong" in m.text][-1]
    assert notice.button("Main menu")
    assert "boom" not in notice.text and "Traceback" not in notice.text
    assert env.screen(UID) != before


async def test_demo_mark_does_not_hide_an_unchanged_screen(env: BotEnv) -> None:
    assert env.bot is not None
    env.bot.session.middleware(DemoMarkMiddleware())
    await env.link(UID, env.customer())
    menu = await env.command(UID, "/menu")
    assert menu.text.startswith("🧪 DEMO")
    edits = [r for r in env.tg.requests if r.method == "editMessageText"]
    # A tap on the screen it already shows: answered, and nothing to edit.
    query_id = await env.tg.tap(UID, menu.message_id, menu_data(Screen.MAIN), verify=False)
    await env.settle()
    assert query_id in env.tg.callback_answers
    assert [r for r in env.tg.requests if r.method == "editMessageText"] == edits
    assert env.tg.errors == [], "no 'message is not modified'"


async def test_a_tap_is_answered_even_when_loading_the_user_fails(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    await env.link(UID, env.customer())
    menu = await env.command(UID, "/menu")

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(env.db.users, "ensure_with_access", broken)
    query_id = await env.tg.tap(UID, menu.message_id, menu_data(Screen.HELP))
    await env.tg.wait_for(
        lambda: any("Something went wrong" in m.text for m in env.tg.bot_messages(UID)),
        message="the error notice",
    )
    await env.settle()
    assert query_id in env.tg.callback_answers
    assert env.tg.unanswered_callbacks() == []
