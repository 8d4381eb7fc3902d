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
complete, pydantic never reads an annotation again, so no name in whatever frame first touches
a type, and no model or adapter of someone else's that holds one, can change what it means;
a model of the bot's own that subclasses ``TelegramObject`` resolves from its own module, as
without this. ``tests/test_lazy_types.py`` compares the result with aiogram's own build.

Resolving fields without building uses pydantic's internal ``rebuild_model_fields``. If that is
missing or refuses (another pydantic), or aiogram was imported before the bot, or the loop no
longer looks as expected, the types are built as aiogram builds them: more memory, the same
types.
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

        resolved = {
            cls: rebuild_model_fields(
                cls,
                config_wrapper=ConfigWrapper(cls.model_config, check=False),
                ns_resolver=NsResolver(parent_namespace=dict(namespace)),
                typevars_map={},
            )
            for cls in models
            if not cls.__pydantic_fields_complete__
        }
    except Exception:  # any pydantic that differs: aiogram's own build instead
        return False
    for cls, (fields, extra_info) in resolved.items():
        cls.__pydantic_fields__ = fields
        cls.__pydantic_extra_info__ = extra_info
    return all(cls.__pydantic_fields_complete__ for cls in models)
