"""Sends the messages the bot owes users (``notices`` rows), e.g. "link your account again"
after the operator gave up accounts whose key was lost (``forget-undecryptable``).

Notices are written while the bot is stopped, so the bot sends them once it runs, a batch per
pass. A notice is removed once sent, or once it can never be sent (the user blocked the bot);
when Telegram cannot be reached it stays for a later pass.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)

from bot.i18n import Translator, TranslatorHub
from bot.services.background import uninterrupted
from bot.services.pacer import FAILED, SENT, PushPacer
from bot.storage import Database, Notice
from bot.storage.startup import LINK_AGAIN

log = logging.getLogger(__name__)

NOTICES_TASK = "notices"
# A later pass retries what Telegram did not take; nothing else writes notices while the bot
# runs, so this only matters after a failure.
NOTICES_INTERVAL = 600.0
BATCH = 50
# How notices are counted among the pushes (metrics).
PUSH_KIND = "notice"


class NoticeSender:
    def __init__(self, db: Database, hub: TranslatorHub, pacer: PushPacer | None = None) -> None:
        self._db = db
        self._hub = hub
        # The process's one pacer (``Services.pacer``): notices, alerts and install messages
        # together stay under Telegram's global rate.
        self._pacer = pacer or PushPacer()

    async def deliver(self, bot: Bot) -> float | None:
        """One batch; returns 0 when more are waiting, the wait Telegram asks for, or None."""
        notices = await self._db.notices.pending(BATCH)
        for notice in notices:
            text = _text(self._hub.get(notice.language), notice.kind)
            if notice.linked or text is None:
                # Linked again meanwhile, or a kind this version does not know: nothing to say.
                await self._db.notices.remove(notice.user_id, notice.kind)
                continue
            held = self._pacer.held()
            if held > 0:
                # Flood control, met by any sender of pushes: the rest waits for a later pass.
                return held
            await self._pacer.wait()
            # Sent and removed to the end even when the bot stops meanwhile.
            stop, wait = await uninterrupted(self._send_and_remove(bot, notice, text))
            if stop:
                return wait
        return 0.0 if len(notices) == BATCH else None

    async def _send_and_remove(
        self, bot: Bot, notice: Notice, text: str
    ) -> tuple[bool, float | None]:
        """(whether the batch stops here, what to return then)."""
        try:
            # A private chat's id is its user's id.
            await bot.send_message(notice.user_id, text)
        except TelegramRetryAfter as exc:
            self._pacer.flood(PUSH_KIND, exc.retry_after)
            return True, float(exc.retry_after)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            self._pacer.count(PUSH_KIND, FAILED)
            log.info(
                "notice %s for user=%s cannot be sent: %s",
                notice.kind,
                notice.user_id,
                exc.message,
            )
        except TelegramAPIError as exc:
            self._pacer.count(PUSH_KIND, FAILED)
            log.info("notices wait for Telegram: %s", exc.message)
            return True, None
        else:
            self._pacer.count(PUSH_KIND, SENT)
            log.info("notice %s sent to user=%s", notice.kind, notice.user_id)
        await self._db.notices.remove(notice.user_id, notice.kind)
        return False, None


def _text(i18n: Translator, kind: str) -> str | None:
    if kind == LINK_AGAIN:
        return i18n("notice-link-again")
    return None
