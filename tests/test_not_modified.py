"""Fast repeated taps never provoke Telegram's "message is not modified": the bot compares a
screen with what it last drew in that message, not with the tap's (older) copy of it."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.screens import DrawnScreens
from tests.fakes.telegram import E_NOT_MODIFIED
from tests.harness import BotEnv, paid_order

UID = 9501


async def tap_three_times(env: BotEnv, label: str) -> None:
    menu = env.tg.last_bot_message(UID)
    # Queued together, before the bot fetches any: each tap carries the menu as it was.
    for _ in range(3):
        await env.tg.tap_button(UID, label, message_id=menu.message_id)
    await env.settle()


@pytest.mark.parametrize("label", ["Help", "Orders", "SSH keys", "My servers"])
async def test_three_fast_taps_of_one_button_draw_once(env: BotEnv, label: str) -> None:
    customer = await env.linked(UID, keys=("laptop",))
    await paid_order(env, customer)
    menu = await env.command(UID, "/menu")
    await tap_three_times(env, label)
    assert [e for e in env.tg.errors if e.status == 400] == []
    assert env.tg.message(UID, menu.message_id).edit_count == 1
    assert env.tg.unanswered_callbacks() == []


async def test_the_fake_answers_an_unchanged_edit_as_telegram_does(env: BotEnv) -> None:
    # The check above means something only if the fake refuses such an edit.
    menu = await env.command(UID, "/menu")
    assert env.bot is not None
    message = env.tg.message(UID, menu.message_id)
    edit = env.bot.edit_message_text(
        message.html or message.text,
        chat_id=UID,
        message_id=menu.message_id,
        reply_markup=InlineKeyboardMarkup.model_validate(message.reply_markup),
    )
    with pytest.raises(TelegramBadRequest) as info:
        await edit
    assert info.value.message == E_NOT_MODIFIED


def test_the_memory_is_bounded_and_forgets_the_oldest() -> None:
    screens = DrawnScreens(capacity=3)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]]
    )
    for message_id in range(1, 5):
        screens.remember(UID, message_id, "text", markup)
    assert screens.shows(UID, 1, "text", markup) is None
    assert screens.shows(UID, 4, "text", markup) is True
    assert screens.shows(UID, 4, "text", None) is False
    assert screens.shows(UID, 4, "other", markup) is False
    screens.forget(UID, 4)
    assert screens.shows(UID, 4, "text", markup) is None
    assert len(screens) == 2
