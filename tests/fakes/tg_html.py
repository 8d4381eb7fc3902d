"""Telegram's HTML parse mode, as the Bot API server applies it.

Mirrors ``parse_html`` in TDLib's ``td/telegram/MessageEntity.cpp`` (the parser behind
``parse_mode=HTML``), including its quirks, because a lenient parser would let broken markup pass
in tests and fail in production:

* it works on UTF-8 bytes, so error positions are *byte* offsets into the source;
* only ``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` and numeric references are decoded, the
  semicolon is optional, anything else (``&nbsp;``) stays literally in the text;
* any ``<`` starts a tag: ``a < b`` is an error (``Unsupported start tag ""``);
* ``</>`` closes whatever tag is open, attribute values may be unquoted name tokens;
* entity offsets and lengths are counted in UTF-16 code units.

Errors are raised as :class:`HTMLParseError` whose ``reason`` is TDLib's text; the Bot API prefixes
it with ``Bad Request: can't parse entities: ``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "HTMLParseError",
    "entity_text",
    "parse_html",
    "sort_entities",
    "utf16_len",
]


class HTMLParseError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)

_NAMED_REFERENCES = {b"lt": ord("<"), b"gt": ord(">"), b"amp": ord("&"), b"quot": ord('"')}

# TDLib's is_space() counts NUL as space; reading past the end yields NUL, which is how its
# loops stop at the end of the text. _at() reproduces that.
_SPACES = frozenset(b" \t\r\n\0\v")

# Lower sorts first for entities with equal offset and length (TDLib's type priorities).
_TYPE_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "spoiler": 94,
    "custom_emoji": 99,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
}

_SURROGATE_ERROR = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def entity_text(text: str, entity: dict[str, Any]) -> str:
    """The part of ``text`` an entity covers (offsets are UTF-16 code units)."""
    encoded = text.encode("utf-16-le")
    start = int(entity["offset"]) * 2
    end = start + int(entity["length"]) * 2
    return encoded[start:end].decode("utf-16-le", errors="replace")


def sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        entities,
        key=lambda e: (e["offset"], -e["length"], _TYPE_PRIORITY.get(e["type"], 50)),
    )


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    byte_offset: int  # position in the output buffer, for <a> without href


@dataclass
class _Entity:
    data: dict[str, Any]
    # A <code class="language-x"> keeps its language until an enclosing <pre> claims it.
    code_language: str = ""


def _at(data: bytes, i: int) -> int:
    return data[i] if i < len(data) else 0


def _is_space(c: int) -> bool:
    return c in _SPACES


def _is_alpha(c: int) -> bool:
    return 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _is_hex(c: int) -> bool:
    return _is_digit(c) or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


def _decode_reference(data: bytes, pos: int) -> tuple[int, int] | None:
    """Decode the character reference at ``pos`` (a ``&``): (code point, end position)."""
    end = pos + 1
    code = 0
    if _at(data, pos + 1) == ord("#"):
        end += 1
        if _at(data, pos + 2) == ord("x"):
            end += 1
            while _is_hex(_at(data, end)):
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
        else:
            while _is_digit(_at(data, end)):
                code = code * 10 + data[end] - 0x30
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
    else:
        while _is_alpha(_at(data, end)):
            end += 1
        named = _NAMED_REFERENCES.get(data[pos + 1 : end])
        if named is None:
            return None
        code = named
    if _at(data, end) == ord(";"):
        end += 1
    return code, end


def _encode_code_point(code: int) -> bytes:
    # surrogatepass: a lone surrogate from &#xD800; must survive until the final check reports it.
    return chr(code).encode("utf-8", errors="surrogatepass")


_HOST_RE = re.compile(r"^[A-Za-z0-9\-._~%]+(:\d+)?$")
_USER_LINK_RE = re.compile(r"^tg://user\?id=(\d+)$", re.IGNORECASE)


def _check_link(url: str) -> str | None:
    """Normalise a link the way TDLib's LinkManager::check_link does, or None if it is rejected.

    A simplified version: enough to reject obvious garbage (spaces, empty host, unknown schemes)
    and to produce the same normalised form for ordinary http(s) links.
    """
    if not url or any(ch.isspace() for ch in url):
        return None
    if "://" not in url and not url.lower().startswith(("tg:", "ton:", "tonsite:")):
        url = "http://" + url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("tg", "ton", "tonsite"):
        return url
    if scheme not in ("http", "https"):
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    if not host or not _HOST_RE.match(host) or host.startswith(".") or ".." in host:
        return None
    path = parts.path or "/"
    rebuilt = f"{scheme}://{parts.netloc}{path}"
    if parts.query:
        rebuilt += "?" + parts.query
    if parts.fragment:
        rebuilt += "#" + parts.fragment
    return rebuilt


def _close_tag(tag: _OpenTag, length: int, entities: list[_Entity], output: bytearray) -> None:
    offset = tag.utf16_offset
    name = tag.name
    previous = entities[-1] if entities else None
    same_span = (
        previous is not None
        and previous.data["offset"] == offset
        and previous.data["length"] == length
    )
    simple = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
    }
    if name in simple:
        entities.append(_Entity({"type": simple[name], "offset": offset, "length": length}))
    elif name == "tg-emoji":
        arg = tag.argument
        if not arg.isascii() or not arg.isdigit() or int(arg) == 0 or int(arg) >= 2**63:
            raise HTMLParseError("Invalid custom emoji identifier specified")
        entities.append(
            _Entity(
                {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": arg}
            )
        )
    elif name == "a":
        url = tag.argument or bytes(output[tag.byte_offset :]).decode("utf-8", "surrogatepass")
        user = _USER_LINK_RE.match(url)
        if user and int(user.group(1)) > 0:
            entities.append(
                _Entity(
                    {
                        "type": "text_mention",
                        "offset": offset,
                        "length": length,
                        "user": {"id": int(user.group(1)), "is_bot": False, "first_name": ""},
                    }
                )
            )
        else:
            checked = _check_link(url)
            # TDLib silently drops a link it cannot accept instead of failing the message.
            if checked is not None:
                entities.append(
                    _Entity(
                        {"type": "text_link", "offset": offset, "length": length, "url": checked}
                    )
                )
    elif name == "pre":
        if (
            same_span
            and previous is not None
            and previous.data["type"] == "code"
            and previous.code_language
        ):
            previous.data = {
                "type": "pre",
                "offset": offset,
                "length": length,
                "language": previous.code_language,
            }
        else:
            entities.append(_Entity({"type": "pre", "offset": offset, "length": length}))
    elif name == "code":
        if (
            same_span
            and previous is not None
            and previous.data["type"] == "pre"
            and "language" not in previous.data
            and tag.argument
        ):
            previous.data["language"] = tag.argument
        else:
            entities.append(
                _Entity({"type": "code", "offset": offset, "length": length}, tag.argument)
            )
    elif name == "blockquote":
        kind = "expandable_blockquote" if tag.argument else "blockquote"
        entities.append(_Entity({"type": kind, "offset": offset, "length": length}))
    else:  # pragma: no cover - _SUPPORTED_TAGS and this function must stay in sync
        raise AssertionError(f"unhandled tag {name}")


def _tag_argument(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    if tag == "blockquote" and attribute == "expandable":
        return "1"
    return None


def _is_attribute_name_end(c: int) -> bool:
    return _is_space(c) or c in b"=>/\"'"


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, Bot API entities). Raises HTMLParseError."""
    data = source.encode("utf-8", errors="surrogatepass")
    output = bytearray()
    entities: list[_Entity] = []
    stack: list[_OpenTag] = []
    utf16_offset = 0
    decoded_surrogate = False
    size = len(data)

    i = 0
    while i < size:
        c = data[i]
        if c == ord("&"):
            decoded = _decode_reference(data, i)
            if decoded is not None:
                code, i = decoded
                utf16_offset += 2 if code > 0xFFFF else 1
                decoded_surrogate = decoded_surrogate or 0xD800 <= code <= 0xDFFF
                output += _encode_code_point(code)
                continue
        if c != ord("<"):
            output.append(c)
            if c & 0xC0 != 0x80:  # first byte of a UTF-8 sequence
                utf16_offset += 2 if c >= 0xF0 else 1
            i += 1
            continue

        begin = i
        i += 1
        if _at(data, i) != ord("/"):
            while not _is_space(_at(data, i)) and _at(data, i) != ord(">"):
                i += 1
            if _at(data, i) == 0:
                raise HTMLParseError(f"Unclosed start tag at byte offset {begin}")
            tag_name = data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag_name not in _SUPPORTED_TAGS:
                raise HTMLParseError(f'Unsupported start tag "{tag_name}" at byte offset {begin}')

            argument = ""
            while _at(data, i) != ord(">"):
                while _at(data, i) != 0 and _is_space(_at(data, i)):
                    i += 1
                if _at(data, i) == ord(">"):
                    break
                attr_begin = i
                while not _is_attribute_name_end(_at(data, i)):
                    i += 1
                attribute = data[attr_begin:i].decode("utf-8", "replace")
                if not attribute:
                    raise HTMLParseError(
                        f'Empty attribute name in the tag "{tag_name}" at byte offset {begin}'
                    )
                while _at(data, i) != 0 and _is_space(_at(data, i)):
                    i += 1
                if _at(data, i) != ord("="):
                    if _at(data, i) == 0:
                        raise HTMLParseError(
                            f'Unclosed start tag "{tag_name}" at byte offset {begin}'
                        )
                    if tag_name == "blockquote" and attribute == "expandable":
                        argument = "1"
                    continue
                i += 1
                while _at(data, i) != 0 and _is_space(_at(data, i)):
                    i += 1
                if _at(data, i) == 0:
                    raise HTMLParseError(f'Unclosed start tag "{tag_name}" at byte offset {begin}')

                quote = _at(data, i)
                if quote not in (ord("'"), ord('"')):
                    # An unquoted value is an SGML name token, compared case-insensitively.
                    token_begin = i
                    while (
                        _is_alpha(_at(data, i)) or _is_digit(_at(data, i)) or _at(data, i) in b".-"
                    ):
                        i += 1
                    value = data[token_begin:i].decode("ascii").lower()
                    if not _is_space(_at(data, i)) and _at(data, i) != ord(">"):
                        raise HTMLParseError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    i += 1
                    raw = bytearray()
                    while _at(data, i) != quote and _at(data, i) != 0:
                        if data[i] == ord("&"):
                            decoded = _decode_reference(data, i)
                            if decoded is not None:
                                code, i = decoded
                                raw += _encode_code_point(code)
                                continue
                        raw.append(data[i])
                        i += 1
                    if _at(data, i) == quote:
                        i += 1
                    value = bytes(raw).decode("utf-8", "replace")
                if _at(data, i) == 0:
                    raise HTMLParseError(f"Unclosed start tag at byte offset {begin}")
                new_argument = _tag_argument(tag_name, attribute, value)
                if new_argument is not None:
                    argument = new_argument

            if tag_name == "span" and argument != "spoiler":
                raise HTMLParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            stack.append(_OpenTag(tag_name, argument, utf16_offset, len(output)))
            i += 1  # past '>'
            continue

        # An end tag.
        if not stack:
            raise HTMLParseError(f"Unexpected end tag at byte offset {begin}")
        while not _is_space(_at(data, i)) and _at(data, i) != ord(">"):
            i += 1
        end_name = data[begin + 2 : i].decode("utf-8", "replace").lower()
        while _is_space(_at(data, i)) and _at(data, i) != 0:
            i += 1
        if _at(data, i) != ord(">"):
            raise HTMLParseError(f"Unclosed end tag at byte offset {begin}")
        open_tag = stack[-1]
        if end_name and end_name != open_tag.name:
            raise HTMLParseError(
                f"Unmatched end tag at byte offset {begin}, "
                f'expected "</{open_tag.name}>", found "</{end_name}>"'
            )
        if utf16_offset > open_tag.utf16_offset:
            _close_tag(open_tag, utf16_offset - open_tag.utf16_offset, entities, output)
        stack.pop()
        i += 1  # past '>'

    if stack:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    if decoded_surrogate:
        raise HTMLParseError(_SURROGATE_ERROR)
    text = bytes(output).decode("utf-8", errors="replace")
    return text, sort_entities([e.data for e in entities])
