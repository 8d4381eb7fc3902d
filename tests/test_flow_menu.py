"""The main menu, unknown buttons and the last-resort error handler."""

from __future__ import annotations

import pytest

from tests.harness import BotEnv

UID = 3101


async def answered(env: BotEnv, before: int) -> str:
    await env.tg.wait_for(
        lambda: (
            sum(m.edit_count for m in env.tg.bot_messages(UID)) + len(env.tg.bot_messages(UID))
            > before
        ),
        message="the bot to answer",
    )
    await env.settle()
    return env.tg.last_bot_message(UID).text


def screen_count(env: BotEnv) -> int:
    messages = env.tg.bot_messages(UID)
    return sum(m.edit_count for m in messages) + len(messages)


async def test_menu_lists_every_area_and_is_edited_in_place(env: BotEnv) -> None:
    await env.link(UID, env.customer())
    await env.tg.send_command(UID, "/menu")
    await answered(env, 0)
    menu = env.tg.last_bot_message(UID)
    labels = [b.text for b in menu.buttons()]
    for label in (
        "My servers",
        "Buy a server",
        "Orders",
        "SSH keys",
        "Balance",
        "Settings",
        "Help",
    ):
        assert any(label in text for text in labels), label
    before = screen_count(env)
    await env.tg.tap_button(UID, "Help")
    await answered(env, before)
    before = screen_count(env)
    await env.tg.tap_button(UID, "Main menu")
    await answered(env, before)
    assert env.tg.last_bot_message(UID).message_id == menu.message_id
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


@pytest.mark.parametrize("data", ["zzz", "m:nope", "s:c:" + "9" * 50, "is:abc:q"])
async def test_unknown_or_forged_buttons_say_expired(env: BotEnv, data: str) -> None:
    await env.link(UID, env.customer())
    await env.tg.send_command(UID, "/menu")
    await answered(env, 0)
    menu = env.tg.last_bot_message(UID)
    before = screen_count(env)
    await env.tg.tap(UID, menu.message_id, data, verify=False)
    text = await answered(env, before)
    assert text, "a forged button must never be answered with silence"
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
    await env.tg.send_command(UID, "/menu")
    await answered(env, 0)
    before = screen_count(env)
    await env.tg.tap_button(UID, "Balance")
    await env.tg.wait_for(
        lambda: any("Something went wrong" in m.text for m in env.tg.bot_messages(UID)),
        message="the error notice",
    )
    notice = [m for m in env.tg.bot_messages(UID) if "Something went wrong" in m.text][-1]
    assert notice.button("Main menu")
    assert "boom" not in notice.text and "Traceback" not in notice.text
    assert screen_count(env) > before
