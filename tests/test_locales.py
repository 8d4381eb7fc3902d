"""Both locales are complete, and every message the code asks for renders with what it passes.

The code is scanned for ``i18n("key", var=...)`` calls (any callable named ``i18n``), so a
typo in a key or a forgotten variable fails here instead of in a user's chat.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.handlers.navigation import main_menu_keyboard
from bot.i18n import MissingTranslationError, TranslatorHub
from tests import ftl

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("en", "ru")


@pytest.fixture(scope="module")
def hub() -> TranslatorHub:
    return TranslatorHub(default_locale="en", strict=True)


def translation_calls() -> list[tuple[str, int, str, set[str] | None]]:
    """(file, line, key, keyword names or None when **kwargs hides them) for literal keys."""
    calls = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in {"i18n", "_", "t"}:
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            keywords: set[str] | None = set()
            for keyword in node.keywords:
                if keyword.arg is None:
                    keywords = None
                    break
                assert keywords is not None
                keywords.add(keyword.arg)
            calls.append((str(path.relative_to(ROOT)), node.lineno, first.value, keywords))
    return calls


def test_locales_have_the_same_keys(hub: TranslatorHub) -> None:
    assert set(hub.locales) >= set(LOCALES)
    en, ru = ftl.message_ids("en"), ftl.message_ids("ru")
    assert sorted(en - ru) == [], "missing in ru"
    assert sorted(ru - en) == [], "missing in en"


def test_locales_use_the_same_variables(hub: TranslatorHub) -> None:
    en, ru = ftl.variables("en"), ftl.variables("ru")
    different = {key: (en[key], ru[key]) for key in en if key in ru and en[key] != ru[key]}
    assert different == {}


def test_code_calls_existing_keys_with_the_exact_variables(hub: TranslatorHub) -> None:
    calls = translation_calls()
    assert len(calls) > 20, "the scan found suspiciously few translation calls"
    problems = []
    for locale in LOCALES:
        ids = ftl.message_ids(locale)
        variables = ftl.variables(locale)
        for file, line, key, passed in calls:
            if key not in ids:
                problems.append(f"{file}:{line}: {key!r} missing in {locale}")
                continue
            if passed is not None and passed != variables[key]:
                problems.append(
                    f"{file}:{line}: {key!r} in {locale} needs {sorted(variables[key])}, "
                    f"code passes {sorted(passed)}"
                )
    assert problems == []


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_renders(hub: TranslatorHub, locale: str) -> None:
    i18n = hub.get(locale)
    for key, names in ftl.variables(locale).items():
        text = i18n(key, **dict.fromkeys(names, "1"))
        assert text.strip(), key
        assert "{" not in text, f"{locale}:{key} left a placeholder"


def test_strict_mode_rejects_a_missing_variable(hub: TranslatorHub) -> None:
    with pytest.raises(MissingTranslationError):
        hub.get("en")("menu-title")
    with pytest.raises(MissingTranslationError):
        hub.get("en")("no-such-key")


def test_russian_plural_forms(hub: TranslatorHub) -> None:
    ru = hub.get("ru")
    forms = {ru("servers-count", count=n) for n in (1, 2, 5, 21)}
    assert len(forms) >= 3, forms


def test_arguments_are_html_escaped(hub: TranslatorHub) -> None:
    text = hub.get("en")("account-ask-label", account="<b>&")
    assert "&lt;b&gt;&amp;" in text
    assert "<b>&" not in text


def test_ids_are_not_grouped(hub: TranslatorHub) -> None:
    assert "47001" in hub.get("en")("account-name-plain", cid=47001)


def test_a_message_without_arguments_is_formatted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from fluent.runtime import FluentBundle

    calls: list[object] = []
    real = FluentBundle.format_pattern

    def counting(self: FluentBundle, pattern: object, args: object = None) -> object:
        calls.append(pattern)
        return real(self, pattern, args)  # type: ignore[arg-type]

    monkeypatch.setattr(FluentBundle, "format_pattern", counting)
    i18n = TranslatorHub(default_locale="en", strict=True).get("ru")
    assert i18n("btn-menu") == i18n("btn-menu") == i18n("btn-menu")
    assert len(calls) == 1
    # With arguments every call renders: the arguments differ.
    assert i18n("account-name-plain", cid="1") != i18n("account-name-plain", cid="2")
    assert len(calls) == 3


@pytest.mark.parametrize(
    "reason", ["x" * 3000, "&" * 600, "<li>" * 700], ids=["long", "amps", "tags"]
)
def test_a_long_argument_is_cut_not_refused(hub: TranslatorHub, reason: str) -> None:
    # Fluent refuses arguments over 2,500 characters: the message would become "{???}" (or,
    # in strict mode, raise).
    text = hub.get("en")("error-provider-fail", reason=reason)
    assert text.startswith("⚠️ The provider refused: ") and text.endswith("…")
    assert len(text) < 2100
    assert "&am…" not in text and "&lt…" not in text, "never cut inside an entity"
    assert not re.search(r"&[#\w]*…", text), "never cut inside an entity"


def test_a_per_locale_keyboard_is_built_once_per_locale(hub: TranslatorHub) -> None:
    en, ru = hub.get("en"), hub.get("ru")
    assert main_menu_keyboard(en) is main_menu_keyboard(en)
    assert main_menu_keyboard(en) is not main_menu_keyboard(ru)
    assert main_menu_keyboard(en).inline_keyboard[0][0].text == en("btn-servers")
    assert main_menu_keyboard(ru).inline_keyboard[0][0].text == ru("btn-servers")
    # A fresh hub (a restart in the same process) gets its own, built from its own texts.
    assert main_menu_keyboard(TranslatorHub().get("en")) is not main_menu_keyboard(en)
