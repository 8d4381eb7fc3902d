"""End to end in webhook mode: the real ``python -m bot`` process takes its updates from the
fake Bot API by webhook, configured only by the environment variables the README documents."""

from __future__ import annotations

import signal
from pathlib import Path

import aiohttp
from yarl import URL

from bot.inferno.simulator import Simulator, make_public_key
from tests.e2e_process import BotProcess, bot_process
from tests.fakes.telegram import FakeTelegram
from tests.harness import WEBHOOK_SECRET, webhook_settings
from tests.test_e2e import PASSWORD, TIMEOUT, UID, assert_no_secrets, buy_and_install, link_by_key


async def wait_webhook(tg: FakeTelegram, proc: BotProcess) -> None:
    def webhook_set() -> bool:
        assert proc.process is not None
        if proc.process.returncode is not None:
            raise AssertionError(f"the bot exited early:\n{proc.logs()}")
        return tg.webhook is not None

    await tg.wait_for(webhook_set, 30.0, "the bot process to set its webhook")


async def test_the_bot_process_in_webhook_mode(tmp_path: Path) -> None:
    sim = Simulator(install_delay=1.0)
    customer = sim.add_customer(email="hook@example.com", password=PASSWORD, balance="100.00")
    sim.handle(
        "sshkey.add",
        {"cid": str(customer.cid), "sshkey": make_public_key("e2e"), "name": "laptop"},
        customer.key,
    )
    webhook = webhook_settings()
    env = {
        "WEBHOOK_URL": webhook["webhook_url"],
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_LISTEN": webhook["webhook_listen"],
    }
    base = URL(webhook["webhook_url"]).with_path("/")
    async with bot_process(tmp_path, sim, **env) as (proc, tg, _server):
        await wait_webhook(tg, proc)
        assert tg.webhook is not None and tg.webhook.secret_token == WEBHOOK_SECRET
        assert tg.calls("getUpdates") == []

        await link_by_key(tg, customer)
        # The next update (/menu) is delivered twice, its first answer "arriving late": handled
        # once, and the purchase after it makes one order.
        tg.lose_webhook_answer(times=1)
        await buy_and_install(tg, sim)
        assert sim.calls["create"] == 1
        assert any(d.error == "Read timeout expired" for d in tg.deliveries)
        await tg.wait_for_bot_message(
            UID, lambda m: "Your server is ready" in m.text, timeout=TIMEOUT
        )
        assert tg.unanswered_callbacks() == []

        async with aiohttp.ClientSession() as http:
            async with http.get(base.with_path("/healthz")) as response:
                assert response.status == 200
            async with http.get(base.with_path("/metrics")) as response:
                metrics = await response.text()
        for family in (
            "inferno_bot_updates_handled_total",
            "inferno_bot_handler_seconds_bucket",
            "inferno_bot_provider_calls_total",
            'inferno_bot_pushes_total{kind="install",result="sent"} 1.0',
            "inferno_bot_open_watches 0.0",
            "inferno_bot_updates_repeated_total 1.0",
        ):
            assert family in metrics

        code = await proc.stop(signal.SIGTERM, timeout=10)
        assert code == 0, proc.logs()
        logs = proc.logs()
        assert "Traceback" not in logs
        assert "mode=webhook" in logs and "webhook mode: listening" in logs
        assert_no_secrets(proc, customer.key, PASSWORD, WEBHOOK_SECRET)
        # The webhook stays set: what Telegram gets while the bot is down waits for it.
        assert tg.webhook is not None
