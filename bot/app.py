"""Factories shared by ``python -m bot``, the demo and the tests.

Long-lived services are created once and handed to handlers as dispatcher data; nothing here
is a module-level global.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeDefault

from bot.account_scope import BindButtons
from bot.config import Settings
from bot.handlers import guarded_taps, setup_routers
from bot.handlers.accounts import FOLLOWS_ACTIVE
from bot.handlers.start import BOT_COMMANDS, PASS_THROUGH_COMMANDS
from bot.i18n import TranslatorHub
from bot.inferno.client import InfernoClient
from bot.inferno.models import Credentials
from bot.middlewares import AccessMiddleware, UserContextMiddleware
from bot.middlewares.answer_taps import AnswerTapsMiddleware
from bot.middlewares.chat_action import ChatActionThrottle
from bot.middlewares.event_log import EventLogMiddleware
from bot.middlewares.flood_wait import FloodWait
from bot.middlewares.inflight import InFlightMiddleware
from bot.middlewares.update_order import OneUpdatePerUser
from bot.middlewares.user_lock import UserLockMiddleware
from bot.runtime.forget_updates import forget_handled_updates
from bot.runtime.response_types import KeepResponseTypes
from bot.screens import DrawnScreens
from bot.services.alerts import ACCOUNTS_TASK, MONITOR_TASK, AlertService, UnblockMiddleware
from bot.services.background import BackgroundTasks
from bot.services.deletions import DELETIONS_TASK, DeletionScheduler
from bot.services.locks import UserLocks
from bot.services.pacer import PushPacer
from bot.services.watcher import WATCHER_TASK, InstallWatcher
from bot.storage import Database
from bot.webhook.dedup import DropRepeatedUpdates

if TYPE_CHECKING:
    from bot.webhook.metrics import BotMetrics

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5.0
HOUSEKEEPING_INTERVAL = 3600.0
SEEN_UPDATES_KEPT = 24 * 3600.0


@dataclass
class Services:
    """Everything long-lived the handlers need; one instance per process."""

    settings: Settings
    db: Database
    inferno: InfernoClient
    hub: TranslatorHub
    locks: UserLocks = field(default_factory=UserLocks)
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    # Every push (alerts, install messages, notices) waits its turn here: together they stay
    # under Telegram's global rate.
    pacer: PushPacer = field(default_factory=PushPacer)
    # Demo mode: the simulator's demo customer, offered by /start as a one-tap account.
    demo_account: Credentials | None = None
    # This process's metrics (webhook mode serves them); None counts nothing.
    metrics: BotMetrics | None = None


def create_bot(settings: Settings) -> Bot:
    api = (
        TelegramAPIServer.from_base(settings.telegram_api_url)
        if settings.telegram_api_url
        else None
    )
    proxy = settings.telegram_proxy.get_secret_value() if settings.telegram_proxy else None
    session = AiohttpSession(api=api, proxy=proxy) if api else AiohttpSession(proxy=proxy)
    bot = Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    # First: the others (the drawn screens) see each keyboard bound as Telegram will show it.
    bot.session.middleware(BindButtons())
    bot.session.middleware(KeepResponseTypes())
    bot.session.middleware(ChatActionThrottle())
    bot.session.middleware(DrawnScreens())
    # Innermost of these, so a request sent again does not pass them twice (demo mode adds
    # its mark later; it does nothing to a text that already carries it).
    bot.session.middleware(FloodWait())
    return bot


def create_inferno_client(settings: Settings, metrics: BotMetrics | None = None) -> InfernoClient:
    return InfernoClient(
        settings.inferno_api_url,
        connect_timeout=settings.inferno_connect_timeout,
        timeout=settings.inferno_timeout,
        max_connections=settings.inferno_max_connections,
        cache_ttl=settings.read_cache_ttl,
        observer=metrics.provider_call if metrics is not None else None,
    )


def create_dispatcher(services: Services) -> Dispatcher:
    settings = services.settings
    if not forget_handled_updates():
        log.warning("aiogram's Update.event_type has changed shape: handled updates may be kept")
    # The FSM middleware, with the lock that keeps one user's updates in order, is added below
    # after the tap answers rather than first thing (bot/middlewares/update_order.py).
    dp = Dispatcher(storage=services.db.fsm, events_isolation=OneUpdatePerUser(), disable_fsm=True)
    # One limit on provider calls for every background pass: the install watcher and the
    # alerts together never make more than WATCH_CONCURRENCY at once.
    limiter = asyncio.Semaphore(settings.watch_concurrency)
    watcher = InstallWatcher(
        db=services.db,
        inferno=services.inferno,
        hub=services.hub,
        interval=settings.watch_interval,
        timeout=settings.watch_timeout,
        concurrency=settings.watch_concurrency,
        limiter=limiter,
        on_push=services.metrics.push if services.metrics is not None else None,
        pacer=services.pacer,
        allowed_users=settings.allowed_users,
    )
    alerts = AlertService(
        db=services.db,
        inferno=services.inferno,
        hub=services.hub,
        settings=settings,
        limiter=limiter,
        pacer=services.pacer,
    )
    deletions = DeletionScheduler(services.db)
    in_flight = InFlightMiddleware()
    dp.workflow_data.update(
        settings=settings,
        db=services.db,
        inferno=services.inferno,
        hub=services.hub,
        locks=services.locks,
        background=services.background,
        watcher=watcher,
        alerts=alerts,
        deletions=deletions,
        demo_account=services.demo_account,
    )

    dp.update.outer_middleware(in_flight)
    if settings.webhook_url is not None:
        # Before anything acts on it (a tap answered twice fails): a delivery Telegram repeats.
        dp.update.outer_middleware(DropRepeatedUpdates(services.db.seen_updates, services.metrics))
    if services.metrics is not None:
        from bot.webhook.metrics import UpdateMetricsMiddleware

        dp.update.outer_middleware(UpdateMetricsMiddleware(services.metrics))
    dp.update.outer_middleware(EventLogMiddleware(PASS_THROUGH_COMMANDS))
    dp.update.outer_middleware(AccessMiddleware(settings.allowed_users, services.hub))
    # Every tap is answered before the database or any slow provider call.
    dp.update.outer_middleware(AnswerTapsMiddleware())
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(
        UserContextMiddleware(
            services.db,
            services.hub,
            follows_active=FOLLOWS_ACTIVE.matches,
            guarded=guarded_taps(),
        )
    )
    dp.update.outer_middleware(UnblockMiddleware(alerts))
    # Inner: it needs the handler's flags. On the dispatcher's observer it covers every area's
    # taps.
    dp.callback_query.middleware(UserLockMiddleware())
    dp.include_router(setup_routers())

    async def on_startup(bot: Bot) -> None:
        try:
            await set_commands(bot, services.hub)
        except TelegramAPIError as exc:
            # The command menu is a convenience; the bot works without it.
            log.warning("could not set the bot's commands: %s", exc.message)
        services.background.start(WATCHER_TASK, lambda: watcher.sweep(bot), settings.watch_interval)
        await alerts.load_blocked()
        services.background.start(
            ACCOUNTS_TASK, lambda: alerts.account_pass(bot), alerts.account_tick
        )
        services.background.start(
            MONITOR_TASK, lambda: alerts.monitor_pass(bot), settings.monitor_interval
        )
        services.background.start(DELETIONS_TASK, lambda: deletions.run_due(bot), 60.0)
        services.background.start("housekeeping", purge_expired, HOUSEKEEPING_INTERVAL)
        log.info("bot is up; watching %d open installs", await watcher.count())

    async def purge_expired() -> None:
        # Unused confirmation tokens (a card drawn, never tapped) would pile up forever.
        purged = await services.db.confirmations.purge_expired()
        if purged:
            log.info("purged %d expired confirmations", purged)
        # Telegram gives up on a delivery long before this.
        await services.db.seen_updates.purge(older_than=SEEN_UPDATES_KEPT)
        # Invites nobody answered within their 24 hours.
        await services.db.invites.purge_expired()
        # Each account's history is kept for HISTORY_DAYS.
        forgotten = await services.db.history.purge(older_than=settings.history_days * 86400.0)
        if forgotten:
            log.info("purged %d history entries", forgotten)

    async def on_shutdown() -> None:
        # Polling has stopped: let handlers that are mid-way finish, then stop the loops;
        # only after that may the caller close the HTTP client and the database.
        await in_flight.drain(timeout=SHUTDOWN_GRACE)
        await services.background.stop()

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return dp


async def set_commands(bot: Bot, hub: TranslatorHub) -> None:
    for locale in hub.locales:
        i18n = hub.get(locale)
        commands = [
            BotCommand(command=name, description=i18n(f"cmd-{name}")) for name in BOT_COMMANDS
        ]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=locale)
    fallback = hub.get(hub.default_locale)
    await bot.set_my_commands(
        [BotCommand(command=name, description=fallback(f"cmd-{name}")) for name in BOT_COMMANDS],
        scope=BotCommandScopeDefault(),
    )
