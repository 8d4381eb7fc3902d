"""End to end: the real ``python -m bot`` process, walked through like a user.

The bot runs as a subprocess configured only by environment variables; the fake Bot API and
the simulator run in the test. Afterwards neither the captured logs nor the database file may
contain the API key or the password.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bot.inferno.simulator import Customer, Simulator, make_public_key
from bot.middlewares.inflight import UPDATES_AT_ONCE
from tests.e2e_process import SETTING_NAMES, BotProcess, bot_process
from tests.fakes.telegram import FakeMessage, FakeTelegram

UID = 424242
PASSWORD = "e2e-Pa55word!"
TIMEOUT = 20.0


def screen(tg: FakeTelegram) -> tuple[int, int]:
    messages = tg.bot_messages(UID, include_deleted=True)
    return len(messages), sum(m.edit_count + m.deleted for m in messages)


async def after(tg: FakeTelegram, before: tuple[int, int]) -> FakeMessage:
    """The bot's answer to the last action: something changed, then it went quiet."""
    await tg.wait_for(lambda: screen(tg) != before, TIMEOUT, "the bot to answer")
    await tg.wait_idle(timeout=TIMEOUT)
    return tg.last_bot_message(UID)


async def tap(tg: FakeTelegram, text: str) -> FakeMessage:
    before = screen(tg)
    await tg.tap_button(UID, text)
    return await after(tg, before)


async def say(tg: FakeTelegram, text: str, *, language_code: str = "en") -> FakeMessage:
    before = screen(tg)
    if text.startswith("/"):
        await tg.send_command(UID, text, language_code=language_code)
    else:
        await tg.send_text(UID, text, language_code=language_code)
    return await after(tg, before)


async def wait_started(tg: FakeTelegram, proc: BotProcess) -> None:
    def polling() -> bool:
        assert proc.process is not None
        if proc.process.returncode is not None:
            raise AssertionError(f"the bot exited early:\n{proc.logs()}")
        return tg.polling_active

    await tg.wait_for(polling, 30.0, "the bot process to start polling")


async def link_by_key(tg: FakeTelegram, customer: Customer) -> None:
    await say(tg, "/start")
    await tap(tg, "Client id + API key")
    await say(tg, str(customer.cid))
    key_message = await tg.send_text(UID, customer.key)
    linked = await tg.wait_for_bot_message(
        UID, lambda m: "…" in m.text, timeout=TIMEOUT, after=key_message.message_id
    )
    await tg.wait_idle(timeout=TIMEOUT)
    assert tg.message(UID, key_message.message_id).deleted, "the key message must be deleted"
    assert customer.key not in linked.text


async def install_summary(tg: FakeTelegram, sim: Simulator) -> FakeMessage:
    """Buys a server and walks the install wizard up to its checked summary."""
    await say(tg, "/menu")
    await tap(tg, "Buy a server")
    await tap(tg, "VPS Start")
    await tap(tg, "Buy for")
    await tap(tg, "Confirm the purchase")
    assert sim.calls["create"] == 1
    await tap(tg, "Install OS")
    await tap(tg, "Debian 12")
    await tap(tg, "laptop")
    summary = await tap(tg, "Continue")
    if any("Check the settings" in b.text for b in summary.buttons()):
        summary = await tap(tg, "Check the settings")
    return summary


async def buy_and_install(tg: FakeTelegram, sim: Simulator) -> FakeMessage:
    await install_summary(tg, sim)
    queued = await tap(tg, "Install")
    assert "queued" in queued.text.lower()
    return queued


def assert_no_secrets(proc: BotProcess, *secrets: str) -> None:
    logs = proc.logs()
    data = proc.data_bytes()
    assert data, "the database file should exist"
    for secret in secrets:
        assert secret not in logs, "a secret leaked into the logs"
        assert secret.encode() not in data, "a secret is stored in plain text"


