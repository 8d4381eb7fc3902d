"""Stop aiogram from keeping the last 128 updates alive.

aiogram's ``Update.event_type`` is a property over ``functools.lru_cache(maxsize=128)``, and the
cache's keys are the updates themselves: the last 128 updates the bot handled — each with its
message, keyboard, chat and users — stay in memory for the life of the process. In the
benchmark's traffic that is 2.7 MB of Python objects, more with longer messages, and the
scattered survivors keep the allocator from giving back the memory around them
(``bench/RESULTS.md``, round 5). The cached answer is a walk over the update's optional fields,
no dearer than the cache's own hashing, so the bot reads it uncached.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import Update

_PROPERTY = "event_type"


def forget_handled_updates() -> bool:
    """Read ``Update.event_type`` uncached; True once it is, False if aiogram's shape is new."""
    current = Update.__dict__.get(_PROPERTY)
    if not isinstance(current, property) or current.fget is None:
        return False
    cached: Any = current.fget
    if not hasattr(cached, "cache_clear"):
        return True  # aiogram no longer caches it
    plain = getattr(cached, "__wrapped__", None)
    if not callable(plain):
        return False
    cached.cache_clear()
    setattr(Update, _PROPERTY, property(plain, doc=current.__doc__))
    return True
