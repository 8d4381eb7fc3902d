"""Telegram counts a text's length in UTF-16 code units, where an emoji outside the Basic
Multilingual Plane is two: every cut the bot makes counts the same way."""

from __future__ import annotations

import pytest

from bot.i18n import MAX_TEXT, fit
from bot.ui import clip
from tests.fakes.tg_html import parse_html, utf16_len
from tests.harness import BotEnv

UID = 9601
KEY = "🔑"  # U+1F511: two UTF-16 code units


def test_fit_counts_utf16_code_units() -> None:
    text = "<b>" + KEY * 3000 + "</b>"
    cut = fit(text)
    parsed, _ = parse_html(cut)
    assert utf16_len(parsed) <= MAX_TEXT
    assert cut.endswith("…</b>")
    # Nearly the whole limit is used, and no emoji is split in half.
    assert utf16_len(parsed) >= MAX_TEXT - len("<b>") - 2
    assert "\ud83d" not in cut


@pytest.mark.parametrize("prefix", range(4090, 4097))
def test_fit_never_splits_an_emoji_at_the_limit(prefix: int) -> None:
    cut = fit("a" * prefix + KEY * 10)
    cut.encode("utf-8")  # a lone surrogate would not encode
    assert utf16_len(parse_html(cut)[0]) <= MAX_TEXT


def test_fit_leaves_a_text_that_fits_alone() -> None:
    text = KEY * (MAX_TEXT // 2)
    assert fit(text) == text


def test_clip_counts_utf16_code_units() -> None:
    assert utf16_len(clip(KEY * 40, 32)) <= 32
    assert clip(KEY * 40, 32).endswith("…")
    assert clip(KEY * 16, 32) == KEY * 16
    assert clip("a" + KEY * 20, 4) == "a" + KEY + "…"


async def test_ssh_keys_named_with_emoji_fit_on_the_screen(env: BotEnv) -> None:
    # Eight keys on a page, each name 400 emoji: 3,200 characters, but 6,400 code units.
    names = tuple(f"{n}" + KEY * 400 for n in range(9))
    await env.linked(UID, keys=names)
    screen = await env.command(UID, "/keys")
    assert "Your SSH keys" in screen.text
    assert utf16_len(screen.text) <= MAX_TEXT
    # Each name is clipped, so the whole page is listed rather than cut off at the limit.
    assert screen.text.count("(id ") == 8 and "SHA256:" in screen.text.rsplit("(id ", 1)[1]
    assert len(screen.buttons()) > 8
    assert env.tg.errors == []
    # Paging on: the second page is drawn too.
    second = await env.tap(UID, "Next")
    assert second.message_id == screen.message_id and "9." in second.text
    assert env.tg.errors == []
