"""Factories shared by ``python -m bot``, the demo and the tests.

Long-lived services are created once and handed to handlers as dispatcher data; nothing here
is a module-level global.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeDefault

from bot.account_scope import BindButtons, guard_pushes
from bot.config import Settings
from bot.handlers import guarded_taps, linked_areas, setup_routers
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
from bot.middlewares.inflight import UPDATES_AT_ONCE, InFlightMiddleware, UpdatesAtOnce
from bot.middlewares.update_order import OneUpdatePerUser
from bot.middlewares.user_lock import UserLockMiddleware
from bot.runtime.forget_updates import forget_handled_updates
from bot.runtime.response_types import KeepResponseTypes
from bot.screens import DrawnScreens
from bot.services.alerts import ACCOUNTS_TASK, MONITOR_TASK, AlertService, UnblockMiddleware
from bot.services.background import BackgroundTasks
from bot.services.bounded import ProviderSlots
from bot.services.deletions import DELETIONS_TASK, DeletionScheduler
from bot.services.leader import Leadership, SoleLeader
from bot.services.locks import UserLocks
from bot.services.pacer import PushPacer
from bot.services.watcher import WATCHER_TASK, InstallWatcher
from bot.storage import Database
from bot.webhook.dedup import DropRepeatedUpdates

if TYPE_CHECKING:
    from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
    from redis.asyncio import Redis

    from bot.webhook.dedup import UpdateDeduplicator
    from bot.webhook.metrics import BotMetrics

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5.0
HOUSEKEEPING_INTERVAL = 3600.0
SEEN_UPDATES_KEPT = 24 * 3600.0
# A dialog left half way is forgotten after this long in Redis (in the database it stays until
# the user moves on): Redis keeps everything in memory.
REDIS_DIALOG_TTL = 30 * 24 * 3600
BLOCKED_REFRESH_TASK = "blocked-users"
BLOCKED_REFRESH = 30.0


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
    # REDIS_URL's client (bot.services.shared_state.open_redis): dialogs, the per-user locks
    # and the update ids taken in then live there, shared by every replica. The caller closes
    # it after the dispatcher has shut down.
    redis: Redis | None = None
    # Who runs the background loops: this process alone (SQLite), or the replica that holds
    # the leader lock on PostgreSQL.
    leadership: Leadership = field(default_factory=SoleLeader)
    # More loops the leader starts (after the dispatcher's own), each given the bot.
    leader_loops: list[Callable[[Bot], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.metrics is not None:
            # Every push passes the pacer, which counts it by kind and result.
            self.pacer.observer = self.metrics.push
        if self.redis is not None:
            from bot.services.locks import RedisUserLocks
            from bot.services.shared_state import RedisKeys

            self.locks = RedisUserLocks(self.redis, RedisKeys.of(self.settings))


def create_bot(settings: Settings, redis: Redis | None = None) -> Bot:
    """The bot; with ``redis`` (replicas) its memory of what each message shows is shared."""
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
    if redis is None:
        bot.session.middleware(DrawnScreens())
    else:
        from bot.services.shared_state import RedisKeys, SharedDrawnScreens

        bot.session.middleware(SharedDrawnScreens(redis, RedisKeys.of(settings)))
    # Innermost of these, so a request sent again does not pass them twice (demo mode adds
    # its mark later; it does nothing to a text that already carries it).
    bot.session.middleware(FloodWait())
    return bot


def bot_id_of(settings: Settings) -> int:
    """The bot's id: the number before the colon of its token."""
    return int(settings.bot_token.get_secret_value().partition(":")[0])


def create_leadership(settings: Settings, db: Database) -> Leadership:
    """Who runs the background loops: the sole process, or, on a database replicas share
    (DATABASE_URL), the replica elected through it (bot/services/leader.py)."""
    from bot.services.leader import elect_on

    url = settings.database_url.get_secret_value() if settings.database_url else None
    return elect_on(url if db.shared else None, bot_id_of(settings), settings.leader_interval)


def create_inferno_client(settings: Settings, metrics: BotMetrics | None = None) -> InfernoClient:
    return InfernoClient(
        settings.inferno_api_url,
        connect_timeout=settings.inferno_connect_timeout,
        timeout=settings.inferno_timeout,
        max_connections=settings.inferno_max_connections,
        # Replicas on a shared database do not cache reads: an order one replica creates drops
        # only its own copy of the lists, and the next tap may reach another.
        cache_ttl=0.0 if settings.database_url is not None else settings.read_cache_ttl,
        observer=metrics.provider_call if metrics is not None else None,
    )


