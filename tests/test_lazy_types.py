"""aiogram's types, built on first use (bot/runtime/lazy_types.py), mean what aiogram's build means.

Each side runs in a fresh interpreter: one imports aiogram as it is, the other imports the bot
first. Types are first used the way a polling bot uses them — inside the answer models of
aiogram's methods — and then every field of every type and method is compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e_process import ROOT

_DESCRIBE = r"""
import json, re, sys
if sys.argv[1] == "lazy":
    import bot  # noqa: F401
import aiogram.methods as methods
import aiogram.types as types
from aiogram.methods.base import Response, TelegramMethod
from pydantic import BaseModel

deferred = not types.Message.__pydantic_complete__
built_methods = sorted(
    name for name in methods.__all__
    if isinstance(getattr(methods, name), type)
    and issubclass(getattr(methods, name), TelegramMethod)
    and getattr(methods, name) is not TelegramMethod
    and getattr(methods, name).__pydantic_complete__
)

from aiogram.utils.chat_member import ChatMemberAdapter  # a TypeAdapter built at its import

def models(module):
    for name in module.__all__:
        value = getattr(module, name)
        if isinstance(value, type) and issubclass(value, BaseModel):
            yield value

def first_use():  # in a function: pydantic's deferred build reads frames above it
    used = []
    for method in models(methods):
        if issubclass(method, TelegramMethod) and method is not TelegramMethod:
            answer = Response[method.__returning__]
            answer.__pydantic_validator__.title  # the types, built inside an answer
            method.__pydantic_validator__.title
            used += [method, answer]
    return used

used = first_use()
unbuilt = sorted(repr(cls) for cls in used if not cls.__pydantic_complete__)
described = {
    repr(cls): {
        name: re.sub(" at 0x[0-9a-f]+", "", repr(field.annotation))  # a function's address
        for name, field in cls.model_fields.items()
    }
    for cls in [*models(types), *used]
}
member = ChatMemberAdapter.validate_python(
    {"status": "member", "user": {"id": 1, "is_bot": False, "first_name": "A"}}
)
if sys.argv[1] == "eager":
    import bot  # noqa: F401  (after aiogram, as a program that imports aiogram first)
from bot.runtime import lazy_types
print(json.dumps({
    "deferred": deferred, "built_methods": built_methods, "unbuilt": unbuilt,
    "models": described, "member": repr(member),
    "outcome": lazy_types.outcome.name,
}))
"""

# Names that mean something else around a first use, as in a bot's own code.
_SHADOWING = r"""
import sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "lazy":
    import bot  # noqa: F401
from aiogram.types import Message, Update
from pydantic import BaseModel, TypeAdapter

MESSAGE = {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"},
           "from": {"id": 2, "is_bot": False, "first_name": "A"}}

def kinds(message):
    return f"{type(message.from_user).__qualname__}/{type(message.chat).__qualname__}"

class User(BaseModel):  # a model of the bot's own, at module level, holding a Message
    last: Message | None = None

def in_a_function():
    Chat = dict
    User = int
    return TypeAdapter(list[Update]).validate_python([{"update_id": 1, "message": MESSAGE}])

import own_models  # subclasses TelegramObject, with a `User` of its own

print(kinds(User(last=MESSAGE).last))
print(kinds(in_a_function()[0].message))
print(type(own_models.Payload.model_validate({"user": {"login": "bob"}}).user).__module__)
"""

_OWN_MODELS = """
from __future__ import annotations

from aiogram.types import TelegramObject
from pydantic import BaseModel


class Payload(TelegramObject):
    user: User


class User(BaseModel):
    login: str
"""


def _run(code: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter; LAZY_TYPES is left unset unless ``env`` sets it."""
    environ = {k: v for k, v in os.environ.items() if k != "LAZY_TYPES"} | env
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def _python(code: str, *args: str, **env: str) -> str:
    return _run(code, *args, **env).stdout


_OUTCOME = (
    "import bot\n"
    "from aiogram.types import Message\n"
    "from bot.runtime import lazy_types\n"
    "print(lazy_types.outcome.name, Message.__pydantic_complete__)\n"
)


