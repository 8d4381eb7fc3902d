"""The log filter masks secrets in every record: known values and secret-looking fields."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import pytest

from bot.inferno.simulator import Simulator
from bot.logging_setup import SecretMaskingFilter, mask_text
from tests.e2e_process import bot_process
from tests.fakes.telegram import FakeTelegram

UID = 515151


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("headers: {'X-Key': 'k3y-value-123'}", "k3y-value-123"),
        ('body {"api_key": "abcdef123456"}', "abcdef123456"),
        ("Array\n(\n    [password] => hunter22\n)", "hunter22"),
        ("[root_password] => S3cr3t-root", "S3cr3t-root"),
        ("key=plainkey0987&cid=5", "plainkey0987"),
        ('{"token": "tok-0123456789"}', "tok-0123456789"),
        ('{"rootpass": "r00t-Pa55"}', "r00t-Pa55"),
        ("[vnc_password] => vnc-Secret-77", "vnc-Secret-77"),
        ("db_pwd=hunter2hunter2", "hunter2hunter2"),
        ("'Client_Secret': 'cs-0123456789'", "cs-0123456789"),
        ("GET http://127.0.0.1/bot123456:AAEhBOweik6ad9r/getMe", "AAEhBOweik6ad9r"),
    ],
)
def test_secret_looking_fields_are_masked(line: str, secret: str) -> None:
    masked = mask_text(line, [])
    assert secret not in masked and "***" in masked


def test_known_values_are_masked_in_messages_and_tracebacks() -> None:
    secret = "the-known-secret-value"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s", (secret,), None)
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    assert SecretMaskingFilter([secret]).filter(record)
    assert secret not in record.getMessage()
    assert record.exc_text is not None and secret not in record.exc_text


def _screen(tg: FakeTelegram) -> tuple[int, int]:
    messages = tg.bot_messages(UID, include_deleted=True)
    return len(messages), sum(m.edit_count + m.deleted for m in messages)


async def test_the_bot_process_logs_one_line_per_update(tmp_path: Path) -> None:
    """``python -m bot`` at its default level: each update handled leaves exactly one line,
    ours (who, what kind, which action), not a second one from aiogram."""
    async with bot_process(tmp_path, Simulator(), LOG_LEVEL="INFO") as (proc, tg, _server):
        await tg.wait_for(lambda: tg.polling_active, 30.0, "the bot process to start polling")
        steps = [
            lambda: tg.send_command(UID, "/start"),
            lambda: tg.tap_button(UID, "Client id + API key"),
            lambda: tg.send_text(UID, "hello"),
            lambda: tg.send_command(UID, "/menu"),
        ]
        for step in steps:
            before = _screen(tg)
            await step()
            await tg.wait_for(lambda b=before: _screen(tg) != b, 20.0, "the bot to answer")
            await tg.wait_idle(timeout=20.0)
        assert await proc.stop(signal.SIGTERM, timeout=10) == 0
    lines = proc.logs().splitlines()
    ours = [line for line in lines if " bot.events: " in line]
    assert len(ours) == len(steps), "\n".join(ours)
    assert [line for line in lines if "aiogram.event" in line] == []
