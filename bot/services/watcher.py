# Placeholder until the install watcher lands (issue 5).
from __future__ import annotations

from aiogram import Bot

from bot.i18n import TranslatorHub
from bot.inferno.client import InfernoClient
from bot.storage import Database


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
    ) -> None:
        self._db = db

    async def sweep(self, bot: Bot) -> float | None:
        return None

    async def count(self) -> int:
        return 0
