"""Sharing an account by role, through the real dispatcher: the owner's one-time invite link,
the teammate accepting or declining, roles enforced by the one gate (a forged or stale button
gets "not allowed" and no provider call), revocations and lowered roles holding on the very
next tap, and the key never shown to a member."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.handlers.callbacks import ServerCb
from bot.handlers.servers import PowerCb, PowerOp, PowerStep
from bot.inferno.simulator import Customer, Simulator
from bot.storage import WatchIntent
from bot.storage.accounts import Role
from bot.storage.invites import token_hash
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, labels, running_bot
from tests.test_flow_servers import installed_server, sim_server_ip

OWNER, MATE = 8201, 8202
LINK = re.compile(r"https://t\.me/(\w+)\?start=(i[A-Za-z0-9_-]{32})")


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path, production=engines, sim=Simulator(install_delay=60.0)
    ) as bot_env:
        yield bot_env


async def open_members(env: BotEnv, customer: Customer) -> FakeMessage:
    await env.command(OWNER, "/menu")
    await env.tap(OWNER, "Settings")
    await env.tap(OWNER, "Accounts")
    await env.tap(OWNER, str(customer.cid))
    return await env.tap(OWNER, "Members")


async def invite(env: BotEnv, customer: Customer, role: str) -> str:
    """The owner's invite link for ``role``; returns the /start payload."""
    await open_members(env, customer)
    await env.tap(OWNER, "Invite")
    shown = await env.tap(OWNER, role)
    found = LINK.search(shown.text)
    assert found is not None, shown.text
    assert found.group(1) == env.tg.username
    return found.group(2)


async def join(env: BotEnv, payload: str, *, first_name: str = "Mate") -> FakeMessage:
    env.tg.add_user(MATE, first_name=first_name)
    offer = await env.command(MATE, f"/start {payload}")
    assert "invites you" in offer.text
    return await env.tap(MATE, "Accept")


async def shared(env: BotEnv, role: str) -> tuple[Customer, str]:
    """The owner's account with a running server, shared with MATE as ``role``."""
    customer = await env.linked(OWNER)
    env.tg.add_user(OWNER, first_name="Olga")
    order_id = await installed_server(env, customer)
    await join(env, await invite(env, customer, role))
    return customer, order_id


def no_key_shown(env: BotEnv, customer: Customer) -> None:
    for message in env.tg.bot_messages(MATE, include_deleted=True):
        assert customer.key[-4:] not in message.html, message.html


async def mate_card(env: BotEnv, order_id: str) -> FakeMessage:
    listing = await env.command(MATE, "/servers")
    (data,) = [
        b.callback_data
        for b in listing.buttons()
        if (b.callback_data or "").endswith("|" + ServerCb(order_id=order_id).pack())
    ]
    before = env.screen(MATE)
    await env.tg.tap(MATE, listing.message_id, data)
    return await env.answered(MATE, before)


def bound(message: FakeMessage, data: str) -> str:
    """``data`` named for the account ``message`` was drawn for."""
    account = next(b.callback_data for b in message.buttons() if "|" in (b.callback_data or ""))
    assert account is not None
    return account.split("|", 1)[0] + "|" + data


async def test_an_invite_is_accepted_once_and_the_owner_is_told(env: BotEnv) -> None:
    customer = await env.linked(OWNER)
    env.tg.add_user(OWNER, first_name="Olga")
    payload = await invite(env, customer, "Viewer")
    # Only a hash of the token is stored, and no key goes with it.
    row = await env.db._conn.fetchone("SELECT * FROM invites")
    assert row is not None and row["token_hash"] == token_hash(payload[1:])
    assert payload[1:] not in str(tuple(row))

    env.tg.add_user(MATE, first_name="Mate")
    offer = await env.command(MATE, f"/start {payload}")
    assert "Olga" in offer.text and "viewer" in offer.text and str(customer.cid) in offer.text
    joined = await env.tap(MATE, "Accept")
    assert "You joined" in joined.text
    told = env.tg.last_bot_message(OWNER)
    assert "Mate accepted" in told.text and "viewer" in told.text
    (owned,) = await env.db.accounts.memberships(OWNER)
    (member,) = [m for m in await env.db.accounts.members(owned.account.id) if m.user_id == MATE]
    assert member.role == Role.VIEWER and member.name == "Mate"

    # Used up: the same link again, or another account's user, gets nothing.
    again = await env.command(MATE, f"/start {payload}")
    assert "not valid" in again.text
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


