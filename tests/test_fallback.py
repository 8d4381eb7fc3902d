"""Messages no dialog waits for: a hint, and a secret pasted too late is deleted first."""

from __future__ import annotations

import logging

import pytest

from bot.handlers.common import looks_like_credential
from tests.harness import BotEnv

UID = 3401


@pytest.mark.parametrize(
    "text",
    [
        "Summer2024",
        "  Zx9-kq_81LmPq0aa  ",
        "q0Dx8n2yJc0dQmXl2y1sZk9rVb7uTq3w",
        "P@ssw0rd!",
        "P@ssw0rd",
        "hunter2hunter2hunter2",
        "P4ss.w0rd",  # a dot, but no host name: the last label has a digit
        "my.Pass123",
        "Пароль2024!",
        "q0DxanbyJcodQmXlkyasZkarVbLuTqdw",  # a random key without a digit
    ],
)
def test_passwords_and_keys_look_like_credentials(text: str) -> None:
    assert looks_like_credential(text)


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "hello there 12345678",  # more than one word
        "passwordonly",  # no digit
        "1234567890",  # no letter: an order id
        "abc123",  # too short
        "debian12",  # a template a user might type, not mixed enough for a short password
        "hunter2hunter2",
        "ubuntu22.04",
        "Ubuntu-24.04",
        "vps1.example.com",
        "example.com:8080",
        "root@1.2.3.4",
        "2001:db8::/32",
        "/start abc12345",
        "/frobnicate1",
        "john99@mail.example",
        "https://example.com/a1b2c3",
        "www.example123.com",
        "2001:db8::1f",
        "192.168.100.200",
        "x" * 300 + "1",
    ],
)
def test_other_words_do_not(text: str) -> None:
    assert not looks_like_credential(text)


async def test_a_password_sent_after_the_dialog_was_left_is_deleted(
    env: BotEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await env.command(UID, "/start")
    await env.tap(UID, "Email + password")
    await env.command(UID, "/menu")  # leaves the dialog before the password was sent
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, "Summer2024!")
    notice = await env.answered(UID, before)
    assert "deleted it from the chat" in notice.text and notice.buttons()
    assert env.tg.message(UID, pasted.message_id).deleted
    assert env.tg.errors == []
    assert not [r for r in caplog.records if "Summer2024!" in r.getMessage()]


async def test_an_ordinary_word_is_kept_and_gets_the_hint(env: BotEnv) -> None:
    before = env.screen(UID)
    said = await env.tg.send_text(UID, "2001:db8::1f")
    hint = await env.answered(UID, before)
    assert "Open the menu" in hint.text
    assert not env.tg.message(UID, said.message_id).deleted


async def test_a_secret_telegram_refuses_to_delete_is_not_said_to_be_deleted(env: BotEnv) -> None:
    env.tg.fail_delete(UID)
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, "Summer2024!")
    await env.answered(UID, before)
    texts = [m.text for m in env.tg.bot_messages(UID)]
    asked = [m for m in env.tg.bot_messages(UID) if "delete it yourself" in m.text]
    assert asked and asked[-1].button("Main menu"), "the request carries the way back"
    assert not any("deleted it from the chat" in t for t in texts)
    assert not env.tg.message(UID, pasted.message_id).deleted
