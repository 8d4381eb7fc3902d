"""The install watcher: follows every install the bot started and tells the user how it went.

Watches are rows in SQLite, written in the same transaction that spends the install's
confirmation, before the provider is asked (:meth:`WatchRepository.start_confirmed`). So a
restart, or ``kill -9`` at any moment, resumes every one: a watch whose provider call never
came back is *outcome unknown*, and the watcher finds out from ``getinfo`` whether the install
started — then it follows it as usual — or, after :data:`UNKNOWN_GRACE` without a sign of it,
tells the user it may not have been sent, with a way to start it again (a new confirmation).

A pass polls the due watches with bounded concurrency; a provider failure only pushes that
watch's next poll back. "Ready" is never guessed: it is :attr:`ServerInfo.is_ready` (an IP and
running, or ``online``), and for a reinstall, whose server was running before, also evidence
that the reinstall happened since it was sent, whenever that can be observed: the server seen
not ready, or a root password other than the one recorded (as a keyed digest) before it was
sent; only when the provider shows no password, :data:`REINSTALL_SETTLE` seconds since it
accepted. A reinstall that finished while the provider was unreachable or the bot was down is
therefore still announced.

The message the install was confirmed in (``status_message_id``) is edited in place as the
install goes on — started, installing with the minutes elapsed (at most once a minute), then
ready with the IP, taking too long, or stopped — and the ready message comes as a separate
push, the notification. What the status message shows is remembered as a digest, so the same
text is never sent twice ("message is not modified"); a message the user deleted is let go.

What is promised about the ready message: it is never lost, and sent once — except that a crash
at the instant between sending it and recording that it was sent repeats it once after the
restart (Telegram offers no way to send a message idempotently). The same holds for the copies
the account's other members get: they are stored (``team_pushes``) in the transaction that
records the owner's message as sent, and each is removed once Telegram took it; every pass
first sends what a crash or flood control left there.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.account_scope import drawing_for
from bot.handlers.callbacks import (
    InstallMode,
    InstallStartCb,
    ServerAction,
    ServerCb,
    ShowPasswordCb,
)
from bot.handlers.common import account_name, server_name
from bot.handlers.navigation import menu_below_button
from bot.i18n import Translator, TranslatorHub
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, InvalidCredentials
from bot.inferno.models import Credentials, PowerState, ServerInfo
from bot.services.background import uninterrupted
from bot.services.bounded import WORKERS_PER_SLOT, map_bounded
from bot.services.pacer import FAILED, SENT, PushPacer
from bot.storage import Database, TeamPush, Watch, WatchPoll
from bot.storage.accounts import AccountInfo, Role
from bot.ui import clip

log = logging.getLogger(__name__)

# The background task's name, for BackgroundTasks.start and wake.
WATCHER_TASK = "install-watcher"

MAX_BACKOFF = 600.0
PROGRESS_EDIT_EVERY = 60.0
# A watch whose install was sent without an answer, and that shows no sign of it this long
# after it was sent, is reported as possibly not sent. A provider may take a moment to show a
# queued install, so the first look is not the last.
UNKNOWN_GRACE = 120.0
# A reinstall whose server never showed a change (no password to compare) counts as finished
# once it reports ready this long after the provider accepted it.
REINSTALL_SETTLE = 300.0
# The reinstall's server has been seen not ready since it was sent.
SEEN_NOT_READY = "not-ready"
# Teammates' copies of the ready message: read this many at a time; those Telegram kept from
# going are tried again this many seconds later.
TEAM_BATCH = 100
TEAM_RETRY = 5.0
# How the watcher's messages are counted among the pushes (metrics): the user's own, and the
# copies for their teammates.
INSTALL_KIND = "install"
TEAM_KIND = "team"


class InstallWatcher:
    def __init__(
        self,
        *,
        db: Database,
        inferno: InfernoClient,
        hub: TranslatorHub,
        interval: float,
        timeout: float,
        concurrency: int,
        clock: Callable[[], float] = time.time,
        unknown_grace: float = UNKNOWN_GRACE,
        reinstall_settle: float = REINSTALL_SETTLE,
        limiter: asyncio.Semaphore | None = None,
        pacer: PushPacer | None = None,
        allowed_users: frozenset[int] = frozenset(),
        call_timeout: float = 60.0,
    ) -> None:
        # ALLOWED_USERS, when set: teammates outside it are not told.
        self._allowed = allowed_users
        self._db = db
        # Shared with the alerts and the notices: their pushes together keep Telegram's pace,
        # and wait out its flood control together; it also counts them (metrics).
        self._pacer = pacer or PushPacer()
        self._inferno = inferno
        self._hub = hub
        self._interval = interval
        self._timeout = timeout
        self._concurrency = concurrency
        self._clock = clock
        self._unknown_grace = unknown_grace
        self._reinstall_settle = reinstall_settle
        # How long a watch stays busy at most while its install call waits for the provider:
        # twice the longest the call can take (connecting, then answering), so a call the
        # client is still waiting for is never taken as lost; a replica that dies meanwhile
        # leaves its watch to the others no later than that. (A single SQLite process forgets
        # the marks as it starts, bot/storage/startup.py: none of them can be its own.)
        self.busy_for = 2 * call_timeout
        # The line naming the account, for the pushes of the watches being checked.
        self._headers: dict[int, str] = {}
        # Shared with the alerts, so that both together never exceed the concurrency.
        self._limiter = limiter
        # One sender of the teammates' copies at a time (a pass, a ready watch).
        self._team_lock = asyncio.Lock()

    async def count(self) -> int:
        return await self._db.watches.count_open()

    @asynccontextmanager
    async def sending(self, watch_id: int) -> AsyncIterator[None]:
        """While the install handler waits for the provider's answer about this watch, every
        replica's passes leave it alone: only a watch whose call ended (or whose replica died,
        once :attr:`busy_for` has passed) is looked into. The watch is marked busy where it is
        written (``start_confirmed(busy_for=...)``), so no pass can come between; the mark is
        cleared here. The handler wakes the watcher afterwards."""
        try:
            yield
        finally:
            await self._db.watches.call_done(watch_id)

    async def sweep(self, bot: Bot) -> float | None:
        """One pass over the due watches; returns the seconds until the next one is due."""
        # Teammates' copies a crash (or Telegram) kept from going, first.
        team_waits = not await self.deliver_team(bot)
        retry = max(TEAM_RETRY, self._pacer.held())
        next_polls = [self._clock() + retry] if team_waits else []
        now = self._clock()
        watches: list[Watch] = []
        for watch in await self._db.watches.open():
            if watch.busy_until is not None and watch.busy_until > now:
                # Its install call is still under way (here or in another replica): looked
                # into once it ended, at the latest once it can no longer be waiting.
                next_polls.append(max(watch.next_poll_at, watch.busy_until))
            else:
                watches.append(watch)
        due = [watch for watch in watches if watch.next_poll_at <= now]
        # Watches that did not come due keep their time; the others' new times are in polls.
        # A watch added meanwhile wakes the loop itself (BackgroundTasks.wake).
        next_polls += [watch.next_poll_at for watch in watches if watch.next_poll_at > now]
        if due:
            limiter = self._limiter or asyncio.Semaphore(self._concurrency)
            accounts = await self._db.accounts.credentials(
                [watch.account_id for watch in due if watch.account_id is not None]
            )
            users = [watch.user_id for watch in due]
            languages = await self._db.users.languages(users)
            several = await self._db.accounts.with_several(users)
            results = await map_bounded(
                lambda watch: self._check(
                    bot,
                    watch,
                    accounts,
                    languages.get(watch.user_id),
                    limiter,
                    several=watch.user_id in several,
                ),
                due,
                WORKERS_PER_SLOT * self._concurrency,
            )
            polls: list[WatchPoll] = []
            for watch, result in zip(due, results, strict=True):
                if isinstance(result, BaseException):
                    # One broken watch must not stop the others; it is retried next pass.
                    log.error(
                        "watch=%s order=%s check failed: %r", watch.id, watch.order_id, result
                    )
                    polls.append(self._back_off(watch))
                elif result is not None:
                    polls.append(result)
            # One transaction for the whole pass: a commit per watch dominated large sweeps.
            await self._db.watches.update_progress_many(polls)
            next_polls += [poll.next_poll_at for poll in polls]
        return max(0.0, min(next_polls) - self._clock()) if next_polls else None

    async def _check(
        self,
        bot: Bot,
        watch: Watch,
        accounts: dict[int, tuple[AccountInfo, str]],
        language: str | None,
        limiter: asyncio.Semaphore,
        *,
        several: bool = False,
    ) -> WatchPoll | None:
        """Polls one watch; returns its new progress, or None when the watch ended.

        What it sends names the account, and its buttons act on that account (drawn for it
        when the user has several, bot.account_scope)."""
        found = accounts.get(watch.account_id) if watch.account_id is not None else None
        if found is not None:
            i18n = self._hub.get(language)
            self._headers[watch.id] = i18n("push-account", account=account_name(i18n, found[0]))
        try:
            named = found is not None and (several or found[0].owner_id != watch.user_id)
            with drawing_for(found[0].id if found is not None and named else None):
                return await self._poll(bot, watch, found, language, limiter)
        finally:
            self._headers.pop(watch.id, None)

    async def _poll(
        self,
        bot: Bot,
        watch: Watch,
        found: tuple[AccountInfo, str] | None,
        language: str | None,
        limiter: asyncio.Semaphore,
    ) -> WatchPoll | None:
        if found is None:
            if watch.account_id is not None and await self._db.accounts.exists(watch.account_id):
                # Linked, but the key cannot be decrypted: the watch waits (backing off) for
                # the user to link again, and is never dropped for it.
                log.info("watch=%s user=%s key unreadable: waiting", watch.id, watch.user_id)
                return self._back_off(watch)
            log.info("watch=%s user=%s unlinked: dropped", watch.id, watch.user_id)
            await self._db.watches.delete(watch.id)
            return None
        account, api_key = found
        i18n = self._hub.get(language)
        # Polled even when past its time: a server that got ready meanwhile (its announcement
        # held back by flood control, say) is announced, not reported as taking too long.
        timed_out = self._clock() - watch.started_at > self._timeout
        creds = Credentials(cid=account.cid, key=api_key)
        try:
            async with limiter:
                info = await self._inferno.get_info(creds, watch.order_id)
        except InvalidCredentials:
            return await self._report_key_invalid(bot, watch, i18n)
        except InfernoError as exc:
            if timed_out:
                return await self._report_timeout(bot, watch, i18n)
            log.info(
                "watch=%s order=%s provider error %s; backing off",
                watch.id,
                watch.order_id,
                type(exc).__name__,
            )
            return self._back_off(watch)

        now = self._clock()
        resolved = False
        if watch.outcome_unknown:
            if not self._started(watch, info):
                if timed_out or now - watch.started_at >= self._unknown_grace:
                    return await self._report_not_sent(bot, watch, i18n)
                return WatchPoll(watch.id, watch.last_state, 0, now + self._interval)
            log.info(
                "watch=%s order=%s the unanswered %s started", watch.id, watch.order_id, watch.kind
            )
            resolved = True

        if info.is_ready and (watch.kind == "install" or self._reinstalled(watch, info, now)):
            return await self._report_ready(bot, watch, info, i18n, account)
        if timed_out:
            return await self._report_timeout(bot, watch, i18n)
        state = SEEN_NOT_READY if not info.is_ready else watch.last_state
        if resolved:
            # The status message may still show the confirmation the bot died on.
            drawn = await self._draw(bot, watch, i18n, self._started_text(watch, i18n))
            edited_at: float | None = now
        else:
            edited_at, drawn = await self._maybe_edit_progress(bot, watch, info, i18n, now)
        return WatchPoll(
            watch_id=watch.id,
            last_state=state,
            failures=0,
            next_poll_at=now + self._interval,
            last_edit_at=edited_at,
            resolved=resolved,
            status_drawn=drawn if isinstance(drawn, str) else None,
        )

    def _started(self, watch: Watch, info: ServerInfo) -> bool:
        """Whether what the provider shows proves that the unanswered install was carried out."""
        if watch.kind == "install":
            # The provider refuses an install where a server exists: one there now is ours.
            return info.vps_ok
        if info.power_state is PowerState.INSTALLING or not info.vps_ok or not info.ip:
            return True
        return (
            bool(info.password)
            and self._db.watches.same_password(watch, info.password or "") is False
        )

    def _reinstalled(self, watch: Watch, info: ServerInfo, now: float) -> bool:
        """Whether the reinstall's server, ready now, has been reinstalled since it was sent."""
        if watch.last_state == SEEN_NOT_READY:
            return True
        same = self._db.watches.same_password(watch, info.password) if info.password else None
        if same is not None:
            return not same
        since = watch.accepted_at if watch.accepted_at is not None else watch.started_at
        return now - since >= self._reinstall_settle

    def _after_flood(self, watch: Watch, flood: FloodControl) -> WatchPoll:
        """The message waits for a later pass, no sooner than Telegram allows; flood control is
        not the provider's failure, so the back-off does not grow."""
        return WatchPoll(
            watch_id=watch.id,
            last_state=watch.last_state,
            failures=watch.failures,
            next_poll_at=self._clock() + max(float(flood.retry_after), self._interval),
            last_edit_at=watch.last_edit_at,
        )

    def _back_off(self, watch: Watch) -> WatchPoll:
        failures = watch.failures + 1
        return WatchPoll(
            watch_id=watch.id,
            last_state=watch.last_state,
            failures=failures,
            next_poll_at=self._clock() + min(self._interval * 2**failures, MAX_BACKOFF),
        )

    async def _report_ready(
        self, bot: Bot, watch: Watch, info: ServerInfo, i18n: Translator, account: AccountInfo
    ) -> WatchPoll | None:
        """Announces the server; None once that is done, a poll to try again otherwise."""
        ip = clip(info.ip or "", 64)
        status = i18n(
            "watch-status-ready",
            kind=watch.kind,
            order=watch.order_id,
            template=clip(watch.template, 100),
            ip=ip,
        )
        flood = await self._draw_final(bot, watch, i18n, status)
        if flood is not None:
            return self._after_flood(watch, flood)
        shown = await server_name(self._db, watch.order_id, info.name, account.id)
        text = i18n(
            "watch-ready",
            name=clip(shown or info.ip or watch.order_id, 200),
            ip=ip,
            template=clip(watch.template, 100),
            order=watch.order_id,
        )
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    open_server_button(i18n("watch-btn-open"), watch.order_id),
                    InlineKeyboardButton(
                        text=i18n("watch-btn-password"),
                        callback_data=ShowPasswordCb(order_id=watch.order_id).pack(),
                    ),
                ]
            ]
        )

        async def announce() -> tuple[bool | FloodControl, list[TeamPush]]:
            delivered = await self._send(bot, watch, text, markup)
            if isinstance(delivered, FloodControl):
                return delivered, []
            # Marked right after the send (a stop waits for both): a crash in between repeats
            # the message once at most, but a ready server is never left unannounced. The
            # teammates' copies are stored with the mark, and sent from there: a crash before
            # they go only delays them.
            team = await self._team_copies(watch, info, account)
            await self._db.watches.mark_notified(watch.id, team)
            return delivered, team

        delivered, team = await uninterrupted(announce())
        if isinstance(delivered, FloodControl):
            # The watch stays open and announces the server on a later pass.
            return self._after_flood(watch, delivered)
        if team:
            await self.deliver_team(bot)
        log.info(
            "watch=%s user=%s order=%s ready ip=%s delivered=%s",
            watch.id,
            watch.user_id,
            watch.order_id,
            info.ip,
            delivered,
        )
        return None

    async def _team_copies(
        self, watch: Watch, info: ServerInfo, account: AccountInfo
    ) -> list[TeamPush]:
        """The copies for the other members of the account (every role sees servers), each in
        their language, for those who did not turn them off."""
        everyone = await self._db.accounts.members(account.id)
        starter = next((m.name for m in everyone if m.user_id == watch.user_id), None)
        team = [
            m
            for m in everyone
            if m.user_id != watch.user_id and (not self._allowed or m.user_id in self._allowed)
        ]
        if not team:
            return []
        languages = await self._db.users.languages([m.user_id for m in team])
        shown = await server_name(self._db, watch.order_id, info.name, account.id)
        copies: list[TeamPush] = []
        for member in team:
            prefs = await self._db.alerts.prefs(member.user_id)
            if prefs.blocked or not prefs.team_ready:
                continue
            i18n = self._hub.get(languages.get(member.user_id))
            text = i18n("push-account", account=account_name(i18n, account)) + "\n"
            text += i18n(
                "watch-ready-team",
                name=clip(shown or info.ip or watch.order_id, 200),
                ip=clip(info.ip or "", 64),
                template=clip(watch.template, 100),
                order=watch.order_id,
                by=starter or "—",
            )
            copies.append(
                TeamPush(
                    watch.id,
                    member.user_id,
                    account.id,
                    watch.order_id,
                    text,
                    i18n("watch-btn-open"),
                )
            )
        return copies

    async def deliver_team(self, bot: Bot) -> bool:
        """Sends the stored teammates' copies, each removed once Telegram took it (or never
        can); False when some wait for a later pass (flood control, Telegram failing)."""
        async with self._team_lock:
            while True:
                pending = await self._db.watches.team_pushes(TEAM_BATCH)
                if not pending:
                    return True
                for push in pending:
                    if not await self._send_team(bot, push):
                        return False

    async def _send_team(self, bot: Bot, push: TeamPush) -> bool:
        """One copy; False when it must wait for a later pass."""
        member = await self._db.accounts.member(push.account_id, push.user_id)
        if member is None:
            # No longer a member: the copy is not theirs to see.
            await self._db.watches.team_push_done(push.watch_id, push.user_id)
            return True
        several = push.user_id in await self._db.accounts.with_several([push.user_id])
        named = several or member.role != Role.OWNER
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[open_server_button(push.button, push.order_id)]]
        )
        if self._pacer.held() > 0:
            return False  # flood control, met by any sender of pushes: a later pass
        await self._pacer.wait()
        # Sent and marked to the end even when the bot stops meanwhile; the task copies the
        # drawing context.
        with drawing_for(push.account_id if named else None, member.role):
            return await uninterrupted(self._send_team_and_mark(bot, push, markup))

    async def _send_team_and_mark(
        self, bot: Bot, push: TeamPush, markup: InlineKeyboardMarkup
    ) -> bool:
        try:
            await bot.send_message(push.user_id, push.text, reply_markup=markup)
        except TelegramRetryAfter as exc:
            log.info("watch=%s team copies: flood control (%ss)", push.watch_id, exc.retry_after)
            self._pacer.flood(TEAM_KIND, exc.retry_after)
            return False
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            # Blocked, or refused as it is: another try says the same.
            log.info("watch=%s member=%s not told: %s", push.watch_id, push.user_id, exc.message)
            self._pacer.count(TEAM_KIND, FAILED)
        except TelegramAPIError as exc:
            log.info("watch=%s team copies wait: Telegram failed (%s)", push.watch_id, exc.message)
            self._pacer.count(TEAM_KIND, FAILED)
            return False
        else:
            self._pacer.count(TEAM_KIND, SENT)
        await self._db.watches.team_push_done(push.watch_id, push.user_id)
        return True

    async def _report_timeout(self, bot: Bot, watch: Watch, i18n: Translator) -> WatchPoll | None:
        """Tells the user the install takes too long; None once told, a later pass otherwise."""
        minutes = int((self._clock() - watch.started_at) // 60)
        status = i18n(
            "watch-status-timeout",
            kind=watch.kind,
            order=watch.order_id,
            template=clip(watch.template, 100),
            minutes=minutes,
        )
        flood = await self._draw_final(bot, watch, i18n, status)
        if flood is not None:
            return self._after_flood(watch, flood)
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=i18n("btn-refresh"),
                        callback_data=ServerCb(
                            order_id=watch.order_id, action=ServerAction.REFRESH
                        ).pack(),
                    )
                ]
            ]
        )
        text = i18n("watch-timeout", kind=watch.kind, order=watch.order_id, minutes=minutes)
        sent = await self._send(bot, watch, text, markup)
        if isinstance(sent, FloodControl):
            return self._after_flood(watch, sent)
        await self._db.watches.mark_timed_out(watch.id)
        log.info("watch=%s order=%s timed out after %d min", watch.id, watch.order_id, minutes)
        return None

    async def _report_key_invalid(
        self, bot: Bot, watch: Watch, i18n: Translator
    ) -> WatchPoll | None:
        status = i18n("watch-status-stopped", kind=watch.kind, order=watch.order_id)
        flood = await self._draw_final(bot, watch, i18n, status)
        if flood is not None:
            return self._after_flood(watch, flood)
        sent = await self._send(bot, watch, i18n("watch-key-invalid", order=watch.order_id), None)
        if isinstance(sent, FloodControl):
            return self._after_flood(watch, sent)
        log.info("watch=%s user=%s key rejected: dropped", watch.id, watch.user_id)
        await self._db.watches.delete(watch.id)
        return None

    async def _report_not_sent(self, bot: Bot, watch: Watch, i18n: Translator) -> WatchPoll | None:
        """The install's answer never came and the server shows no sign of it: say that it may
        not have been sent, with the server and a new start (which asks to confirm again)."""
        status = i18n(
            "watch-status-not-sent",
            kind=watch.kind,
            order=watch.order_id,
            template=clip(watch.template, 100),
        )
        flood = await self._draw_final(bot, watch, i18n, status)
        if flood is not None:
            return self._after_flood(watch, flood)
        mode = InstallMode.REINSTALL if watch.kind == "reinstall" else InstallMode.INSTALL
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [open_server_button(i18n("install-btn-server"), watch.order_id)],
                [
                    InlineKeyboardButton(
                        text=i18n("watch-btn-try-again", kind=watch.kind),
                        callback_data=InstallStartCb(order_id=watch.order_id, mode=mode).pack(),
                    )
                ],
            ]
        )
        text = i18n(
            "watch-not-sent",
            kind=watch.kind,
            order=watch.order_id,
            template=clip(watch.template, 100),
        )
        sent = await self._send(bot, watch, text, markup)
        if isinstance(sent, FloodControl):
            return self._after_flood(watch, sent)
        log.info(
            "watch=%s order=%s %s shows no sign: may not be sent",
            watch.id,
            watch.order_id,
            watch.kind,
        )
        await self._db.watches.delete(watch.id)
        return None

    def _started_text(self, watch: Watch, i18n: Translator) -> str:
        return i18n(
            "watch-status-started",
            kind=watch.kind,
            order=watch.order_id,
            template=clip(watch.template, 100),
        )

    async def _maybe_edit_progress(
        self, bot: Bot, watch: Watch, info: ServerInfo, i18n: Translator, now: float
    ) -> tuple[float | None, str | FloodControl | None]:
        if watch.status_message_id is None:
            return None, None
        if watch.last_edit_at is not None and now - watch.last_edit_at < PROGRESS_EDIT_EVERY:
            return None, None
        minutes = int((now - watch.started_at) // 60)
        if minutes < 1:
            return None, None
        text = i18n(
            "watch-progress",
            kind=watch.kind,
            order=watch.order_id,
            template=clip(watch.template, 100),
            state=_state_text(i18n, info),
            minutes=minutes,
        )
        return now, await self._draw(bot, watch, i18n, text)

    async def _draw_final(
        self, bot: Bot, watch: Watch, i18n: Translator, text: str
    ) -> FloodControl | None:
        """Draws the watch's last state into its status message and records it at once, so a
        later pass (after flood control held back the push, say) does not draw it again."""
        drawn = await self._draw(bot, watch, i18n, text)
        if isinstance(drawn, FloodControl):
            return drawn
        if drawn is not None and drawn != watch.status_drawn:
            await self._db.watches.set_status_drawn(watch.id, drawn)
        return None

    async def _draw(
        self, bot: Bot, watch: Watch, i18n: Translator, text: str
    ) -> str | FloodControl | None:
        """Shows ``text`` in the watch's status message, keeping its keyboard. Returns the
        digest of what the message shows now (None: there is no message to draw into)."""
        if watch.status_message_id is None:
            return None
        markup = status_keyboard(i18n, watch.order_id)
        drawn = _digest(text, markup)
        if drawn == watch.status_drawn:
            return drawn
        held = self._pacer.held()
        if held > 0:
            # Telegram's flood control holds the edits of the bot's own messages too.
            return FloodControl(math.ceil(held))
        try:
            # Without the keyboard again, an edit would remove it from the message.
            await bot.edit_message_text(
                text=text,
                chat_id=watch.chat_id,
                message_id=watch.status_message_id,
                reply_markup=markup,
            )
        except TelegramRetryAfter as exc:
            log.info("watch=%s status edit: flood control (%ss)", watch.id, exc.retry_after)
            self._pacer.hold(exc.retry_after)
            return FloodControl(exc.retry_after)
        except TelegramForbiddenError:
            # Blocked: the next message to send finds out and ends the watch.
            return None
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                # Drawn just before a restart that lost the record of it.
                return drawn
            # Deleted by the user, or too old to edit: stop editing it, quietly.
            log.info("watch=%s status message gone: %s", watch.id, exc.message)
            await self._db.watches.set_status_message(watch.id, None)
            return None
        except TelegramAPIError as exc:
            log.info("watch=%s status edit failed: %s", watch.id, exc.message)
            return None
        return drawn

    async def _send(
        self, bot: Bot, watch: Watch, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool | FloodControl:
        """True: sent. False: it never can be (blocked, refused). FloodControl: refused for
        longer than the session waits (``FloodWait``); try again on a later pass rather than
        hold the sweep."""
        held = self._pacer.held()
        if held > 0:
            # Flood control, met by any sender of pushes: nothing goes before it ends.
            return FloodControl(math.ceil(held))
        sent = await self._send_once(bot, watch, text, markup)
        if not isinstance(sent, FloodControl):
            self._pacer.count(INSTALL_KIND, SENT if sent else FAILED)
        return sent

    async def _send_once(
        self, bot: Bot, watch: Watch, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool | FloodControl:
        await self._pacer.wait()
        header = self._headers.get(watch.id)
        if header is not None:
            text = f"{header}\n{text}"
        try:
            await bot.send_message(watch.chat_id, text, reply_markup=markup)
            return True
        except TelegramRetryAfter as exc:
            log.info("watch=%s flood control (%ss): a later pass", watch.id, exc.retry_after)
            self._pacer.flood(INSTALL_KIND, exc.retry_after)
            return FloodControl(exc.retry_after)
        except TelegramForbiddenError:
            # Blocked or deactivated: nobody to tell, so the watch ends silently.
            log.info("watch=%s user=%s blocked the bot: dropped", watch.id, watch.user_id)
            await self._db.watches.delete(watch.id)
            return False
        except TelegramBadRequest as exc:
            log.warning("watch=%s message not delivered: %s", watch.id, exc.message)
            return False


@dataclass(frozen=True)
class FloodControl:
    """Telegram refused a message for longer than the session waits."""

    retry_after: int


def status_keyboard(i18n: Translator, order_id: str) -> InlineKeyboardMarkup:
    """The keyboard of the install's status message; each edit keeps it. Its button opens the
    card (and the menu) in a new message: the watcher's edits must never land on a screen the
    user navigated to from here."""
    server = open_server_button(i18n("install-btn-server"), order_id)
    return InlineKeyboardMarkup(inline_keyboard=[[server], [menu_below_button(i18n)]])


def open_server_button(text: str, order_id: str) -> InlineKeyboardButton:
    """Opens the server's card in a new message, so nothing the watcher edits later lands on
    a screen the user has moved on to."""
    return InlineKeyboardButton(
        text=text,
        callback_data=ServerCb(order_id=order_id, action=ServerAction.NEW_MESSAGE).pack(),
    )


def _digest(text: str, markup: InlineKeyboardMarkup) -> str:
    content = f"{text}\0{markup.model_dump_json()}"
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]


def _state_text(i18n: Translator, info: ServerInfo) -> str:
    match info.power_state:
        case PowerState.RUNNING:
            return i18n("watch-state-running")
        case PowerState.STOPPED:
            return i18n("watch-state-stopped")
        case PowerState.INSTALLING:
            return i18n("watch-state-installing")
    return clip(info.real_state, 64) if info.real_state else i18n("watch-state-unknown")
