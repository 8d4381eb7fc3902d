"""Handled updates are freed: aiogram's ``Update.event_type`` cache would keep the last 128."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest
from aiogram.types import Update

from bot.runtime.forget_updates import forget_handled_updates
from tests.e2e_process import ROOT
from tests.harness import BotEnv

UID = 3151
TAPS = 10


def updates_alive() -> list[Update]:
    gc.collect()
    return [obj for obj in gc.get_objects() if isinstance(obj, Update)]


async def test_the_bot_keeps_no_update_it_has_handled(env: BotEnv) -> None:
    await env.link(UID, env.customer())
    await env.command(UID, "/menu")
    for _ in range(TAPS // 2):
        await env.tap(UID, "Help")
        await env.tap(UID, "Main menu")
    await env.settle()
    # Polling may still hold the last batch (one update here) while it asks for the next.
    assert len(updates_alive()) <= 1
    assert not hasattr(Update.__dict__["event_type"].fget, "cache_info")
    assert env.tg.errors == []


def test_event_type_is_still_read_from_the_update(monkeypatch: pytest.MonkeyPatch) -> None:
    # Put back whatever is there now, so that no other test relies on this one's call.
    monkeypatch.setattr(Update, "event_type", Update.__dict__["event_type"])
    assert forget_handled_updates()
    assert forget_handled_updates()  # a second call changes nothing
    update = Update.model_validate(
        {
            "update_id": 7,
            "callback_query": {
                "id": "1",
                "from": {"id": UID, "is_bot": False, "first_name": "A"},
                "chat_instance": "c",
                "data": "m:main",
            },
        }
    )
    assert update.event_type == "callback_query"
    assert update.event is update.callback_query
    assert not hasattr(Update.__dict__["event_type"].fget, "cache_info")


def test_a_shape_aiogram_may_have_later_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def plain(update: Update) -> str:
        return "message"

    monkeypatch.setattr(Update, "event_type", property(plain))
    assert forget_handled_updates()  # already uncached: nothing to do
    assert Update.__dict__["event_type"].fget is plain

    unknown = object()
    monkeypatch.setattr(Update, "event_type", unknown)
    assert not forget_handled_updates()  # create_dispatcher logs a warning then
    assert Update.__dict__["event_type"] is unknown


def test_the_installed_aiogram_takes_the_fast_path() -> None:
    """Fails on an aiogram whose ``event_type`` this module no longer changes, either way."""
    code = (
        "import bot\n"
        "from aiogram.types import Update\n"
        "from bot.runtime.forget_updates import forget_handled_updates\n"
        "cached = hasattr(Update.__dict__['event_type'].fget, 'cache_clear')\n"
        "replaced = forget_handled_updates()\n"
        "uncached = not hasattr(Update.__dict__['event_type'].fget, 'cache_clear')\n"
        "print(cached, replaced, uncached)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["True", "True", "True"], (
        "aiogram's Update.event_type has a new shape: adapt bot/runtime/forget_updates.py, or "
        f"remove it if aiogram no longer keeps handled updates ({done.stdout} {done.stderr})"
    )
