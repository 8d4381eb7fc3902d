"""Candidate fixes for hot spots the profile found, applied at run time to *our* bot only.

``python -m bench --experiment response-types --experiment sniffio --experiment fsm-clear``
measures what each would save before anyone changes the bot's code; ``bench/RESULTS.md`` has
the before/after. None of these is active in a plain run.

* ``response-types`` — aiogram parametrises ``Response[method.__returning__]`` for every request
  (``BaseSession.check_response``); pydantic ≥ 2.12 caches parametrised models only weakly, so
  whenever the garbage collector has freed one it is rebuilt, schema and all (1–4 ms). Holding a
  reference per method type keeps the cache warm. Fix: the same middleware in ``create_bot``.
* ``sniffio`` — httpcore's ``current_async_library()`` does ``import sniffio`` on every lock,
  event and cancellation shield; anyio 4 no longer depends on sniffio, so each call is a failed
  import that scans ``sys.path``. Marking the module absent makes the failure instant. Fix:
  depend on ``sniffio`` (then the import is a dictionary hit).
* ``fsm-clear`` — ``state.clear()`` on every menu screen runs two write transactions (``BEGIN
  IMMEDIATE``, upsert, delete, ``COMMIT``, twice) even when the user has no state. Skipping the
  write when there is nothing to clear keeps the semantics. Fix: the same check in
  ``bot/storage/fsm.py``.
* ``watcher-limit`` — a hypothesis that did not hold: ``InstallWatcher.sweep`` starts every due
  check at once and each reads the account and the language before it waits for the provider
  limiter, so 2,000 queries queue on the shared SQLite connection before the first ``getinfo``.
  Holding the limiter for the whole check instead puts those queries *inside* the eight slots,
  and the sweep got slower (see RESULTS.md). Kept so the measurement can be repeated.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from typing import Any

from aiogram import Bot
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.middlewares.response_types import KeepResponseTypes
from bot.services.watcher import InstallWatcher

NAMES = ("response-types", "sniffio", "fsm-clear", "watcher-limit")


def skip_empty_fsm_clear(storage: BaseStorage) -> None:
    """Wrap the storage instance: clearing what is already clear writes nothing."""
    set_state, set_data = storage.set_state, storage.set_data

    async def guarded_set_state(key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        if value is None and await storage.get_state(key) is None:
            return
        await set_state(key, state)

    async def guarded_set_data(key: StorageKey, data: Mapping[str, Any]) -> None:
        if not data and not await storage.get_data(key):
            return
        await set_data(key, data)

    storage.set_state = guarded_set_state  # type: ignore[method-assign]
    storage.set_data = guarded_set_data  # type: ignore[method-assign]


def limit_whole_check(watcher: InstallWatcher) -> None:
    """Wrap the watcher instance: the limiter covers a check's queries, not only its call."""
    check = watcher._check

    async def whole(bot: Bot, watch: Any, owner: Any, limiter: Any) -> Any:
        async with limiter:
            return await check(bot, watch, owner, contextlib.nullcontext())  # type: ignore[arg-type]

    watcher._check = whole  # type: ignore[method-assign,assignment]


def apply(
    names: list[str], bot: Bot, storage: BaseStorage, watcher: InstallWatcher | None = None
) -> None:
    unknown = set(names) - set(NAMES)
    if unknown:
        raise ValueError(f"unknown experiments: {sorted(unknown)}; known: {NAMES}")
    if "watcher-limit" in names and watcher is not None:
        limit_whole_check(watcher)
    if "response-types" in names:
        bot.session.middleware(KeepResponseTypes())
    if "sniffio" in names:
        sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]
    if "fsm-clear" in names:
        skip_empty_fsm_clear(storage)
