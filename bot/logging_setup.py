"""Process logging: one line per update, secrets masked even if someone logs them by mistake."""

from __future__ import annotations

import logging
import re
import sys

from bot.inferno.models import SECRET_TEXT_RE

_SECRET_PATTERNS = [
    # Header or field forms a careless log line could carry: the client's own pattern.
    SECRET_TEXT_RE,
    # Bot tokens inside Bot API URLs.
    re.compile(r"(/bot)(\d+:[A-Za-z0-9_-]+)"),
]


class SecretMaskingFilter(logging.Filter):
    """Masks known secret values and secret-looking fields in every record."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self._secrets = [s for s in (secrets or []) if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message, self._secrets)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Exceptions are rendered by the formatter later; render now so they get masked too.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = mask_text(formatted, self._secrets)
        return True


def mask_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


def setup_logging(level: int, secrets: list[str] | None = None) -> SecretMaskingFilter:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    masking = SecretMaskingFilter(secrets)
    handler.addFilter(masking)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiosqlite").setLevel(max(level, logging.INFO))
    # bot.events (EventLogMiddleware) writes the one line per update, with the user and the
    # action; aiogram's own "Update id=… is handled" line would double every entry. Its
    # warnings and errors still come through.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    return masking
