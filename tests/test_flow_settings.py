"""Settings through the real dispatcher: language switch, unlinking (button and /logout)."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey

from tests.harness import BotEnv
from tests.storage_helpers import actions_of, start_watch, stored_account, watches_of
from tests.test_flow_link import command, tap

UID = 701


async def open_settings(env: BotEnv, uid: int) -> int:
    await command(env, uid, "/menu")
    await tap(env, uid, "Settings")
    return env.tg.last_bot_message(uid).message_id


async def test_settings_show_language_and_masked_key(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    mid = await open_settings(env, UID)
    text = env.tg.message(UID, mid).text
    assert "Language: English" in text
    assert str(customer.cid) in text
    assert f"…{customer.key[-4:]}" in text
    assert customer.key[:4] not in text
    assert customer.key not in text
    assert env.tg.errors == []


async def test_language_switch_redraws_settings_in_russian_at_once(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    mid = await open_settings(env, UID)
    before = env.tg.message(UID, mid)
    edits = before.edit_count
    await tap(env, UID, "Русский")

    msg = env.tg.message(UID, mid)
    assert msg.edit_count == edits + 1
    assert env.tg.last_bot_message(UID).message_id == mid  # edited, no new message
    assert "Язык: Русский" in msg.text and "Настройки" in msg.text
    assert any(b.text.startswith("✓") and "Русский" in b.text for b in msg.buttons())
    user = await env.db.users.get(UID)
    assert user is not None and user.language == "ru"

    # Tapping the language already chosen changes nothing and must not upset Telegram.
    await tap(env, UID, "✓ 🇷🇺 Русский", changes=False)
    assert env.tg.message(UID, mid).edit_count == edits + 1

    await tap(env, UID, "Главное меню")
    assert "Выберите действие" in env.tg.message(UID, mid).text
    await tap(env, UID, "Настройки")
    await tap(env, UID, "English")
    assert "Language: English" in env.tg.message(UID, mid).text
    assert env.tg.errors == []


async def test_unlink_with_confirmation_forgets_everything(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    await start_watch(env.db, UID, UID, "47001", "install", "debian12")
    mid = await open_settings(env, UID)
    # A dialog left half done, wherever this mode keeps dialogs (the database, or Redis).
    assert env.bot is not None
    fsm_key = StorageKey(bot_id=env.bot.id, chat_id=UID, user_id=UID)
    await env.fsm.set_state(fsm_key, "SomeWizard:step")
    await env.fsm.set_data(fsm_key, {"draft": "x"})
    await tap(env, UID, "Unlink account")
    confirm = env.tg.message(UID, mid)
    assert str(customer.cid) in confirm.text
    yes_data = confirm.button("Yes, unlink").callback_data
    assert yes_data is not None and len(yes_data.encode()) <= 64

    await tap(env, UID, "Yes, unlink")
    assert "unlinked" in env.tg.message(UID, mid).text
    user = await env.db.users.get(UID)
    assert user is not None and not user.linked and user.cid is None
    assert await stored_account(env.db, UID) is None
    assert await watches_of(env.db, UID) == []
    actions = await actions_of(env.db, UID)
    assert [(a.action, a.result) for a in actions] == [("unlink", "ok")]
    assert await env.fsm.get_state(fsm_key) is None
    assert await env.fsm.get_data(fsm_key) == {}

    # The same confirmation tapped again (an old copy of the button) only says it expired.
    await env.tg.tap(UID, mid, yes_data, verify=False)
    reply = await env.tg.wait_for_bot_message(UID, lambda m: "expired" in m.text)
    assert reply.message_id == mid
    await env.tg.wait_idle()
    assert [(a.action, a.result) for a in await actions_of(env.db, UID)] == [("unlink", "ok")]
    assert env.tg.errors == []


async def test_unlink_declined_keeps_the_account(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    mid = await open_settings(env, UID)
    await tap(env, UID, "Unlink account")
    await tap(env, UID, "No")
    assert "Settings" in env.tg.message(UID, mid).text
    assert await stored_account(env.db, UID) is not None
    assert env.tg.errors == []


async def test_logout_command_asks_then_unlinks_and_clears_the_dialog(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    assert env.bot is not None
    fsm_key = StorageKey(bot_id=env.bot.id, chat_id=UID, user_id=UID)
    await env.fsm.set_state(fsm_key, "SomeWizard:step")
    await env.fsm.set_data(fsm_key, {"draft": "x"})

    await command(env, UID, "/logout")
    assert "Unlink Inferno account" in env.tg.last_bot_message(UID).text
    assert await stored_account(env.db, UID) is not None
    await tap(env, UID, "Yes, unlink")
    assert await stored_account(env.db, UID) is None
    assert await env.fsm.get_state(fsm_key) is None
    assert await env.fsm.get_data(fsm_key) == {}

    await command(env, UID, "/logout")
    assert "not linked" in env.tg.last_bot_message(UID).text
    assert env.tg.errors == []


async def test_settings_when_not_linked_offer_linking(env: BotEnv) -> None:
    mid = await open_settings(env, UID)
    msg = env.tg.message(UID, mid)
    assert "not linked" in msg.text
    assert not any("Unlink" in b.text for b in msg.buttons())
    await tap(env, UID, "Link account")
    assert "Client id + API key" in str([b.text for b in env.tg.message(UID, mid).buttons()])
    assert env.tg.errors == []
