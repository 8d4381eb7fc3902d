"""aiogram's types, built on first use (bot/lazy_types.py), mean what aiogram's own build means.

Each side runs in a fresh interpreter: one imports aiogram as it is, the other imports the bot
first. Every type and method is then built the way a running bot builds it, by first use, and
the resolved annotation of every field is compared.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e_process import ROOT

_DESCRIBE = r"""
import json, re, sys
if sys.argv[1] == "lazy":
    import bot  # noqa: F401
import aiogram.methods as methods
import aiogram.types as types
from aiogram.methods.base import Response
from pydantic import BaseModel
from pydantic._internal._mock_val_ser import MockValSer

deferred = isinstance(types.Message.__dict__["__pydantic_validator__"], MockValSer)

from aiogram.utils.chat_member import ChatMemberAdapter  # a TypeAdapter built at its import

def models(module):
    for name in module.__all__:
        value = getattr(module, name)
        if isinstance(value, type) and issubclass(value, BaseModel):
            yield value

described = {}
classes = [*models(types), *models(methods), Response[list[types.Update]], Response[types.Message]]
for cls in classes:
    cls.__pydantic_validator__.title  # first use: pydantic builds a deferred model here
    described[cls.__name__] = {
        "complete": cls.__pydantic_complete__,
        "fields": {
            name: re.sub(" at 0x[0-9a-f]+", "", repr(field.annotation))  # a function's address
            for name, field in cls.model_fields.items()
        },
    }
member = ChatMemberAdapter.validate_python(
    {"status": "member", "user": {"id": 1, "is_bot": False, "first_name": "A"}}
)
print(json.dumps({"deferred": deferred, "models": described, "member": repr(member)}))
"""


def _describe(mode: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _DESCRIBE, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def aiogram_as_is() -> dict[str, object]:
    return _describe("eager")


@pytest.fixture(scope="module")
def after_the_bot() -> dict[str, object]:
    return _describe("lazy")


def test_the_bot_defers_aiogram_types(
    aiogram_as_is: dict[str, object], after_the_bot: dict[str, object]
) -> None:
    assert aiogram_as_is["deferred"] is False
    assert after_the_bot["deferred"] is True


def test_every_type_and_method_resolves_as_aiogram_resolves_it(
    aiogram_as_is: dict[str, object], after_the_bot: dict[str, object]
) -> None:
    eager = aiogram_as_is["models"]
    lazy = after_the_bot["models"]
    assert isinstance(eager, dict) and isinstance(lazy, dict)
    assert len(eager) > 500  # all of aiogram's types and methods, not an empty import
    assert all(model["complete"] for model in lazy.values())
    assert lazy == eager
    assert after_the_bot["member"] == aiogram_as_is["member"]


def test_a_name_in_the_first_callers_frame_does_not_change_a_type() -> None:
    # pydantic's deferred build reads the namespace of the frame that first touches a type;
    # aiogram's namespace must win over it.
    code = (
        "import bot\n"
        "from aiogram.types import Message\n"
        "def first_use():\n"
        "    User = int\n"
        "    Chat = str\n"
        "    return Message.model_validate({'message_id': 1, 'date': 1,"
        " 'chat': {'id': 1, 'type': 'private'}, 'from': {'id': 2, 'is_bot': False,"
        " 'first_name': 'A'}})\n"
        "message = first_use()\n"
        "print(type(message.from_user).__name__, type(message.chat).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["User", "Chat"]


def test_the_bot_builds_what_every_tap_needs_when_it_is_created() -> None:
    code = (
        "import gc\n"
        "import bot\n"
        "from aiogram.methods import EditMessageText, GetUpdates\n"
        "from aiogram.methods.base import Response\n"
        "from aiogram.types import Message\n"
        "from bot.middlewares.response_types import KeepResponseTypes\n"
        "keep = KeepResponseTypes()\n"
        "gc.collect()\n"
        "for method in (GetUpdates, EditMessageText):\n"
        "    answer = Response[method.__returning__]\n"
        "    print(answer.__pydantic_complete__, answer is keep._kept[method])\n"
        "print(EditMessageText.__pydantic_complete__, Message.__pydantic_complete__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    # Message itself stays deferred: a polling bot meets it only inside an answer.
    assert done.stdout.split() == ["True", "True", "True", "True", "True", "False"]
