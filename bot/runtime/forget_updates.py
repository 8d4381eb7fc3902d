"""Stop aiogram from keeping the last 128 updates alive.

**What it changes.** aiogram's ``Update.event_type`` is a property over
``functools.lru_cache(maxsize=128)``, and the cache's keys are the updates themselves: the last
128 updates the bot handled — each with its message, keyboard, chat and users — stay in memory
for the life of the process. :func:`forget_handled_updates`, called by ``create_dispatcher``,
puts the same function back uncached (through the cache's public ``__wrapped__``): the answer
is a walk over the update's optional fields, no dearer than the cache's own hashing.

**Measured gain** (``bench/RESULTS.md``, "Round 5"): 128 updates of the benchmark's traffic are
2.7 MB of Python objects, more with longer messages, and the scattered survivors keep the
allocator from giving back the memory around them; the served ``python -m bot`` went from 107.0
to 104.8 MB.

**Switching it off.** Remove the call in ``bot/app.py``'s ``create_dispatcher``.

**When aiogram changes under it.** If ``Update.event_type`` is no longer a property over a
cached function, nothing is replaced and ``create_dispatcher`` logs a warning;
``tests/test_forget_updates.py`` (``test_the_installed_aiogram_takes_the_fast_path``) fails,
whether aiogram's new shape is one this module does not know or aiogram stopped caching (then
this module can go).
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