def test_the_installed_pydantic_and_aiogram_take_the_fast_path(
    after_the_bot: dict[str, object],
) -> None:
    """Fails on an upgrade that quietly builds every type at import again (about 100 MB)."""
    outcome = (after_the_bot["outcome"], after_the_bot["deferred"])
    assert outcome == ("DEFERRED", True), (
        "bot/runtime/lazy_types.py no longer defers aiogram's types with the installed pydantic "
        "and aiogram; adapt it to them, or pin the versions it works with "
        f"(stderr: {after_the_bot['stderr']})"
    )
    assert after_the_bot["stderr"] == ""
    # Nor one that builds aiogram's methods at import again (0.14 s and 1.5 MB).
    assert after_the_bot["built_methods"] == []


def test_lazy_types_0_leaves_aiogram_to_build_its_types_quietly() -> None:
    done = _run(_OUTCOME, LAZY_TYPES="0")
    assert done.stdout.split() == ["SWITCHED_OFF", "True"]
    assert done.stderr == ""  # switched off on purpose: no warning


def test_a_value_that_is_neither_on_nor_off_warns_and_keeps_the_default() -> None:
    done = _run(_OUTCOME, LAZY_TYPES="maybe")
    assert done.stdout.split() == ["DEFERRED", "False"]
    assert "LAZY_TYPES='maybe' is neither 0 nor 1" in done.stderr


def test_aiogram_imported_before_the_bot_is_built_as_usual_and_said_so(
    aiogram_as_is: dict[str, object],
) -> None:
    assert (aiogram_as_is["outcome"], aiogram_as_is["deferred"]) == ("IMPORTED_FIRST", False)
    assert "RuntimeWarning: aiogram's types are built at import" in str(aiogram_as_is["stderr"])


def _described(side: str) -> dict[str, object]:
    """What _DESCRIBE prints on one side, and what that interpreter wrote to stderr. Each side
    is one interpreter for several tests: building every aiogram type eagerly takes seconds."""
    done = _run(_DESCRIBE, side)
    result: dict[str, object] = json.loads(done.stdout)
    return result | {"stderr": done.stderr}


@pytest.fixture(scope="module")
def aiogram_as_is() -> dict[str, object]:
    """aiogram imported alone, then the bot (which then finds the types built)."""
    return _described("eager")


@pytest.fixture(scope="module")
def after_the_bot() -> dict[str, object]:
    return _described("lazy")


def test_the_bot_defers_aiogram_types(
    aiogram_as_is: dict[str, object], after_the_bot: dict[str, object]
) -> None:
    assert aiogram_as_is["deferred"] is False
    assert after_the_bot["deferred"] is True
    # aiogram builds the methods whose fields hold no type at import; the bot none of them.
    assert len(aiogram_as_is["built_methods"]) > 100  # type: ignore[arg-type]


def test_every_type_method_and_answer_resolves_as_aiogram_resolves_it(
    aiogram_as_is: dict[str, object], after_the_bot: dict[str, object]
) -> None:
    eager = aiogram_as_is["models"]
    lazy = after_the_bot["models"]
    assert isinstance(eager, dict) and isinstance(lazy, dict)
    assert len(eager) > 600  # all types, methods and answers, not an empty import
    assert lazy == eager
    assert after_the_bot["unbuilt"] == aiogram_as_is["unbuilt"] == []
    assert after_the_bot["member"] == aiogram_as_is["member"]


def test_names_around_a_first_use_do_not_change_a_type(tmp_path: Path) -> None:
    (tmp_path / "own_models.py").write_text(_OWN_MODELS)
    deferred = _python(_SHADOWING, str(tmp_path), "lazy").split()
    assert deferred[:2] == [
        "User/Chat",  # aiogram's, not the module's User
        "User/Chat",  # not the function's dict and int
    ]
    # A TelegramObject of the bot's own is deferred by aiogram itself: pydantic resolves it
    # as it always does (here from the frame that first uses it), unchanged by the bot.
    assert deferred == _python(_SHADOWING, str(tmp_path), "eager").split()


