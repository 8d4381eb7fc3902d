"""Let aiogram's Telegram types build their validators on first use instead of at import.

``aiogram/types/__init__.py`` ends with a loop that calls ``model_rebuild()`` on each of its
~440 types, so that their forward references resolve. That builds a pydantic-core validator and
serializer for every one of them at import, although ``TelegramObject`` asks for
``defer_build=True``: about 100 MB of native memory and over a second of CPU, in every process,
for types a bot mostly never meets (``bench/RESULTS.md``, round 4). A running bot needs
``Update`` with what it contains, and the methods it calls.

:func:`import_aiogram_types` lets that loop run but records the namespace it passes instead of
building. The names aiogram's type modules import only for type checking are then added to
those modules, so each type resolves its annotations from its own module like any pydantic
model, and pydantic builds it the first time it is used (its own ``defer_build`` path). A
rebuild of a type, method or response model gets aiogram's namespace first, as in aiogram's
loop, so no name in the frame that happens to touch a type first can change what the type's
annotations mean. The validators are the ones aiogram would have built
(``tests/test_lazy_types.py`` compares every field of every type and method).

Only the first ``import aiogram`` is affected: if aiogram was imported before, or its loop no
longer looks as expected, the types are built as aiogram builds them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

_TYPES_PACKAGE = "aiogram.types"
_REBUILD = "model_rebuild"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def import_aiogram_types() -> bool:
    """Import aiogram with its types deferred; True if they were, False if aiogram built them."""
    if _TYPES_PACKAGE in sys.modules:
        return False
    rebuild = BaseModel.__dict__["model_rebuild"].__func__
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
    if len(namespaces) != 1:
        for cls, namespace in recorded.items():
            cls.model_rebuild(_types_namespace=dict(namespace))
        return False
    namespace = dict(next(iter(namespaces.values())))
    for cls in recorded:
        _import_annotation_names(cls, namespace)

    def rebuild_in_aiogram_namespace(cls: type[BaseModel], **kwargs: Any) -> bool | None:
        if kwargs.get("_types_namespace") is None:
            kwargs["_types_namespace"] = namespace
        return rebuild(cls, **kwargs)  # type: ignore[no-any-return]

    from aiogram.methods.base import Response, TelegramMethod
    from aiogram.types.base import TelegramObject

    for base in (TelegramObject, TelegramMethod, Response):
        _set_rebuild(base, rebuild_in_aiogram_namespace)
    return True


def _set_rebuild(cls: type[BaseModel], function: Callable[..., bool | None]) -> None:
    setattr(cls, _REBUILD, classmethod(function))


def _import_annotation_names(cls: type[BaseModel], namespace: Mapping[str, Any]) -> None:
    """Give the type's module the names its annotations use but it imports only for mypy."""
    module_globals = vars(sys.modules[cls.__module__])
    for annotation in vars(cls).get("__annotations__", {}).values():
        text = annotation if isinstance(annotation, str) else repr(annotation)
        for name in _IDENTIFIER.findall(text):
            if name in namespace and name not in module_globals:
                module_globals[name] = namespace[name]
