"""Screen helpers that every handler relies on."""

from __future__ import annotations

from bot.ui import MAX_TEXT, fit
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
