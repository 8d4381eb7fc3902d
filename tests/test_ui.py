"""Screen helpers that every handler relies on."""

from __future__ import annotations

from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import MAX_TEXT, fit
from bot.middlewares.demo import DemoMarkMiddleware
from bot.ui import DEMO_MARK, _same_labels
from tests.fakes.tg_html import parse_html


def test_short_text_is_untouched() -> None:
    assert fit("<b>hi</b>") == "<b>hi</b>"


def test_long_text_is_cut_and_stays_valid_html() -> None:
    text = "<b>" + "x" * 5000 + "</b> tail"
    cut = fit(text)
    parsed, _entities = parse_html(cut)
    assert len(parsed) <= MAX_TEXT
    assert cut.endswith("…</b>")


def test_cut_never_splits_a_tag_or_an_entity() -> None:
    for prefix in range(4088, 4096):
        text = "a" * prefix + "&amp;<i>word</i>" * 10
        parsed, _ = parse_html(fit(text))
        assert len(parsed) <= MAX_TEXT


def test_nested_tags_are_closed_in_order() -> None:
    text = "<b><i>" + "y" * 5000
    assert fit(text).endswith("…</i></b>")
    parse_html(fit(text))


async def test_the_demo_mark_still_fits_a_full_screen() -> None:
    sent: list[str] = []

    async def telegram(_bot: object, method: SendMessage) -> bool:
        sent.append(method.text)
        return True

    full = "x" * MAX_TEXT
    await DemoMarkMiddleware()(telegram, None, SendMessage(chat_id=1, text=full))  # type: ignore[arg-type]
    (text,) = sent
    assert text.startswith(DEMO_MARK) and len(text) <= MAX_TEXT


def _markup(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
            for row in rows
        ]
    )


def test_same_labels_compares_the_keyboards_shape_texts_and_data() -> None:
    one = _markup([("A", "a"), ("B", "b")], [("C", "c")])
    assert _same_labels(one, _markup([("A", "a"), ("B", "b")], [("C", "c")]))
    assert not _same_labels(one, _markup([("A", "a")], [("B", "b"), ("C", "c")]))
    assert not _same_labels(one, _markup([("A", "a"), ("B", "b")]))
    assert not _same_labels(one, _markup([("A", "a"), ("B", "x")], [("C", "c")]))
    assert not _same_labels(one, _markup([("A", "a"), ("X", "b")], [("C", "c")]))
    assert _same_labels(None, _markup()) and _same_labels(None, None)
    assert not _same_labels(None, one)
