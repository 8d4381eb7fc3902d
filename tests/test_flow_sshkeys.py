"""The SSH keys screen, driven as a user through the real dispatcher, fake Bot API and simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bot.inferno.simulator import Simulator, make_public_key
from tests.fakes.telegram import FakeMessage
from tests.harness import BotEnv, Production, creds_of, labels, running_bot
from tests.storage_helpers import actions_of

UID = 8001


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    async with running_bot(
        tmp_path, sim=Simulator(install_delay=60.0), production=engines
    ) as bot_env:
        yield bot_env


def ed25519_line(comment: str = "") -> str:
    line = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return f"{line} {comment}" if comment else line


def private_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


async def open_keys(env: BotEnv) -> FakeMessage:
    return await env.command(UID, "/keys")


async def test_add_a_valid_key_shows_it_with_its_new_id(env: BotEnv) -> None:
    customer = await env.linked(UID, keys=("laptop",))
    env.sim.reset_counters()
    listed = await open_keys(env)
    assert "laptop" in listed.text
    prompt = await env.tap(UID, "Add a key")
    assert "public" in prompt.text
    line = ed25519_line("me@workstation")
    name_prompt = await env.say(UID, f"  {line}  ")
    assert "me@workstation" in name_prompt.text
    assert "SHA256:" in name_prompt.text
    done = await env.tap(UID, "Skip")
    new = customer.ssh_keys[-1]
    assert new.public_key == line
    assert new.name == "me@workstation"
    assert f"Key me@workstation added (id {new.id})" in done.text
    assert f"me@workstation (id {new.id})" in done.text
    assert new.fingerprint in done.text
    assert env.sim.calls["sshkey.add"] == 1
    actions = await actions_of(env.db, UID)
    assert [(a.action, a.result) for a in actions] == [("sshkey-add", "ok")]
    assert env.tg.errors == []


async def test_adding_a_key_reads_the_list_before_and_after_only(env: BotEnv) -> None:
    await env.linked(UID, keys=("laptop",))
    await open_keys(env)
    await env.tap(UID, "Add a key")
    await env.say(UID, ed25519_line("me@workstation"))
    env.sim.reset_counters()
    done = await env.tap(UID, "Skip")
    assert "me@workstation" in done.text and "laptop" in done.text
    # Once to spot a key already there, once to learn the new id; the screen reuses that.
    assert env.sim.calls["sshkey.list"] == 2
    assert env.tg.errors == []


async def test_a_typed_name_is_used_and_a_bad_one_is_explained(env: BotEnv) -> None:
    customer = await env.linked(UID)
    await env.say(UID, "/menu")
    empty = await env.tap(UID, "SSH keys")
    assert "no SSH keys yet" in empty.text
    await env.tap(UID, "Add a key")
    await env.say(UID, ed25519_line())
    too_long = await env.say(UID, "n" * 100)
    assert "up to 64 characters" in too_long.text
    done = await env.say(UID, "  build   server <prod> ")
    assert customer.ssh_keys[0].name == "build server <prod>"
    assert "build server &lt;prod&gt;" not in done.text, "escaped once, shown as typed"
    assert "build server <prod>" in done.text
    assert env.tg.errors == []


async def test_malformed_pastes_get_clear_answers_and_the_dialog_goes_on(env: BotEnv) -> None:
    customer = await env.linked(UID)
    await open_keys(env)
    await env.tap(UID, "Add a key")
    body = ed25519_line().split()[1]
    cases = {
        "ssh-ed25519 AAAA$$$not-base64": "not valid base64",
        f"ssh-rsa {body}": "does not contain a ssh-rsa key",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP": "“ssh-dss” is not supported",
        "x" * 10_240: "far too long",
        f"{ed25519_line('a')}\n{ed25519_line('b')}": "more than one key",
        f"ssh-ed25519 {body[:30]}\n{body[30:]}": "several lines",
        "<b>hello</b> & goodbye": "supported key type",
    }
    for paste, expected in cases.items():
        answer = await env.say(UID, paste)
        assert expected in answer.text, (paste[:40], answer.text)
        assert "« SSH keys" in labels(answer)
    assert env.sim.calls["sshkey.add"] == 0
    # Still waiting for a key: a good one now goes through.
    await env.say(UID, ed25519_line("finally"))
    await env.tap(UID, "Skip")
    assert [k.name for k in customer.ssh_keys] == ["finally"]
    assert env.tg.errors == []


async def test_a_pasted_private_key_is_deleted_at_once_and_never_stored(env: BotEnv) -> None:
    customer = await env.linked(UID)
    await open_keys(env)
    await env.tap(UID, "Add a key")
    pem = private_pem()
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, pem)
    warning = await env.answered(UID, before)
    assert env.tg.message(UID, pasted.message_id).deleted
    assert "PRIVATE key" in warning.text
    assert "compromised" in warning.text
    assert env.sim.calls["sshkey.add"] == 0
    assert customer.ssh_keys == []
    database = b"".join(p.read_bytes() for p in env.tmp_path.glob("bot.sqlite3*"))
    assert b"PRIVATE KEY" not in database
    assert pem.splitlines()[1].encode() not in database

    # Outside the dialog too, and PuTTY files as well.
    await env.say(UID, "/menu")
    before = env.screen(UID)
    ppk = await env.tg.send_text(UID, "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none")
    again = await env.answered(UID, before)
    assert env.tg.message(UID, ppk.message_id).deleted
    assert "PRIVATE key" in again.text
    assert env.tg.errors == []


async def test_private_key_that_cannot_be_deleted_asks_the_user_to_do_it(env: BotEnv) -> None:
    await env.linked(UID)
    await open_keys(env)
    await env.tap(UID, "Add a key")
    env.tg.fail_delete(UID)
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, private_pem())
    warning = await env.answered(UID, before)
    assert not env.tg.message(UID, pasted.message_id).deleted
    assert "delete it yourself" in warning.text
    assert env.tg.errors[-1].method.lower() == "deletemessage"


async def test_adding_a_key_that_is_already_there_adds_nothing(env: BotEnv) -> None:
    customer = await env.linked(UID)
    line = ed25519_line("dup@host")
    await open_keys(env)
    await env.tap(UID, "Add a key")
    await env.say(UID, line)
    await env.tap(UID, "Skip")
    await env.tap(UID, "Add a key")
    await env.say(UID, line)
    done = await env.say(UID, "another name")
    assert "already in your account as dup@host" in done.text
    assert len(customer.ssh_keys) == 1
    assert env.sim.calls["sshkey.add"] == 1
    assert env.tg.errors == []


async def test_a_double_tap_on_skip_adds_the_key_once(env: BotEnv) -> None:
    customer = await env.linked(UID)
    await open_keys(env)
    await env.tap(UID, "Add a key")
    prompt = await env.say(UID, ed25519_line("twice@host"))
    data = prompt.button("Skip").callback_data
    assert data is not None
    await env.tg.tap(UID, prompt.message_id, data)
    await env.tg.tap(UID, prompt.message_id, data)
    await env.tg.wait_for_bot_message(UID, lambda m: "no key waiting" in m.text, timeout=10.0)
    await env.tg.wait_for(lambda: "added" in env.tg.message(UID, prompt.message_id).text)
    await env.tg.wait_idle()
    assert env.sim.calls["sshkey.add"] == 1
    assert [k.name for k in customer.ssh_keys] == ["twice@host"]
    assert env.tg.errors == []


async def test_remove_asks_first_and_a_double_tap_removes_once(env: BotEnv) -> None:
    customer = await env.linked(UID, keys=("laptop", "work"))
    laptop_id = customer.ssh_keys[0].id
    await open_keys(env)
    confirm = await env.tap(UID, "Remove laptop")
    assert "Remove the key laptop?" in confirm.text
    assert env.sim.calls["sshkey.remove"] == 0
    no = await env.tap(UID, "No")
    assert "laptop" in no.text and len(customer.ssh_keys) == 2

    confirm = await env.tap(UID, "Remove laptop")
    data = confirm.button("Yes, remove it").callback_data
    assert data is not None
    await env.tg.tap(UID, confirm.message_id, data)
    await env.tg.tap(UID, confirm.message_id, data)
    await env.tg.wait_for_bot_message(UID, lambda m: "already used" in m.text, timeout=10.0)
    await env.tg.wait_idle()
    assert env.sim.calls["sshkey.remove"] == 1
    assert [k.name for k in customer.ssh_keys] == ["work"]
    listed = env.tg.message(UID, confirm.message_id)
    assert "Key laptop removed" in listed.text
    assert f"(id {laptop_id})" not in listed.text
    actions = await actions_of(env.db, UID)
    assert [(a.action, a.result) for a in actions] == [("sshkey-remove", "ok")]
    assert env.tg.errors == []


async def test_forged_remove_buttons_never_touch_another_account(env: BotEnv) -> None:
    other = env.sim.add_customer("other@example.com", "pw")
    assert env.services is not None
    await env.services.inferno.sshkey_add(creds_of(other), make_public_key("theirs"), "theirs")
    await env.linked(UID, keys=("mine",))
    listed = await open_keys(env)
    for forged in (f"k:r:{other.ssh_keys[0].id}:0:", "k:d::0:nonsense", "k:zz", "k:r:1:x:"):
        before = env.screen(UID)
        await env.tg.tap(UID, listed.message_id, forged, verify=False)
        answer = await env.answered(UID, before)
        assert any(
            word in answer.text for word in ("not in your account", "already used", "expired")
        ), (forged, answer.text)
        listed = await open_keys(env)
    assert env.sim.calls["sshkey.remove"] == 0
    assert len(other.ssh_keys) == 1
    assert env.tg.unanswered_callbacks() == []
    assert env.tg.errors == []


async def test_long_lists_are_paginated_with_short_buttons(env: BotEnv) -> None:
    names = tuple(f"<i>key {n}</i> & " + "я" * 60 for n in range(21))
    await env.linked(UID, keys=names)
    first = await open_keys(env)
    assert "21" in first.text
    assert "&lt;i&gt;" not in first.text and "<i>key 0</i> &" in first.text
    assert "1/3" in labels(first)
    # The message is edited in place: read each page before turning it.
    removes = []
    for turn in range(3):
        page = env.tg.last_bot_message(UID) if turn == 0 else await env.tap(UID, "Next ›")
        assert len(page.text) <= 4096
        removes += [b for b in page.buttons() if b.text.startswith("🗑")]
    assert len(removes) == 21
    assert len({b.callback_data for b in removes}) == 21
    for button in removes:
        assert button.callback_data is not None
        assert len(button.callback_data.encode()) <= 64
        assert len(button.text) <= 48
    assert env.tg.errors == []


async def test_provider_trouble_offers_retry_and_keeps_the_pasted_key(env: BotEnv) -> None:
    customer = await env.linked(UID)
    await open_keys(env)
    await env.tap(UID, "Add a key")
    await env.say(UID, ed25519_line("kept@host"))
    env.sim.faults.http_500_next = 10
    await env.tg.tap_button(UID, "Skip")
    failed = await env.tg.wait_for_bot_message(UID, lambda m: "not answering" in m.text)
    await env.tg.wait_idle()
    assert "Retry" in " ".join(labels(failed))
    env.sim.faults.clear()
    done = await env.tap(UID, "Retry")
    assert "Key kept@host added" in done.text
    assert [k.name for k in customer.ssh_keys] == ["kept@host"]
    assert env.tg.errors == []


async def test_rsa_key_in_russian(env: BotEnv) -> None:
    customer = env.customer(email="ru-keys@example.com")
    await env.link(UID, customer, language="ru")
    listed = await open_keys(env)
    assert "нет SSH-ключей" in listed.text
    await env.tap(UID, "Добавить ключ")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    line = key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    ask = await env.say(UID, line)
    assert "Ключ корректный" in ask.text
    done = await env.tap(UID, "Пропустить")
    assert "добавлен" in done.text
    assert customer.ssh_keys[0].key_type == "ssh-rsa"
    assert env.tg.errors == []


async def test_an_api_key_pasted_as_a_key_or_a_name_is_deleted_and_never_shown(
    env: BotEnv,
) -> None:
    customer = await env.linked(UID)
    await open_keys(env)
    await env.tap(UID, "Add a key")
    for secret in ("sk-proj-A1b2C3d4E5f6G7h8I9j0", "Summer2024 and more words"):
        before = env.screen(UID)
        pasted = await env.tg.send_text(UID, secret)
        answer = await env.answered(UID, before)
        assert env.tg.message(UID, pasted.message_id).deleted
        assert "deleted it from the chat" in answer.text and "supported key type" in answer.text
        assert "« SSH keys" in labels(answer)
    await env.say(UID, ed25519_line())
    before = env.screen(UID)
    pasted = await env.tg.send_text(UID, "q0Dx8n2yJc0dQmXl2y1sZk9rVb7uTq3w")
    answer = await env.answered(UID, before)
    assert env.tg.message(UID, pasted.message_id).deleted
    assert "deleted it from the chat" in answer.text
    assert any(label.startswith("Skip") for label in labels(answer))
    assert customer.ssh_keys == []
    done = await env.say(UID, "WorkPC2024")  # a short name that mixes cases and digits
    assert customer.ssh_keys[0].name == "WorkPC2024" and "WorkPC2024" in done.text
    for secret in ("sk-proj-A1b2C3d4E5f6G7h8I9j0", "Summer2024", "q0Dx8n2yJc0dQmXl"):
        assert not [m for m in env.tg.bot_messages(UID) if secret in m.text]
    assert env.tg.errors == []