async def test_a_declined_invite_tells_the_owner_and_grants_nothing(env: BotEnv) -> None:
    customer = await env.linked(OWNER)
    env.tg.add_user(OWNER, first_name="Olga")
    payload = await invite(env, customer, "Admin")
    env.tg.add_user(MATE, first_name="Mate")
    await env.command(MATE, f"/start {payload}")
    declined = await env.tap(MATE, "Decline")
    assert "declined" in declined.text
    assert "Mate declined" in env.tg.last_bot_message(OWNER).text
    assert await env.db.accounts.memberships(MATE) == []
    assert "not valid" in (await env.command(MATE, f"/start {payload}")).text


async def test_a_revoked_invite_no_longer_works(env: BotEnv) -> None:
    customer = await env.linked(OWNER)
    env.tg.add_user(OWNER, first_name="Olga")
    payload = await invite(env, customer, "Operator")
    revoked = await env.tap(OWNER, "Revoke the operator invite")
    assert "revoked" in revoked.text
    env.tg.add_user(MATE)
    assert "not valid" in (await env.command(MATE, f"/start {payload}")).text
    assert await env.db.accounts.memberships(MATE) == []


async def test_a_viewer_sees_no_actions_no_key_and_a_forged_operator_button_does_nothing(
    env: BotEnv,
) -> None:
    customer, order_id = await shared(env, "Viewer")
    menu = await env.command(MATE, "/menu")
    assert not any("SSH keys" in label for label in labels(menu))
    card = await mate_card(env, order_id)
    assert sim_server_ip(customer, order_id) in card.text
    assert not any(
        word in label
        for label in labels(card)
        for word in ("Stop", "Reboot", "Reinstall", "password")
    )
    await env.command(MATE, "/menu")
    settings = await env.tap(MATE, "Settings")
    assert "shared with you (viewer)" in settings.text
    no_key_shown(env, customer)

    # An operator's button, forged onto the viewer's own card: refused before any provider call.
    env.sim.reset_counters()
    stop = PowerCb(step=PowerStep.ASK, op=PowerOp.STOP, order_id=order_id).pack()
    refused = await env.forge(MATE, bound(card, stop), card.message_id)
    assert "Not allowed" in refused.text
    password = bound(card, f"pw:{order_id}")
    refused = await env.forge(MATE, password, settings.message_id)
    assert "Not allowed" in refused.text
    assert list(env.sim.calls.elements()) == [], "no provider call"
    order = customer.order(order_id)
    assert order is not None and order.server is not None and order.server.powered
    no_key_shown(env, customer)
    assert env.tg.errors == []


async def test_an_operator_reboots_then_a_lowered_role_and_a_revocation_hold_at_once(
    env: BotEnv,
) -> None:
    customer, order_id = await shared(env, "Operator")
    card = await mate_card(env, order_id)
    assert any("Stop" in label for label in labels(card))
    assert not any("Reinstall" in label for label in labels(card))

    # The owner lowers the role: the Stop button already on the mate's screen is refused.
    await open_members(env, customer)
    await env.tap(OWNER, "Mate")
    await env.tap(OWNER, "Make viewer")
    env.sim.reset_counters()
    before = env.screen(MATE)
    await env.tg.tap_button(MATE, "Stop", message_id=card.message_id)
    refused = await env.answered(MATE, before)
    assert "Not allowed" in refused.text
    assert list(env.sim.calls.elements()) == []

    # Made operator again, the mate stops the server; then the owner revokes the access.
    await open_members(env, customer)
    await env.tap(OWNER, "Mate")
    await env.tap(OWNER, "Make operator")
    card = await mate_card(env, order_id)
    await env.tap(MATE, "Stop")
    await env.tap(MATE, "Yes, stop")
    order = customer.order(order_id)
    assert order is not None and order.server is not None and not order.server.powered
    card = await mate_card(env, order_id)
    assert any("Boot" in label for label in labels(card))

    await open_members(env, customer)
    await env.tap(OWNER, "Mate")
    await env.tap(OWNER, "Revoke access")
    gone = await env.tap(OWNER, "Yes, revoke")
    assert "no longer has access" in gone.text
    env.sim.reset_counters()
    before = env.screen(MATE)
    await env.tg.tap_button(MATE, "Boot", message_id=card.message_id)
    refused = await env.answered(MATE, before)
    assert "can no longer use" in refused.text
    assert list(env.sim.calls.elements()) == []
    assert not order.server.powered
    assert await env.db.accounts.memberships(MATE) == []
    no_key_shown(env, customer)
    assert env.tg.errors == []
    assert env.tg.unanswered_callbacks() == []


