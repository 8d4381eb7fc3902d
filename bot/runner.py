"""The process lifecycle: open services, poll until SIGTERM/SIGINT, close everything.

The storage opens before aiogram and the handlers are imported: a start-up that fails on the
database or the key (the commonest operator mistakes) says so in one line without spending a
second of CPU on loading the Telegram side it would never use."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from bot import __version__
from bot.config import Settings, demo_database_path
from bot.i18n import TranslatorHub
from bot.inferno.models import Credentials
from bot.storage.startup import Footprint, open_storage

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.storage import Database

log = logging.getLogger("bot")

TELEGRAM_DEFAULT_API = "https://api.telegram.org"


async def run_bot(settings: Settings, *, demo: bool = False) -> None:
    async with AsyncExitStack() as stack:
        demo_account: Credentials | None = None
        if demo:
            settings, demo_account = await _start_demo(stack, settings)
        hub = TranslatorHub(default_locale=settings.default_language)
        # Entered first, so it runs last: once the database is closed and unlocked, a start-up
        # that failed removes the folders and files it created.
        footprint = Footprint()
        stack.callback(footprint.undo)
        db = await open_storage(
            settings.database_path,
            settings.encryption_key_file,
            env_key=settings.encryption_key,
            database_url=settings.database_url,
            footprint=footprint,
        )
        stack.push_async_callback(db.close)
        await _serve(stack, settings, db, hub, footprint, demo_account)


async def _serve(
    stack: AsyncExitStack,
    settings: Settings,
    db: Database,
    hub: TranslatorHub,
    footprint: Footprint,
    demo_account: Credentials | None,
) -> None:
    """Everything after the storage: Redis, the Telegram side, and serving until a signal."""
    from bot.app import (
        Services,
        create_bot,
        create_dispatcher,
        create_inferno_client,
        create_leadership,
    )
    from bot.middlewares.demo import DemoMarkMiddleware
    from bot.middlewares.inflight import UPDATES_AT_ONCE
    from bot.runtime.gc_tuning import tune_garbage_collector
    from bot.runtime.heap_trim import trim_heap, trimming
    from bot.services.notices import NOTICES_INTERVAL, NOTICES_TASK, NoticeSender

    demo = demo_account is not None
    if settings.webhook_url is None and db.shared and settings.database_url is not None:
        await _hold_polling_lock(stack, settings, settings.database_url.get_secret_value())
    redis = None
    if settings.redis_url is not None:
        from bot.services.shared_state import check_redis, open_redis

        redis = open_redis(settings)
        # Closed after the dispatcher's shutdown (the handlers and loops that use it).
        stack.push_async_callback(redis.aclose)
        await check_redis(redis, settings)
    metrics = None
    if settings.webhook_url is not None:
        from bot.webhook.metrics import BotMetrics

        metrics = BotMetrics()
    inferno = create_inferno_client(settings, metrics)
    stack.push_async_callback(inferno.aclose)
    services = Services(
        settings=settings,
        db=db,
        inferno=inferno,
        hub=hub,
        demo_account=demo_account,
        metrics=metrics,
        redis=redis,
        leadership=create_leadership(settings, db),
    )
    bot = create_bot(settings, redis)
    if demo:
        bot.session.middleware(DemoMarkMiddleware())
    stack.push_async_callback(bot.session.close)
    dp = create_dispatcher(services)
    notices = NoticeSender(db, hub, services.pacer)

    def start_notices(bot: Bot) -> None:
        services.background.start(NOTICES_TASK, lambda: notices.deliver(bot), NOTICES_INTERVAL)

    services.leader_loops.append(start_notices)
    log.info(
        "inferno-bot %s starting: telegram=%s inferno=%s database=%s%s mode=%s%s",
        __version__,
        settings.telegram_api_url or TELEGRAM_DEFAULT_API,
        settings.inferno_api_url,
        db.name,  # never the URL: it may hold a password
        f" redis={settings.redis_url_for_log}" if redis is not None else "",
        "webhook" if settings.webhook_url else "polling",
        " (demo)" if demo else "",
    )
    if not settings.allowed_users:
        log.warning(
            "ALLOWED_USERS is empty: the bot is open to every Telegram user; to restrict it, "
            "set ALLOWED_USERS=id1,id2 (their Telegram user ids)"
        )
    # Fail fast, in one line, on a wrong token or an unreachable Bot API (see __main__).
    me = await bot.me()  # cached on the Bot: polling asks for it again
    footprint.keep()
    log.info("connected to Telegram as @%s", me.username)
    tune_garbage_collector()
    trim_heap()  # what start-up freed (after the collection above)
    await stack.enter_async_context(trimming())
    if metrics is not None:
        from bot.webhook.server import WebhookServer, serve_until_signal

        server = WebhookServer(
            settings=settings, bot=bot, dp=dp, db=db, metrics=metrics, redis=redis
        )
        await serve_until_signal(server)
    else:
        await _leave_webhook_mode(bot)
        # aiogram stops polling on SIGTERM/SIGINT; shutdown hooks then stop the background
        # tasks.
        await dp.start_polling(
            bot,
            polling_timeout=20,
            handle_signals=True,
            tasks_concurrency_limit=UPDATES_AT_ONCE,
        )
    log.info("inferno-bot stopped")


async def _hold_polling_lock(stack: AsyncExitStack, settings: Settings, database_url: str) -> None:
    """Telegram hands each update to one poller: on a shared database, a second replica that
    would poll stops here in one line (bot.services.leader.PollingTakenError, exit 2)."""
    from bot.services.leader import POLLER_SESSION, connector, hold_polling_lock, polling_key

    connect = connector(database_url, settings.leader_interval, POLLER_SESSION)
    from bot.app import bot_id_of

    conn = await hold_polling_lock(connect, polling_key(bot_id_of(settings)))
    # Closing the connection gives the lock up.
    stack.callback(conn.terminate)


async def _leave_webhook_mode(bot: Bot) -> None:
    """Telegram refuses getUpdates while a webhook is set (a bot that ran in webhook mode
    before): remove it, keeping the updates that wait."""
    info = await bot.get_webhook_info()
    if info.url:
        log.info("a webhook was set; removing it to poll (pending updates are kept)")
        await bot.delete_webhook(drop_pending_updates=False)


async def _start_demo(stack: AsyncExitStack, settings: Settings) -> tuple[Settings, Credentials]:
    from bot.inferno.simulator import DEMO_PASSWORD, Simulator, SimulatorServer

    simulator = Simulator(install_delay=20.0)
    demo_customer = simulator.demo()
    server = SimulatorServer(simulator)
    await stack.enter_async_context(server)
    # These credentials are fake and exist only in this simulator: printed so that a newcomer
    # can try every way of linking (the /start button "Use the demo account" needs none). No
    # "key=" form: the log's secret masking would hide exactly what is meant to be seen.
    log.info(
        "demo simulator on %s; demo account (fake): cid %s, key %s, email %s, password %s "
        '— or tap "Use the demo account" after /start',
        server.url,
        demo_customer.cid,
        demo_customer.key,
        demo_customer.email,
        DEMO_PASSWORD,
    )
    # Demo data lives in its own database so it never mixes with real accounts.
    demo_db = demo_database_path(settings.database_path)
    demo_settings = settings.model_copy(
        update={"inferno_api_url": server.url, "database_path": demo_db, "database_url": None}
    )
    return demo_settings, Credentials(cid=demo_customer.cid, key=demo_customer.key)
