"""The install / reinstall wizard, driven as a user through the real dispatcher.

Fake Bot API and provider simulator over HTTP; nothing in between is mocked. The wizard is
entered with the server card's button data (``InstallStartCb``), tapped on the menu message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bot.handlers.callbacks import InstallMode, InstallStartCb
from bot.handlers.install.wizard import WizCb
from bot.inferno.client import InfernoClient
from bot.inferno.simulator import Customer, Server, Simulator
from bot.services.watcher import UNKNOWN_GRACE
from tests.fakes.telegram import FakeMessage
from tests.harness import (
    PASSWORD,
    BotEnv,
    Production,
    creds_of,
    hold_second_call,
    labels,
    paid_order,
    running_bot,
)
from tests.storage_helpers import actions_of, watches_of
from tests.watch_helpers import age_watches, force_due, watcher_of, woken_pass_done

UID = 7001
OTHER_UID = 7002
LONG_TEMPLATE = "ubuntu2204-docker-ce-portainer-and-traefik-reverse-proxy-preinstalled"


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """Installs stay queued for a minute, so no "ready" message interleaves with the flow."""
    async with running_bot(
        tmp_path, sim=Simulator(install_delay=60.0), production=engines
    ) as bot_env:
        yield bot_env


@pytest.fixture
async def quiet(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """Installs take an hour and the watcher runs only when woken: the test runs its passes
    itself, moving the watch through time."""
    sim = Simulator(install_delay=3600.0)
    async with running_bot(
        tmp_path, production=engines, sim=sim, watch_interval=3600.0, watch_timeout=7200.0
    ) as e:
        yield e


@pytest.fixture
async def many(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """45 templates, some with 60+ byte names and no title."""
    sim = Simulator(install_delay=60.0, many_templates=True)
    async with running_bot(tmp_path, production=engines, sim=sim) as bot_env:
        yield bot_env


def client(env: BotEnv) -> InfernoClient:
    assert env.services is not None
    return env.services.inferno


async def open_wizard(
    env: BotEnv, uid: int, order_id: str, mode: InstallMode = InstallMode.INSTALL
) -> FakeMessage:
    menu = await env.command(uid, "/menu")
    # Exactly the data of the server card's "Install OS" / "Reinstall" button.
    return await env.forge(
        uid, InstallStartCb(order_id=order_id, mode=mode).pack(), menu.message_id
    )


def template_labels(message: FakeMessage) -> list[str]:
    return [b.text for b in message.buttons() if (b.callback_data or "").startswith("iw:t:")]


def expected_labels(env: BotEnv, word: str) -> list[str]:
    """What the simulator's catalogue holds for ``word``, as a user would look for it."""
    return [
        title or name
        for name, title in env.sim.templates.items()
        if word in f"{name} {title or ''}".lower()
    ]


def assert_fits(message: FakeMessage) -> None:
    for button in message.buttons():
        assert button.callback_data is not None
        assert len(button.callback_data.encode()) <= 64, button


def server_of(env: BotEnv, customer: Customer, order_id: str) -> Server | None:
    order = customer.order(order_id)
    assert order is not None
    return order.server


def server_at(env: BotEnv, customer: Customer, order_id: str) -> Server:
    found = server_of(env, customer, order_id)
    assert found is not None, f"order {order_id} has no server at the provider"
    return found


async def install_debian_without_a_key(env: BotEnv) -> tuple[Customer, str, FakeMessage]:
    """The plainest install: a new linked customer's new paid order, its wizard, Debian 12,
    no SSH key, Install. Returns the customer, the order id and the answer to Install."""
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await open_wizard(env, UID, order_id)
    await env.tap(UID, "Debian 12")
    await env.tap(UID, "without a key")
    return customer, order_id, await env.tap(UID, "Install")


async def double_tap(env: BotEnv, uid: int, text: str) -> FakeMessage:
    """Two taps on the same button before the bot has handled the first one."""
    message = env.tg.last_bot_message(uid)
    data = message.button(text).callback_data
    assert data is not None
    await env.tg.tap(uid, message.message_id, data)
    await env.tg.tap(uid, message.message_id, data)
    # Whatever the first tap does, the second one ends with this notice.
    await env.tg.wait_for_bot_message(uid, lambda m: "already used" in m.text, timeout=10.0)
    await env.tg.wait_idle()
    return message


# --------------------------------------------------------------------------- step 1


