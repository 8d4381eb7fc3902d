"""Dates and amounts as a user reads them, in the user's language; for every screen.

The results are plain text: like any argument, they are escaped when passed to a translation.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.i18n import Html, Translator

__all__ = ["format_date", "format_money", "parse_date"]

# The provider writes dates as ISO ("2026-12-10", maybe with a time); a Russian panel may write
# "10.12.2026". Whatever follows the date (a time, a zone) is not shown.
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T].*)?")


def parse_date(text: str) -> dt.date | None:
    """The calendar date a provider's date text names, or None when it names none."""
    text = text.strip()
    try:
        if match := _ISO_DATE.fullmatch(text):
            year, month, day = (int(part) for part in match.groups())
        elif match := _DOTTED_DATE.fullmatch(text):
            day, month, year = (int(part) for part in match.groups())
        else:
            return None
        return dt.date(year, month, day)
    except ValueError:  # 2026-02-30, 0000-00-00
        return None


def format_date(i18n: Translator, value: str | dt.date) -> str:
    """``10 Dec 2026`` / ``10 дек. 2026``; text that is no date comes back as it is."""
    day = value if isinstance(value, dt.date) else parse_date(value)
    if day is None:
        return str(value).strip()
    month = Html(i18n(f"date-month-{day.month}"))
    return i18n("date-day-month-year", day=day.day, month=month, year=day.year)


def format_money(amount: str, currency: str | None) -> str:
    """``5.00 USD``, or the bare amount when no currency is known."""
    return f"{amount} {currency}" if currency else amount
