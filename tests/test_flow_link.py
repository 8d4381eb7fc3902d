"""Onboarding flows through the real dispatcher: /start, linking by key and by email, /cancel."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Update

from bot.app import Services
from bot.config import Settings
from bot.handlers.callbacks import ServerAction, ServerCb, ShowPasswordCb
from bot.handlers.sshkeys import KeyForm
from bot.handlers.start import BOT_COMMANDS, PASS_THROUGH_COMMANDS
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InvalidCredentials
from bot.inferno.models import Credentials
from bot.inferno.simulator import (
    DEMO_CID,
    DEMO_EMAIL,
    DEMO_KEY,
    DEMO_PASSWORD,
    Customer,
    make_public_key,
)
from bot.logging_setup import mask_text
from bot.middlewares.event_log import describe
from bot.runner import _start_demo
from tests import harness, routers
from tests.harness import PASSWORD, BotEnv, Production, running_bot
from tests.storage_helpers import actions_of, start_watch, stored_account, watches_of

UID = 501


def db_bytes(env: BotEnv) -> bytes:
    """The database file with its WAL and shared-memory files, as an attacker would read them."""
    path = env.settings.database_path
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())


def all_bot_text(env: BotEnv, uid: int) -> str:
    """Everything the bot ever showed in the chat, edits and deleted messages included."""
    texts = []
    for msg in env.tg.bot_messages(uid, include_deleted=True):
        texts.append(msg.text)
        texts.extend(old[0] for old in msg.history)
    return "\n".join(texts)


def _screen(env: BotEnv, uid: int) -> tuple[int, tuple[tuple[int, int, bool], ...]]:
    messages = env.tg.bot_messages(uid, include_deleted=True)
    return len(messages), tuple((m.message_id, m.edit_count, m.deleted) for m in messages)


async def _settle(env: BotEnv, uid: int, before: object, *, changes: bool) -> None:
    # wait_idle alone can return while a handler is busy with SQLite or the provider (no
    # Telegram request in flight), so first wait for the visible effect of the update.
    if changes:
        await env.tg.wait_for(lambda: _screen(env, uid) != before, message="the bot to react")
        await env.tg.wait_idle()
    else:
        await env.tg.wait_idle(quiet=0.3)


async def say(
    env: BotEnv, uid: int, text: str, *, language_code: str = "en", changes: bool = True
) -> int:
    before = _screen(env, uid)
    msg = await env.tg.send_text(uid, text, language_code=language_code)
    await _settle(env, uid, before, changes=changes)
    return msg.message_id


async def command(env: BotEnv, uid: int, text: str, *, language_code: str = "en") -> None:
    before = _screen(env, uid)
    await env.tg.send_command(uid, text, language_code=language_code)
    await _settle(env, uid, before, changes=True)


async def tap(env: BotEnv, uid: int, button: str, *, changes: bool = True) -> None:
    before = _screen(env, uid)
    await env.tg.tap_button(uid, button)
    await _settle(env, uid, before, changes=changes)


async def begin_key_link(env: BotEnv, uid: int, cid: int) -> None:
    await command(env, uid, "/start")
    await tap(env, uid, "Client id + API key")
    await say(env, uid, str(cid))
    assert "API key" in env.tg.last_bot_message(uid).text


async def begin_email_link(env: BotEnv, uid: int, email: str) -> None:
    await command(env, uid, "/start")
    await tap(env, uid, "Email + password")
    await say(env, uid, email)
    assert "password" in env.tg.last_bot_message(uid).text


async def assert_not_linked(env: BotEnv, uid: int) -> None:
    user = await env.db.users.get(uid)
    assert user is not None and not user.linked
    assert await stored_account(env.db, uid) is None


# --------------------------------------------------------------------------- /start


async def test_start_unlinked_offers_both_ways_and_escapes_the_name(env: BotEnv) -> None:
    env.tg.add_user(UID, first_name="<b>Anna</b> & Co")
    await command(env, UID, "/start")
    reply = env.tg.last_bot_message(UID)
    assert "Hi, <b>Anna</b> & Co!" in reply.text  # shown literally, not as markup
    assert reply.entity_texts("bold")[0] != "Anna"
    texts = [b.text for b in reply.buttons()]
    assert any("API key" in t for t in texts)
    assert any("Email + password" in t for t in texts)
    assert not any("demo" in t.lower() for t in texts)
    assert env.tg.errors == []


async def test_start_speaks_russian_for_ru_and_the_default_for_others(env: BotEnv) -> None:
    await command(env, 601, "/start", language_code="ru")
    assert "Привет" in env.tg.last_bot_message(601).text
    russian = await env.db.users.get(601)
    assert russian is not None and russian.language == "ru"
    await command(env, 602, "/start", language_code="de")
    assert "Hi, Test!" in env.tg.last_bot_message(602).text
    assert env.tg.errors == []


async def test_start_when_linked_shows_the_main_menu(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    await command(env, UID, "/start")
    reply = env.tg.last_bot_message(UID)
    assert str(customer.cid) in reply.text
    assert any("Balance" in b.text for b in reply.buttons())
    assert env.tg.errors == []


# --------------------------------------------------------------------------- client id + API key


async def test_link_by_key(env: BotEnv, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    key_mid = await say(env, UID, customer.key)

    assert env.tg.message(UID, key_mid).deleted
    reply = env.tg.last_bot_message(UID)
    masked = Credentials(customer.cid, customer.key).masked_key
    assert masked == f"…{customer.key[-4:]}" and masked in reply.text
    assert customer.key[:4] not in reply.text
    assert "100.00 USD" in reply.text
    assert customer.key not in all_bot_text(env, UID)
    account = await stored_account(env.db, UID)
    assert account is not None
    assert (account.cid, account.api_key) == (customer.cid, customer.key)
    assert customer.key.encode() not in await env.stored_bytes()
    assert "action=link method=key result=ok" in caplog.text  # the logs were captured
    assert customer.key not in caplog.text
    await env.first_alert_check(UID)
    assert env.sim.calls["balance"] == 2  # the link's check, then the alerts' first check

    # The dialog is over: the next text is not taken for a key, and the menu works linked.
    await tap(env, UID, "Main menu")
    assert str(customer.cid) in env.tg.last_bot_message(UID).text
    assert await env.fsm.get_state(_key(env, UID)) is None
    assert env.tg.errors == []


def _key(env: BotEnv, uid: int) -> StorageKey:
    assert env.bot is not None
    return StorageKey(bot_id=env.bot.id, chat_id=uid, user_id=uid)


async def test_linking_another_account_adds_it_and_keeps_the_first(env: BotEnv) -> None:
    old, new = env.customer(email="old@example.com"), env.customer(email="new@example.com")
    await env.link(UID, old)
    await start_watch(env.db, UID, UID, "47001", "install", "debian12")
    # A linked user's /start shows the menu; an old "Client id + API key" button still works.
    await command(env, UID, "/menu")
    await env.tg.tap(UID, env.tg.last_bot_message(UID).message_id, "ln:k", verify=False)
    await env.tg.wait_for_bot_message(UID, lambda m: "client id" in m.text)
    await env.tg.wait_idle()
    await say(env, UID, str(new.cid))
    await say(env, UID, new.key)
    account = await stored_account(env.db, UID)
    assert account is not None and account.cid == new.cid, "the new account is the active one"
    # The first account is still the user's, with its install watch.
    assert [m.account.cid for m in await env.db.accounts.memberships(UID)] == [old.cid, new.cid]
    assert [w.order_id for w in await watches_of(env.db, UID)] == ["47001"]
    assert env.tg.errors == []


async def test_non_numeric_cid_is_refused_and_the_dialog_goes_on(env: BotEnv) -> None:
    customer = env.customer()
    await command(env, UID, "/start")
    await tap(env, UID, "Client id + API key")
    for bad in ("abc", "12 34", "-5", "1234567890123"):
        await say(env, UID, bad)
        assert "not a client id" in env.tg.last_bot_message(UID).text
    await say(env, UID, str(customer.cid))
    await say(env, UID, customer.key)
    assert await stored_account(env.db, UID) is not None
    assert env.tg.errors == []


async def test_key_with_spaces_is_refused_and_deleted(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    mid = await say(env, UID, customer.key[:10] + " " + customer.key[10:])
    assert env.tg.message(UID, mid).deleted
    assert "no spaces" in env.tg.last_bot_message(UID).text
    assert env.sim.calls["balance"] == 0
    await assert_not_linked(env, UID)
    # Still on the key step: the right key now links.
    await say(env, UID, customer.key)
    assert await stored_account(env.db, UID) is not None
    assert env.tg.errors == []


@pytest.mark.parametrize("step", ["cid", "key"])
async def test_a_10kb_paste_gets_a_short_clear_answer(env: BotEnv, step: str) -> None:
    customer = env.customer()
    paste = "A" * 10_240
    if step == "cid":
        await command(env, UID, "/start")
        await tap(env, UID, "Client id + API key")
    else:
        await begin_key_link(env, UID, customer.cid)
    mid = await say(env, UID, paste)
    reply = env.tg.last_bot_message(UID)
    assert len(reply.text) < 400
    assert paste[:100] not in reply.text
    if step == "key":
        assert env.tg.message(UID, mid).deleted
        assert "10240 characters" in reply.text
        assert "Nothing was stored" in reply.text
    else:
        assert "not a client id" in reply.text
    assert env.sim.calls["balance"] == 0
    await assert_not_linked(env, UID)
    assert env.tg.errors == []


async def test_wrong_key_saves_nothing_and_can_be_retried(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    await say(env, UID, "wrong-key-" + "x" * 20)
    reply = env.tg.last_bot_message(UID)
    assert "rejected this key" in reply.text
    assert any("Try again" in b.text for b in reply.buttons())
    await assert_not_linked(env, UID)
    await say(env, UID, customer.key)
    assert await stored_account(env.db, UID) is not None
    assert env.tg.errors == []


async def test_whitelist_refusal_explains_the_ip_whitelist(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    env.sim.faults.whitelist_denied = True
    mid = await say(env, UID, customer.key)
    assert env.tg.message(UID, mid).deleted
    text = env.tg.last_bot_message(UID).text
    assert "whitelist" in text and "support ticket" in text
    await assert_not_linked(env, UID)
    assert env.tg.errors == []


async def test_provider_down_says_try_later(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    env.sim.faults.http_500_next = 10
    sent = await env.tg.send_text(UID, customer.key)
    # The client retries reads with backoff, so the bot is quiet for a while before it answers.
    reply = await env.tg.wait_for_bot_message(UID, after=sent.message_id)
    assert "Try again later" in reply.text
    assert env.sim.calls["balance"] >= 2
    await assert_not_linked(env, UID)
    assert env.tg.errors == []


async def test_failed_delete_asks_the_user_to_delete_the_key(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    env.tg.fail_delete(UID)
    mid = await say(env, UID, customer.key)
    await env.tg.wait_for_bot_message(UID, lambda m: "is linked" in m.text, after=mid)
    assert not env.tg.message(UID, mid).deleted
    texts = [m.text for m in env.tg.bot_messages(UID) if m.message_id > mid]
    assert any("delete it yourself" in t for t in texts)
    # The key is still checked and stored encrypted; only the chat copy is the user's to remove.
    assert await stored_account(env.db, UID) is not None
    assert customer.key not in all_bot_text(env, UID)
    assert [e.method for e in env.tg.errors] == ["deleteMessage"]


async def test_menu_command_leaves_the_key_step_without_being_taken_for_a_key(
    env: BotEnv,
) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    await command(env, UID, "/menu")
    assert "not linked" in env.tg.last_bot_message(UID).text
    assert env.sim.calls["balance"] == 0
    # A "command" that is not one of ours is a secret like any other: deleted.
    await begin_key_link(env, UID, customer.cid)
    mid = await say(env, UID, "/hunter2x")
    assert env.tg.message(UID, mid).deleted
    assert env.tg.errors == []


async def test_a_secret_sent_one_step_early_is_deleted(env: BotEnv) -> None:
    customer = env.customer()
    await command(env, UID, "/start")
    await tap(env, UID, "Client id + API key")
    key_too_early = await say(env, UID, customer.key)
    assert env.tg.message(UID, key_too_early).deleted
    assert "client id" in env.tg.last_bot_message(UID).text.lower()
    await command(env, UID, "/start")
    await tap(env, UID, "Email + password")
    for password in ("Xk9#mPq2vL", "sunshine1"):
        password_too_early = await say(env, UID, password)
        assert env.tg.message(UID, password_too_early).deleted, password
    plain_mistake = await say(env, UID, "not an address")
    assert not env.tg.message(UID, plain_mistake).deleted
    assert env.tg.errors == []


async def test_a_secret_that_starts_with_a_slash_is_never_logged(
    env: BotEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    customer = env.customer()
    await begin_email_link(env, UID, customer.email)
    await say(env, UID, "/Hunter2#Secret@bot and more")
    await command(env, UID, "/menu")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Hunter2" not in logged and "Secret" not in logged
    assert "action=unknown" in logged and "action=/menu" in logged


@pytest.mark.parametrize("text", ["/", "/\u00a0", "/ \t"])
def test_a_slash_with_nothing_after_it_is_an_unknown_command(text: str) -> None:
    update = Update.model_validate(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": UID, "type": "private"},
                "from": {"id": UID, "is_bot": False, "first_name": "A"},
                "text": text,
            },
        }
    )
    assert describe(update, frozenset(BOT_COMMANDS)) == ("command", "unknown")


async def test_a_command_with_the_secret_after_it_is_deleted_as_a_secret(env: BotEnv) -> None:
    customer = env.customer()
    for begin, secret in (
        (functools.partial(begin_key_link, env, UID, customer.cid), customer.key),
        (functools.partial(begin_email_link, env, UID, customer.email), customer.password),
    ):
        await begin()
        mid = await say(env, UID, f"/start {secret}")
        assert env.tg.message(UID, mid).deleted
        assert secret not in all_bot_text(env, UID)
        await command(env, UID, "/cancel")
    assert env.tg.errors == []


def test_every_bot_command_passes_through_secret_steps() -> None:
    assert set(BOT_COMMANDS) <= PASS_THROUGH_COMMANDS


# --------------------------------------------------------------------------- email + password


async def test_link_by_email(env: BotEnv, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    customer = env.customer(email="anna@example.com")
    await begin_email_link(env, UID, "anna@example.com")
    mid = await say(env, UID, PASSWORD)
    assert env.tg.message(UID, mid).deleted
    reply = env.tg.last_bot_message(UID)
    assert Credentials(customer.cid, customer.key).masked_key in reply.text
    account = await stored_account(env.db, UID)
    assert account is not None and account.api_key == customer.key
    stored = db_bytes(env)
    assert PASSWORD.encode() not in stored
    assert customer.key.encode() not in stored
    assert PASSWORD not in all_bot_text(env, UID)
    assert PASSWORD not in caplog.text and customer.key not in caplog.text
    assert env.sim.calls["getApiKey"] == 1
    assert env.tg.errors == []


async def test_wrong_password_saves_nothing_and_asks_for_the_email_again(env: BotEnv) -> None:
    customer = env.customer(email="anna@example.com")
    await begin_email_link(env, UID, "anna@example.com")
    mid = await say(env, UID, "not-the-password")
    assert env.tg.message(UID, mid).deleted
    assert "did not accept" in env.tg.last_bot_message(UID).text
    await assert_not_linked(env, UID)
    await say(env, UID, "anna@example.com")
    await say(env, UID, PASSWORD)
    account = await stored_account(env.db, UID)
    assert account is not None and account.api_key == customer.key
    assert env.tg.errors == []


async def test_bad_email_and_huge_password(env: BotEnv) -> None:
    env.customer(email="anna@example.com")
    await command(env, UID, "/start")
    await tap(env, UID, "Email + password")
    await say(env, UID, "no email here")
    assert "does not look like an email" in env.tg.last_bot_message(UID).text
    await say(env, UID, "anna@example.com")
    mid = await say(env, UID, "p" * 10_240)
    assert env.tg.message(UID, mid).deleted
    assert "too long for a password" in env.tg.last_bot_message(UID).text
    assert env.sim.calls["getApiKey"] == 0
    await assert_not_linked(env, UID)
    assert env.tg.errors == []


async def test_issue_new_key_warns_then_revokes_the_old_key_once(env: BotEnv) -> None:
    customer = env.customer(email="anna@example.com")
    old_key = customer.key
    await command(env, UID, "/start")
    await tap(env, UID, "Issue a new API key")
    warning = env.tg.last_bot_message(UID)
    assert "revoke your current one" in warning.text
    assert env.sim.calls["getApiKey"] == 0
    await tap(env, UID, "Yes, revoke")
    await say(env, UID, "anna@example.com")
    # Two pastes of the password in a row: one new key, never two.
    first = await env.tg.send_text(UID, PASSWORD)
    await env.tg.send_text(UID, PASSWORD)
    await env.tg.wait_for_bot_message(UID, lambda m: "is linked" in m.text, after=first.message_id)
    await env.tg.wait_idle(quiet=0.3)

    assert env.tg.message(UID, first.message_id).deleted
    assert env.sim.calls["getApiKey"] == 1
    assert customer.key != old_key
    account = await stored_account(env.db, UID)
    assert account is not None and account.api_key == customer.key
    async with InfernoClient(env.sim_server.url, timeout=2.0) as client:
        with pytest.raises(InvalidCredentials):
            await client.balance(Credentials(customer.cid, old_key))
        await client.balance(Credentials(customer.cid, customer.key))
    assert PASSWORD.encode() not in db_bytes(env)
    actions = await actions_of(env.db, UID)
    assert [(a.action, a.result) for a in actions] == [("newkey", "ok")]


async def test_new_key_confirmation_is_spent_by_a_wrong_password(env: BotEnv) -> None:
    customer = env.customer(email="anna@example.com")
    old_key = customer.key
    await command(env, UID, "/start")
    await tap(env, UID, "Issue a new API key")
    await tap(env, UID, "Yes, revoke")
    await say(env, UID, "anna@example.com")
    await say(env, UID, "wrong-password")
    assert "No new key was issued" in env.tg.last_bot_message(UID).text
    assert customer.key == old_key
    await assert_not_linked(env, UID)
    # Try again starts from the warning, with a fresh confirmation.
    await tap(env, UID, "Try again")
    assert "revoke your current one" in env.tg.last_bot_message(UID).text
    assert env.tg.errors == []


# --------------------------------------------------------------------------- /cancel, not linked


async def test_cancel_leaves_the_dialog(env: BotEnv) -> None:
    await command(env, UID, "/start")
    await tap(env, UID, "Client id + API key")
    await command(env, UID, "/cancel")
    assert "Cancelled" in env.tg.last_bot_message(UID).text
    await say(env, UID, "777", changes=False)  # no longer taken for a client id
    assert env.sim.calls["balance"] == 0
    await command(env, UID, "/cancel")
    assert "nothing to cancel" in env.tg.last_bot_message(UID).text
    assert env.tg.errors == []


async def test_linked_only_screens_say_not_linked(env: BotEnv) -> None:
    await command(env, UID, "/menu")
    menu_id = env.tg.last_bot_message(UID).message_id
    for button in ("My servers", "Orders", "SSH keys", "Balance"):
        await tap(env, UID, button)
        msg = env.tg.message(UID, menu_id)
        assert "not linked" in msg.text, button
        await tap(env, UID, "Main menu")
    await command(env, UID, "/servers")
    assert "not linked" in env.tg.last_bot_message(UID).text
    await tap(env, UID, "Link account")
    assert "Client id + API key" in str([b.text for b in env.tg.last_bot_message(UID).buttons()])
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


async def test_everything_behind_the_gate_tells_a_user_without_an_account_to_link(
    env: BotEnv,
) -> None:
    """Every tap a screen behind the gate reads (found in the real routers), its commands and
    its dialogs: each answered "not linked", with no provider call."""
    behind, _ = await routers.behind_the_gate()
    taps: set[str] = set()
    for router in behind:
        taps |= (await routers.taps_of(router)).samples()
    assert len(taps) > 20
    menu = await env.command(UID, "/menu")
    for data in sorted(taps):
        answer = await env.forge(UID, data, menu.message_id)
        assert "not linked" in answer.text, data
        assert answer.button("Link account"), data
        if answer.message_id == menu.message_id:
            # Back to the menu, so the next answer is drawn anew.
            before = env.screen(UID)
            await env.tg.tap_button(UID, "Main menu", message_id=menu.message_id)
            await env.answered(UID, before)
    for name in ("servers", "keys", "logout"):
        answer = await env.command(UID, f"/{name}")
        assert "not linked" in answer.text, name
    assert sum(env.sim.calls.values()) == 0
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


async def test_a_password_tap_without_an_account_leaves_the_tapped_message(env: BotEnv) -> None:
    # The root password and a card opened from a notice come as new messages: so does the
    # answer, and the notice the watcher keeps editing stays as it was.
    await command(env, UID, "/menu")
    menu = env.tg.last_bot_message(UID)
    for data in (
        ShowPasswordCb(order_id="47001"),
        ServerCb(action=ServerAction.NEW_MESSAGE, order_id="47001"),
    ):
        answer = await env.forge(UID, data.pack(), menu.message_id)
        assert answer.message_id != menu.message_id and "not linked" in answer.text
        assert env.tg.message(UID, menu.message_id).edit_count == menu.edit_count
    assert env.tg.errors == []


async def test_a_dialog_left_open_without_an_account_ends_with_the_not_linked_screen(
    env: BotEnv,
) -> None:
    # An SSH-key paste step whose account went away (a row that no longer decrypts, say).
    await command(env, UID, "/start")
    assert env.bot is not None
    fsm_key = StorageKey(bot_id=env.bot.id, chat_id=UID, user_id=UID)
    await env.fsm.set_state(fsm_key, KeyForm.paste.state)
    answer = await env.say(UID, make_public_key("lost"))
    assert "not linked" in answer.text
    assert await env.fsm.get_state(fsm_key) is None
    assert env.tg.errors == []


# --------------------------------------------------------------------------- demo account


@pytest.fixture
async def demo_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engines: Production | None
) -> AsyncIterator[tuple[BotEnv, Customer]]:
    # The harness has no demo switch; give its Services what ``python -m bot --demo`` gives.
    async with running_bot(tmp_path, production=engines, start=False) as bot_env:
        demo = bot_env.sim.demo()
        demo_services = functools.partial(Services, demo_account=Credentials(demo.cid, demo.key))
        monkeypatch.setattr(harness, "Services", demo_services)
        await bot_env.start()
        yield bot_env, demo


async def test_demo_account_links_after_a_balance_check(
    demo_env: tuple[BotEnv, Customer],
) -> None:
    env, demo = demo_env
    await command(env, UID, "/start")
    await tap(env, UID, "Use the demo account")
    await env.first_alert_check(UID)
    assert env.sim.calls["balance"] == 2  # the link's check, then the alerts' first check
    assert "50.00 USD" in env.tg.last_bot_message(UID).text
    account = await stored_account(env.db, UID)
    assert account is not None and account.cid == demo.cid
    assert env.tg.errors == []


@pytest.mark.parametrize("way", ["key", "password", "new key"])
async def test_in_demo_mode_a_rejected_secret_points_at_the_demo_account(
    demo_env: tuple[BotEnv, Customer], way: str
) -> None:
    env, demo = demo_env
    if way == "key":
        await begin_key_link(env, UID, demo.cid)
        await say(env, UID, "wrong-key-" + "x" * 20)
    elif way == "password":
        await begin_email_link(env, UID, demo.email)
        await say(env, UID, "not-the-demo-password")
    else:
        await command(env, UID, "/start")
        await tap(env, UID, "Issue a new API key")
        await tap(env, UID, "Yes, revoke")
        await say(env, UID, demo.email)
        await say(env, UID, "not-the-demo-password")
    reply = env.tg.last_bot_message(UID)
    assert "demo mode" in reply.text and "Use the demo account" in reply.text
    await tap(env, UID, "Use the demo account")
    # The demo's renewal alert may follow the confirmation at once.
    assert any("is linked" in m.text for m in env.tg.chat(UID) if m.from_bot)
    account = await stored_account(env.db, UID)
    assert account is not None and account.cid == demo.cid
    assert env.tg.errors == []


async def test_outside_demo_mode_a_rejected_key_has_no_demo_hint(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    await say(env, UID, "wrong-key-" + "x" * 20)
    reply = env.tg.last_bot_message(UID)
    assert "rejected this key" in reply.text
    assert "demo" not in reply.text.lower()
    assert not [b for b in reply.buttons() if "demo" in b.text.lower()]


async def test_the_demo_start_up_log_names_the_fake_credentials(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, bot_token="123456:ABC-DEF", database_path=tmp_path / "bot.sqlite3"
    )
    async with contextlib.AsyncExitStack() as stack:
        _, account = await _start_demo(stack, settings)
    lines = [r.getMessage() for r in caplog.records if "demo account" in r.getMessage()]
    assert len(lines) == 1
    line = lines[0]
    for shown in (str(DEMO_CID), DEMO_KEY, DEMO_EMAIL, DEMO_PASSWORD, "Use the demo account"):
        assert shown in line, shown
    assert account == Credentials(DEMO_CID, DEMO_KEY)
    # The process's secret masking leaves it as it is: the credentials are meant to be read.
    assert mask_text(line, []) == line