async def test_templates_are_paginated_and_filtered_by_a_typed_word(many: BotEnv) -> None:
    env = many
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    first = await open_wizard(env, UID, order_id)
    assert "Step 1 of 3" in first.text
    assert "45 templates" in first.text
    page1 = template_labels(first)
    assert len(page1) == 8
    assert "1/6" in labels(first)

    second = await env.tap(UID, "Next ›")
    assert second.message_id == first.message_id, "pages are edited in place"
    page2 = template_labels(second)
    assert len(page2) == 8
    assert not set(page1) & set(page2)
    assert "2/6" in labels(second)
    # The long names are cut for the button, not in the catalogue.
    last = await env.tap(UID, "‹ Prev")
    last = await env.tap(UID, "‹ Prev")
    assert "6/6" in labels(last)
    assert all(len(label) <= 48 for label in template_labels(last))

    filtered = await env.say(UID, "  Debian ")
    expected = expected_labels(env, "debian")
    assert "Filter: Debian" in filtered.text
    assert f"{len(expected)} matches" in filtered.text
    pages = int(next(label for label in labels(filtered) if label.startswith("1/"))[2:])
    shown = template_labels(filtered)
    for _ in range(pages - 1):
        filtered = await env.tap(UID, "Next ›")
        shown += template_labels(filtered)
    assert sorted(shown) == sorted(
        label if len(label) <= 48 else label[:47] + "…" for label in expected_labels(env, "debian")
    )
    assert len(shown) == len(expected)

    nothing = await env.say(UID, "plan9")
    assert "Nothing matches" in nothing.text
    assert template_labels(nothing) == []
    cleared = await env.tap(UID, "Clear the filter")
    assert len(template_labels(cleared)) == 8
    assert "45 templates" in cleared.text
    assert env.tg.errors == []


async def test_template_buttons_carry_a_short_reference_resolved_on_tap(many: BotEnv) -> None:
    env = many
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await open_wizard(env, UID, order_id)
    found = await env.say(UID, "portainer")
    (button,) = [b for b in found.buttons() if (b.callback_data or "").startswith("iw:t:")]
    assert button.callback_data is not None
    assert "portainer" not in button.callback_data
    # The catalogue changes under the user's feet: a template before it disappears.
    del env.sim.templates["debian11"]
    keys_step = await env.tap(UID, "Portainer")
    assert "Step 2 of 3" in keys_step.text
    assert "Portainer" in keys_step.text
    summary = await env.tap(UID, "without a key")
    assert LONG_TEMPLATE in summary.text
    # A forged reference that matches nothing is refused with the list shown again.
    again = await env.forge(UID, "iw:t:3.000000", summary.message_id)
    assert "no longer offered" in again.text
    assert template_labels(again) == [button.text], "the filter is still on"
    assert env.tg.errors == []


# --------------------------------------------------------------------------- step 2


async def test_key_toggles_mark_and_unmark_and_refuse_foreign_ids(env: BotEnv) -> None:
    customer = await env.linked(UID, keys=("laptop", "work"))
    stranger = await env.linked(OTHER_UID, keys=("stranger",))
    foreign_id = str(stranger.ssh_keys[0].id)
    order_id = await paid_order(env, customer)
    await open_wizard(env, UID, order_id)
    keys_step = await env.tap(UID, "Debian 12")
    assert "Step 2 of 3" in keys_step.text
    assert "⬜ laptop" in labels(keys_step) and "⬜ work" in labels(keys_step)
    assert "root with the password" in keys_step.text
    assert "Continue without a key »" in labels(keys_step)

    on = await env.tap(UID, "laptop")
    assert on.message_id == keys_step.message_id
    assert "✅ laptop" in labels(on) and "⬜ work" in labels(on)
    assert "1 key selected" in on.text
    assert "Continue with 1 key »" in labels(on)
    both = await env.tap(UID, "work")
    assert "✅ laptop" in labels(both) and "✅ work" in labels(both)
    off = await env.tap(UID, "laptop")
    assert "⬜ laptop" in labels(off) and "✅ work" in labels(off)

    # A forged toggle with another customer's key id never gets selected.
    refused = await env.forge(UID, f"iw:g:{foreign_id}", off.message_id)
    assert "not in your account" in refused.text
    assert "1 key selected" in refused.text
    summary = await env.tap(UID, "Continue with 1 key")
    assert "SSH keys: work" in summary.text
    assert "checked these settings" in summary.text
    assert env.tg.errors == []


