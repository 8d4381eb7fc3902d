"""A Bot API hiccup (one 5xx) on a request that guards a promise is tried again: deleting a
secret and answering a tap. What a retry cannot fix (a 400) is not retried."""

from __future__ import annotations

import pytest

from bot import ui
from tests.harness import BotEnv
from tests.test_flow_link import begin_key_link
from tests.test_flow_sshkeys import private_pem

UID = 9301


def delete_calls(env: BotEnv, message_id: int) -> int:
    return sum(
        1
        for r in env.tg.calls("deleteMessage")
        if str(r.params.get("message_id")) == str(message_id)
    )


def asked_to_delete(env: BotEnv) -> bool:
    return any("delete it yourself" in m.text for m in env.tg.bot_messages(UID))


async def test_one_5xx_on_deleting_the_api_key_is_tried_again(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    env.tg.server_error("deleteMessage")
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, customer.key)
    await env.answered(UID, before)
    await env.tg.wait_for_bot_message(UID, lambda m: "is linked" in m.text, after=pasted.message_id)
    assert env.tg.message(UID, pasted.message_id).deleted
    assert delete_calls(env, pasted.message_id) == 2
    assert not asked_to_delete(env)
    assert [e.status for e in env.tg.errors] == [500]


async def test_a_delete_done_but_unanswered_is_not_asked_of_the_user(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    # Telegram deleted it, then failed to say so: the retry's "not found" means it is gone.
    env.tg.server_error("deleteMessage", code=502, description="Bad Gateway", applied=True)
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, customer.key)
    await env.answered(UID, before)
    await env.tg.wait_for_bot_message(UID, lambda m: "is linked" in m.text, after=pasted.message_id)
    assert env.tg.message(UID, pasted.message_id).deleted
    assert not asked_to_delete(env)
    assert [e.status for e in env.tg.errors] == [502, 400]


async def test_a_lasting_5xx_ends_in_asking_the_user_after_a_few_tries(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The backoff's length is not what is tested here; its bound is.
    monkeypatch.setattr(ui, "SECRET_DELETE_BACKOFF", (0.01, 0.01, 0.01))
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    env.tg.server_error("deleteMessage", times=100)
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, customer.key)
    await env.answered(UID, before)
    await env.tg.wait_for_bot_message(UID, lambda m: "is linked" in m.text, after=pasted.message_id)
    assert not env.tg.message(UID, pasted.message_id).deleted
    assert delete_calls(env, pasted.message_id) == 1 + len(ui.SECRET_DELETE_BACKOFF)
    assert asked_to_delete(env)


async def test_a_400_on_deleting_is_not_tried_again(env: BotEnv) -> None:
    customer = env.customer()
    await begin_key_link(env, UID, customer.cid)
    env.tg.fail_delete(UID)  # "message can't be deleted": another try changes nothing
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, customer.key)
    await env.answered(UID, before)
    await env.tg.wait_for_bot_message(UID, lambda m: "is linked" in m.text, after=pasted.message_id)
    assert delete_calls(env, pasted.message_id) == 1
    assert asked_to_delete(env)


async def test_one_5xx_on_deleting_a_private_key_is_tried_again(env: BotEnv) -> None:
    await env.linked(UID)
    await env.command(UID, "/keys")
    await env.tap(UID, "Add a key")
    env.tg.server_error("deleteMessage")
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, private_pem())
    warning = await env.answered(UID, before)
    assert env.tg.message(UID, pasted.message_id).deleted
    assert "delete it yourself" not in warning.text
    assert delete_calls(env, pasted.message_id) == 2


async def test_one_5xx_on_deleting_a_password_sent_out_of_a_dialog_is_tried_again(
    env: BotEnv,
) -> None:
    env.tg.server_error("deleteMessage")
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, "Summer2024!")
    notice = await env.answered(UID, before)
    assert env.tg.message(UID, pasted.message_id).deleted
    assert "deleted it from the chat" in notice.text
    assert not asked_to_delete(env)


@pytest.mark.parametrize("applied", [False, True], ids=["lost request", "lost answer"])
async def test_one_5xx_on_answering_a_tap_is_tried_again(env: BotEnv, applied: bool) -> None:
    await env.link(UID, env.customer())
    await env.command(UID, "/menu")
    env.tg.server_error("answerCallbackQuery", applied=applied)
    help_screen = await env.tap(UID, "Help")
    assert "Privacy" in help_screen.text
    assert env.tg.unanswered_callbacks() == []
    answers = env.tg.calls("answerCallbackQuery")
    # Answered once the 5xx was seen; a retry of an answer that did arrive ends at Telegram's
    # "query is too old" and is not tried a third time.
    assert [r.status for r in answers] == ([500, 400] if applied else [500, 200])
