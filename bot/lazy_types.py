"""Let aiogram's Telegram types build their validators on first use instead of at import.

``aiogram/types/__init__.py`` ends with a loop that calls ``model_rebuild()`` on each of its
403 type models, so that their forward references resolve. That builds a pydantic-core
validator and serializer for every one of them at import, although ``TelegramObject`` asks for
``defer_build=True``: about 100 MB of native memory and over a second of CPU, in every process,
for types a bot mostly never meets (``bench/RESULTS.md``, round 4).

:func:`import_aiogram_types` lets that loop run but records the namespace it passes instead of
building. Each type's fields are then resolved with exactly that namespace — the half of
``model_rebuild()`` that reads annotations — and only the validator is left for later: pydantic
builds it the first time the type is used (its own ``defer_build`` path). With the fields
complete, nothing in a type depends on names outside aiogram, so no name in whatever frame
first touches a type, and no model or adapter of someone else's that holds one, can change
what it means; a model of the bot's own that subclasses ``TelegramObject`` resolves from its own
module, as without this. ``tests/test_lazy_types.py`` compares the result with aiogram's build.

Side effects: 54 of aiogram's 185 methods are defined while the types' fields are still open,
so pydantic defers them too and builds each on its first call (milliseconds; the bot's everyday
ones are built at start-up, ``bot.middlewares.response_types``). And, as for any deferred
pydantic model, reading a type's ``__pydantic_validator__`` directly at the top level of a
script raises "call stack is not deep enough"; validating or constructing does not.

Resolving fields without building uses pydantic's internal ``rebuild_model_fields``. If that is
missing or refuses (another pydantic), a class would rebuild with more than aiogram's namespace,
aiogram was imported before the bot, or the loop no longer looks as expected, the types are
built as aiogram builds them: more memory, the same types.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

_TYPES_PACKAGE = "aiogram.types"
_REBUILD = "model_rebuild"


def import_aiogram_types() -> bool:
    """Import aiogram with its types deferred; True if they were, False if aiogram built them."""
    if _TYPES_PACKAGE in sys.modules:
        return False
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
        import aiogram.types  # noqa: F401  # the import this module exists for
    finally:
        _set_rebuild(BaseModel, rebuild)

    namespaces = {id(namespace): namespace for namespace in recorded.values()}
    if len(namespaces) == 1 and _complete_fields(recorded, next(iter(namespaces.values()))):
        return True
    for cls, namespace in recorded.items():
        cls.model_rebuild(_types_namespace=dict(namespace))
    return False


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
