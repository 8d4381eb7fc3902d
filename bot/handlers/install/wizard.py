"""What the install wizard remembers between taps, and the short references its buttons carry.

Everything lives in FSM data (SQLite), so a restart in the middle changes nothing for the user.
The data stays small: the order, the mode, the chosen template, the selected key ids, a page, a
filter and the current confirmation token. Buttons carry only short references: a template's
catalogue index plus a 6-hex hash of its name (names can be 60+ bytes), or one key id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup

from bot.handlers.callbacks import InstallMode
from bot.inferno.models import Template

PAGE_RE = re.compile(r"[0-9]{1,4}")
TEMPLATE_REF_RE = re.compile(r"([0-9]{1,5})\.([0-9a-f]{6})")


class WizAction(StrEnum):
    PAGE = "p"
    PICK = "t"
    CLEAR_FILTER = "c"
    TEMPLATES = "b"
    KEYS = "k"
    TOGGLE = "g"
    ADD_KEY = "a"
    SKIP_NAME = "s"
    SAVE_KEY = "v"
    SUMMARY = "m"
    WARN = "w"
    CONFIRM = "y"
    CANCEL = "x"


class WizCb(CallbackData, prefix="iw"):
    action: WizAction
    value: str = ""


class InstallWizard(StatesGroup):
    template = State()
    keys = State()
    summary = State()
    key_paste = State()
    key_name = State()


@dataclass
class Wizard:
    order_id: str
    mode: InstallMode
    ip: str | None = None
    template: str | None = None
    title: str | None = None
    keys: list[str] = field(default_factory=list)
    page: int = 0
    filter: str = ""
    key_page: int = 0
    # The dry run passed for exactly this template and these keys.
    checked: bool = False
    token: str | None = None

    @property
    def kind(self) -> str:
        return "reinstall" if self.mode is InstallMode.REINSTALL else "install"

    @property
    def os_label(self) -> str:
        return self.title or self.template or ""

    def to_data(self) -> dict[str, Any]:
        return {
            "o": self.order_id,
            "m": self.mode.value,
            "ip": self.ip,
            "t": self.template,
            "tt": self.title,
            "k": self.keys,
            "p": self.page,
            "f": self.filter,
            "kp": self.key_page,
            "ok": self.checked,
            "c": self.token,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Wizard | None:
        order_id, mode = data.get("o"), data.get("m")
        if not isinstance(order_id, str) or mode not in {m.value for m in InstallMode}:
            return None
        keys = data.get("k")
        return cls(
            order_id=order_id,
            mode=InstallMode(mode),
            ip=opt_str(data.get("ip")),
            template=opt_str(data.get("t")),
            title=opt_str(data.get("tt")),
            keys=[str(k) for k in keys] if isinstance(keys, list) else [],
            page=_int(data.get("p")),
            filter=str(data.get("f") or ""),
            key_page=_int(data.get("kp")),
            checked=data.get("ok") is True,
            token=opt_str(data.get("c")),
        )


def opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def load_wizard(state: FSMContext) -> Wizard | None:
    return Wizard.from_data(await state.get_data())


async def save_wizard(state: FSMContext, wizard: Wizard) -> None:
    # update_data, not set_data: a key waiting in the add-key steps must survive.
    await state.update_data(**wizard.to_data())


def page_number(value: str) -> int | None:
    # Button data is untrusted: only plain ASCII digits, and few of them, make a page number.
    return int(value) if PAGE_RE.fullmatch(value) else None


def template_ref(index: int, name: str) -> str:
    return f"{index}.{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def resolve_template(templates: list[Template], ref: str) -> Template | None:
    """The template a button meant, checked against the current catalogue (it may differ from the
    one the button was drawn from)."""
    match = TEMPLATE_REF_RE.fullmatch(ref)
    if match is None:
        return None
    index, digest = int(match[1]), match[2]
    if index < len(templates) and template_ref(index, templates[index].name) == ref:
        return templates[index]
    moved = [t for i, t in enumerate(templates) if template_ref(i, t.name).endswith(digest)]
    return moved[0] if len(moved) == 1 else None


def filter_templates(templates: list[Template], words: str) -> list[tuple[int, Template]]:
    needles = words.casefold().split()
    found = []
    for index, template in enumerate(templates):
        haystack = f"{template.name} {template.title or ''}".casefold()
        if all(needle in haystack for needle in needles):
            found.append((index, template))
    return found
