"""The whole bot in-process: real dispatcher and polling, fake Bot API and simulator over HTTP.

Flow tests drive it like a user through :class:`FakeTelegram` (send text, tap buttons) and
observe what the bot sent; nothing in between is mocked.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import random
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import certifi
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import Update

from bot.app import (
    Services,
    create_bot,
    create_dispatcher,
    create_inferno_client,
    create_leadership,
)
from bot.config import Settings
from bot.i18n import TranslatorHub
from bot.inferno.models import Credentials
from bot.inferno.simulator import Customer, Simulator, SimulatorServer, make_public_key
from bot.services.background import BackgroundTasks, Step
from bot.services.leader import Leadership
from bot.services.locks import RedisUserLocks
from bot.services.shared_state import RedisKeys, open_redis
from bot.storage import Database
from bot.storage.db import FILE_MODE
from bot.storage.startup import open_storage
from bot.webhook.metrics import BotMetrics
from bot.webhook.server import WebhookServer
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.storage_helpers import check_state

TEST_KEY = "q0Dx8n2yJc0dQmXl2y1sZk9rVb7uTq3wPpLe5Hs6Gk0="
PASSWORD = "secret-pass-1"  # of every customer a test adds to the simulator
# How long the bot's Telegram side stays quiet before BotEnv.settle takes it to be done.
SETTLE_QUIET = 0.02
# Settings under which the alerts' loops wait an hour, so that the test runs each pass itself
# (tests/test_alerts.py account_pass and monitor_pass); and the install watcher's too.
ALERT_PASSES_BY_TEST: dict[str, Any] = {"alert_interval": 3600.0, "monitor_interval": 3600.0}
EVERY_PASS_BY_TEST: dict[str, Any] = ALERT_PASSES_BY_TEST | {"watch_interval": 3600.0}


@functools.cache
def shared_hub(default_locale: str) -> TranslatorHub:
    """Translations, parsed once per test process instead of once per test (a tenth of a
    second of CPU each time). Nothing changes a hub after it is built, so tests can share it;
    strict, so a missing key fails the test."""
    return TranslatorHub(default_locale=default_locale, strict=True)


@functools.cache
def _one_authority() -> str:
    """A CA file holding one authority (certifi's first), removed when the process ends."""
    end = "-----END CERTIFICATE-----"
    bundle = Path(certifi.where()).read_text(encoding="utf-8")
    folder = tempfile.mkdtemp(prefix="inferno-bot-tests-")
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / "one-authority.pem"
    path.write_text(bundle[: bundle.index(end) + len(end)] + "\n", encoding="utf-8")
    return str(path)


def close_without_grace(session: BaseSession) -> None:
    """The bot session's close() closes its aiohttp session and nothing else: aiogram's waits
    a fixed 250 ms for TLS connections to close, and the fakes speak plain HTTP. In webhook
    mode aiogram's request handler closes the session at shutdown, so the method itself is
    replaced, on this session only."""
    if not isinstance(session, AiohttpSession):
        return

    closing = False

    async def close() -> None:
        # create_session() closes the session itself before its first use (to reset the
        # connector): that inner close is part of this one.
        nonlocal closing
        if closing:
            return
        closing = True
        try:
            await (await session.create_session()).close()
        finally:
            closing = False

    session.close = close  # type: ignore[method-assign]


_migrated: bytes | None = None


async def migrated_database() -> bytes:
    """A new, empty database at the latest schema, as the bot's first start makes it, once
    per test process (by open_storage, in a folder of its own); its key file is dropped, as
    no row uses it."""
    global _migrated
    if _migrated is None:
        folder = Path(tempfile.mkdtemp(prefix="inferno-bot-template-"))
        try:
            db = await open_storage(folder / "bot.sqlite3", folder / "secret.key")
            await db.close()
            _migrated = (folder / "bot.sqlite3").read_bytes()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return _migrated


def place_database(path: Path, content: bytes) -> None:
    """``content`` as the database at ``path`` unless one is there: migrating a new file costs
    25 ms of CPU and 50-140 ms of waiting for the disk in every test. Owner-only, as the bot
    makes it (bot.storage.db.FILE_MODE)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as file:
        file.write(content)


@contextlib.contextmanager
def plain_http_trust() -> Iterator[None]:
    """While the bot is created: aiogram's session loads a trust store of one authority instead
    of certifi's ~150, which costs 40-60 ms of CPU for every started bot. The fakes speak plain
    HTTP, so no certificate is ever checked against it. ``certifi.where()`` is how aiogram finds
    its bundle. (The provider client builds its store on its first call, outside this.)"""
    authority = _one_authority()
    with mock.patch.object(certifi, "where", lambda: authority):
        yield


def make_settings(tmp_path: Path, tg: FakeTelegram, inferno_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": tg.token,
        "telegram_api_url": tg.base_url,
        "inferno_api_url": inferno_url,
        "database_path": tmp_path / "bot.sqlite3",
        "encryption_key_file": tmp_path / "secret.key",
        "watch_interval": 0.2,
        "watch_timeout": 60.0,
        "password_ttl": 300.0,
        "default_language": "en",
        "inferno_timeout": 2.0,
        "inferno_connect_timeout": 1.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass(frozen=True)
class Production:
    """The production mode's engines (docs/DEPLOY.md): the bot then runs on this PostgreSQL
    database and this Redis, in webhook mode, with leader election."""

    postgres_url: str
    redis_url: str
    redis_prefix: str


@dataclass
class _Handling:
    fed: set[int] = field(default_factory=set)
    active: int = 0
    # Passes each background loop has finished, by the loop's name.
    passes: dict[str, int] = field(default_factory=dict)
    # Background passes under way (a push is sent, then its record written).
    running: int = 0


@dataclass
class BotEnv:
    tmp_path: Path
    tg: FakeTelegram
    sim: Simulator
    sim_server: SimulatorServer
    settings: Settings
    services: Services | None = None
    bot: Bot | None = None
    dp: Dispatcher | None = None
    _polling: asyncio.Task[None] | None = None
    # Which updates the bot has taken in (across restarts), and how many it is still handling.
    _handling: _Handling = field(default_factory=_Handling)
    # Webhook mode (settings.webhook_url is set): the bot's webhook app, which the fake Bot API
    # delivers to, instead of polling.
    webhook: WebhookServer | None = None
    # Tests' shortcuts (running_bot sets it): one translation hub per process, a one-authority
    # trust store, no TLS grace period on closing. The benchmark starts and stops the bot
    # without them, as the product does.
    shortcuts: bool = False
    # The production mode: PostgreSQL (and, through the settings, Redis and the webhook).
    production: Production | None = None

    @property
    def db(self) -> Database:
        assert self.services is not None, "the bot is not running"
        return self.services.db

    @property
    def fsm(self) -> BaseStorage:
        """Where the running bot keeps dialogs: the database, or Redis in production mode."""
        assert self.dp is not None, "the bot is not running"
        return self.dp.storage

    async def stored_bytes(self) -> bytes:
        """Everything the database holds, as an attacker who reads it would: the SQLite file
        with its WAL and shared-memory files, or every row of every PostgreSQL table."""
        if self.production is None:
            path = self.settings.database_path
            return b"".join(
                p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file()
            )
        import asyncpg

        conn = await asyncpg.connect(self.production.postgres_url)
        try:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
            rows = []
            for table in tables:
                name = str(table["tablename"]).replace('"', '""')
                rows += await conn.fetch(f'SELECT row_to_json(t)::text AS row FROM "{name}" t')
        finally:
            await conn.close()
        return "\n".join(str(row["row"]) for row in rows).encode()

    async def user_lock_held(self, user_id: int) -> bool:
        """Whether the user's lock (bot/services/locks.py) is held right now: in this process,
        or in Redis in production mode."""
        assert self.services is not None and self.services.locks is not None
        locks = self.services.locks
        if isinstance(locks, RedisUserLocks):
            assert self.services.redis is not None
            key = RedisKeys.of(self.settings).user_lock(user_id)
            return bool(await self.services.redis.exists(key))
        lock = locks._locks.get(user_id)
        return lock is not None and lock.locked()

    async def open_database(self) -> Database:
        """The bot's storage, opened as the bot opens it: the SQLite file (only while the bot
        is stopped, which holds its lock), or the PostgreSQL database. The caller closes it."""
        if self.shortcuts and self.production is None:
            place_database(Path(self.settings.database_path), await migrated_database())
        return await open_storage(
            self.settings.database_path,
            self.settings.encryption_key_file,
            env_key=self.settings.encryption_key,
            database_url=self.settings.database_url,
        )

    async def start(self) -> None:
        db = await self.open_database()
        metrics = BotMetrics() if self.settings.webhook_url else None
        redis = open_redis(self.settings) if self.settings.redis_url is not None else None
        inferno = create_inferno_client(self.settings, metrics)
        if self.shortcuts:
            hub = shared_hub(self.settings.default_language)
            with plain_http_trust():
                self.bot = create_bot(self.settings, redis)
            close_without_grace(self.bot.session)
        else:
            hub = TranslatorHub(default_locale=self.settings.default_language, strict=True)
            self.bot = create_bot(self.settings, redis)
        leadership = create_leadership(self.settings, db)
        self.services = Services(
            settings=self.settings,
            db=db,
            inferno=inferno,
            hub=hub,
            metrics=metrics,
            redis=redis,
            leadership=leadership,
        )
        self.dp = create_dispatcher(self.services)
        self._watch_feeding(self.dp)
        self._watch_passes(self.services.background)
        if metrics is not None:
            self.webhook = WebhookServer(
                settings=self.settings,
                bot=self.bot,
                dp=self.dp,
                db=db,
                metrics=metrics,
                redis=redis,
            )
            await self.webhook.start()
            if self.production is not None:
                await self._first_passes(leadership)
            return
        polls = len(self.tg.calls("getUpdates"))  # before a restart, earlier polls do not count
        self._polling = asyncio.create_task(
            self.dp.start_polling(
                self.bot, handle_signals=False, polling_timeout=1, close_bot_session=False
            )
        )
        await self.tg.wait_for(
            lambda: len(self.tg.calls("getUpdates")) > polls, timeout=10, message="polling"
        )

    def _watch_feeding(self, dp: Dispatcher) -> None:
        handling, feed = self._handling, dp.feed_update

        async def feed_update(bot: Bot, update: Update, **kwargs: Any) -> Any:
            handling.fed.add(update.update_id)
            handling.active += 1
            try:
                return await feed(bot, update, **kwargs)
            finally:
                handling.active -= 1

        dp.feed_update = feed_update  # type: ignore[method-assign]

    def _watch_passes(self, background: BackgroundTasks) -> None:
        handling, start = self._handling, background.start
        passes = handling.passes
        passes.clear()

        def start_counted(name: str, step: Step, interval: float) -> None:
            async def counted() -> float | None:
                handling.running += 1
                try:
                    return await step()
                finally:
                    handling.running -= 1
                    passes[name] = passes.get(name, 0) + 1

            passes.setdefault(name, 0)
            start(name, counted, interval)

        background.start = start_counted  # type: ignore[method-assign]

    async def _first_passes(self, leadership: Leadership) -> None:
        """Until this replica leads and each of the leader's loops has made its first pass.

        Elected in a task of its own, a replica starts its loops a moment after the start;
        the embedded bot starts them before it polls. Without this wait the first pass of the
        alerts would find the account a test has just linked (and push a renewal due within
        days) in production mode only."""
        passes = self._handling.passes

        def done() -> bool:
            return leadership.is_leader and all(count > 0 for count in passes.values())

        await self.tg.wait_for(done, timeout=10, message="the leader's first passes")

    async def stop(self) -> None:
        if self.webhook is not None:
            await self.webhook.stop()
        if self.dp is not None and self._polling is not None:
            with contextlib.suppress(RuntimeError):
                await self.dp.stop_polling()
            await asyncio.wait_for(self._polling, timeout=10)
        if self.services is not None:
            await self.services.inferno.aclose()
            await self.services.db.close()
            if self.services.redis is not None:
                await self.services.redis.aclose()
        if self.bot is not None:
            await self.bot.session.close()
        self.services = self.bot = self.dp = self._polling = self.webhook = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def customer(self, email: str = "user@example.com", balance: str = "100.00") -> Customer:
        return self.sim.add_customer(email=email, password=PASSWORD, balance=balance)

    async def linked(
        self,
        user_id: int,
        *,
        email: str | None = None,
        balance: str = "100.00",
        language: str = "en",
        keys: tuple[str, ...] = (),
    ) -> Customer:
        """A new simulator customer, linked to ``user_id``, who also exists in Telegram.

        ``keys`` are SSH keys already in the account, each named as given; a key's line is
        ``<name>@host`` and differs per user and name.
        """
        customer = self.customer(email=email or f"u{user_id}@example.com", balance=balance)
        self.tg.add_user(user_id, language_code=language)
        await self.link(user_id, customer, language=language)
        if keys:
            assert self.services is not None
            for name in keys:
                line = make_public_key(f"{user_id}-{name}", comment=f"{name}@host")
                await self.services.inferno.sshkey_add(creds_of(customer), line, name)
        return customer

    async def link(self, user_id: int, customer: Customer, language: str = "en") -> None:
        """Shortcut for tests that are not about linking: store the credentials directly, as
        the user's one account (another account they linked before is unlinked first; the
        same one gets the key, as linking it again does; tests of several accounts add them
        through the bot)."""
        await self.db.users.ensure(user_id, language)
        same = await self.db.accounts.find(user_id, customer.cid)
        for account_id in await self.db.accounts.owned(user_id):
            if account_id != same:
                await self.db.accounts.unlink(account_id)
        await self.db.users.link(user_id, customer.cid, customer.key)

    async def first_alert_check(self, user_id: int, timeout: float = 10.0) -> None:
        """Until the account check that a link through the bot starts (bot/services/alerts.py)
        has read the provider: a test that counts provider calls after a link adds its
        ``orders``, ``services`` and ``balance``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (
            account_id := await self.db.accounts.active_id(user_id)
        ) is None or await check_state(self.db, account_id) is None:
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(f"no account check of user {user_id} after the link")
            await asyncio.sleep(0.02)

    async def settle(self, timeout: float = 10.0) -> None:
        """Until every update handed out so far has been handled and Telegram went quiet.

        Telegram silence alone is not enough: a handler busy with the provider or the database
        for longer than the fake's quiet window would look finished. ``feed_update`` is watched
        from the moment polling hands an update over until its handlers return, and each
        background pass from its start to its end (a push is sent, then its record written).
        Knowing both, the quiet window only has to cover the moment between a handler waking
        a loop and the loop's pass starting, so it is shorter than the fake's default, which
        tests of a bot in another process rely on alone: each settle waits it through.
        """

        def done() -> bool:
            handed_out = {
                u.update_id
                for u in self.tg.updates
                if u.handed_out_at is not None and not u.dropped
            }
            handling = self._handling
            return handling.active == 0 and handling.running == 0 and handed_out <= handling.fed

        while True:
            await self.tg.wait_idle(timeout, quiet=SETTLE_QUIET)
            if done():
                return
            await self.tg.wait_for(done, timeout, "the bot to handle every update")

    def screen(self, user_id: int) -> dict[int, tuple[int, bool]]:
        """Each bot message's edit count and deletion: any send, edit or delete changes it."""
        return {
            m.message_id: (m.edit_count, m.deleted)
            for m in self.tg.bot_messages(user_id, include_deleted=True)
        }

    async def answered(self, user_id: int, before: dict[int, tuple[int, bool]]) -> FakeMessage:
        """Waits for the bot's visible answer, then for it to go quiet; returns the message it
        sent or edited last (an old message's button edits that old message).

        Quiet time alone is not enough: provider calls (and their retry backoff) happen between
        Telegram requests, and a busy machine can stretch them past any fixed quiet period.
        """
        await self.tg.wait_for(lambda: self.screen(user_id) != before, 10.0, "the bot to answer")
        await self.settle()
        after = self.screen(user_id)
        changed = [i for i, state in after.items() if before.get(i) != state and not state[1]]
        if changed:
            return self.tg.message(user_id, max(changed))
        return self.tg.last_bot_message(user_id)

    async def say(self, user_id: int, text: str) -> FakeMessage:
        before = self.screen(user_id)
        await self.tg.send_text(user_id, text)
        return await self.answered(user_id, before)

    async def command(self, user_id: int, text: str) -> FakeMessage:
        before = self.screen(user_id)
        await self.tg.send_command(user_id, text)
        return await self.answered(user_id, before)

    async def tap(self, user_id: int, text: str) -> FakeMessage:
        before = self.screen(user_id)
        await self.tg.tap_button(user_id, text)
        return await self.answered(user_id, before)

    async def double_tap_past_held_call(
        self, user_id: int, text: str, message_id: int, held: list[Any], then: str
    ) -> None:
        """Taps ``text`` twice before the bot draws anything, with the second tap's provider
        call held (:func:`hold_second_call`, whose calls are ``held``); waits until both taps
        made that call and the first one's screen offers a button with ``then``."""
        await self.tg.tap_button(user_id, text, message_id=message_id)
        await self.tg.tap_button(user_id, text, message_id=message_id)
        await self.tg.wait_for(lambda: len(held) == 2, message="both taps to reach the held call")
        await self.tg.wait_for(
            lambda: any(then in label for label in labels(self.tg.message(user_id, message_id))),
            message=f"a screen offering {then!r}",
        )

    async def tap_then_release(
        self, user_id: int, text: str, message_id: int, release: asyncio.Event
    ) -> None:
        """Taps ``text`` while a provider call is held (:func:`hold_second_call`), waits until
        the tap is answered — by the outer middleware, so it is on its way to the user's lock —
        then lets the held call go on and settles."""
        query_id = await self.tg.tap_button(user_id, text, message_id=message_id)
        await self.tg.wait_for(
            lambda: query_id in self.tg.callback_answers, message=f"the {text!r} tap to be taken in"
        )
        release.set()
        await self.settle()

    async def forge(self, user_id: int, data: str, message_id: int | None = None) -> FakeMessage:
        """A tap with ``data`` on a message (the bot's last by default), whether or not such a
        button is shown there: an old client or a crafted update."""
        before = self.screen(user_id)
        if message_id is None:
            message_id = self.tg.last_bot_message(user_id).message_id
        await self.tg.tap(user_id, message_id, data, verify=False)
        return await self.answered(user_id, before)


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    sim: Simulator | None = None,
    start: bool = True,
    webhook: bool = False,
    production: Production | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[BotEnv]:
    """The bot with the fakes; ``webhook=True`` runs it in webhook mode (on a free loopback
    port, the same across restarts), the fake delivering each update by POST. ``production``
    runs it in the production mode: on that PostgreSQL and Redis, in webhook mode, electing
    itself leader before its background loops start."""
    simulator = sim or Simulator(install_delay=0.5)
    async with FakeTelegram() as tg, SimulatorServer(simulator) as server:
        if production is not None:
            webhook = True
            settings_overrides = {
                "database_url": production.postgres_url,
                # Replicas share the master key: no key file is made for PostgreSQL.
                "encryption_key": TEST_KEY,
                "redis_url": production.redis_url,
                "redis_prefix": production.redis_prefix,
                "leader_interval": PRODUCTION_LEADER_INTERVAL,
            } | settings_overrides
        if webhook:
            settings_overrides = webhook_settings() | settings_overrides
        settings = make_settings(tmp_path, tg, server.url, **settings_overrides)
        env = BotEnv(
            tmp_path=tmp_path,
            tg=tg,
            sim=simulator,
            sim_server=server,
            settings=settings,
            shortcuts=True,
            production=production,
        )
        if start:
            await env.start()
        try:
            yield env
        finally:
            await env.stop()
            if production is not None:
                await forget_redis_keys(production.redis_url, production.redis_prefix)


