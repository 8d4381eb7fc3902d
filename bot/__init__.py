"""Inferno VPS bot: run servers of the Inferno hoster from Telegram."""

__version__ = "0.1.0"

import os

from bot.runtime import lazy_types

# Before anything imports aiogram: its types are then built when first used, unless
# LAZY_TYPES=0 (bot/runtime/lazy_types.py). aiogram itself is imported only where it is needed.
lazy_types.activate(os.environ.get(lazy_types.SWITCH))