@pytest.mark.embedded_only(
    "the access kept in memory between taps, which a shared database turns off; "
    "the lowered role and the revocation hold in production mode too (the test above)"
)
async def test_the_owners_taps_hold_on_the_mates_next_tap_though_the_access_is_kept(
    env: BotEnv,
) -> None:
    """The mate's access is kept in memory between their taps (SQLite). The owner lowers it,
    then revokes it, by taps handled by the same process, and each time the mate's very next
    tap, on a button already on their screen, is refused without a provider call."""
    customer, order_id = await shared(env, "Operator")
    account = await env.db.accounts.find(OWNER, customer.cid)
    kept = env.db.accounts._cache

    async def stop_is_refused(card: FakeMessage, answer: str) -> None:
        env.sim.reset_counters()
        before = env.screen(MATE)
        await env.tg.tap_button(MATE, "Stop", message_id=card.message_id)
        refused = await env.answered(MATE, before)
        assert answer in refused.text
        assert list(env.sim.calls.elements()) == []

    card = await mate_card(env, order_id)
    kept_role = kept.get((MATE, account))
    assert kept_role is not None and kept_role.role == Role.OPERATOR, "kept from the mate's tap"
    await open_members(env, customer)
    await env.tap(OWNER, "Mate")
    await env.tap(OWNER, "Make viewer")
    await stop_is_refused(card, "Not allowed")

    await open_members(env, customer)
    await env.tap(OWNER, "Mate")
    await env.tap(OWNER, "Make operator")
    card = await mate_card(env, order_id)
    assert kept.get((MATE, account)) is not None
    await open_members(env, customer)
    await env.tap(OWNER, "Mate")
    await env.tap(OWNER, "Revoke access")
    await env.tap(OWNER, "Yes, revoke")
    await stop_is_refused(card, "can no longer use")
    order = customer.order(order_id)
    assert order is not None and order.server is not None and order.server.powered
    assert env.tg.errors == []


async def test_allowed_users_applies_to_members(tmp_path: Path, engines: Production | None) -> None:
    async with running_bot(tmp_path, production=engines, allowed_users=frozenset({OWNER})) as env:
        customer = await env.linked(OWNER)
        env.tg.add_user(OWNER, first_name="Olga")
        payload = await invite(env, customer, "Viewer")
        env.tg.add_user(MATE)
        refused = await env.command(MATE, f"/start {payload}")
        assert "invites you" not in refused.text
        assert await env.db.invites.peek(payload[1:]) is not None, "the invite is not spent"
        assert await env.db.accounts.memberships(MATE) == []