async def forget_redis_keys(redis_url: str, prefix: str) -> None:
    """Deletes the keys a test wrote under its own prefix (the Redis server is shared)."""
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        # SCAN walks the whole keyspace, every test's keys: in large steps, not the default 10.
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


WEBHOOK_SECRET = "test-webhook_Secret-1"
# Short, so that the first election (and with it the background loops) follows the start at
# once; a check may still take a second (bot.services.leader.MIN_TIMEOUT).
PRODUCTION_LEADER_INTERVAL = 0.2


# Below Linux's ephemeral range (32768-60999 by default): a port the kernel hands out for the
# tests' own outgoing connections (aiohttp, PostgreSQL, Redis) can never take one of these
# between the moment a test picks it and the moment its server binds it.
_LISTEN_PORTS = range(20_000, 32_000)


def free_port() -> int:
    """A loopback port nothing listens on, for a server a test starts a moment later."""
    for _ in range(100):
        port = random.choice(_LISTEN_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port found")


def webhook_settings() -> dict[str, Any]:
    port = free_port()
    return {
        "webhook_url": f"http://127.0.0.1:{port}/telegram/updates",
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_listen": f"127.0.0.1:{port}",
    }


def hold_second_call(
    monkeypatch: Any,
    owner: object,
    name: str,
    counts: Callable[..., bool] = lambda *args, **kwargs: True,
) -> tuple[list[tuple[Any, ...]], asyncio.Event]:
    """Patches the coroutine method ``owner.name`` so that its second counted call waits for
    the returned event: a slow second tap. Returns the counted calls' arguments and the event."""
    original = getattr(owner, name)
    calls: list[tuple[Any, ...]] = []
    release = asyncio.Event()

    async def second_is_slow(*args: Any, **kwargs: Any) -> Any:
        if counts(*args, **kwargs):
            calls.append(args)
            if len(calls) == 2:
                await release.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(owner, name, second_is_slow)
    return calls, release


def creds_of(customer: Customer) -> Credentials:
    return Credentials(cid=customer.cid, key=customer.key)


async def paid_order(env: BotEnv, customer: Customer, product_id: str = "101") -> str:
    """A new order of the cheapest plan (101), paid from the customer's balance."""
    assert env.services is not None
    created = await env.services.inferno.create(creds_of(customer), product_id)
    return created.order_id


def labels(message: FakeMessage) -> list[str]:
    return [b.text for b in message.buttons()]