def test_the_bot_builds_what_every_tap_needs_when_it_is_created() -> None:
    code = (
        "import gc\n"
        "import bot\n"
        "from aiogram.methods import EditMessageText, GetUpdates, SendMessage\n"
        "from aiogram.methods.base import Response\n"
        "from aiogram.types import Message\n"
        "from bot.runtime.response_types import KeepResponseTypes\n"
        "keep = KeepResponseTypes()\n"
        "gc.collect()\n"
        "message = Message.__pydantic_validator__\n"
        "for method in (GetUpdates, EditMessageText, SendMessage):\n"
        "    answer = Response[method.__returning__]\n"
        "    prebuilt = f'Prebuilt(PrebuiltValidator {{ schema_validator: Py({id(message):#x})'\n"
        "    shares = prebuilt in repr(answer.__pydantic_validator__)\n"
        "    print(answer.__pydantic_complete__, answer is keep._kept[method], shares)\n"
        "print(EditMessageText.__pydantic_complete__, Message.__pydantic_complete__)\n"
        "import weakref\n"
        "built = weakref.ref(Response[GetUpdates.__returning__])\n"
        "del keep, answer\n"
        "gc.collect()\n"
        "print(built() is not None, KeepResponseTypes()._kept[GetUpdates] is built())\n"
    )
    # Each answer holds Message's own validator (pydantic-core's "prebuilt" node), not a copy.
    # The process keeps them, not the first bot: a test's bot, or one restarted in the same
    # process, does not build them again.
    assert _python(code).split() == ["True"] * 13


def test_a_pydantic_that_refuses_gets_aiogram_s_own_build() -> None:
    code = (
        "import sys\n"
        "import pydantic._internal._fields as fields\n"
        "rebuild = fields.rebuild_model_fields\n"
        "def refuse_the_bot(*args, **kwargs):\n"  # pydantic's own calls still work
        "    if sys._getframe(1).f_code.co_filename.endswith('lazy_types.py'):\n"
        "        raise TypeError('another pydantic')\n"
        "    return rebuild(*args, **kwargs)\n"
        "fields.rebuild_model_fields = refuse_the_bot\n"
        "import bot\n"
        "from aiogram.types import Message, Update\n"
        "update = Update.model_validate({'update_id': 1, 'message': {'message_id': 1,"
        " 'date': 1, 'chat': {'id': 1, 'type': 'private'},"
        " 'from': {'id': 2, 'is_bot': False, 'first_name': 'A'}}})\n"
        "from bot.runtime import lazy_types\n"
        "print(lazy_types.outcome.name, Message.__pydantic_complete__,"
        " type(update.message.from_user).__qualname__)\n"
    )
    done = _run(code)
    # Built at import, as without the bot, and said so.
    assert done.stdout.split() == ["REFUSED", "True", "User"]
    assert "refused the fast path (pydantic " in done.stderr


_IMPORTS_AIOGRAM = (
    "import sys\n"
    "from bot.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    "print(code, 'aiogram' in sys.modules, 'bot.storage.db' in sys.modules)\n"
)


@pytest.mark.parametrize(
    ("args", "env", "code", "storage"),
    [
        # Docker's HEALTHCHECK runs this every minute: it reads a lock file and the database.
        (("healthcheck",), {"BOT_TOKEN": "123:abc"}, "1", "False"),
        # A configuration error is one line, before anything else is needed.
        ((), {"BOT_TOKEN": "123:abc", "INFERNO_API_URL": "not a url"}, "2", "False"),
        # A database that cannot be used (here: its folder is a file) stops the start-up before
        # the Telegram side is loaded.
        ((), {"BOT_TOKEN": "123:abc", "DATABASE_PATH": "{tmp}/file/bot.sqlite3"}, "2", "True"),
    ],
)
def test_a_process_that_needs_no_aiogram_does_not_import_it(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], code: str, storage: str
) -> None:
    (tmp_path / "file").write_text("not a folder")
    settings = {
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "ENCRYPTION_KEY_FILE": str(tmp_path / "secret.key"),
    }
    settings.update({name: value.format(tmp=tmp_path) for name, value in env.items()})
    done = _run(_IMPORTS_AIOGRAM, *args, **settings)
    assert done.stdout.split() == [code, "False", storage], done.stderr