async def test_add_a_key_from_the_wizard_comes_back_with_it_selected(env: BotEnv) -> None:
    customer = await env.linked(UID, keys=("laptop",))
    order_id = await paid_order(env, customer)
    await open_wizard(env, UID, order_id)
    await env.tap(UID, "Debian 12")
    prompt = await env.tap(UID, "Add a key")
    assert "public" in prompt.text
    line = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    bad = await env.say(UID, "ssh-ed25519 AAAA!!!")
    assert "not valid base64" in bad.text
    name_prompt = await env.say(UID, f"{line} ci@runner")
    assert "ci@runner" in name_prompt.text
    back = await env.say(UID, "ci-runner")
    new_key = next(k for k in customer.ssh_keys if k.name == "ci-runner")
    assert "Step 2 of 3" in back.text
    assert f"(id {new_key.id})" in back.text
    assert "selected for this installation" in back.text
    assert "✅ ci-runner" in labels(back) and "⬜ laptop" in labels(back)
    summary = await env.tap(UID, "Continue with 1 key")
    assert "SSH keys: ci-runner" in summary.text
    # Commands are not taken for a key: /keys leaves the wizard for the keys screen.
    await env.tap(UID, "Change the keys")
    await env.tap(UID, "Add a key")
    listed = await env.say(UID, "/keys")
    assert "Your SSH keys" in listed.text and "ci-runner" in listed.text
    assert env.tg.errors == []


# --------------------------------------------------------------------------- step 3


