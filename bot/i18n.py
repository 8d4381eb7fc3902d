"""Fluent translations: one bundle per locale, a fallback chain, and HTML-safe arguments.

Every user-visible string lives in ``bot/locales/<lang>/*.ftl``. Messages are HTML (the bot's
parse mode), so string arguments are escaped here, once, for every caller: provider- and
user-supplied text can never break the markup or inject tags. Code that already built safe
HTML wraps it in :class:`Html`.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from fluent.runtime import FluentBundle
from fluent.runtime.types import fluent_number
from fluent.syntax import FluentParser

log = logging.getLogger(__name__)


# Package data: the same place in a checkout, an installed wheel and the Docker image, whatever
# the working directory.
LOCALES_DIR = Path(__file__).resolve().parent / "locales"
FALLBACK_LOCALE = "en"

Arg = str | int | float | Decimal | None


class Html(str):
    """A string that is already valid, escaped Telegram HTML."""


T = TypeVar("T")


def per_locale(build: Callable[[Translator], T]) -> Callable[[Translator], T]:
    """For what is built from one locale's texts alone, such as a fixed keyboard: built once
    per translator instead of on every screen. A process has one translator per locale (tests
    make a few more), so a small cache holds them all."""
    return functools.lru_cache(maxsize=8)(build)


class MissingTranslationError(LookupError):
    pass


class Translator:
    """Formats messages for one locale, falling back along the chain when a key is missing."""

    def __init__(self, locale: str, bundles: list[FluentBundle], *, strict: bool) -> None:
        self.locale = locale
        self._bundles = bundles
        self._strict = strict
        # Messages without arguments (button labels, titles) always render the same; every
        # screen shows several of them, so each is formatted once per process.
        self._plain: dict[str, str] = {}

    def __call__(self, key: str, /, **kwargs: Arg) -> str:
        if not kwargs:
            text = self._plain.get(key)
            if text is None:
                text = self._plain[key] = self._format(key, {})
            return text
        return self._format(key, {name: _to_fluent(value) for name, value in kwargs.items()})

    def _format(self, key: str, args: dict[str, Any]) -> str:
        for bundle in self._bundles:
            if not bundle.has_message(key):
                continue
            message = bundle.get_message(key)
            if message.value is None:
                continue
            text, errors = bundle.format_pattern(message.value, args)
            if errors:
                if self._strict:
                    raise MissingTranslationError(f"{self.locale}:{key}: {errors}")
                log.warning("translation %s:%s rendered with errors: %s", self.locale, key, errors)
            return str(text)
        if self._strict:
            raise MissingTranslationError(f"no message {key!r} in {self.locale} or its fallbacks")
        log.error("missing translation %s:%s", self.locale, key)
        return key


def _to_fluent(value: Arg) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        # Ids and amounts must read "47001", never "47,001".
        return fluent_number(value, useGrouping=False)
    if isinstance(value, Html):
        return str(value)
    return fit(html.escape(str(value), quote=False), ARG_MAX)


# Fluent refuses an argument longer than its MAX_PART_LENGTH (2,500 characters) and renders the
# whole message as "{???}". Provider text can be longer (an HTML plan description, a fail
# message), so arguments are cut below that, after escaping; the whole text is fitted to
# Telegram's limit later anyway.
ARG_MAX = 2000


MAX_TEXT = 4096  # Telegram's limit for a message text, in UTF-16 code units
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")


def utf16_len(text: str) -> int:
    """The length Telegram counts: UTF-16 code units, two for an emoji such as 🔑."""
    if len(text) <= 1 or text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_prefix(text: str, units: int) -> str:
    """The longest start of ``text`` of at most ``units`` UTF-16 code units, never ending in
    half of a character that takes two."""
    raw = text.encode("utf-16-le", "surrogatepass")[: 2 * max(units, 0)]
    if raw and 0xD8 <= raw[-1] <= 0xDB:  # a high surrogate: the first half of a pair
        raw = raw[:-2]
    return raw.decode("utf-16-le", "surrogatepass")


def fit(text: str, limit: int = MAX_TEXT) -> str:
    """Cuts a text to Telegram's limit without breaking its HTML.

    The limit counts the raw text in UTF-16 code units, as Telegram does; the raw text is never
    shorter than what Telegram counts (the text after parsing), so the result always fits.
    Tags left open by the cut are closed again.
    """
    if 2 * len(text) <= limit or utf16_len(text) <= limit:
        return text
    cut = utf16_prefix(text, limit - 1)
    for opener, closer in (("<", ">"), ("&", ";")):
        start = cut.rfind(opener)
        if start > cut.rfind(closer):
            cut = cut[:start]
    open_tags: list[str] = []
    for match in _TAG.finditer(cut):
        closing, name = match.group(1), match.group(2).lower()
        if closing:
            if name in open_tags:
                del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name)]
        else:
            open_tags.append(name)
    return cut + "…" + "".join(f"</{name}>" for name in reversed(open_tags))


class TranslatorHub:
    """Loads every locale once at startup and hands out per-locale translators."""

    def __init__(
        self,
        locales_dir: Path = LOCALES_DIR,
        *,
        default_locale: str = "ru",
        strict: bool = False,
    ) -> None:
        self.default_locale = default_locale
        self._strict = strict
        # Parsed without source positions (``with_spans=False``, fluent.syntax's public
        # option): only a syntax error's report would read them, and the bundles keep every
        # message's tree for the life of the process. The parsed English and Russian texts are
        # then 1.2 MB of Python objects instead of 2.1 MB (tracemalloc).
        parser = FluentParser(with_spans=False)
        resources: dict[str, list[Any]] = {}
        for folder in sorted(p for p in locales_dir.iterdir() if p.is_dir()):
            resources[folder.name] = [
                parser.parse(path.read_text(encoding="utf-8"))
                for path in sorted(folder.glob("*.ftl"))
            ]
        if FALLBACK_LOCALE not in resources:
            raise RuntimeError(f"the {FALLBACK_LOCALE} locale is missing from {locales_dir}")
        # The parsed files themselves are not kept: the bundles hold their messages and terms.
        self._translators = {locale: self._build(locale, resources) for locale in resources}

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(self._translators)

    def _build(self, locale: str, resources: dict[str, list[Any]]) -> Translator:
        chain = [locale]
        for candidate in (self.default_locale, FALLBACK_LOCALE):
            if candidate not in chain and candidate in resources:
                chain.append(candidate)
        bundles = []
        for name in chain:
            bundle = FluentBundle([name], use_isolating=False)
            for resource in resources[name]:
                bundle.add_resource(resource)
            bundles.append(bundle)
        return Translator(locale, bundles, strict=self._strict)

    def get(self, locale: str | None) -> Translator:
        if locale and locale in self._translators:
            return self._translators[locale]
        return self._translators.get(self.default_locale, self._translators[FALLBACK_LOCALE])

    def pick_locale(self, language_code: str | None) -> str:
        """Telegram's language_code → one of ours: ru → ru, en → en, else the default."""
        if language_code:
            short = language_code.split("-")[0].lower()
            if short in self._translators:
                return short
        return self.default_locale