async def test_the_ready_push_goes_to_each_member_who_wants_it(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, sim=Simulator(install_delay=0.3)) as env:
        customer = await env.linked(OWNER)
        env.tg.add_user(OWNER, first_name="Olga")
        await join(env, await invite(env, customer, "Viewer"), first_name="Mate")
        order_id = await installed_server(env, customer, ready=False)
        await env.db.watches.start_confirmed(
            OWNER,
            await env.db.confirmations.issue(OWNER, "install", {"cid": customer.cid}),
            {"install"},
            chat_id=OWNER,
            status_message_id=None,
            intent=lambda confirmation: WatchIntent(order_id, "debian12"),
        )
        pushed = await env.tg.wait_for_bot_message(MATE, lambda m: "installed by" in m.text)
        assert "Olga" in pushed.text and str(customer.cid) in pushed.text
        # Its button opens the card, for the viewer, of that account.
        before = env.screen(MATE)
        await env.tg.tap_button(MATE, "Open server", message_id=pushed.message_id)
        card = await env.answered(MATE, before)
        assert sim_server_ip(customer, order_id) in card.text
        assert not any("Stop" in label for label in labels(card))

        # Turned off, the next one is not sent.
        await env.db.alerts.set_prefs(MATE, team_ready=False)
        second = await installed_server(env, customer, ready=False)
        await env.db.watches.start_confirmed(
            OWNER,
            await env.db.confirmations.issue(OWNER, "install", {"cid": customer.cid}),
            {"install"},
            chat_id=OWNER,
            status_message_id=None,
            intent=lambda confirmation: WatchIntent(second, "debian12"),
        )
        await env.tg.wait_for_bot_message(
            OWNER, lambda m: second in m.text and "ready" in m.text.lower()
        )
        await env.settle()
        assert sum("installed by" in m.text for m in env.tg.bot_messages(MATE)) == 1


async def test_an_operator_names_a_server_for_everyone_and_a_viewer_cannot(env: BotEnv) -> None:
    customer, order_id = await shared(env, "Operator")
    card = await mate_card(env, order_id)
    await env.tap(MATE, "Name")
    too_long = await env.say(MATE, "x" * 33)
    assert "1 to 32 characters" in too_long.text
    named = await env.say(MATE, "<i>web & db</i>")
    assert "&lt;i&gt;web &amp; db&lt;/i&gt;" in named.html
    assert "<i>web" not in named.html
    # The owner sees the name too: on the card and in the list.
    listing = await env.command(OWNER, "/servers")
    assert "&lt;i&gt;web &amp; db&lt;/i&gt;" in listing.html
    owner_card = await env.tap(OWNER, "web")
    assert "&lt;i&gt;web &amp; db&lt;/i&gt;" in owner_card.html

    # Lowered to viewer, the mate no longer gets the button, and a forged one does nothing.
    await open_members(env, customer)
    await env.tap(OWNER, "Mate")
    await env.tap(OWNER, "Make viewer")
    card = await mate_card(env, order_id)
    assert not any("Name" in label for label in labels(card))
    env.sim.reset_counters()
    refused = await env.forge(MATE, bound(card, f"sn:{order_id}"), card.message_id)
    assert "Not allowed" in refused.text
    assert list(env.sim.calls.elements()) == []
    assert env.tg.errors == []


async def test_a_member_unlinking_only_leaves_and_the_owner_keeps_the_account(
    env: BotEnv,
) -> None:
    customer, _ = await shared(env, "Admin")
    await env.command(MATE, "/menu")
    await env.tap(MATE, "Settings")
    question = await env.tap(MATE, "Unlink account")
    assert "Give up your access" in question.text
    await env.tap(MATE, "Yes, unlink")
    assert await env.db.accounts.memberships(MATE) == []
    (owned,) = await env.db.accounts.memberships(OWNER)
    assert owned.role == Role.OWNER and owned.account.cid == customer.cid
    _, account = await env.db.users.ensure_with_account(OWNER, "en")
    assert account is not None and account.api_key == customer.key
    no_key_shown(env, customer)


async def test_the_owner_unlinking_removes_every_members_access(env: BotEnv) -> None:
    _, order_id = await shared(env, "Operator")
    card = await mate_card(env, order_id)
    await env.command(OWNER, "/menu")
    await env.tap(OWNER, "Settings")
    question = await env.tap(OWNER, "Unlink account")
    assert "Give up" not in question.text
    await env.tap(OWNER, "Yes, unlink")
    assert await env.db.accounts.memberships(OWNER) == []
    assert await env.db.accounts.memberships(MATE) == []
    row = await env.db._conn.fetchone("SELECT COUNT(*) FROM accounts")
    assert row is not None and row[0] == 0, "the key is gone"
    env.sim.reset_counters()
    before = env.screen(MATE)
    await env.tg.tap_button(MATE, "Stop", message_id=card.message_id)
    refused = await env.answered(MATE, before)
    assert "can no longer use" in refused.text
    assert list(env.sim.calls.elements()) == []
