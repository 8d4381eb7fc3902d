"""The drawn screens' memory takes the fingerprint ``bot.ui.show`` has already computed only for
the very text and keyboard it was computed of; anything else is hashed afresh."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.methods import EditMessageText
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.screens import DrawnScreens, fingerprint, taken

UID = 9601
BOT = Bot("42:TEST")


def _markup(label: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data="a")]]
    )


async def _sent(bot: Bot, method: Any) -> Any:
    return True


async def _edit(screens: DrawnScreens, text: str, markup: InlineKeyboardMarkup) -> None:
    await screens(
        _sent, BOT, EditMessageText(chat_id=UID, message_id=1, text=text, reply_markup=markup)
    )


async def test_the_fingerprint_taken_is_used_for_the_same_objects() -> None:
    screens = DrawnScreens()
    text, markup = "screen", _markup("A")
    with taken(text, markup, 12345):
        await _edit(screens, text, markup)
    # The print handed in, not one computed again: the identity check let it through.
    assert screens.drawn(UID, 1) == 12345


async def test_an_equal_copy_or_another_screen_is_hashed_afresh() -> None:
    screens = DrawnScreens()
    text, markup = "screen", _markup("A")
    with taken(text, markup, 12345):
        # Equal, but not the objects the print was taken of (as after a copy on the way).
        await _edit(screens, "".join(["scr", "een"]), markup)
        assert screens.drawn(UID, 1) == fingerprint(text, markup)
        await _edit(screens, text, _markup("A"))
        assert screens.drawn(UID, 1) == fingerprint(text, markup)
        await _edit(screens, text, _markup("B"))
        assert screens.drawn(UID, 1) == fingerprint(text, _markup("B"))
    # Outside the block nothing is taken.
    await _edit(screens, text, markup)
    assert screens.drawn(UID, 1) == fingerprint(text, markup)
