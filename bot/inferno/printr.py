"""Parser for PHP ``print_r`` dumps, which the provider returns for install/reinstall.

The provider's documentation shows both the multi-line PHP form and a flattened one-line form, with
or without the outer ``Array (`` ... ``)``. Scalars are not quoted, so a value such as
``Vps exists with current main_id (21968) , W:47012`` can itself contain parentheses: a ``)`` only
ends an array when it is not balancing a ``(`` of the value and what follows it can continue the
dump (another ``[key] =>``, another ``)`` or the end).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PrintRError", "parse_print_r"]

_KEY_RE = re.compile(r"\[([^\]\r\n]*)\][ \t]*=>[ \t]?")
# print_r prints objects as "ClassName Object ( ... )"; treated like arrays.
_OPEN_RE = re.compile(r"(?:Array|[A-Za-z_\\][\w\\]*[ \t]+Object)\s*\(")
_WS_RE = re.compile(r"\s*")


class PrintRError(ValueError):
    """The text is not a print_r dump."""


def parse_print_r(text: str) -> dict[str, Any]:
    """Parse a print_r dump of an array into nested dicts with string keys and string values."""
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text.lstrip("\ufeff")
        self.pos = 0
        self.bare = False

    def parse(self) -> dict[str, Any]:
        self._skip_ws()
        if self.pos >= len(self.text):
            raise PrintRError("empty text")
        opened = _OPEN_RE.match(self.text, self.pos)
        if opened:
            self.pos = opened.end()
            result = self._entries(depth=1)
            self._skip_ws()
            if self.pos != len(self.text):
                raise PrintRError(f"unexpected text after the array at offset {self.pos}")
            return result
        if not _KEY_RE.match(self.text, self.pos):
            raise PrintRError("neither 'Array (' nor '[key] =>' at the start")
        self.bare = True
        return self._entries(depth=0)

    def _skip_ws(self) -> None:
        match = _WS_RE.match(self.text, self.pos)
        assert match is not None  # \s* always matches
        self.pos = match.end()

    def _entries(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            self._skip_ws()
            if self.pos >= len(self.text):
                if depth > 0:
                    raise PrintRError("unclosed 'Array ('")
                return out
            if self.text[self.pos] == ")":
                if depth == 0:
                    raise PrintRError(f"unbalanced ')' at offset {self.pos}")
                self.pos += 1
                return out
            key = _KEY_RE.match(self.text, self.pos)
            if not key:
                raise PrintRError(f"expected '[key] =>' at offset {self.pos}")
            self.pos = key.end()
            out[key.group(1).strip()] = self._value(depth)

    def _value(self, depth: int) -> Any:
        start = _WS_RE.match(self.text, self.pos)
        assert start is not None
        opened = _OPEN_RE.match(self.text, start.end())
        if opened:
            self.pos = opened.end()
            return self._entries(depth + 1)
        return self._scalar(depth)

    def _scalar(self, depth: int) -> str:
        text = self.text
        begin = self.pos
        end = len(text)
        parens = 0
        i = begin
        while i < len(text):
            char = text[i]
            if char == "[" and _KEY_RE.match(text, i):
                end = i
                break
            if char == "(":
                parens += 1
            elif char == ")":
                if parens > 0:
                    parens -= 1
                elif depth > 0 and self._closes_here(i, depth):
                    end = i
                    break
            i += 1
        self.pos = end
        return text[begin:end].strip()

    def _closes_here(self, index: int, depth: int) -> bool:
        """Whether the ``)`` at ``index`` can close the innermost open array."""
        text = self.text
        closes = 0
        i = index
        while True:
            match = _WS_RE.match(text, i)
            assert match is not None
            i = match.end()
            if i < len(text) and text[i] == ")":
                closes += 1
                i += 1
                continue
            break
        if i >= len(text):
            return closes == depth
        # A following key must still sit inside some array, unless the dump has no outer wrapper.
        max_closes = depth if self.bare else depth - 1
        return closes <= max_closes and _KEY_RE.match(text, i) is not None
