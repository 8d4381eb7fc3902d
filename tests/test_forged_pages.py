"""Forged page numbers and ids in callback data (huge, negative, padded to 64 bytes) get a normal
answer on every pager — a list, a card or "expired" — never "Something went wrong", and no
button the bot draws carries more than Telegram's 64 bytes."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest

from bot.inferno.simulator import Product
from bot.ui import MAX_PAGE, page_bounds, pager_row
from tests.fakes.telegram import MAX_CALLBACK_DATA_BYTES
from tests.harness import BotEnv, paid_order
from tests.test_flow_orders import place_order

UID = 9701
HUGE = "9" * 20


def forge_data(template: str, **ids: str) -> str:
    """The template with its ids, and its ``{pad}`` grown to fill Telegram's 64 bytes."""
    short = template.format(pad="", **ids)
    return template.format(pad="9" * (MAX_CALLBACK_DATA_BYTES - len(short.encode())), **ids)


FORGED = [
    # buy
    f"by:l::{HUGE}",
    "by:l::-1",
    "by:p:101:{pad}",
    "by:a:101:{pad}",
    "by::101:{pad}",
    # orders
    f"op:{HUGE}",
    "op:-5",
    "op:{pad}",
    "o:c:{order}:{pad}",
    "o::{pending}:{pad}",
    "ox:{pending}:{pad}",
    "o:c:{pad}",
    # servers
    f"sl:p:{HUGE}",
    "sl:p:-3",
    "sl:f:{pad}",
    "s:c:{pad}",
    "s::{order}",
    "pa:a:r:{pad}:",
    "is:{pad}:i",
    "sv:{pad}",
    # SSH keys
    f"k:l::{HUGE}:",
    "k:l::-7:",
    "k:r:7:{pad}:",
    "k:r:{pad}:0:",
    # services
    f"svl:{HUGE}",
    "svl:{pad}",
    # the install wizard's pagers
    f"iw:p:{HUGE}",
    f"iw:k:{HUGE}",
]


@pytest.mark.parametrize("forged", FORGED)
async def test_a_forged_number_gets_a_normal_answer(
    env: BotEnv, forged: str, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(20):
        pid = str(300 + n)
        env.sim.products[pid] = Product(pid, f"Plan {n:02d}", Decimal("1.00"), f"plan {n}")
    customer = await env.linked(UID, balance="100.00", keys=tuple(f"key{n}" for n in range(10)))
    order = await paid_order(env, customer)
    for _ in range(9):
        await paid_order(env, customer)
    customer.balance = Decimal("0.00")
    pending = place_order(env, customer, "101")
    data = forge_data(forged, order=order, pending=pending)
    assert len(data.encode()) <= MAX_CALLBACK_DATA_BYTES
    await env.command(UID, "/menu")
    caplog.set_level(logging.INFO)

    answer = await env.forge(UID, data)

    assert "Something went wrong" not in answer.text
    assert [r.getMessage() for r in caplog.records if r.name == "bot.handlers.errors"] == []
    assert env.tg.errors == [] and env.tg.unanswered_callbacks() == []
    assert all(len(d.encode()) <= MAX_CALLBACK_DATA_BYTES for d in sent_callback_data(env))


def sent_callback_data(env: BotEnv) -> list[str]:
    found: list[str] = []
    for request in env.tg.requests:
        markup: Any = request.params.get("reply_markup")
        if isinstance(markup, dict):
            for row in markup.get("inline_keyboard", []):
                found += [b["callback_data"] for b in row if "callback_data" in b]
    return found


def test_the_pager_clamps_the_page_it_is_given() -> None:
    def i18n(key: str, **kwargs: object) -> str:
        return key if not kwargs else f"{kwargs['page']}/{kwargs['pages']}"

    row = pager_row(i18n, 10**20, 3, lambda page: _Page(page))  # type: ignore[arg-type]
    assert [b.text for b in row] == ["btn-prev", "3/3"]
    row = pager_row(i18n, -5, 3, lambda page: _Page(page))  # type: ignore[arg-type]
    assert [b.text for b in row] == ["1/3", "btn-next"]
    assert page_bounds(10**9, 10**20) == (MAX_PAGE, MAX_PAGE + 1, MAX_PAGE * 8)


class _Page:
    def __init__(self, page: int) -> None:
        assert 0 <= page <= MAX_PAGE
        self.page = page

    def pack(self) -> str:
        return f"p:{self.page}"