def create_dispatcher(services: Services) -> Dispatcher:
    settings = services.settings
    if not forget_handled_updates():
        log.warning("aiogram's Update.event_type has changed shape: handled updates may be kept")
    # The FSM middleware, with the lock that keeps one user's updates in order, is added below
    # after the tap answers rather than first thing (bot/middlewares/update_order.py).
    storage, isolation = _dialogs(services)
    dp = Dispatcher(storage=storage, events_isolation=isolation, disable_fsm=True)
    # One limit on provider calls for every background pass: the install watcher and the
    # alerts together never make more than WATCH_CONCURRENCY at once.
    limiter = ProviderSlots(settings.watch_concurrency)
    watcher = InstallWatcher(
        db=services.db,
        inferno=services.inferno,
        hub=services.hub,
        interval=settings.watch_interval,
        timeout=settings.watch_timeout,
        call_timeout=settings.inferno_connect_timeout + settings.inferno_timeout,
        concurrency=settings.watch_concurrency,
        limiter=limiter,
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
        provider_slots=limiter,
    )

    dp.update.outer_middleware(in_flight)
    if settings.webhook_url is not None:
        # Before anything acts on it (a tap answered twice fails): a delivery Telegram repeats.
        dp.update.outer_middleware(DropRepeatedUpdates(_seen_updates(services), services.metrics))
    if services.metrics is not None:
        from bot.webhook.metrics import UpdateMetricsMiddleware

        dp.update.outer_middleware(UpdateMetricsMiddleware(services.metrics))
    dp.update.outer_middleware(EventLogMiddleware(PASS_THROUGH_COMMANDS))
    dp.update.outer_middleware(AccessMiddleware(settings.allowed_users, services.hub))
    # Every tap is answered before the database or any slow provider call.
    dp.update.outer_middleware(AnswerTapsMiddleware())
    if settings.webhook_url is not None:
        # Polling bounds its updates itself (bot/runner.py); aiogram's webhook handler does not.
        dp.update.outer_middleware(UpdatesAtOnce(UPDATES_AT_ONCE))
    dp.update.outer_middleware(dp.fsm)
    # Built once: the routers and the role guards read the same areas (each build is ~20 ms).
    linked = linked_areas()
    guarded = guarded_taps(linked)
    # Pushes are drawn outside any update: they leave out the same buttons by role.
    guard_pushes(guarded)
    dp.update.outer_middleware(
        UserContextMiddleware(
            services.db,
            services.hub,
            follows_active=FOLLOWS_ACTIVE.matches,
            guarded=guarded,
        )
    )
    dp.update.outer_middleware(UnblockMiddleware(alerts))
    # Inner: it needs the handler's flags. On the dispatcher's observer it covers every area's
    # taps.
    dp.callback_query.middleware(UserLockMiddleware())
    setup_routers(dp, linked=linked)

    # Loops every replica runs for itself (only with a shared database; see below).
    replica_loops = BackgroundTasks()

    async def on_startup(bot: Bot) -> None:
        try:
            await set_commands(bot, services.hub)
        except TelegramAPIError as exc:
            # The command menu is a convenience; the bot works without it.
            log.warning("could not set the bot's commands: %s", exc.message)
        # Every replica: the middleware that lifts a block reads it.
        await alerts.load_blocked()
        if not isinstance(services.leadership, SoleLeader):
            # The leader blocks and other replicas unblock in the shared database: each
            # replica's copy of who is blocked follows it.
            replica_loops.start(BLOCKED_REFRESH_TASK, alerts.load_blocked, BLOCKED_REFRESH)

        async def elected() -> None:
            # Background work runs on the leader alone (bot/services/leader.py).
            services.background.start(
                WATCHER_TASK, lambda: watcher.sweep(bot), settings.watch_interval
            )
            services.background.start(
                ACCOUNTS_TASK, lambda: alerts.account_pass(bot), alerts.account_tick
            )
            services.background.start(
                MONITOR_TASK, lambda: alerts.monitor_pass(bot), settings.monitor_interval
            )
            services.background.start(DELETIONS_TASK, lambda: deletions.run_due(bot), 60.0)
            services.background.start("housekeeping", purge_expired, HOUSEKEEPING_INTERVAL)
            for start_loop in services.leader_loops:
                start_loop(bot)

        await services.leadership.start(elected, services.background.stop)
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
        # Stepping down stops the leader's loops and hands the lead to another replica.
        await services.leadership.stop()
        await services.background.stop()
        await replica_loops.stop()

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return dp


def _dialogs(services: Services) -> tuple[BaseStorage, BaseEventIsolation]:
    """Where dialogs live and what keeps one user's updates in order: the database and this
    process, or Redis for every replica."""
    if services.redis is None:
        return services.db.fsm, OneUpdatePerUser()
    from aiogram.fsm.storage.base import DefaultKeyBuilder

    from bot.middlewares.update_order import redis_update_order
    from bot.services.shared_state import RedisKeys, SharedRedisStorage

    key_builder = DefaultKeyBuilder(prefix=RedisKeys.of(services.settings).fsm)
    storage = SharedRedisStorage(
        services.redis,
        key_builder=key_builder,
        state_ttl=REDIS_DIALOG_TTL,
        data_ttl=REDIS_DIALOG_TTL,
    )
    return storage, redis_update_order(services.redis, key_builder)


def _seen_updates(services: Services) -> UpdateDeduplicator:
    if services.redis is None:
        return services.db.seen_updates
    from bot.services.shared_state import RedisKeys
    from bot.webhook.dedup import RedisSeenUpdates

    return RedisSeenUpdates(services.redis, RedisKeys.of(services.settings), SEEN_UPDATES_KEPT)


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