async def test_dry_run_failure_is_explained_with_a_way_back(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await open_wizard(env, UID, order_id)
    await env.tap(UID, "Alpine 3.19")
    del env.sim.templates["alpine319"]
    failed = await env.tap(UID, "without a key")
    assert "rejected these settings" in failed.text
    assert "does not know this OS template" in failed.text
    assert "✅ Install" not in labels(failed)
    assert env.sim.calls["install"] == 1
    assert server_of(env, customer, order_id) is None
    relist = await env.tap(UID, "Change the OS")
    assert "Step 1 of 3" in relist.text
    assert "Alpine 3.19" not in template_labels(relist)
    await env.tap(UID, "Debian 12")
    ok = await env.tap(UID, "without a key")
    assert "checked these settings" in ok.text
    assert "✅ Install" in labels(ok)

    # The provider stops answering: the step says so and offers Retry, which then works.
    env.sim.faults.http_500_next = 10
    await env.tg.tap_button(UID, "Change the keys")
    # The client retries reads with a backoff the fake Telegram cannot see: wait for the answer.
    failed = await env.tg.wait_for_bot_message(UID, lambda m: "not answering" in m.text)
    await env.tg.wait_idle()
    assert "🔄 Retry" in labels(failed)
    env.sim.faults.clear()
    retried = await env.tap(UID, "Retry")
    assert "Step 2 of 3" in retried.text
    assert env.tg.errors == []


# --------------------------------------------------------------------------- step 4 and 5


async def test_install_double_tap_sends_once_and_registers_a_watch(env: BotEnv) -> None:
    customer = await env.linked(UID, keys=("laptop",))
    order_id = await paid_order(env, customer)
    await open_wizard(env, UID, order_id)
    await env.tap(UID, "Debian 12")
    await env.tap(UID, "laptop")
    summary = await env.tap(UID, "Continue with 1 key")
    assert "Step 3 of 3" in summary.text
    assert (env.sim.calls["install"], env.sim.runs["install"]) == (1, 0), "one dry run"
    assert server_of(env, customer, order_id) is None, "a dry run installs nothing"

    install_data = summary.button("Install").callback_data
    assert install_data is not None
    await double_tap(env, UID, "Install")
    assert env.sim.runs["install"] == 1
    queued = env.tg.message(UID, summary.message_id)
    assert "Installation queued" in queued.text
    assert "Debian 12" in queued.text
    server = server_at(env, customer, order_id)
    assert server.template == "debian12"
    assert server.ssh_key_ids == [customer.ssh_keys[0].id]
    notices = [m for m in env.tg.bot_messages(UID) if "already used" in m.text]
    assert len(notices) == 1

    (watch,) = await watches_of(env.db, UID)
    assert (watch.order_id, watch.kind, watch.chat_id) == (order_id, "install", UID)
    assert watch.status_message_id == summary.message_id
    actions = await actions_of(env.db, UID)
    assert [(a.action, a.order_id, a.result) for a in actions] == [("install", order_id, "queued")]
    assert await env.fsm.get_state(_key(env)) is None
    # The old summary button, tapped again later, still answers and still sends nothing.
    late = await env.forge(UID, install_data, summary.message_id)
    assert env.sim.runs["install"] == 1
    assert "already used" in late.text
    assert env.tg.errors == []


def _key(env: BotEnv) -> StorageKey:
    assert env.bot is not None
    return StorageKey(bot_id=env.bot.id, chat_id=UID, user_id=UID)


async def test_904_is_explained_on_the_dry_run_and_on_the_real_run(env: BotEnv) -> None:
    customer, order_id, _queued = await install_debian_without_a_key(env)
    assert env.sim.calls["install"] == 2

    # Still being created: the dry run of a second wizard already says so.
    await open_wizard(env, UID, order_id)
    await env.tap(UID, "Ubuntu 24.04")
    again = await env.tap(UID, "without a key")
    assert "already being created" in again.text
    assert "✅ Install" not in labels(again)
    assert env.sim.calls["install"] == 3

    # Another order passes the dry run, then gets installed elsewhere (the provider's web
    # panel) before the user confirms: the real run's 904 is explained too.
    other_order = await paid_order(env, customer)
    await open_wizard(env, UID, other_order)
    await env.tap(UID, "Debian 12")
    summary = await env.tap(UID, "without a key")
    assert "✅ Install" in labels(summary)
    await client(env).install(creds_of(customer), other_order, "ubuntu2404", [], run=True)
    refused = await env.tap(UID, "Install")
    assert "already being created" in refused.text
    assert "🖥 Open the server" in labels(refused)
    actions = await actions_of(env.db, UID)
    assert [(a.action, a.order_id, a.result) for a in actions] == [
        ("install", other_order, "fail:904"),
        ("install", order_id, "queued"),
    ]
    assert [w.order_id for w in await watches_of(env.db, UID)] == [order_id]
    assert env.tg.errors == []


async def test_reinstall_needs_a_second_confirmation_naming_the_ip(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await client(env).install(creds_of(customer), order_id, "debian12", [], run=True)
    env.sim.complete_installs()
    ip = server_at(env, customer, order_id).ip
    assert ip
    env.sim.reset_counters()

    first = await open_wizard(env, UID, order_id, InstallMode.REINSTALL)
    assert "Reinstall the OS" in first.text and ip in first.text
    await env.tap(UID, "Ubuntu 24.04")
    summary = await env.tap(UID, "without a key")
    assert "checked these settings" in summary.text
    assert env.sim.calls["reinstall"] == 1
    warning = await env.tap(UID, "Reinstall…")
    assert "ERASES ALL DATA" in warning.text and ip in warning.text
    assert f"🗑 Yes, erase {ip}" in labels(warning)
    server = server_at(env, customer, order_id)
    assert not server.installing, "nothing sent before the IP button"
    assert env.sim.calls["reinstall"] == 1

    await double_tap(env, UID, f"erase {ip}")
    assert (env.sim.calls["reinstall"], env.sim.runs["reinstall"]) == (2, 1)
    assert server.installing and server.template == "ubuntu2404"
    assert "Reinstallation queued" in env.tg.message(UID, warning.message_id).text
    (watch,) = await watches_of(env.db, UID)
    assert (watch.kind, watch.order_id) == ("reinstall", order_id)
    actions = await actions_of(env.db, UID)
    assert [(a.action, a.result) for a in actions] == [("reinstall", "queued")]
    assert env.tg.errors == []


async def test_a_finished_server_points_to_reinstall_and_keep_sends_nothing(
    env: BotEnv,
) -> None:
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await client(env).install(creds_of(customer), order_id, "debian12", [], run=True)
    env.sim.complete_installs()
    env.sim.reset_counters()
    answer = await open_wizard(env, UID, order_id)
    assert "already has a server" in answer.text
    first = await env.tap(UID, "Reinstall instead")
    assert "Reinstall the OS" in first.text
    await env.tap(UID, "Debian 11")
    await env.tap(UID, "without a key")
    warning = await env.tap(UID, "Reinstall…")
    erase = warning.button("erase").callback_data
    kept = await env.tap(UID, "keep my data")
    assert "Nothing was installed" in kept.text
    # The erase button of the warning, replayed after cancelling, is dead.
    replayed = await env.forge(UID, erase or "", warning.message_id)
    assert "already used or has expired" in replayed.text
    assert (env.sim.calls["reinstall"], env.sim.runs["reinstall"]) == (1, 0)
    assert not server_at(env, customer, order_id).installing
    assert env.tg.errors == []


# --------------------------------------------------------------------------- limits and state


async def test_callback_data_fits_with_long_names_and_twenty_keys(many: BotEnv) -> None:
    env = many
    names = tuple(f"key-{n:02d}-" + "ж" * 50 for n in range(22))
    customer = await env.linked(UID, keys=names)
    order_id = await paid_order(env, customer)
    message = await open_wizard(env, UID, order_id)
    for _ in range(6):
        assert_fits(message)
        message = await env.tap(UID, "Next ›")
    message = await env.say(UID, "preinstalled")
    assert_fits(message)
    message = await env.tap(UID, "Portainer")
    assert "Step 2 of 3" in message.text
    assert "1/3" in labels(message)
    for _ in range(3):
        assert_fits(message)
        for button in [b for b in message.buttons() if b.text.startswith("⬜")]:
            message = await env.forge(UID, button.callback_data or "", message.message_id)
            assert_fits(message)
        message = await env.tap(UID, "Next ›")
    assert "22 keys selected" in message.text
    summary = await env.tap(UID, "Continue with 22 keys")
    assert_fits(summary)
    assert "and 12 more keys" in summary.text
    assert "checked these settings" in summary.text
    await env.tap(UID, "Install")
    server = server_at(env, customer, order_id)
    assert len(server.ssh_key_ids) == 22
    assert server.template == LONG_TEMPLATE
    setmessages = env.tg.calls("sendMessage") + env.tg.calls("editMessageText")
    assert all(r.ok for r in setmessages)
    assert env.tg.errors == []


async def test_the_wizard_survives_a_restart(env: BotEnv) -> None:
    customer = await env.linked(UID, keys=("laptop", "work"))
    order_id = await paid_order(env, customer)
    await open_wizard(env, UID, order_id)
    await env.tap(UID, "Rocky Linux 9")
    before = await env.tap(UID, "laptop")
    assert "✅ laptop" in labels(before)

    await env.restart()
    after = await env.tap(UID, "work")
    assert after.message_id == before.message_id
    assert "✅ laptop" in labels(after) and "✅ work" in labels(after)
    summary = await env.tap(UID, "Continue with 2 keys")
    assert "Rocky Linux 9" in summary.text
    await env.tap(UID, "Install")
    server = server_at(env, customer, order_id)
    assert server.template == "rockylinux9"
    assert sorted(server.ssh_key_ids) == sorted(k.id for k in customer.ssh_keys)
    assert env.tg.errors == []


async def test_entry_checks_the_order_belongs_to_the_user(env: BotEnv) -> None:
    customer = await env.linked(UID)
    stranger = await env.linked(OTHER_UID)
    foreign = await paid_order(env, stranger)
    poor = env.customer(email="poor@example.com", balance="0.00")
    await env.link(UID, poor)
    unpaid = await paid_order(env, poor)

    refused = await open_wizard(env, UID, foreign)
    assert "not in your account" in refused.text
    unpaid_msg = await open_wizard(env, UID, unpaid)
    assert "not paid yet" in unpaid_msg.text
    no_server = await open_wizard(env, UID, unpaid, InstallMode.REINSTALL)
    assert "Order not active" in no_server.text or "no server" in no_server.text
    stranger_reinstall = await open_wizard(env, UID, foreign, InstallMode.REINSTALL)
    assert "not in your account" in stranger_reinstall.text
    assert not [r for r in env.sim.requests if r.names(foreign)], "never asked about it"

    for forged in ("is:abc:i", "is:1' OR 1=1:i", "is:47001:z", "iw:zz", "iw:y:"):
        menu = await env.say(UID, "/menu")
        answer = await env.forge(UID, forged, menu.message_id)
        assert "expired" in answer.text or "valid order" in answer.text, forged
    assert env.sim.calls["install"] == 0 and env.sim.calls["reinstall"] == 0
    assert env.tg.unanswered_callbacks() == []
    assert customer.orders == []
    assert env.tg.errors == []


async def test_huge_paste_cancel_old_buttons_and_russian(env: BotEnv) -> None:
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    first = await open_wizard(env, UID, order_id)
    pick = first.button("Debian 12").callback_data
    refused = await env.say(UID, "x" * 10_240)
    assert "one short word" in refused.text
    # The wizard is still there: a word still filters, a tap still picks.
    filtered = await env.say(UID, "ubuntu")
    assert template_labels(filtered) == ["Ubuntu 22.04", "Ubuntu 24.04"]
    keys_step = await env.tap(UID, "Ubuntu 24.04")
    assert "Step 2 of 3" in keys_step.text

    cancelled = await env.tap(UID, "Cancel")
    assert "Nothing was installed" in cancelled.text
    stale = await env.forge(UID, pick or "", first.message_id)
    assert "expired" in stale.text
    assert env.sim.calls["install"] == 0

    russian = env.customer(email="ru@example.com")
    await env.link(OTHER_UID, russian, language="ru")
    ru_order = await paid_order(env, russian)
    ru_first = await open_wizard(env, OTHER_UID, ru_order)
    assert "Шаг 1 из 3" in ru_first.text
    assert "Доступно 8 шаблонов" in ru_first.text
    ru_keys = await env.tap(OTHER_UID, "Debian 12")
    assert "Продолжить без ключа »" in labels(ru_keys)
    assert env.tg.unanswered_callbacks() == []
    assert env.tg.errors == []


async def test_the_queued_message_stays_when_the_user_opens_the_server(env: BotEnv) -> None:
    _customer, order_id, queued = await install_debian_without_a_key(env)
    assert "Installation queued" in queued.text
    (watch,) = await env.db.watches.open()
    assert watch.status_message_id == queued.message_id

    card = await env.tap(UID, "Open the server")
    # The card came as a new message: the watcher's progress edits of the queued message can
    # never overwrite the screen the user went on to.
    assert card.message_id != queued.message_id
    assert f"{order_id}" in card.text
    await env.tg.tap_button(UID, "Main menu", message_id=queued.message_id)
    await env.settle()
    newest = env.tg.last_bot_message(UID)
    assert newest.message_id not in (queued.message_id, card.message_id)
    assert newest.button("My servers"), "the menu, as a new message"
    assert env.tg.message(UID, queued.message_id).text == queued.text
    assert env.tg.errors == []


async def test_a_slow_second_summary_tap_supersedes_a_waiting_install_tap(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await open_wizard(env, UID, order_id)
    keys_step = await env.tap(UID, "Debian 12")
    dry_runs, release = hold_second_call(
        monkeypatch, client(env), "install", counts=lambda *args, run, **kwargs: not run
    )
    await env.double_tap_past_held_call(
        UID, "without a key", keys_step.message_id, dry_runs, "Install"
    )
    # Taken in and on its way to the lock: the install would go out now, were it not for it.
    await env.tap_then_release(UID, "Install", keys_step.message_id, release)

    # The second check drew a new summary (its own token) before the Install tap ran: that
    # tap's token was superseded, so nothing was installed and the user is told to tap again.
    assert env.sim.runs["install"] == 0
    final = env.tg.message(UID, keys_step.message_id)
    assert any("Install" in label for label in labels(final)), final.text
    assert [m for m in env.tg.bot_messages(UID) if "already used" in m.text]


async def test_a_secret_typed_as_a_filter_is_deleted_and_never_shown(many: BotEnv) -> None:
    env = many
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await open_wizard(env, UID, order_id)
    for secret in ("Summer2024!", "sk-" + "A1b2C3d4" * 6):  # a password; a key over 40 chars
        before = env.screen(UID)
        pasted = await env.tg.send_text(UID, secret)
        screen = await env.answered(UID, before)
        assert env.tg.message(UID, pasted.message_id).deleted
        assert "deleted it from the chat" in screen.text
        assert "45 templates" in screen.text and len(template_labels(screen)) == 8
        assert not [m for m in env.tg.bot_messages(UID) if secret in m.text]
    # A word that looks the same but names an OS is a search, and stays.
    kept = await env.tg.send_text(UID, "centos7-64-default")
    filtered = await env.answered(UID, env.screen(UID))
    assert not env.tg.message(UID, kept.message_id).deleted
    assert "Filter: centos7-64-default" in filtered.text
    assert template_labels(filtered) == expected_labels(env, "centos7-64-default")
    assert env.tg.errors == []


# --------------------------------------------------------------------------- a crash mid-call


async def debian_summary(env: BotEnv, customer: Customer, uid: int = UID) -> FakeMessage:
    """A new paid order's install wizard at its checked summary: Debian 12, no key."""
    order_id = await paid_order(env, customer)
    await open_wizard(env, uid, order_id)
    await env.tap(uid, "Debian 12")
    return await env.tap(uid, "without a key" if uid == UID else "без ключа")


async def test_the_watch_is_written_with_the_spent_confirmation_before_the_answer(
    quiet: BotEnv,
) -> None:
    env = quiet
    customer = await env.linked(UID)
    summary = await debian_summary(env, customer)
    order_id = customer.orders[-1].id
    token = WizCb.unpack(summary.button("Install").callback_data or "").value
    env.sim.faults.hold("install")
    await env.tg.tap_button(UID, "Install", message_id=summary.message_id)
    await env.tg.wait_for(lambda: env.sim.held == 1, message="the provider to hold its answer")

    # run=1 is carried out and its answer is still on the way: a kill -9 now must not lose
    # the install, so its watch is already written, and the confirmation spent with it.
    (watch,) = await watches_of(env.db, UID)
    assert (watch.order_id, watch.kind) == (str(order_id), "install")
    assert watch.outcome_unknown and watch.accepted_at is None
    assert watch.status_message_id == summary.message_id
    assert await env.db.confirmations.peek(UID, token) is None
    # The watcher leaves it alone while this process still waits for the answer.
    polled = env.sim.calls["getinfo"]
    await watcher_of(env).sweep(env.bot)  # type: ignore[arg-type]
    assert env.sim.calls["getinfo"] == polled

    env.sim.faults.release_held()
    await env.settle()
    (watch,) = await watches_of(env.db, UID)
    assert not watch.outcome_unknown and watch.accepted_at is not None
    assert "Installation queued" in env.tg.message(UID, summary.message_id).text
    assert env.sim.runs["install"] == 1
    assert env.tg.errors == []


async def test_an_unreadable_install_answer_is_followed_to_the_ready_message(env: BotEnv) -> None:
    customer = await env.linked(UID)
    summary = await debian_summary(env, customer)
    order_id = str(customer.orders[-1].id)
    # The install is carried out; a PHP warning in front of its answer makes it unreadable.
    env.sim.faults.only_action = "install"
    env.sim.faults.warning_next = 1
    status = await env.tap(UID, "Install")
    assert status.message_id == summary.message_id
    assert env.sim.runs["install"] == 1
    # The watcher may already have followed up on it: the message's texts, in order.
    texts = [text for text, *_ in status.history] + [status.text]
    said = next(t for t in texts if "cannot tell yet" in t)
    assert "I am checking" in said
    await env.tg.wait_for(
        lambda: "Installation started" in status.text, message="the watcher to find the install"
    )
    env.sim.complete_installs()
    ready = await env.tg.wait_for_bot_message(
        UID, lambda m: "Your server is ready" in m.text, timeout=10
    )
    ip = server_at(env, customer, order_id).ip
    assert ip and ip in ready.text
    await env.tg.wait_for(lambda: "Installation finished" in status.text, message="ready")
    assert ip in status.text
    await env.settle()
    assert len([m for m in env.tg.bot_messages(UID) if "Your server is ready" in m.text]) == 1
    actions = await actions_of(env.db, UID)
    assert [(a.action, a.result) for a in actions] == [("install", "unknown:UnreadableAnswer")]
    assert env.sim.runs["install"] == 1
    assert env.tg.errors == []


async def test_an_install_the_provider_never_got_is_reported_as_maybe_not_sent(
    env: BotEnv,
) -> None:
    customer = await env.linked(UID)
    summary = await debian_summary(env, customer)
    order_id = str(customer.orders[-1].id)
    # The call hangs before the provider does anything, until the client gives up.
    env.sim.faults.only_action = "install"
    env.sim.faults.timeout_next = 1
    unknown = await env.tap(UID, "Install")
    assert "cannot tell yet" in unknown.text
    assert env.sim.runs["install"] == 0
    (watch,) = await watches_of(env.db, UID)
    assert watch.outcome_unknown

    # A provider may take a moment to show a queued install: a few looks give no verdict.
    polled = env.sim.calls["getinfo"]
    await env.tg.wait_for(lambda: env.sim.calls["getinfo"] >= polled + 3, message="polls")
    assert not [m for m in env.tg.bot_messages(UID) if "may not have been sent" in m.text]

    await age_watches(env.db, UNKNOWN_GRACE)
    notice = await env.tg.wait_for_bot_message(
        UID,
        lambda m: "may not have been sent" in m.text,
        timeout=10,
        after=summary.message_id,
    )
    assert labels(notice) == ["🖥 Open the server", "🔁 Install again…"]
    assert "may not have been sent" in env.tg.message(UID, summary.message_id).text
    await env.settle()
    assert await watches_of(env.db, UID) == []

    again = await env.tap(UID, "Install again")
    assert "Step 1 of 3" in again.text, again.text
    assert order_id in again.text
    assert env.sim.runs["install"] == 0
    assert env.tg.errors == []


# --------------------------------------------------------------------------- the status message

FOLLOWED = {
    "en": {
        "queued": "Installation queued",
        "progress": (
            "⏳ Installation of order {order} (Debian 12): installing, {minutes} minutes so far."
        ),
        "ready": (
            "✅ Installation finished for order {order}: Debian 12.\nThe server is ready at {ip}."
        ),
        "push": "Your server is ready",
    },
    "ru": {
        "queued": "Установка поставлена в очередь",
        "progress": (
            "⏳ Установка заказа {order} (Debian 12): устанавливается, прошло {minutes} минуты."
        ),
        "ready": "✅ Установка завершена для заказа {order}: Debian 12.\nСервер готов, адрес {ip}.",
        "push": "✅ Сервер готов",
    },
}


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_the_install_message_follows_the_install(quiet: BotEnv, language: str) -> None:
    env = quiet
    words = FOLLOWED[language]
    uid = UID if language == "en" else OTHER_UID
    customer = await env.linked(uid, language=language)
    summary = await debian_summary(env, customer, uid)
    order_id = str(customer.orders[-1].id)
    queued = await env.tap(uid, "✅")
    assert queued.message_id == summary.message_id
    assert words["queued"] in queued.text
    await woken_pass_done(env)
    watcher = watcher_of(env)
    message = env.tg.message(uid, queued.message_id)
    edits = message.edit_count

    async def sweep() -> None:
        await force_due(env.db)
        await watcher.sweep(env.bot)  # type: ignore[arg-type]

    await age_watches(env.db, 180)
    await sweep()
    assert message.text == words["progress"].format(order=order_id, minutes=3)
    assert message.edit_count == edits + 1
    assert labels(message) == labels(queued), "the keyboard stays"
    # At most one edit a minute.
    await sweep()
    assert message.edit_count == edits + 1
    await age_watches(env.db, 60)
    await sweep()
    assert message.text == words["progress"].format(order=order_id, minutes=4)

    env.sim.complete_installs()
    await sweep()
    ip = server_at(env, customer, order_id).ip
    assert message.text == words["ready"].format(order=order_id, ip=ip)
    pushes = [m for m in env.tg.bot_messages(uid) if words["push"] in m.text]
    assert len(pushes) == 1 and pushes[0].message_id != message.message_id
    final = message.edit_count
    for _ in range(2):
        await sweep()
    assert message.edit_count == final
    assert env.tg.errors == []


ENDINGS = {
    ("en", "timeout"): ("Installation is taking longer than usual for order", "longer than usual"),
    ("ru", "timeout"): ("Установка идёт дольше обычного для заказа", "дольше обычного"),
    ("en", "key"): (
        "I stopped following the installation of order",
        "no longer accepts your API key",
    ),
    ("ru", "key"): ("Я перестал следить за установкой заказа", "больше не принимает"),
}


@pytest.mark.parametrize(("language", "ending"), list(ENDINGS))
async def test_the_install_message_says_how_the_watch_ended(
    quiet: BotEnv, language: str, ending: str
) -> None:
    env = quiet
    status_text, push_text = ENDINGS[(language, ending)]
    uid = UID if language == "en" else OTHER_UID
    customer = await env.linked(uid, language=language)
    await debian_summary(env, customer, uid)
    queued = await env.tap(uid, "✅")
    await woken_pass_done(env)
    if ending == "timeout":
        await age_watches(env.db, env.settings.watch_timeout + 60)
    else:
        await client(env).get_api_key(customer.email, PASSWORD, generate=True)
    watcher = watcher_of(env)
    for _ in range(2):
        await force_due(env.db)
        await watcher.sweep(env.bot)  # type: ignore[arg-type]
    message = env.tg.message(uid, queued.message_id)
    assert status_text in message.text
    assert labels(message) == labels(queued)
    others = [m for m in env.tg.bot_messages(uid) if m.message_id != message.message_id]
    assert len([m for m in others if push_text in m.text]) == 1, "and the notification"
    assert await env.db.watches.open() == []
    assert env.tg.errors == []


async def test_a_reinstall_says_so_and_the_server_list_keeps_its_ip(quiet: BotEnv) -> None:
    env = quiet
    customer = await env.linked(UID)
    order_id = await paid_order(env, customer)
    await client(env).install(creds_of(customer), order_id, "debian12", [], run=True)
    env.sim.complete_installs()
    ip = server_at(env, customer, order_id).ip
    await open_wizard(env, UID, order_id, InstallMode.REINSTALL)
    await env.tap(UID, "Ubuntu 24.04")
    await env.tap(UID, "without a key")
    await env.tap(UID, "Reinstall…")
    queued = await env.tap(UID, f"erase {ip}")
    assert "Reinstallation queued" in queued.text and "Installation" not in queued.text
    await woken_pass_done(env)

    # The provider shows no address while it reinstalls; the list shows the one it had.
    listing = await env.command(UID, "/servers")
    assert ip in listing.text and "no IP yet" not in listing.text
    assert any(ip in label for label in labels(listing))

    watcher = watcher_of(env)
    await age_watches(env.db, 120)
    await force_due(env.db)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    message = env.tg.message(UID, queued.message_id)
    assert message.text == (
        f"⏳ Reinstallation of order {order_id} (Ubuntu 24.04): installing, 2 minutes so far."
    )
    env.sim.complete_installs()
    await force_due(env.db)
    await watcher.sweep(env.bot)  # type: ignore[arg-type]
    assert message.text.startswith("✅ Reinstallation finished for order")
    assert ip in message.text
    assert len([m for m in env.tg.bot_messages(UID) if "Your server is ready" in m.text]) == 1
    assert env.tg.errors == []
