"""Inferno VPS bot: run servers of the Inferno hoster from Telegram."""

__version__ = "0.1.0"

from bot.lazy_types import import_aiogram_types

# Before anything imports aiogram: its types are then built when first used (see lazy_types).
import_aiogram_types()