async def test_a_user_walks_through_everything(tmp_path: Path) -> None:
    sim = Simulator(install_delay=1.5)
    customer = sim.add_customer(email="e2e@example.com", password=PASSWORD, balance="100.00")
    sim.handle(
        "sshkey.add",
        {"cid": str(customer.cid), "sshkey": make_public_key("e2e"), "name": "laptop"},
        customer.key,
    )
    async with bot_process(tmp_path, sim) as (proc, tg, _server):
        await wait_started(tg, proc)
        assert "inferno-bot" in proc.logs() and "starting" in proc.logs()
        assert {lang for (_scope, lang) in tg.commands} >= {"en", "ru"}

        await link_by_key(tg, customer)

        await say(tg, "/menu")
        balance = await tap(tg, "Balance")
        assert "100.00" in balance.text

        await buy_and_install(tg, sim)
        assert sim.runs["install"] == 1

        ready = await tg.wait_for_bot_message(
            UID, lambda m: "Your server is ready" in m.text, timeout=TIMEOUT
        )
        server_ip = customer.orders[-1].server.ip  # type: ignore[union-attr]
        assert server_ip and server_ip in ready.text

        await tap(tg, "Open server")
        await tap(tg, "Reboot")
        rebooted = await tap(tg, "Yes, reboot")
        assert sim.calls["reboot"] == 1, rebooted.text

        await say(tg, "/menu")
        await tap(tg, "Settings")
        russian = await tap(tg, "Русский")
        assert "Настройки" in russian.text or "Язык" in russian.text, russian.text
        menu = await say(tg, "/menu")
        assert "Выберите действие" in menu.text
        await tap(tg, "Настройки")
        await tap(tg, "Отвязать")
        unlinked = await tap(tg, "Да, отвязать")
        assert "отвязан" in unlinked.text.lower(), unlinked.text

        code = await proc.stop(signal.SIGTERM, timeout=10)
        assert code == 0, proc.logs()
        assert "Traceback" not in proc.logs()
        # One line per event, with who and what, and nothing the user typed.
        logs = proc.logs()
        assert f"user={UID} event=command action=/start result=ok" in logs
        assert f"user={UID} event=message action=- result=ok" in logs
        assert f"user={UID} event=tap action=" in logs
        order_id = customer.orders[-1].id
        assert f"user={UID} action=reboot order={order_id} result=ok" in logs
        assert_no_secrets(proc, customer.key, PASSWORD)


async def test_sigkill_mid_install_still_notifies_exactly_once(tmp_path: Path) -> None:
    sim = Simulator(install_delay=4.0)
    customer = sim.add_customer(email="kill@example.com", password=PASSWORD, balance="100.00")
    sim.handle(
        "sshkey.add",
        {"cid": str(customer.cid), "sshkey": make_public_key("k"), "name": "laptop"},
        customer.key,
    )
    async with bot_process(tmp_path, sim) as (proc, tg, _server):
        await wait_started(tg, proc)
        await link_by_key(tg, customer)
        await buy_and_install(tg, sim)

        code = await proc.stop(signal.SIGKILL)
        assert code == -signal.SIGKILL
        assert not any("Your server is ready" in m.text for m in tg.bot_messages(UID))

        await proc.start()
        await wait_started(tg, proc)
        await tg.wait_for_bot_message(
            UID, lambda m: "Your server is ready" in m.text, timeout=TIMEOUT
        )
        # Several more watcher intervals (0.3 s) must stay silent.
        await asyncio.sleep(1.5)
        assert await proc.stop(signal.SIGTERM) == 0
        ready = [m for m in tg.bot_messages(UID) if "Your server is ready" in m.text]
        assert len(ready) == 1
        assert_no_secrets(proc, customer.key, PASSWORD)


async def test_sigkill_while_the_provider_holds_the_install_answer(tmp_path: Path) -> None:
    """The confirmation is spent and ``run=1`` carried out, but the answer is still on its way
    when the process dies: after the restart the watcher finds the install and announces the
    server exactly once, and the message the install was confirmed in follows it."""
    sim = Simulator(install_delay=3.0)
    customer = sim.add_customer(email="hold@example.com", password=PASSWORD, balance="100.00")
    sim.handle(
        "sshkey.add",
        {"cid": str(customer.cid), "sshkey": make_public_key("h"), "name": "laptop"},
        customer.key,
    )
    async with bot_process(tmp_path, sim) as (proc, tg, _server):
        await wait_started(tg, proc)
        await link_by_key(tg, customer)
        summary = await install_summary(tg, sim)
        sim.faults.hold("install")
        await tg.tap_button(UID, "Install", message_id=summary.message_id)
        await tg.wait_for(lambda: sim.held == 1, TIMEOUT, "the provider to hold its answer")
        assert sim.runs["install"] == 1

        assert await proc.stop(signal.SIGKILL) == -signal.SIGKILL
        sim.faults.release_held()
        assert not [m for m in tg.bot_messages(UID) if "queued" in m.text.lower()]

        await proc.start()
        await wait_started(tg, proc)
        ready = await tg.wait_for_bot_message(
            UID, lambda m: "Your server is ready" in m.text, timeout=TIMEOUT
        )
        server_ip = customer.orders[-1].server.ip  # type: ignore[union-attr]
        assert server_ip and server_ip in ready.text
        status = tg.message(UID, summary.message_id)
        await tg.wait_for(
            lambda: "finished" in status.text, TIMEOUT, "the status message to say ready"
        )
        assert server_ip in status.text
        # Several more watcher intervals (0.3 s) must stay silent.
        await asyncio.sleep(1.5)
        assert await proc.stop(signal.SIGTERM) == 0
        assert len([m for m in tg.bot_messages(UID) if "Your server is ready" in m.text]) == 1
        assert sim.runs["install"] == 1, "never sent again"
        assert not [m for m in tg.bot_messages(UID) if "already used" in m.text]
        assert "Traceback" not in proc.logs()
        assert_no_secrets(proc, customer.key, PASSWORD)


