from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import BotEnv, running_bot

pytest_plugins = ["tests.engines", "tests.storage_backends"]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[BotEnv]:
    """The whole bot, running, with default test settings."""
    async with running_bot(tmp_path) as bot_env:
        yield bot_env
