"""The bench's aiogram baselines: separate processes, named for what they really run.

"As shipped" imports nothing of the bot and keeps aiogram's and Python's defaults; "with the
bot's process tuning" applies what ``python -m bot`` applies from ``bot/runtime``. Each process
reports what it runs with, and serves the screens it was given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.faketg import BenchTelegram
from bench.processes import BotProcess
from bench.run import baseline_env
from bench.traffic import Screens, drive_users
from bot.runtime.gc_tuning import YOUNG_THRESHOLD

USER = 1000
CARD, LIST = "s:c:1", "m:srv"
TIMEOUT = 60.0


def _screen(text: str, data: str) -> tuple[str, dict[str, Any]]:
    return text, {"inline_keyboard": [[{"text": text, "callback_data": data}]]}


SCREENS = Screens(
    main=_screen("<b>Menu</b>", LIST),
    after={LIST: _screen("List", CARD), CARD: _screen("Card", LIST)},
)


async def _serve(tmp_path: Path, *flags: str, **env: str) -> tuple[dict[str, Any], list[str]]:
    """Start a baseline, tap through two screens; return its own account and what it showed."""
    screens = tmp_path / "screens.json"
    SCREENS.save(screens)
    tg = BenchTelegram()
    async with tg:
        argv = ["-m", "bench.baseline", "--api", tg.base_url, "--screens", str(screens)]
        argv += ["--describe", str(tmp_path / "facts"), *flags]
        environ = {k: v for k, v in baseline_env(tg).items() if k != "LAZY_TYPES"} | env
        bot = BotProcess("baseline", "baseline", argv, environ, tg, tmp_path / "log")
        try:
            await bot.start(USER, TIMEOUT)
            message_id = bot.menus[USER]
            shown = [tg.message(USER, message_id).html or ""]
            # The bench's route starts with the servers list, then the card.
            edited = tg.expect_edit(USER, message_id)
            drive = await drive_users(tg, bot.menus, 1, TIMEOUT)
            shown.append((await edited).text)
            assert (drive.failures, drive.off_route, len(drive.taps)) == (0, 0, 1)
            assert bot.cpu_seconds() > 0 and bot.rss_mb() > 0
        finally:
            code = await bot.stop()
        assert code == 0, bot.log_path.read_text()
        assert tg.errors == []
    facts: dict[str, Any] = json.loads((tmp_path / "facts").read_text())
    return facts, shown


async def test_lazy_types_0_reaches_the_tuned_baseline(tmp_path: Path) -> None:
    """LAZY_TYPES reaches the baseline as it reaches `python -m bot`. Each baseline's defaults
    (LAZY_TYPES unset) are checked on the processes tests/test_bench_smoke.py runs."""
    facts, shown = await _serve(tmp_path, "--tuned", LAZY_TYPES="0")
    assert shown == ["<b>Menu</b>", "List"]
    assert facts["build"] == "tuned"
    assert facts["bot_modules_imported"] > 0
    assert facts["types_built_at_import"] is True
    assert facts["gc_frozen_objects"] > 10_000
    assert facts["gc_threshold"][0] == YOUNG_THRESHOLD
    assert facts["log_level"] == "INFO"


def test_the_environment_reaches_the_baseline_without_the_bot_s_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:leaked")
    monkeypatch.setenv("LAZY_TYPES", "0")
    tg = BenchTelegram()
    env = baseline_env(tg)
    assert "BOT_TOKEN" not in env and env["LAZY_TYPES"] == "0"
    assert env["BENCH_BOT_TOKEN"] == tg.token