async def test_demo_mode_needs_only_a_token(tmp_path: Path) -> None:
    """``--demo``: the simulator runs inside the bot process, demo data in its own database."""
    async with FakeTelegram() as tg:
        env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
        env.update(
            BOT_TOKEN=tg.token,
            TELEGRAM_API_URL=tg.base_url,
            DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
            ENCRYPTION_KEY_FILE=str(tmp_path / "secret.key"),
            DEFAULT_LANGUAGE="en",
        )
        proc = BotProcess(
            tmp_path=tmp_path, env=env, log_path=tmp_path / "bot.log", args=("--demo",)
        )
        await proc.start()
        try:
            await wait_started(tg, proc)
            await say(tg, "/start")
            linked = await tap(tg, "Use the demo account")
            assert "DEMO" in linked.text
            # The demo's renewal alert comes at once after the link; wait for it, so that the
            # menu below is the last message.
            await tg.wait_for_bot_message(UID, lambda m: "due for renewal" in m.text)
            await say(tg, "/menu")
            servers = await tap(tg, "My servers")
            assert "DEMO" in servers.text
            assert "37.1.0.111" in servers.text
            assert await proc.stop(signal.SIGTERM, timeout=10) == 0
        finally:
            if proc.process is not None:
                proc.process.kill()
                await proc.process.wait()
    assert (tmp_path / "demo-bot.sqlite3").exists()
    assert not (tmp_path / "bot.sqlite3").exists(), "demo data must not mix with real accounts"


async def test_unreachable_telegram_or_a_rejected_token_is_one_line(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        base = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
        base.update(
            DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
            ENCRYPTION_KEY_FILE=str(tmp_path / "secret.key"),
        )
        cases = [
            ({"BOT_TOKEN": "999:not-the-fakes-token", "TELEGRAM_API_URL": tg.base_url}, 2),
            ({"BOT_TOKEN": tg.token, "TELEGRAM_API_URL": "http://127.0.0.1:9"}, 1),
        ]
        for extra, expected in cases:
            log_path = tmp_path / f"bot-{expected}.log"
            proc = BotProcess(tmp_path=tmp_path, env={**base, **extra}, log_path=log_path)
            await proc.start()
            assert proc.process is not None
            code = await asyncio.wait_for(proc.process.wait(), timeout=30)
            assert code == expected, proc.logs()
            assert "Traceback" not in proc.logs()
            last = proc.logs().strip().splitlines()[-1]
            assert last.startswith("inferno-bot: "), last
            assert "not-the-fakes-token" not in proc.logs()


async def test_the_bot_handles_a_bounded_number_of_updates_at_once(tmp_path: Path) -> None:
    """A getUpdates batch of many users is handled at most UPDATES_AT_ONCE at a time: each
    handler in flight holds memory the process never gives back (bench/RESULTS.md)."""
    users = UPDATES_AT_ONCE + 20
    async with bot_process(tmp_path, Simulator()) as (proc, tg, _server):
        await wait_started(tg, proc)
        await tg.wait_idle(timeout=TIMEOUT)
        # Every welcome takes Telegram a while: the handlers that send them stay in flight.
        tg.answer_delays["sendmessage"] = 0.5
        tg.peak_in_flight = 0
        for n in range(users):
            await tg.send_command(UID + 1 + n, "/start", language_code="en")
        await tg.wait_for(
            lambda: len(tg.calls("sendMessage")) >= users, TIMEOUT, "a welcome for everyone"
        )
        await tg.wait_idle(timeout=TIMEOUT)
    # Not one at a time either: the rest of a batch waits only for a free place.
    assert 1 < tg.peak_in_flight <= UPDATES_AT_ONCE, tg.peak_in_flight
