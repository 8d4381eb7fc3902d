"""Lazy type building: aiogram's Telegram types and methods build their validators on first
use.

**What it changes.** ``aiogram/types/__init__.py`` ends with a loop that calls
``model_rebuild()`` on each of its 403 type models, so that their forward references resolve.
That builds a pydantic-core validator and serializer for every one of them at import, although
``TelegramObject`` asks for ``defer_build=True``. :func:`activate`, run by ``bot/__init__.py``
before anything imports aiogram, places a finder in front of ``sys.meta_path`` (importlib's
public hooks) that imports aiogram, whenever it is first imported, with that loop recording the
namespace it passes instead of building. Each type's fields are then resolved
with exactly that namespace — the half of ``model_rebuild()`` that reads annotations — and only
the validator is left for later: pydantic builds it the first time the type is used (its own
``defer_build`` path). Nothing is imported at ``import bot``: a process that never needs
aiogram (a configuration error, ``python -m bot healthcheck``) does not pay its import.

**Measured gain** (``bench/RESULTS.md``, "Round 4"): a fresh interpreter importing all the bot's
modules holds 77–79 MB instead of 184–185 MB and imports in 0.7–0.9 s instead of 2.3–2.5 s;
``python -m bot`` with 10,000 linked users, every active user answered, 98 MB instead of 195 MB.
CPU per tap is unchanged.

**Switching it off.** ``LAZY_TYPES=0`` in the environment (read by ``bot/__init__.py``, before the
``.env`` file is) leaves aiogram to build its types at import, as without the bot.

**When a dependency changes under it.** Resolving fields without building uses pydantic's
internal ``rebuild_model_fields`` (and ``model_rebuild``'s private keyword arguments); pydantic
is pinned below its next minor version for that reason. If another pydantic or aiogram no
longer takes this path, the types are built as aiogram builds them — the same types, about
100 MB more — and a ``RuntimeWarning`` says so at import; ``tests/test_lazy_types.py``
(``test_the_installed_pydantic_and_aiogram_take_the_fast_path``) then fails, so an upgrade is
seen at once.

Why the result means what aiogram's build means: with the fields complete, nothing in a type
depends on names outside aiogram, so no name in whatever frame first touches a type, and no
model or adapter of someone else's that holds one, can change what it means; a model of the
bot's own that subclasses ``TelegramObject`` resolves from its own module, as without this.
``tests/test_lazy_types.py`` compares every field of every type, method and answer with
aiogram's build.

aiogram's 185 methods are deferred as well: once ``aiogram.methods.base`` has defined
``TelegramMethod``, its ``model_config`` asks for pydantic's public ``defer_build``, which every
method defined after it inherits. Each is built on its first call (milliseconds; the bot's
everyday ones are built at start-up, ``bot.runtime.response_types``); a bot calls about a
dozen, and building all of them at import cost 0.14 s of CPU and 1.5 MB per process
(``bench/RESULTS.md``, "Issue 16: aiogram's methods built on first use").

Side effect: as for any deferred pydantic model, reading a type's or a method's
``__pydantic_validator__`` directly at the top level of a script raises "call stack is not deep
enough"; validating or constructing does not.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

SWITCH = "LAZY_TYPES"
_OFF = frozenset({"0", "false", "no", "off"})
_ON = frozenset({"", "1", "true", "yes", "on"})
_PACKAGE = "aiogram"
_TYPES_PACKAGE = "aiogram.types"
_METHODS_BASE = "aiogram.methods.base"
_REBUILD = "model_rebuild"


class Outcome(StrEnum):
    DEFERRED = "deferred: built on first use"
    SWITCHED_OFF = f"built at import ({SWITCH}=0)"
    IMPORTED_FIRST = "built at import: aiogram was imported before the bot"
    REFUSED = "built at import: the installed pydantic or aiogram refused the fast path"


# What became of aiogram's types (None until aiogram is imported after ``import bot``); read by
# the tests and the benchmark.
outcome: Outcome | None = None


def activate(switch: str | None) -> Outcome | None:
    """Have aiogram's types deferred when aiogram is imported, unless ``switch`` (``LAZY_TYPES``'s
    value) is off; returns the outcome when it is already known (None: at aiogram's import).

    Nothing is imported here: a process that never needs aiogram (a configuration error, the
    ``healthcheck`` command) does not pay its import. Any way other than "deferred" and
    "switched off" warns: it costs about 100 MB per process.
    """
    global outcome
    value = (switch or "").strip().lower()
    if value in _OFF:
        outcome = Outcome.SWITCHED_OFF
        return outcome
    if value not in _ON:
        warnings.warn(
            f"{SWITCH}={switch!r} is neither 0 nor 1: aiogram's types are deferred (the default)",
            RuntimeWarning,
            stacklevel=2,
        )
    if _PACKAGE in sys.modules or _TYPES_PACKAGE in sys.modules:
        outcome = Outcome.IMPORTED_FIRST
        _warn_built(stacklevel=3)
        return outcome
    if not any(
        isinstance(finder, _OnImport) and finder.fullname == _PACKAGE for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _OnImport(_PACKAGE, _import_aiogram))
    return None


def _warn_built(stacklevel: int) -> None:
    warnings.warn(
        f"aiogram's types are {outcome} ({_versions()}), about 100 MB more per process; "
        f"see bot/runtime/lazy_types.py, or set {SWITCH}=0 to say it is meant",
        RuntimeWarning,
        stacklevel=stacklevel,
    )


class _OnImport(importlib.abc.MetaPathFinder):
    """Finds the module ``fullname`` as the import system would and has ``run`` execute it
    (``run(execute, module)``, where ``execute()`` is the module's own loading); once, then it
    leaves ``sys.meta_path``."""

    def __init__(self, fullname: str, run: Callable[[Callable[[], None], types.ModuleType], None]):
        self.fullname = fullname
        self._run = run

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.fullname:
            return None
        sys.meta_path.remove(self)
        spec: importlib.machinery.ModuleSpec | None = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        if spec is None:
            return None
        if spec.loader is not None:
            spec.loader = _RunningLoader(spec.loader, self._run)
        return spec


class _RunningLoader(importlib.abc.Loader):
    def __init__(
        self,
        loader: importlib.abc.Loader,
        run: Callable[[Callable[[], None], types.ModuleType], None],
    ) -> None:
        self._loader = loader
        self._run = run

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        # The module keeps the loader that found it, as without this.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._run(lambda: self._loader.exec_module(module), module)


def _import_aiogram(execute: Callable[[], None], module: types.ModuleType) -> None:
    """Imports aiogram, with ``aiogram.types``, with the types' build deferred. The whole
    package is imported inside: the methods aiogram defines while the types' fields are still
    open are then deferred by pydantic too, as they must be."""
    global outcome
    methods = _OnImport(_METHODS_BASE, _defer_methods)
    sys.meta_path.insert(0, methods)

    def import_the_package() -> None:
        execute()
        importlib.import_module(_TYPES_PACKAGE)

    try:
        outcome = _run_deferred(import_the_package)
    finally:
        if methods in sys.meta_path:
            sys.meta_path.remove(methods)
    if outcome is not Outcome.DEFERRED:
        _warn_built(stacklevel=2)


def _defer_methods(execute: Callable[[], None], module: types.ModuleType) -> None:
    """Once ``TelegramMethod`` is defined, the methods aiogram defines after it build on first
    use: pydantic's ``defer_build``, which each method takes from its base's ``model_config``.
    A bot calls a dozen of aiogram's 185 methods; building all of them costs about 0.14 s and
    1.5 MB per process. Another aiogram without the class leaves them built as aiogram builds
    them, the same methods at import, and ``tests/test_lazy_types.py`` says so."""
    execute()
    base = getattr(module, "TelegramMethod", None)
    config = getattr(base, "model_config", None)
    if isinstance(config, dict):
        config["defer_build"] = True


def _run_deferred(run_types_module: Callable[[], None]) -> Outcome:
    """Imports aiogram with its types deferred, or says why aiogram built them."""
    rebuild = BaseModel.__dict__[_REBUILD].__func__
    recorded: dict[type[BaseModel], Mapping[str, Any]] = {}

    def record_instead(cls: type[BaseModel], **kwargs: Any) -> bool | None:
        namespace = kwargs.get("_types_namespace")
        if namespace is None or not cls.__module__.startswith(f"{_TYPES_PACKAGE}."):
            # One frame deeper than the caller expects: pydantic reads the caller's namespace.
            kwargs["_parent_namespace_depth"] = kwargs.get("_parent_namespace_depth", 2) + 1
            return rebuild(cls, **kwargs)  # type: ignore[no-any-return]
        recorded[cls] = namespace
        return None

    _set_rebuild(BaseModel, record_instead)
    try:
        run_types_module()
    finally:
        _set_rebuild(BaseModel, rebuild)

    namespaces = {id(namespace): namespace for namespace in recorded.values()}
    if len(namespaces) == 1 and _complete_fields(recorded, next(iter(namespaces.values()))):
        return Outcome.DEFERRED
    for cls, namespace in recorded.items():
        cls.model_rebuild(_types_namespace=dict(namespace))
    return Outcome.REFUSED


def _versions() -> str:
    from importlib.metadata import version

    return f"pydantic {version('pydantic')}, aiogram {version('aiogram')}"


def _set_rebuild(cls: type[BaseModel], function: Callable[..., bool | None]) -> None:
    setattr(cls, _REBUILD, classmethod(function))


def _complete_fields(models: Mapping[type[BaseModel], Any], namespace: Mapping[str, Any]) -> bool:
    """Resolve every model's fields as ``model_rebuild(_types_namespace=namespace)`` would."""
    try:
        from pydantic._internal._config import ConfigWrapper
        from pydantic._internal._fields import rebuild_model_fields
        from pydantic._internal._namespace_utils import NsResolver

        if any(_rebuilds_differently(cls) for cls in models):
            return False
        resolved = []
        for cls in models:
            if cls.__pydantic_fields_complete__:
                continue
            answer = rebuild_model_fields(
                cls,
                config_wrapper=ConfigWrapper(cls.model_config, check=False),
                ns_resolver=NsResolver(parent_namespace=dict(namespace)),
                typevars_map={},
            )
            if not (isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], dict)):
                return False  # (fields, extra info) is pydantic 2.13's shape
            resolved.append((cls, *answer))
    except Exception:  # any pydantic that differs: aiogram's own build instead
        return False
    for cls, fields, extra_info in resolved:
        cls.__pydantic_fields__ = fields
        cls.__pydantic_extra_info__ = extra_info
    return all(cls.__pydantic_fields_complete__ for cls in models)


def _rebuilds_differently(cls: type[BaseModel]) -> bool:
    """A class whose rebuild would also use its own namespace or type variables: not replicated."""
    parameters = cls.__pydantic_generic_metadata__["parameters"]
    return cls.__pydantic_parent_namespace__ is not None or bool(parameters)
