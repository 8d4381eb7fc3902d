"""A forged button carrying another screen's confirmation token neither acts nor spends it."""

from __future__ import annotations

from bot.handlers.install.wizard import WizAction, WizCb
from bot.handlers.settings import SettingsAction, SettingsCb
from bot.handlers.sshkeys import KeyAction, KeyCb
from bot.handlers.start import NewKeyCb
from bot.inferno.simulator import make_public_key
from tests.harness import BotEnv, creds_of
from tests.storage_helpers import stored_account

UID = 6101


async def test_unlink_refuses_a_purchase_token(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    await env.command(UID, "/menu")
    token = await env.db.confirmations.issue(UID, "create", {"pid": "101", "cid": customer.cid})
    await env.forge(UID, SettingsCb(action=SettingsAction.UNLINK_CONFIRM, token=token).pack())
    assert await stored_account(env.db, UID) is not None, "still linked"
    assert await env.db.confirmations.peek(UID, token) is not None, "the token was not spent"
    assert env.tg.unanswered_callbacks() == []


async def test_unlink_token_of_an_earlier_account_is_void(env: BotEnv) -> None:
    first, second = env.customer("first@example.com"), env.customer("second@example.com")
    await env.link(UID, first)
    await env.command(UID, "/menu")
    token = await env.db.confirmations.issue(UID, "unlink", {"cid": first.cid})
    await env.link(UID, second)
    await env.forge(UID, SettingsCb(action=SettingsAction.UNLINK_CONFIRM, token=token).pack())
    account = await stored_account(env.db, UID)
    assert account is not None and account.cid == second.cid


async def test_new_key_refuses_a_power_token(env: BotEnv) -> None:
    await env.command(UID, "/start")
    token = await env.db.confirmations.issue(UID, "stop", {"order_id": "47001"})
    answer = await env.forge(UID, NewKeyCb(token=token).pack())
    assert answer.text
    assert await env.db.confirmations.peek(UID, token) is not None
    assert env.sim.calls["getApiKey"] == 0


async def test_install_confirm_refuses_a_power_token(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    await env.command(UID, "/menu")
    token = await env.db.confirmations.issue(UID, "reboot", {"order_id": "47001"})
    await env.forge(UID, WizCb(action=WizAction.CONFIRM, value=token).pack())
    assert await env.db.confirmations.peek(UID, token) is not None, "the token was not spent"
    assert env.sim.calls["install"] == env.sim.calls["reinstall"] == 0
    assert env.tg.unanswered_callbacks() == []


async def test_key_removal_refuses_a_purchase_token(env: BotEnv) -> None:
    customer = env.customer()
    await env.link(UID, customer)
    await env.command(UID, "/menu")
    token = await env.db.confirmations.issue(UID, "create", {"pid": "101", "cid": customer.cid})
    await env.forge(UID, KeyCb(action=KeyAction.REMOVE, key_id="1", token=token).pack())
    assert await env.db.confirmations.peek(UID, token) is not None, "the token was not spent"
    assert env.sim.calls["sshkey.remove"] == 0
    assert env.tg.unanswered_callbacks() == []


async def test_key_removal_token_of_an_earlier_account_is_void(env: BotEnv) -> None:
    first, second = env.customer("first@example.com"), env.customer("second@example.com")
    await env.link(UID, first)
    assert env.services is not None
    creds = creds_of(first)
    await env.services.inferno.sshkey_add(creds, make_public_key("laptop"), "laptop")
    await env.command(UID, "/keys")
    confirm = await env.tap(UID, "Remove laptop")
    data = confirm.button("Yes, remove it").callback_data
    assert data is not None
    await env.link(UID, second)
    answer = await env.forge(UID, data, message_id=confirm.message_id)
    assert "already used" in answer.text
    assert env.sim.calls["sshkey.remove"] == 0
    assert [k.name for k in first.ssh_keys] == ["laptop"]
