"""The messages of a locale's ``.ftl`` files and the variables each one uses, read with Fluent's
own parser, for the locale-consistency tests (the bot itself only renders messages)."""

from __future__ import annotations

from pathlib import Path

from fluent.syntax import ast, parse
from fluent.syntax.visitor import Visitor

from bot.i18n import LOCALES_DIR


def _messages(locale: str, locales_dir: Path) -> list[ast.Message]:
    return [
        entry
        for path in sorted((locales_dir / locale).glob("*.ftl"))
        for entry in parse(path.read_text(encoding="utf-8")).body
        if isinstance(entry, ast.Message)
    ]


def message_ids(locale: str, locales_dir: Path = LOCALES_DIR) -> set[str]:
    return {message.id.name for message in _messages(locale, locales_dir)}


class _Variables(Visitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_VariableReference(self, node: ast.VariableReference) -> None:
        self.names.add(node.id.name)


def variables(locale: str, locales_dir: Path = LOCALES_DIR) -> dict[str, set[str]]:
    """Variables each message references (in its value, attributes and selectors)."""
    found: dict[str, set[str]] = {}
    for message in _messages(locale, locales_dir):
        collector = _Variables()
        collector.visit(message)
        found[message.id.name] = collector.names
    return found
