"""My servers and the server card, driven as a user through the real dispatcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.handlers.callbacks import InstallMode, InstallStartCb, ServerAction, ServerCb
from bot.handlers.navigation import MenuCb, Screen
from bot.handlers.servers import collect_servers
from bot.i18n import TranslatorHub
from bot.inferno import simulator as simulator_module
from bot.inferno.models import Order
from bot.inferno.simulator import Customer, Simulator
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, creds_of, labels, paid_order, running_bot
from tests.storage_helpers import start_watch
from tests.test_flow_sshkeys import private_pem

UID = 7001


# --------------------------------------------------------------------------- helpers
# (also used by test_flow_power.py and test_flow_password.py)


async def installed_server(env: BotEnv, customer: Customer, *, ready: bool = True) -> str:
    """A paid order with a server installed on it (running when ``ready``)."""
    assert env.services is not None
    order_id = await paid_order(env, customer)
    await env.services.inferno.install(creds_of(customer), order_id, "debian12", [], run=True)
    if ready:
        env.sim.complete_installs()
    return order_id


def sim_server_ip(customer: Customer, order_id: str) -> str:
    order = customer.order(order_id)
    assert order is not None and order.server is not None
    return order.server.ip


async def open_servers(env: BotEnv, uid: int = UID) -> FakeMessage:
    await env.tg.send_command(uid, "/servers")
    await env.settle()
    return env.tg.last_bot_message(uid)


async def open_card(env: BotEnv, order_id: str, uid: int = UID) -> FakeMessage:
    """Opens a card the way other screens link to it: a ServerCb button."""
    listing = await open_servers(env, uid)
    data = ServerCb(order_id=order_id).pack()
    if any(b.callback_data == data for b in listing.buttons()):
        await env.tg.tap(uid, listing.message_id, data)
    else:
        # Not in the list (e.g. an unpaid order): the link another area would show.
        await env.tg.tap(uid, listing.message_id, data, verify=False)
    await env.settle()
    return env.tg.message(uid, listing.message_id)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """Installs take a minute unless a test completes them, so "installing" is stable."""
    async with running_bot(
        tmp_path, production=engines, sim=Simulator(install_delay=60.0)
    ) as bot_env:
        yield bot_env


# --------------------------------------------------------------------------- the list


async def test_not_linked_user_is_told_to_link(env: BotEnv) -> None:
    env.tg.add_user(UID)
    message = await open_servers(env)
    assert "not linked" in message.text
    assert env.tg.errors == []


async def test_empty_list_offers_to_buy(env: BotEnv) -> None:
    await env.linked(UID)
    message = await open_servers(env)
    assert "no servers yet" in message.text
    assert MenuCb(screen=Screen.BUY).pack() in [b.callback_data for b in message.buttons()]
    assert env.tg.errors == []


async def test_list_shows_servers_from_the_menu(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    ip = sim_server_ip(customer, order_id)
    await env.tg.send_command(UID, "/menu")
    await env.settle()
    await env.tg.tap_button(UID, "My servers")
    await env.settle()
    message = env.tg.last_bot_message(UID)
    assert "You have 1 server." in message.text
    assert "VPS Start" in message.text and ip in message.text
    assert f"VPS Start · {ip}" in labels(message)
    assert env.tg.errors == []


async def test_list_paginates_by_eight_and_counts_with_plurals(env: BotEnv) -> None:
    customer = await env.linked(UID, language="ru")
    for _ in range(10):
        await paid_order(env, customer)
    message = await open_servers(env)
    assert "У вас 10 серверов." in message.text
    server_buttons = [b for b in message.buttons() if (b.callback_data or "").startswith("s:")]
    assert len(server_buttons) == 8
    assert "Страница 1 из 2" in message.text
    await env.tg.tap_button(UID, "Далее")
    await env.settle()
    page_two = env.tg.message(UID, message.message_id)
    server_buttons = [b for b in page_two.buttons() if (b.callback_data or "").startswith("s:")]
    assert len(server_buttons) == 2
    assert "Страница 2 из 2" in page_two.text
    # The page indicator re-shows the same page: no "message is not modified".
    await env.tg.tap_button(UID, "2/2")
    # Handled before the next tap: webhook deliveries run side by side, so two taps sent at
    # once may be handled in either order (Telegram promises no order there either).
    await env.settle()
    await env.tg.tap_button(UID, "‹")
    await env.settle()
    assert "Страница 1 из 2" in env.tg.message(UID, message.message_id).text
    assert env.tg.errors == []


async def test_list_mentions_unpaid_orders_and_links_to_orders(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="10.00")
    await paid_order(env, customer)
    await paid_order(env, customer, "103")  # 500.00: stays unpaid
    message = await open_servers(env)
    assert "You have 1 server." in message.text
    assert "1 unpaid order" in message.text
    assert MenuCb(screen=Screen.ORDERS).pack() in [b.callback_data for b in message.buttons()]


async def test_provider_text_is_escaped_in_the_list(env: BotEnv) -> None:
    env.sim.products["666"] = simulator_module.Product(
        "666", "<b>Evil</b> & Co", Decimal("1.00"), "x"
    )
    customer = await env.linked(UID)
    await paid_order(env, customer, "666")
    message = await open_servers(env)
    assert "<b>Evil</b> & Co" in message.text
    assert "<b>Evil</b> & Co" in labels(message)
    assert env.tg.errors == []


def test_list_orders_any_provider_id_newest_first() -> None:
    # "²" passes str.isdigit() but int() refuses it: such an id must not break the list.
    i18n = TranslatorHub(default_locale="en", strict=True).get("en")
    orders = [
        Order(order_id, None, None, None, "Active", None, "VPS")
        for order_id in ("9", "²", "47010", "abc")
    ]
    entries, _ = collect_servers(i18n, orders, [])
    assert [e.order_id for e in entries] == ["47010", "9", "²", "abc"]


async def test_list_provider_error_has_retry(env: BotEnv) -> None:
    customer = await env.linked(UID)
    await installed_server(env, customer)
    env.sim.faults.whitelist_denied = True
    message = await open_servers(env)
    assert "whitelist" in message.text
    env.sim.faults.whitelist_denied = False
    await env.tg.tap_button(UID, "Retry")
    await env.settle()
    assert "You have 1 server." in env.tg.message(UID, message.message_id).text
    assert env.tg.errors == []


# --------------------------------------------------------------------------- the card


async def test_card_of_a_running_server(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    card = await open_card(env, order_id)
    ip = sim_server_ip(customer, order_id)
    assert ip in card.text
    assert ip.replace(".", "-") in card.text  # the panel's VPS name
    assert "State: 🟢 running" in card.text
    assert f"Order: {order_id} · active" in card.text
    texts = labels(card)
    for wanted in ("Reboot", "Stop", "Reinstall OS", "Show root password", "Service details"):
        assert any(wanted in t for t in texts), (wanted, texts)
    assert not any("Boot" in t for t in texts)
    reinstall = card.button("Reinstall OS")
    assert reinstall.callback_data == (
        InstallStartCb(order_id=order_id, mode=InstallMode.REINSTALL).pack()
    )
    assert all(len((b.callback_data or "").encode()) <= 64 for b in card.buttons())
    assert env.tg.errors == []


async def test_card_of_a_stopped_server_offers_boot(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    assert env.services is not None
    await env.services.inferno.stop(creds_of(customer), order_id)
    card = await open_card(env, order_id)
    assert "State: 🔴 stopped" in card.text
    texts = labels(card)
    assert any("Boot" in t for t in texts)
    assert not any("Stop" in t for t in texts)


async def test_card_of_an_installing_server_shows_state_and_refresh_only(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer, ready=False)
    card = await open_card(env, order_id)
    assert "being installed" in card.text
    assert "installing" in card.text
    assert sorted(labels(card)) == sorted(["🔄 Refresh", "« My servers"])
    # The install finishes: Refresh shows the running server.
    env.sim.complete_installs()
    await env.tg.tap_button(UID, "Refresh")
    await env.settle()
    card = env.tg.message(UID, card.message_id)
    assert "🟢 running" in card.text
    assert sim_server_ip(customer, order_id) in card.text
    assert env.tg.errors == []


async def test_card_of_a_paid_order_without_server_offers_install(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    card = await open_card(env, order_id)
    assert "no server is installed" in card.text
    install = card.button("Install OS")
    assert install.callback_data == InstallStartCb(order_id=order_id).pack()
    texts = labels(card)
    assert not any(word in t for t in texts for word in ("Reboot", "Stop", "Boot", "password"))


async def test_the_install_offered_by_the_card_opens_the_wizard_for_any_order_id(
    env: BotEnv,
) -> None:
    # The card and the wizard once checked order ids with different patterns: a 13-digit id got
    # an Install button that the wizard then refused.
    customer = await env.linked(UID)
    order = customer.order(await paid_order(env, customer))
    assert order is not None
    order.id = 1_000_000_047_001
    card = await open_card(env, str(order.id))
    await env.tg.tap(UID, card.message_id, card.button("Install OS").callback_data or "")
    await env.settle()
    wizard = env.tg.message(UID, card.message_id)
    assert "Step 1 of 3" in wizard.text and "1000000047001" in wizard.text
    assert env.tg.errors == []


async def test_a_watched_install_without_vps_yet_counts_as_installing(env: BotEnv) -> None:
    # The provider may answer vps_info "fail" while an install is still queued; the bot knows
    # it queued one because the install watch is open.
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await start_watch(env.db, UID, UID, order_id, "install", "debian12")
    card = await open_card(env, order_id)
    assert "being installed" in card.text
    assert not any("Install OS" in t for t in labels(card))


async def test_card_of_an_unpaid_order_links_to_orders(env: BotEnv) -> None:
    customer = await env.linked(UID, balance="0.00")
    order_id = await paid_order(env, customer)
    card = await open_card(env, order_id)
    assert "not paid yet" in card.text
    assert card.button("Orders").callback_data == MenuCb(screen=Screen.ORDERS).pack()
    assert not any("Install" in t or "Reboot" in t for t in labels(card))
    assert env.tg.errors == []


async def test_refresh_without_changes_is_not_an_error(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    assert env.services is not None
    await env.services.inferno.stop(creds_of(customer), order_id)
    card = await open_card(env, order_id)
    # A stopped card carries a fresh Boot token each time, so compare the text only.
    for _ in range(2):
        await env.tg.tap_button(UID, "Refresh", message_id=card.message_id)
        await env.settle()
    await env.services.inferno.boot(creds_of(customer), order_id)
    await env.tg.tap_button(UID, "Refresh", message_id=card.message_id)
    await env.settle()
    card = env.tg.message(UID, card.message_id)
    assert "🟢 running" in card.text
    await env.tg.tap_button(UID, "Refresh", message_id=card.message_id)
    await env.settle()
    assert env.tg.errors == []


async def test_unknown_state_word_is_shown_as_sent_and_escaped(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    assert env.services is not None
    await env.services.inferno.stop(creds_of(customer), order_id)
    monkeypatch.setattr(simulator_module, "STATE_STOPPED", "<Перезагрузка & co>")
    card = await open_card(env, order_id)
    assert "State: <Перезагрузка & co>" in card.text
    assert env.tg.errors == []


async def test_card_provider_error_has_retry_and_back(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    listing = await open_servers(env)
    env.sim.faults.html_next = 10
    await env.tg.tap(UID, listing.message_id, ServerCb(order_id=order_id).pack())
    await env.settle()
    error = env.tg.message(UID, listing.message_id)
    assert "whitelist" in error.text
    assert {"🔄 Retry", "« My servers"} <= set(labels(error))
    env.sim.faults.clear()
    await env.tg.tap_button(UID, "Retry", message_id=listing.message_id)
    await env.settle()
    assert "🟢 running" in env.tg.message(UID, listing.message_id).text
    assert env.tg.errors == []


async def test_foreign_or_garbage_order_ids_are_not_found(env: BotEnv) -> None:
    other = env.sim.add_customer(email="other@example.com", password="pw-000000")
    foreign = await installed_server(env, other)
    await env.linked(UID)
    listing = await open_servers(env)
    for data in (ServerCb(order_id=foreign).pack(), ServerCb(order_id="0").pack()):
        await env.tg.tap(UID, listing.message_id, data, verify=False)
        await env.settle()
        assert "not found" in env.tg.message(UID, listing.message_id).text
    before = sum(env.sim.calls.values())
    await env.tg.tap(UID, listing.message_id, "s:c:" + "9" * 40, verify=False)
    await env.settle()
    assert "not found" in env.tg.message(UID, listing.message_id).text
    for data in ("s:zz:1", "sl:p:notanumber", "s:c:1:2"):
        await env.tg.tap(UID, listing.message_id, data, verify=False)
        await env.settle()
        assert "expired" in env.tg.message(UID, listing.message_id).text
    assert sum(env.sim.calls.values()) == before, "garbage must not reach the provider"
    assert env.tg.unanswered_callbacks() == []
    assert env.tg.errors == []


# --------------------------------------------------------------------------- find by IP


async def test_find_by_ip(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    ip = sim_server_ip(customer, order_id)
    await open_servers(env)
    await env.tg.tap_button(UID, "Find by IP")
    await env.settle()
    assert "Send the IP address" in env.tg.last_bot_message(UID).text

    for garbage in ("hello", "999.1.1.1", "1.2.3", "x" * 10_000):
        await env.tg.send_text(UID, garbage)
        await env.settle()
        assert "not an IP address" in env.tg.last_bot_message(UID).text
    assert env.sim.calls["getinfo"] == 0

    await env.tg.send_text(UID, "10.20.30.40")
    await env.settle()
    assert "No server with the IP address 10.20.30.40" in env.tg.last_bot_message(UID).text

    await env.tg.send_text(UID, f"  {ip} ")
    await env.settle()
    card = env.tg.last_bot_message(UID)
    assert "🟢 running" in card.text and ip in card.text
    refresh = ServerCb(action=ServerAction.REFRESH, order_id=order_id).pack()
    assert card.button("Refresh").callback_data == refresh

    # The step is over: another address is not taken as a search.
    calls = env.sim.calls["getinfo"]
    await env.tg.send_text(UID, ip)
    await env.settle()
    assert env.sim.calls["getinfo"] == calls
    assert env.tg.errors == []


async def test_a_secret_sent_to_find_by_ip_is_deleted(env: BotEnv) -> None:
    await env.linked(UID)
    await open_servers(env)
    await env.tg.tap_button(UID, "Find by IP")
    await env.settle()
    word = await env.tg.send_text(UID, "hello")
    await env.settle()
    assert not env.tg.message(UID, word.message_id).deleted
    pasted = await env.tg.send_text(UID, "q0Dx8n2yJc0dQmXl2y1sZk9rVb7uTq3w")
    await env.settle()
    assert env.tg.message(UID, pasted.message_id).deleted
    notice = env.tg.last_bot_message(UID)
    assert "deleted it from the chat" in notice.text and notice.button("Cancel")
    assert env.sim.calls["getinfo"] == 0
    assert env.tg.errors == []


async def test_find_by_ip_step_survives_a_restart_and_cancel_returns(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await installed_server(env, customer)
    await open_servers(env)
    await env.tg.tap_button(UID, "Find by IP")
    await env.settle()
    await env.restart()
    await env.tg.send_text(UID, sim_server_ip(customer, order_id))
    await env.settle()
    assert "🟢 running" in env.tg.last_bot_message(UID).text

    await open_servers(env)
    await env.tg.tap_button(UID, "Find by IP")
    await env.settle()
    await env.tg.tap_button(UID, "Cancel")
    await env.settle()
    assert "You have 1 server." in env.tg.last_bot_message(UID).text
    await env.tg.send_text(UID, "not an ip")
    await env.settle()
    assert "not an IP address" not in env.tg.last_bot_message(UID).text
    assert env.tg.errors == []


async def test_a_private_key_pasted_into_the_ip_search_is_deleted(env: BotEnv) -> None:
    await env.linked(UID)
    await open_servers(env)
    await env.tg.tap_button(UID, "Find by IP")
    await env.settle()
    pasted = await env.tg.send_text(UID, private_pem())
    await env.settle()
    assert env.tg.message(UID, pasted.message_id).deleted
    assert "PRIVATE key" in env.tg.last_bot_message(UID).text
    assert env.tg.errors == []
