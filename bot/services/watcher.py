"""The install watcher: follows every install the bot started and tells the user when it is ready.

Watches are rows in SQLite, so a restart (or ``kill -9``) resumes every open one. A pass polls
the due watches with bounded concurrency; a provider failure only pushes that watch's next poll
back. "Ready" is never guessed: it is :attr:`ServerInfo.is_ready` (an IP and running, or
``online``), and for a reinstall the server must first have been seen *not* ready, since it was
running before the reinstall began.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.handlers.callbacks import ServerAction, ServerCb, ShowPasswordCb
from bot.handlers.navigation import menu_below_button
from bot.i18n import Translator, TranslatorHub
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, InvalidCredentials
from bot.inferno.models import Credentials, PowerState, ServerInfo
from bot.storage import Account, Database, Watch, WatchPoll
from bot.ui import clip

log = logging.getLogger(__name__)

# The background task's name, for BackgroundTasks.start and wake.
WATCHER_TASK = "install-watcher"

MAX_BACKOFF = 600.0
PROGRESS_EDIT_EVERY = 60.0
# Ready only counts for a reinstall once we have seen the server in this state first.
SEEN_NOT_READY = "not-ready"


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
        on_push: Callable[[bool], None] | None = None,
    ) -> None:
        self._on_push = on_push  # told of each message sent (True) or not (False): metrics
        self._db = db
        self._inferno = inferno
        self._hub = hub
        self._interval = interval
        self._timeout = timeout
        self._concurrency = concurrency
        self._clock = clock

    async def count(self) -> int:
        return await self._db.watches.count_open()

    async def sweep(self, bot: Bot) -> float | None:
        """One pass over the due watches; returns the seconds until the next one is due."""
        watches = await self._db.watches.open()
        now = self._clock()
        due = [watch for watch in watches if watch.next_poll_at <= now]
        # Watches that did not come due keep their time; the others' new times are in polls.
        # A watch added meanwhile wakes the loop itself (BackgroundTasks.wake).
        next_polls = [watch.next_poll_at for watch in watches if watch.next_poll_at > now]
        if due:
            limiter = asyncio.Semaphore(self._concurrency)
            accounts = await self._db.users.accounts([watch.user_id for watch in due])
            results = await asyncio.gather(
                *(self._check(bot, watch, accounts.get(watch.user_id), limiter) for watch in due),
                return_exceptions=True,
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
        owner: tuple[Account, str | None] | None,
        limiter: asyncio.Semaphore,
    ) -> WatchPoll | None:
        """Polls one watch; returns its new progress, or None when the watch ended."""
        if owner is None:
            if await self._db.users.has_stored_key(watch.user_id):
                # Linked, but the key cannot be decrypted: the watch waits (backing off) for
                # the user to link again, and is never dropped for it.
                log.info("watch=%s user=%s key unreadable: waiting", watch.id, watch.user_id)
                return self._back_off(watch)
            log.info("watch=%s user=%s unlinked: dropped", watch.id, watch.user_id)
            await self._db.watches.delete(watch.id)
            return None
        account, language = owner
        i18n = self._hub.get(language)
        # Polled even when past its time: a server that got ready meanwhile (its announcement
        # held back by flood control, say) is announced, not reported as taking too long.
        timed_out = self._clock() - watch.started_at > self._timeout
        creds = Credentials(cid=account.cid, key=account.api_key)
        try:
            async with limiter:
                info = await self._inferno.get_info(creds, watch.order_id)
        except InvalidCredentials:
            sent = await self._send(
                bot, watch, i18n("watch-key-invalid", order=watch.order_id), None
            )
            if isinstance(sent, FloodControl):
                return self._after_flood(watch, sent)
            log.info("watch=%s user=%s key rejected: dropped", watch.id, watch.user_id)
            await self._db.watches.delete(watch.id)
            return None
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

        if info.is_ready and (watch.kind == "install" or watch.last_state == SEEN_NOT_READY):
            return await self._report_ready(bot, watch, info, i18n)
        if timed_out:
            return await self._report_timeout(bot, watch, i18n)
        state = SEEN_NOT_READY if not info.is_ready else watch.last_state
        now = self._clock()
        edited_at = await self._maybe_edit_progress(bot, watch, info, i18n, now)
        return WatchPoll(
            watch_id=watch.id,
            last_state=state,
            failures=0,
            next_poll_at=now + self._interval,
            last_edit_at=edited_at,
        )

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
        self, bot: Bot, watch: Watch, info: ServerInfo, i18n: Translator
    ) -> WatchPoll | None:
        """Announces the server; None once that is done, a poll to try again otherwise."""
        text = i18n(
            "watch-ready",
            name=clip(info.name or info.ip or watch.order_id, 200),
            ip=clip(info.ip or "", 64),
            template=clip(watch.template, 100),
            order=watch.order_id,
        )
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=i18n("watch-btn-open"),
                        callback_data=ServerCb(
                            order_id=watch.order_id, action=ServerAction.NEW_MESSAGE
                        ).pack(),
                    ),
                    InlineKeyboardButton(
                        text=i18n("watch-btn-password"),
                        callback_data=ShowPasswordCb(order_id=watch.order_id).pack(),
                    ),
                ]
            ]
        )
        delivered = await self._send(bot, watch, text, markup)
        if isinstance(delivered, FloodControl):
            # The watch stays open and announces the server on a later pass.
            return self._after_flood(watch, delivered)
        # Marked right after the send: a crash in between repeats the message once at most,
        # but a ready server is never left unannounced.
        await self._db.watches.mark_notified(watch.id)
        log.info(
            "watch=%s user=%s order=%s ready ip=%s delivered=%s",
            watch.id,
            watch.user_id,
            watch.order_id,
            info.ip,
            delivered,
        )
        return None

    async def _report_timeout(self, bot: Bot, watch: Watch, i18n: Translator) -> WatchPoll | None:
        """Tells the user the install takes too long; None once told, a later pass otherwise."""
        minutes = int((self._clock() - watch.started_at) // 60)
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
        sent = await self._send(
            bot, watch, i18n("watch-timeout", order=watch.order_id, minutes=minutes), markup
        )
        if isinstance(sent, FloodControl):
            return self._after_flood(watch, sent)
        await self._db.watches.mark_timed_out(watch.id)
        log.info("watch=%s order=%s timed out after %d min", watch.id, watch.order_id, minutes)
        return None

    async def _maybe_edit_progress(
        self, bot: Bot, watch: Watch, info: ServerInfo, i18n: Translator, now: float
    ) -> float | None:
        if watch.status_message_id is None:
            return None
        if watch.last_edit_at is not None and now - watch.last_edit_at < PROGRESS_EDIT_EVERY:
            return None
        minutes = int((now - watch.started_at) // 60)
        if minutes < 1:
            return None
        state = _state_text(i18n, info)
        text = i18n(
            "watch-progress",
            order=watch.order_id,
            template=clip(watch.template, 100),
            state=state,
            minutes=minutes,
        )
        try:
            # Without the keyboard again, an edit would remove it from the message.
            await bot.edit_message_text(
                text=text,
                chat_id=watch.chat_id,
                message_id=watch.status_message_id,
                reply_markup=status_keyboard(i18n, watch.order_id),
            )
        except TelegramForbiddenError:
            return now
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                # The message is gone or too old: stop trying to edit it.
                await self._db.watches.set_status_message(watch.id, None)
        except TelegramAPIError as exc:
            log.info("watch=%s progress edit failed: %s", watch.id, exc.message)
        return now

    async def _send(
        self, bot: Bot, watch: Watch, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool | FloodControl:
        """True: sent. False: it never can be (blocked, refused). FloodControl: refused for
        longer than the session waits (``FloodWait``); try again on a later pass rather than
        hold the sweep."""
        sent = await self._send_once(bot, watch, text, markup)
        if self._on_push is not None:
            self._on_push(sent is True)
        return sent

    async def _send_once(
        self, bot: Bot, watch: Watch, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool | FloodControl:
        try:
            await bot.send_message(watch.chat_id, text, reply_markup=markup)
            return True
        except TelegramRetryAfter as exc:
            log.info("watch=%s flood control (%ss): a later pass", watch.id, exc.retry_after)
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
    """The keyboard of the "install queued" message; each progress edit keeps it. Its button
    opens the card (and the menu) in a new message: the progress edits must never land on a
    screen the user navigated to from here."""
    server = InlineKeyboardButton(
        text=i18n("install-btn-server"),
        callback_data=ServerCb(order_id=order_id, action=ServerAction.NEW_MESSAGE).pack(),
    )
    return InlineKeyboardMarkup(inline_keyboard=[[server], [menu_below_button(i18n)]])


def _state_text(i18n: Translator, info: ServerInfo) -> str:
    match info.power_state:
        case PowerState.RUNNING:
            return i18n("watch-state-running")
        case PowerState.STOPPED:
            return i18n("watch-state-stopped")
        case PowerState.INSTALLING:
            return i18n("watch-state-installing")
    return clip(info.real_state, 64) if info.real_state else i18n("watch-state-unknown")
