"""The webhook app: Telegram POSTs updates to ``WEBHOOK_URL``; one aiohttp app takes them.

It listens on ``WEBHOOK_LISTEN`` and serves, on one port:

* ``POST <path of WEBHOOK_URL>`` — aiogram's ``SimpleRequestHandler``: a request without the
  right ``X-Telegram-Bot-Api-Secret-Token`` gets 401 and is not handled; a good one is answered
  at once and handled in the background (Telegram delivers again what is not answered in time);
* ``GET /healthz`` — 200 when the database answers a trivial query and Redis (with
  ``REDIS_URL``) a PING, else 503: a proxy or orchestrator stops sending updates to a
  replica that could not handle them;
* ``GET /metrics`` — :mod:`bot.metrics` in Prometheus' text format.

A delivery Telegram repeats is dropped by ``bot.webhook.dedup`` (registered by
``create_dispatcher`` in webhook mode).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.config import Settings, parse_listen
from bot.storage import Database
from bot.webhook.metrics import CONTENT_TYPE_LATEST, BotMetrics

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# How long /healthz waits for the database before it calls it down.
HEALTH_TIMEOUT = 3.0
# At shutdown, how long requests already being read may take to hand their update over.
ACCEPT_GRACE = 5.0


class _ReceivingRequestHandler(SimpleRequestHandler):
    """aiogram's handler of the webhook's POST, counting the requests still being read.

    Counted here rather than by an aiohttp middleware: an app with middlewares has each of its
    routes' wrapped handlers kept in aiohttp's process-wide cache (up to 1,024 of them), and
    with them every bot whose app ever served a request in this process."""

    def __init__(self, server: WebhookServer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server = server

    async def handle(self, request: web.Request) -> web.Response:
        with self._server.receiving():
            return await super().handle(request)


class WebhookServer:
    """The webhook app of one bot; :meth:`start` listens and sets the webhook, :meth:`stop`
    stops taking updates, lets handlers finish (``dp.shutdown``) and closes the bot session."""

    def __init__(
        self,
        *,
        settings: Settings,
        bot: Bot,
        dp: Dispatcher,
        db: Database,
        metrics: BotMetrics,
        redis: Redis | None = None,
    ) -> None:
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        self._settings = settings
        self._bot = bot
        self._dp = dp
        self._db = db
        self._metrics = metrics
        self._redis = redis
        self._receiving = 0
        self._received = asyncio.Event()
        self._received.set()
        self._runner: web.AppRunner | None = None
        self.app = self._build()

    def _build(self) -> web.Application:
        app = web.Application()
        app.router.add_get(HEALTH_PATH, self._health)
        app.router.add_get(METRICS_PATH, self._render_metrics)
        # Shutdown hooks run in this order: wait until the requests being read have handed
        # their updates over, then the dispatcher's shutdown (drains the handlers, stops the
        # background loops), then the request handler's own (closes the bot session).
        app.on_shutdown.append(self._wait_for_receiving)
        setup_application(app, self._dp, bot=self._bot)
        # Answered at once, handled in a task: a slow provider call must not make Telegram
        # deliver the update again. aiogram keeps a reference to each of those tasks.
        handler = _ReceivingRequestHandler(
            self,
            dispatcher=self._dp,
            bot=self._bot,
            handle_in_background=True,
            secret_token=self._settings.webhook_secret.get_secret_value()
            if self._settings.webhook_secret
            else None,
        )
        handler.register(app, path=self._settings.webhook_path)
        return app

    @contextmanager
    def receiving(self) -> Iterator[None]:
        """Around reading one delivery: shutdown waits until none is left."""
        self._receiving += 1
        self._received.clear()
        try:
            yield
        finally:
            self._receiving -= 1
            if not self._receiving:
                self._received.set()

    async def _wait_for_receiving(self, app: web.Application) -> None:
        try:
            async with asyncio.timeout(ACCEPT_GRACE):
                await self._received.wait()
        except TimeoutError:
            log.warning("%d webhook request(s) still being read at shutdown", self._receiving)
        # One pass of the loop: the tasks those requests created enter the dispatcher, whose
        # shutdown then waits for them.
        await asyncio.sleep(0)

    async def _health(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                await self._db.seen_updates.ping()
        except Exception as exc:  # whatever the reason, the bot cannot serve without it
            log.warning("health check: the database does not answer (%s)", type(exc).__name__)
            return web.Response(status=503, text="database unavailable\n")
        if self._redis is not None:
            from bot.services.shared_state import ping

            try:
                async with asyncio.timeout(HEALTH_TIMEOUT):
                    await ping(self._redis)
            except Exception as exc:  # dialogs, locks and update ids all live there
                log.warning("health check: Redis does not answer (%s)", type(exc).__name__)
                return web.Response(status=503, text="redis unavailable\n")
        return web.Response(text="ok\n")

    async def _render_metrics(self, request: web.Request) -> web.Response:
        try:
            open_watches = await self._db.watches.count_open()
        except Exception as exc:  # the scrape still reports everything else
            log.warning("metrics: open watches not read (%s)", type(exc).__name__)
            open_watches = 0
        body = self._metrics.render(open_watches)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        host, port = parse_listen(self._settings.webhook_listen)
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()  # runs dp.startup: background loops, commands
        try:
            await web.TCPSite(self._runner, host, port).start()
            # Listening first: Telegram may deliver the moment the webhook is set. Updates
            # that wait for us are kept (drop_pending_updates=False).
            assert self._settings.webhook_url is not None
            assert self._settings.webhook_secret is not None
            await self._bot.set_webhook(
                url=self._settings.webhook_url,
                secret_token=self._settings.webhook_secret.get_secret_value(),
                allowed_updates=self._dp.resolve_used_update_types(),
                drop_pending_updates=False,
            )
        except BaseException:
            await self.stop()
            raise
        log.info(
            "webhook mode: listening on %s, updates at %s",
            self._settings.webhook_listen,
            self._settings.webhook_path,
        )

    async def stop(self) -> None:
        # The webhook stays set: Telegram keeps the updates that arrive meanwhile for the next
        # start (a restart or deploy loses nothing).
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


async def serve_until_signal(server: WebhookServer) -> None:
    """Runs ``server`` until SIGTERM or SIGINT, then stops it."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        await stop.wait()
        log.info("stopping: no new updates taken")
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await server.stop()
