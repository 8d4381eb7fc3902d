# Placeholder until delayed deletions land (issue 4).
from __future__ import annotations

from aiogram import Bot

from bot.storage import Database


class DeletionScheduler:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def run_due(self, bot: Bot) -> float | None:
        return None
