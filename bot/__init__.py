"""Inferno VPS bot: run servers of the Inferno hoster from Telegram."""

__version__ = "0.1.0"
