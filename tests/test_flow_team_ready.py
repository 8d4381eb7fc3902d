"""The teammates' copies of the "server ready" message survive what the owner's survives: they
are stored with the watch's "notified" mark and sent from there, so Telegram refusing one for a
while, or the bot stopping right after the mark, only delays them — and each goes once."""

from __future__ import annotations

from pathlib import Path

from bot.inferno.simulator import Simulator
from bot.storage import TeamPush, WatchIntent
from tests.harness import BotEnv, Production, running_bot
from tests.push_helpers import flood_is_over
from tests.test_flow_members import MATE, OWNER, invite, join
from tests.test_flow_servers import installed_server


def copies(env: BotEnv) -> list[str]:
    return [m.text for m in env.tg.bot_messages(MATE) if "installed by" in m.text]


async def watch_install(env: BotEnv, cid: int, order_id: str) -> None:
    await env.db.watches.start_confirmed(
        OWNER,
        await env.db.confirmations.issue(OWNER, "install", {"cid": cid}),
        {"install"},
        chat_id=OWNER,
        status_message_id=None,
        intent=lambda confirmation: WatchIntent(order_id, "debian12"),
    )


async def test_a_copy_telegram_refuses_for_a_while_goes_later_once(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, sim=Simulator(install_delay=0.3)) as env:
        customer = await env.linked(OWNER)
        env.tg.add_user(OWNER, first_name="Olga")
        await join(env, await invite(env, customer, "Viewer"), first_name="Mate")
        order_id = await installed_server(env, customer, ready=False)
        # Flood control on the member's chat, longer than the bot waits in place.
        env.tg.rate_limit(MATE, retry_after=60)
        await watch_install(env, customer.cid, order_id)
        # Every push waits it out (bot/services/pacer.py); the test moves the time on.
        assert env.services is not None
        pacer = env.services.pacer
        await env.tg.wait_for(lambda: pacer.held() > 0, message="the 429's hold")
        flood_is_over(env)
        await env.tg.wait_for_bot_message(MATE, lambda m: "installed by" in m.text, timeout=20.0)
        await env.settle()
        assert len(copies(env)) == 1
        assert await env.db.watches.team_pushes() == []
        # The owner's own ready message went once too.
        owner_ready = [m for m in env.tg.bot_messages(OWNER) if "Your server is ready" in m.text]
        assert len(owner_ready) == 1, [m.text for m in env.tg.bot_messages(OWNER)]


async def test_a_copy_stored_before_a_crash_is_sent_after_the_restart_once(
    tmp_path: Path,
    engines: Production | None,
) -> None:
    async with running_bot(tmp_path, production=engines) as env:
        customer = await env.linked(OWNER)
        env.tg.add_user(OWNER, first_name="Olga")
        await join(env, await invite(env, customer, "Viewer"), first_name="Mate")
        (owned,) = await env.db.accounts.memberships(OWNER)
        await env.stop()
        # What a crash right after the watch's mark leaves: the copy stored, not sent.
        db = await env.open_database()
        text = "🔔 account\n✅ Server web installed by Olga"
        await db.watches.mark_notified(
            4242, [TeamPush(4242, MATE, owned.account.id, "47001", text, "Open server")]
        )
        await db.close()

        await env.start()
        pushed = await env.tg.wait_for_bot_message(MATE, lambda m: "installed by" in m.text)
        # Drawn for the member's account and role: its one button names the account.
        (button,) = pushed.buttons()
        assert (button.callback_data or "").split("|", 1)[0] != button.callback_data
        await env.stop()
        await env.start()
        await env.settle()
        assert len(copies(env)) == 1
        assert await env.db.watches.team_pushes() == []
        assert env.tg.errors == []
