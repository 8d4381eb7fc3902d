"""``python -m bot`` ends with one line and an exit code, never with a secret in that line."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetMe

import bot.runner
from bot.__main__ import main

TOKEN = "123456:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ra"


async def _unreachable(settings: object, *, demo: bool = False) -> None:
    # What aiogram raises when aiohttp's error text carries the request URL.
    raise TelegramNetworkError(
        method=GetMe(),
        message=f"TooManyRedirects: url='http://127.0.0.1:9/bot{TOKEN}/getMe'",
    )


def test_an_unreachable_api_is_one_line_without_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_PATH", f"{tmp_path}/bot.sqlite3")
    monkeypatch.setenv("ENCRYPTION_KEY_FILE", f"{tmp_path}/secret.key")
    monkeypatch.chdir(str(tmp_path))  # no .env from the working directory
    monkeypatch.setattr(bot.runner, "run_bot", _unreachable)
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the Telegram Bot API" in err
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
