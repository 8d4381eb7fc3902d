"""A key pasted together with the client id, or a password together with the email, is deleted
from the chat at every step of the linking dialog, and the dialog goes on sensibly."""

from __future__ import annotations

import pytest

from bot.handlers.start import cid_and_key, password_after_email
from tests.harness import PASSWORD, BotEnv
from tests.storage_helpers import stored_account
from tests.test_flow_link import (
    all_bot_text,
    assert_not_linked,
    begin_email_link,
    begin_key_link,
    command,
    say,
    tap,
)

UID = 531
KEY_SHAPES = ["{cid} {key}", "{cid}\n{key}", "cid {cid} key {key}", "cid: {cid}, key: {key}"]
EMAIL_SHAPES = [
    "{email} {password}",
    "{email}\n{password}",
    "email: {email}\npassword: {password}",
]


async def begin_cid_step(env: BotEnv) -> None:
    await command(env, UID, "/start")
    await tap(env, UID, "Client id + API key")


@pytest.mark.parametrize("shape", KEY_SHAPES)
async def test_cid_and_key_pasted_at_the_cid_step_link_at_once(env: BotEnv, shape: str) -> None:
    customer = env.customer()
    await begin_cid_step(env)
    mid = await say(env, UID, shape.format(cid=customer.cid, key=customer.key))
    assert env.tg.message(UID, mid).deleted
    reply = env.tg.last_bot_message(UID).text
    assert "held the client id and the API key together" in reply
    assert "is linked" in reply
    account = await stored_account(env.db, UID)
    assert account is not None and (account.cid, account.api_key) == (customer.cid, customer.key)
    await env.first_alert_check(UID)
    assert env.sim.calls["balance"] == 2  # the link's check, then the alerts' first check
    assert customer.key not in all_bot_text(env, UID)
    assert env.tg.errors == []


async def test_a_wrong_key_pasted_with_the_cid_is_an_attempt_and_the_key_step_follows(
    env: BotEnv,
) -> None:
    customer = env.customer()
    await begin_cid_step(env)
    mid = await say(env, UID, f"{customer.cid} wrong-key-{'x' * 20}")
    assert env.tg.message(UID, mid).deleted
    reply = env.tg.last_bot_message(UID).text
    assert "held the client id and the API key together" in reply
    assert f"rejected this key for client id {customer.cid}" in reply
    assert env.sim.calls["balance"] == 1
    await assert_not_linked(env, UID)
    # The dialog waits for the key of that client id now.
    await say(env, UID, customer.key)
    assert "is linked" in env.tg.last_bot_message(UID).text


@pytest.mark.parametrize(
    "text", ["my key is Xk9#mPq2vLz8", "777 Xk9#mPq2vLz8 extra", "key: 9f8e7d6c5b4aQwErTy"]
)
async def test_a_key_among_other_words_at_the_cid_step_is_deleted(env: BotEnv, text: str) -> None:
    await begin_cid_step(env)
    mid = await say(env, UID, text)
    assert env.tg.message(UID, mid).deleted
    reply = env.tg.last_bot_message(UID).text
    assert "deleted it from the chat" in reply and "not a client id" in reply
    assert env.sim.calls["balance"] == 0
    # Still the client id step.
    await say(env, UID, "777")
    assert "Now send your API key" in env.tg.last_bot_message(UID).text
    assert env.tg.errors == []


@pytest.mark.parametrize("text", ["cid: 777", "Client ID 777", "CID=777"])
async def test_a_labelled_client_id_is_taken(env: BotEnv, text: str) -> None:
    await begin_cid_step(env)
    await say(env, UID, text)
    assert "Client id 777. Now send your API key" in env.tg.last_bot_message(UID).text


@pytest.mark.parametrize("shape", KEY_SHAPES)
async def test_cid_and_key_pasted_at_the_key_step(env: BotEnv, shape: str) -> None:
    customer = env.customer()
    # The client id given first was a typo; the pasted pair is what the user means.
    await begin_key_link(env, UID, customer.cid + 1)
    mid = await say(env, UID, shape.format(cid=customer.cid, key=customer.key))
    assert env.tg.message(UID, mid).deleted
    assert "is linked" in env.tg.last_bot_message(UID).text
    account = await stored_account(env.db, UID)
    assert account is not None and account.cid == customer.cid
    assert customer.key not in all_bot_text(env, UID)
    assert env.tg.errors == []


@pytest.mark.parametrize("shape", EMAIL_SHAPES)
async def test_email_and_password_pasted_at_the_email_step(env: BotEnv, shape: str) -> None:
    customer = env.customer(email="anna@example.com")
    await command(env, UID, "/start")
    await tap(env, UID, "Email + password")
    mid = await say(env, UID, shape.format(email=customer.email, password=PASSWORD))
    assert env.tg.message(UID, mid).deleted
    reply = env.tg.last_bot_message(UID).text
    assert "held more than the email" in reply and "anna@example.com" in reply
    assert "Now send your Inferno password" in reply
    # The password is asked for on its own: nothing was sent yet.
    assert env.sim.calls["getApiKey"] == 0
    await say(env, UID, PASSWORD)
    assert "is linked" in env.tg.last_bot_message(UID).text
    account = await stored_account(env.db, UID)
    assert account is not None and account.api_key == customer.key
    assert PASSWORD not in all_bot_text(env, UID)
    assert env.tg.errors == []


@pytest.mark.parametrize("shape", EMAIL_SHAPES)
async def test_email_and_password_pasted_at_the_password_step(env: BotEnv, shape: str) -> None:
    customer = env.customer(email="anna@example.com")
    await begin_email_link(env, UID, customer.email)
    mid = await say(env, UID, shape.format(email=customer.email, password=PASSWORD))
    assert env.tg.message(UID, mid).deleted
    assert "is linked" in env.tg.last_bot_message(UID).text
    assert env.sim.calls["getApiKey"] == 1
    assert PASSWORD not in all_bot_text(env, UID)
    assert env.tg.errors == []


async def test_a_password_among_words_without_an_email_is_deleted(env: BotEnv) -> None:
    await command(env, UID, "/start")
    await tap(env, UID, "Email + password")
    mid = await say(env, UID, "my pass Xk9#mPq2vL")
    assert env.tg.message(UID, mid).deleted
    reply = env.tg.last_bot_message(UID).text
    assert "deleted it from the chat" in reply and "does not look like an email" in reply
    assert env.tg.errors == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("777 abcdefgh1234", (777, "abcdefgh1234")),
        ("abcdefgh1234 777", (777, "abcdefgh1234")),
        ("API key: abcdefgh1234=\nclient id: 777", (777, "abcdefgh1234=")),
        ("cid=777 key=abc=def=gh", (777, "abc=def=gh")),
        ("777 888", None),
        ("777 short", None),
        ("777 abcdefgh1234 more", None),
        ("12 34", None),
    ],
)
def test_reading_a_pasted_cid_and_key(text: str, expected: tuple[int, str] | None) -> None:
    assert cid_and_key(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a@b.cc pass word", "pass word"),
        ("A@B.CC\nhunter2", "hunter2"),
        ("login: a@b.cc; password = x y ", "x y"),
        ("a@b.cc password hunter2", "hunter2"),
        ("a@b.cc pass:hunter2", "hunter2"),
        ("a@b.cc", None),
        ("hunter2 a@b.cc", None),
        ("xa@b.cc hunter2", None),
    ],
)
def test_reading_a_password_pasted_after_the_email(text: str, expected: str | None) -> None:
    assert password_after_email(text, "a@b.cc") == expected
