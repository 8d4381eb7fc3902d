"""The root password: a protected spoiler that deletes itself, also across a restart."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.handlers.callbacks import ShowPasswordCb
from bot.inferno.simulator import Customer, Simulator
from bot.services.deletions import REDACTED
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, running_bot
from tests.storage_helpers import actions_of
from tests.test_flow_servers import (
    UID,
    installed_server,
    open_card,
    open_servers,
)

TTL = 0.5


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path, production=engines, sim=Simulator(install_delay=60.0), password_ttl=TTL
    ) as bot_env:
        yield bot_env


@pytest.fixture
async def slow_env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """A TTL far longer than any test: deletions happen only when a test makes them due."""
    async with running_bot(
        tmp_path, production=engines, sim=Simulator(install_delay=60.0), password_ttl=3600.0
    ) as bot_env:
        yield bot_env


def root_password(customer: Customer, order_id: str) -> str:
    order = customer.order(order_id)
    assert order is not None and order.server is not None and order.server.password
    return order.server.password


async def reveal(env: BotEnv, order_id: str) -> tuple[FakeMessage, FakeMessage]:
    """Taps "Show root password" on the card; returns (card, password message)."""
    card = await open_card(env, order_id)
    await env.tg.tap_button(UID, "Show root password", message_id=card.message_id)
    message = await env.tg.wait_for_bot_message(
        UID, lambda m: "Root password" in m.text, after=card.message_id
    )
    await env.settle()
    return env.tg.message(UID, card.message_id), message


async def no_deletion_left(env: BotEnv) -> None:
    """The row goes right after Telegram confirmed the delete, later in the same background
    pass, so the test may see the message gone a moment before the row."""
    for _ in range(100):
        if await env.db.deletions.next_due_at() is None:
            return
        await asyncio.sleep(0.05)
    assert await env.db.deletions.next_due_at() is None


async def test_password_is_a_protected_spoiler_deleted_after_the_ttl(
    env: BotEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    password = root_password(customer, order_id)
    card, message = await reveal(env, order_id)

    assert "🟢 running" in card.text, "the card stays where it was"
    assert message.protect_content
    assert message.has_spoiler
    assert message.entity_texts("spoiler") == [password]
    assert "deleted in 1 second" in message.text

    await env.tg.wait_for(lambda: message.deleted, timeout=5, message="password deleted")
    assert not env.tg.message(UID, card.message_id).deleted
    await no_deletion_left(env)
    entries = await actions_of(env.db, UID)
    assert [(e.action, e.result) for e in entries] == [("show-password", "ok")]
    assert password not in caplog.text
    assert env.tg.errors == []


async def test_deletion_survives_a_restart(slow_env: BotEnv) -> None:
    env = slow_env
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    _, message = await reveal(env, order_id)
    await env.stop()
    assert not message.deleted
    # While the bot is down the TTL passes (made due directly in its database, not slept).
    database = await env.open_database()
    [scheduled] = await database.deletions.due(now=float("inf"))
    assert scheduled.message_id == message.message_id
    await database.deletions.schedule(scheduled.chat_id, scheduled.message_id, delete_at=0.0)
    await database.close()
    await env.start()
    await env.tg.wait_for(lambda: message.deleted, timeout=10, message="deleted after restart")
    await no_deletion_left(env)


async def test_delete_now_button(slow_env: BotEnv) -> None:
    env = slow_env
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    _, message = await reveal(env, order_id)
    await env.tg.tap_button(UID, "Delete now", message_id=message.message_id)
    await env.settle()
    assert message.deleted
    assert await env.db.deletions.due(time.time() + 10**6) == []  # nothing left for the cleaner
    assert env.tg.unanswered_callbacks() == []
    assert env.tg.errors == []


async def test_delete_now_hides_an_undeletable_password(slow_env: BotEnv) -> None:
    env = slow_env
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    _, message = await reveal(env, order_id)
    secret = message.text
    env.tg.fail_delete(UID)
    await env.tg.tap_button(UID, "Delete now", message_id=message.message_id)
    await env.settle()
    assert not message.deleted and message.text == REDACTED and secret != REDACTED
    # Nothing is left for the cleaner, which would only redact it again ("not modified").
    assert await env.db.deletions.due(time.time() + 10**6) == []


async def test_delete_now_says_so_when_the_password_cannot_be_removed(slow_env: BotEnv) -> None:
    env = slow_env
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    _, message = await reveal(env, order_id)
    env.tg.fail_delete(UID)
    env.tg.fail_edit(UID)
    await env.tg.tap_button(UID, "Delete now", message_id=message.message_id)
    await env.settle()
    assert not message.deleted and message.has_spoiler
    last = env.tg.last_bot_message(UID)
    assert "delete it yourself" in last.text
    assert env.tg.unanswered_callbacks() == []


async def test_no_password_while_installing(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer, ready=False)
    listing = await open_servers(env)
    await env.tg.tap(
        UID, listing.message_id, ShowPasswordCb(order_id=order_id).pack(), verify=False
    )
    await env.settle()
    last = env.tg.last_bot_message(UID)
    assert "no root password" in last.text
    assert not last.has_spoiler
    assert await env.db.deletions.next_due_at() is None
    assert env.tg.errors == []


async def test_password_of_a_foreign_server_is_refused(env: BotEnv) -> None:
    other = env.sim.add_customer(email="victim@example.com", password="pw-000000")
    foreign = await installed_server(env, other)
    await env.linked(UID)
    listing = await open_servers(env)
    for order_id in (foreign, "1;DROP"):
        await env.tg.tap(
            UID, listing.message_id, ShowPasswordCb(order_id=order_id).pack(), verify=False
        )
        await env.settle()
        last = env.tg.last_bot_message(UID)
        assert "not found" in last.text
        assert not last.has_spoiler
    assert root_password(other, foreign) not in "".join(m.text for m in env.tg.bot_messages(UID))
    for garbage in ("pw:1:2", "pwd:zz"):
        await env.tg.tap(UID, listing.message_id, garbage, verify=False)
        await env.settle()
        assert "expired" in env.tg.message(UID, listing.message_id).text
    assert env.tg.unanswered_callbacks() == []
    assert env.tg.errors == []


async def test_provider_error_offers_retry(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    card = await open_card(env, order_id)
    env.sim.faults.whitelist_denied = True
    await env.tg.tap_button(UID, "Show root password", message_id=card.message_id)
    await env.settle()
    error = env.tg.last_bot_message(UID)
    assert "whitelist" in error.text
    env.sim.faults.whitelist_denied = False
    await env.tg.tap_button(UID, "Retry", message_id=error.message_id)
    await env.settle()
    assert env.tg.last_bot_message(UID).has_spoiler
    assert env.tg.errors == []
