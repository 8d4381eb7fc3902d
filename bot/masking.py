"""How secrets are hidden wherever they could be shown: one rule for every layer.

Neutral on purpose: the provider client (``bot.inferno``) and the storage (``bot.storage``) both
use it, and neither may import the other.
"""

from __future__ import annotations

import re

__all__ = ["SECRET_NAME_PARTS", "SECRET_NAME_RE", "is_secret_name", "mask_key"]

# What a key keeps visible: enough to tell two keys apart, never enough to help guess one.
KEY_TAIL = 4
# A key shorter than this shows nothing of itself: four characters would be a large share of it.
KEY_MIN_SHOWN = 16

# A field whose name contains any of these (any case, anywhere: ``rootpass``, ``vnc_password``,
# ``X-Key``, ``apiToken``) holds a secret.
SECRET_NAME_PARTS = r"pass|pwd|key|token|secret"
SECRET_NAME_RE = re.compile(SECRET_NAME_PARTS, re.IGNORECASE)


def mask_key(key: str) -> str:
    """An API key as it may be shown or logged: its last four characters only (``…x9Zt``)."""
    if len(key) < KEY_MIN_SHOWN:
        return "…"
    return f"…{key[-KEY_TAIL:]}"


def is_secret_name(name: object) -> bool:
    """Whether a field of this name may hold a secret, so its value is never shown or logged."""
    return SECRET_NAME_RE.search(str(name)) is not None
