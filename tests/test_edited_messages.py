"""A message the user edits into a secret is deleted like a pasted one; an edit does nothing
else (it never moves a dialog on)."""

from __future__ import annotations

from tests.harness import BotEnv
from tests.storage_helpers import stored_account
from tests.test_flow_link import begin_key_link
from tests.test_flow_sshkeys import private_pem

UID = 9401


async def edit(env: BotEnv, message_id: int, text: str) -> None:
    """The user edits their message ``message_id``; waits until the bot handled the edit."""
    await env.tg.edit_text(env.tg.message(UID, message_id), text)
    await env.settle()


async def test_the_bot_asks_telegram_for_edits(env: BotEnv) -> None:
    # aiogram asks for the update types the routers handle: polling with each getUpdates, a
    # webhook once, as it is set.
    asks = [
        r
        for r in env.tg.calls("getUpdates") + env.tg.calls("setWebhook")
        if "allowed_updates" in r.params
    ]
    assert asks and "edited_message" in asks[-1].params["allowed_updates"]


async def test_a_message_edited_into_an_api_key_is_deleted(env: BotEnv) -> None:
    await env.link(UID, env.customer())
    sent = await env.tg.send_text(UID, "hello")
    await env.settle()
    before = env.screen(UID)
    await env.tg.edit_text(sent, "X1fH-ZM9TBrKrmGsNmjQ8mT3OA94Hhbl")
    notice = await env.answered(UID, before)
    assert env.tg.message(UID, sent.message_id).deleted
    assert "deleted it from the chat" in notice.text
    assert env.tg.errors == []


async def test_a_message_edited_into_a_private_key_is_deleted(env: BotEnv) -> None:
    await env.link(UID, env.customer())
    sent = await env.tg.send_text(UID, "my key:")
    await env.settle()
    before = env.screen(UID)
    await env.tg.edit_text(sent, private_pem())
    warning = await env.answered(UID, before)
    assert env.tg.message(UID, sent.message_id).deleted
    assert "PRIVATE key" in warning.text


async def test_an_ordinary_edit_is_left_alone_and_answered_with_nothing(env: BotEnv) -> None:
    await env.link(UID, env.customer())
    sent = await env.tg.send_text(UID, "hello")
    await env.settle()
    before = env.screen(UID)
    for text in ("hello there, see ubuntu22.04 on 37.1.0.111", "/menu", "Windows"):
        await edit(env, sent.message_id, text)
    assert not env.tg.message(UID, sent.message_id).deleted
    assert env.screen(UID) == before
    assert env.tg.errors == []


async def test_an_edit_at_the_key_step_never_moves_the_dialog_on(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    cid_message = [m for m in env.tg.chat(UID) if not m.from_bot][-1]
    # The client id, edited into "id and key": the key goes, and it is not taken as the answer.
    await edit(env, cid_message.message_id, f"{customer.cid} {customer.key}")
    assert env.tg.message(UID, cid_message.message_id).deleted
    assert env.sim.calls["balance"] == 0
    assert await stored_account(env.db, UID) is None
    # The dialog still waits for the key, and takes it when it comes.
    pasted = await env.tg.send_text(UID, customer.key)
    await env.tg.wait_for_bot_message(UID, lambda m: "is linked" in m.text, after=pasted.message_id)


async def test_an_edit_the_bot_cannot_delete_asks_the_user(env: BotEnv) -> None:
    await env.link(UID, env.customer())
    sent = await env.tg.send_text(UID, "hello")
    await env.settle()
    env.tg.fail_delete(UID)
    before = env.screen(UID)
    await env.tg.edit_text(sent, "Summer2024!")
    asked = await env.answered(UID, before)
    assert "delete it yourself" in asked.text
    assert not env.tg.message(UID, sent.message_id).deleted
