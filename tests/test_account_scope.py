"""The account a button names (bot/account_scope.py): packed and read back, never past
Telegram's 64 bytes, and the buttons a role may not use left out."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.account_scope import Drawing, bind, bind_markup, drawing, split
from bot.storage.accounts import Role


def test_bound_data_reads_back_and_is_bound_once() -> None:
    for account_id in (1, 35, 36, 10_000, 2**40):
        bound = bind("s:c:47001", account_id)
        assert split(bound) == (account_id, "s:c:47001")
        assert bind(bound, account_id + 1) == bound
    assert split("s:c:47001") == (None, "s:c:47001")
    assert split("m:main") == (None, "m:main")


def test_data_with_no_room_stays_plain() -> None:
    data = "x" * 63
    assert bind(data, 12345) == data
    assert len(bind("y" * 58, 7).encode()) <= 64


def test_a_role_drawing_leaves_out_what_it_may_not_use() -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Stop", callback_data="pa:a:s:1"),
                InlineKeyboardButton(text="Card", callback_data="s:c:1"),
            ],
            [InlineKeyboardButton(text="Site", url="https://example.com")],
        ]
    )
    guarded = ((lambda data: data.startswith("pa:"), Role.OPERATOR),)
    with drawing(Drawing(5, Role.VIEWER, guarded)):
        viewer = bind_markup(markup)
    with drawing(Drawing(5, Role.OPERATOR, guarded)):
        operator = bind_markup(markup)
    assert viewer is not None and operator is not None
    assert [[b.callback_data or b.url for b in row] for row in viewer.inline_keyboard] == [
        ["5|s:c:1"],
        ["https://example.com"],
    ]
    assert [b.callback_data for b in operator.inline_keyboard[0]] == ["5|pa:a:s:1", "5|s:c:1"]
    # Outside any drawing nothing changes.
    assert bind_markup(markup) is markup
