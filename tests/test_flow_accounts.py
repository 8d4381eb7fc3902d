"""Several Inferno accounts per Telegram user, through the real dispatcher: adding one with the
same linking flow, naming, switching, unlinking one; and every button acting on the account it
was drawn for, whatever the user switched to since."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.handlers.callbacks import InstallStartCb, ServerCb
from bot.inferno.simulator import Customer, Simulator
from bot.storage import WatchIntent
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, labels, paid_order, running_bot
from tests.storage_helpers import stored_account, watches_of
from tests.test_flow_servers import installed_server, sim_server_ip

UID = 8101


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path, production=engines, sim=Simulator(install_delay=60.0)
    ) as bot_env:
        yield bot_env


async def add_account(env: BotEnv, uid: int, customer: Customer) -> FakeMessage:
    """Settings → Accounts → Add, then the client id + API key flow."""
    await env.command(uid, "/menu")
    await env.tap(uid, "Settings")
    await env.tap(uid, "Accounts")
    await env.tap(uid, "Add an account")
    await env.tap(uid, "Client id + API key")
    await env.say(uid, str(customer.cid))
    return await env.say(uid, customer.key)


async def open_accounts(env: BotEnv, uid: int) -> FakeMessage:
    await env.command(uid, "/menu")
    await env.tap(uid, "Settings")
    return await env.tap(uid, "Accounts")


async def switch_to(env: BotEnv, uid: int, label: str) -> FakeMessage:
    await open_accounts(env, uid)
    await env.tap(uid, label)
    return await env.tap(uid, "Make active")


async def tap_on(env: BotEnv, uid: int, message_id: int, text: str) -> FakeMessage:
    before = env.screen(uid)
    await env.tg.tap_button(uid, text, message_id=message_id)
    return await env.answered(uid, before)


async def tap_data(env: BotEnv, uid: int, message: FakeMessage, data: str) -> FakeMessage:
    """Taps the button of ``message`` whose data is ``data`` once bound to an account."""
    (bound,) = [
        b.callback_data for b in message.buttons() if (b.callback_data or "").endswith("|" + data)
    ]
    before = env.screen(uid)
    await env.tg.tap(uid, message.message_id, bound)
    return await env.answered(uid, before)


def calls_for(env: BotEnv, action: str, customer: Customer) -> int:
    return sum(
        1
        for r in env.sim.requests
        if r.action == action and r.params.get("cid") == str(customer.cid)
    )


async def test_a_second_account_is_added_named_switched_and_unlinked(env: BotEnv) -> None:
    first = await env.linked(UID)
    second = env.customer(email="second@example.com")
    done = await add_account(env, UID, second)
    assert str(second.cid) in done.text and env.tg.errors == []
    # The new account is active; the first one stays.
    menu = await env.command(UID, "/menu")
    assert f"<code>{second.cid}</code>" in menu.html
    listing = await open_accounts(env, UID)
    assert str(first.cid) in listing.text and str(second.cid) in listing.text
    assert any(label.startswith("✅") and str(second.cid) in label for label in labels(listing))

    # A name, escaped wherever it is shown.
    await env.tap(UID, str(second.cid))
    await env.tap(UID, "Rename")
    await env.say(UID, "<b>Prod & co</b>")
    menu = await env.command(UID, "/menu")
    assert "&lt;b&gt;Prod &amp; co&lt;/b&gt;" in menu.html
    assert "<b>Prod" not in menu.html.replace("<b>&lt;b&gt;Prod", "")

    # Switching makes the first active again, and the menu says so.
    switched = await switch_to(env, UID, str(first.cid))
    assert f"<code>{first.cid}</code>" in switched.html
    account = await stored_account(env.db, UID)
    assert account is not None and account.cid == first.cid

    # Unlinking the named one (from its card) leaves the first.
    await open_accounts(env, UID)
    await env.tap(UID, "Prod")
    await env.tap(UID, "Unlink")
    gone = await env.tap(UID, "Yes, unlink")
    assert "unlinked" in gone.text
    assert [m.account.cid for m in await env.db.accounts.memberships(UID)] == [first.cid]
    account = await stored_account(env.db, UID)
    assert account is not None and account.cid == first.cid
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


async def test_a_label_too_long_is_refused_and_nothing_changes(env: BotEnv) -> None:
    customer = await env.linked(UID)
    await open_accounts(env, UID)
    await env.tap(UID, str(customer.cid))
    await env.tap(UID, "Rename")
    refused = await env.say(UID, "x" * 33)
    assert "1 to 32 characters" in refused.text
    (membership,) = await env.db.accounts.memberships(UID)
    assert membership.account.label is None
    saved = await env.say(UID, "y" * 32)
    assert "Renamed" in saved.text or "y" * 32 in saved.text
    (membership,) = await env.db.accounts.memberships(UID)
    assert membership.account.label == "y" * 32


async def test_a_button_of_account_a_acts_on_a_after_switching_to_b(env: BotEnv) -> None:
    a = await env.linked(UID)
    order_a = await installed_server(env, a)
    b = env.customer(email="b@example.com")
    await add_account(env, UID, b)
    order_b = await installed_server(env, b)
    # With A active again, its server list and a card of its server.
    await switch_to(env, UID, str(a.cid))
    opened = await env.command(UID, "/servers")
    card = await tap_data(env, UID, opened, ServerCb(order_id=order_a).pack())
    assert sim_server_ip(a, order_a) in card.text
    listing = await env.command(UID, "/servers")
    stop = card.button("Stop").callback_data
    assert stop is not None and "|" in stop, "the button names its account"

    # Now B is active; A's old buttons still act on A.
    await switch_to(env, UID, str(b.cid))
    env.sim.reset_counters()
    listing = env.tg.message(UID, listing.message_id)
    refreshed = await tap_data(env, UID, listing, ServerCb(order_id=order_a).pack())
    assert sim_server_ip(a, order_a) in refreshed.text
    assert calls_for(env, "getinfo", a) >= 1 and calls_for(env, "getinfo", b) == 0
    confirm = await tap_on(env, UID, card.message_id, "Stop")
    assert "Stop" in confirm.text
    await tap_on(env, UID, card.message_id, "Yes, stop")
    server_a = a.order(order_a)
    server_b = b.order(order_b)
    assert server_a is not None and server_a.server is not None and not server_a.server.powered
    assert server_b is not None and server_b.server is not None and server_b.server.powered
    assert calls_for(env, "stop", a) == 1 and calls_for(env, "stop", b) == 0

    # A plain button (no account in it, as drawn before the user had two) acts on none.
    env.sim.reset_counters()
    stale = await env.forge(UID, ServerCb(order_id=order_b).pack())
    assert "expired" in stale.text
    assert env.sim.calls["getinfo"] == 0
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


async def test_the_ready_push_names_the_account(tmp_path: Path, engines: Production | None) -> None:
    async with running_bot(tmp_path, production=engines, sim=Simulator(install_delay=0.3)) as env:
        customer = await env.linked(UID)
        await open_accounts(env, UID)
        await env.tap(UID, str(customer.cid))
        await env.tap(UID, "Rename")
        await env.say(UID, "Clients")
        order_id = await installed_server(env, customer, ready=False)
        assert env.services is not None
        await env.db.watches.start_confirmed(
            UID,
            await env.db.confirmations.issue(UID, "install", {"cid": customer.cid}),
            {"install"},
            chat_id=UID,
            status_message_id=None,
            intent=lambda confirmation: WatchIntent(order_id, "debian12"),
        )
        ready = await env.tg.wait_for_bot_message(UID, lambda m: "👤" in m.text)
        assert "Clients" in ready.text and str(customer.cid) in ready.text


async def test_an_install_from_a_button_of_a_runs_and_is_watched_on_a(env: BotEnv) -> None:
    a = await env.linked(UID)
    order_a = await paid_order(env, a)
    b = env.customer(email="b@example.com")
    await add_account(env, UID, b)
    menu_a = await switch_to(env, UID, str(a.cid))
    await switch_to(env, UID, str(b.cid))

    # The install button of A's order, on a screen drawn for A, while B is active.
    (named,) = {d.split("|", 1)[0] for d in (x.callback_data or "" for x in menu_a.buttons())}
    start = f"{named}|{InstallStartCb(order_id=order_a).pack()}"
    wizard = await env.forge(UID, start, menu_a.message_id)
    assert wizard.message_id == menu_a.message_id and "Debian 12" in str(labels(wizard))
    await tap_on(env, UID, wizard.message_id, "Debian 12")
    await tap_on(env, UID, wizard.message_id, "without a key")
    await tap_on(env, UID, wizard.message_id, "Install")
    # The dry run and the run, both with A's cid; nothing on B.
    assert calls_for(env, "install", a) == 2 and calls_for(env, "install", b) == 0
    assert env.sim.runs["install"] == 1
    (membership_a,) = [m for m in await env.db.accounts.memberships(UID) if m.account.cid == a.cid]
    (watch,) = await watches_of(env.db, UID)
    assert watch.account_id == membership_a.account.id
    env.sim.complete_installs()
    ready = await env.tg.wait_for_bot_message(UID, lambda m: "Your server is ready" in m.text)
    assert f"{a.cid}" in ready.text.splitlines()[0], "the push names the account"
    assert env.tg.errors == []
