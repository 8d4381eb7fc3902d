"""A forged button whose order id is no id at all (too long to fit in any button the bot could
draw back) gets "not found", never a crash."""

from __future__ import annotations

import pytest

from bot.handlers.callbacks import ShowPasswordCb
from bot.handlers.common import newest_first
from tests.harness import BotEnv

UID = 6201


@pytest.mark.parametrize(
    "order_id",
    ["9" * (64 - len(ShowPasswordCb.__prefix__) - 1), "47001x", "²"],
    ids=["64 bytes of digits", "letters", "a superscript digit"],
)
async def test_show_password_with_a_forged_id_says_not_found(env: BotEnv, order_id: str) -> None:
    await env.link(UID, env.customer())
    await env.command(UID, "/menu")
    data = f"{ShowPasswordCb.__prefix__}:{order_id}"
    assert len(data.encode()) <= 64
    before = len(env.sim.requests)
    answer = await env.forge(UID, data)
    assert "was not found in your account" in answer.text
    # Not even the user's own order list is read for what cannot be an order id.
    assert len(env.sim.requests) == before
    assert env.tg.errors == [] and env.tg.unanswered_callbacks() == []


def test_newest_first_never_raises_and_puts_non_ids_last() -> None:
    ids = ["9", "47010", "٣٤", "²", "9" * 5000, "abc"]
    ordered = sorted(ids, key=newest_first, reverse=True)
    assert ordered[:2] == ["47010", "9"]
    assert set(ordered[2:]) == {"٣٤", "²", "9" * 5000, "abc"}
