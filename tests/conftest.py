from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtime.gc_tuning import tune_garbage_collector
from bot.services.leader import PostgresLeader
from bot.services.locks import RedisUserLocks
from bot.services.shared_state import SharedRedisStorage
from tests.harness import BotEnv, Production, running_bot

pytest_plugins = ["tests.engines", "tests.storage_backends"]

EMBEDDED = "embedded"
PRODUCTION = "production"
EMBEDDED_ONLY = "embedded_only"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{PRODUCTION}: the test takes `engines` (through `env`) and so runs twice, which every "
        "such test does unmarked: see pytest_generate_tests",
    )
    config.addinivalue_line(
        "markers",
        f"{EMBEDDED_ONLY}(reason): a test that takes `engines` runs {EMBEDDED} only, for the "
        "reason given (it is about the SQLite file, say)",
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """The bot's own garbage-collector tuning (bot/runtime/gc_tuning.py), for the test
    process: what exists once the tests are collected (aiogram, pydantic, the bot, the test
    modules) lives until the end, and without this every full collection walked all of it again,
    about a fifth of a flow test's CPU."""
    tune_garbage_collector()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test whose fixtures take ``engines`` (the flow tests' ``env`` does) runs twice:
    embedded (SQLite, polling, one process) and in the production mode (PostgreSQL, Redis,
    webhook, leader election; docs/DEPLOY.md), unless marked ``embedded_only`` with a reason.
    tests/test_production_flows.py checks that every test driving the bot takes it.

    Only where the test is defined: a module that imports it to run it again
    (tests/test_webhook.py) brings its own ``env``."""
    definition = metafunc.definition
    function = metafunc.function
    if function.__module__ != metafunc.module.__name__:
        return
    embedded_only = definition.get_closest_marker(EMBEDDED_ONLY)
    if embedded_only is not None:
        if not (embedded_only.args or embedded_only.kwargs.get("reason")):
            raise ValueError(f"{definition.nodeid}: `{EMBEDDED_ONLY}` needs a reason")
        return
    if "engines" not in metafunc.fixturenames:
        if definition.get_closest_marker(PRODUCTION) is not None:
            # A module's own `env` that ignores `engines` would run the test embedded twice.
            raise ValueError(f"{definition.nodeid}: its `env` fixture must take `engines`")
        return
    metafunc.parametrize("engines", [EMBEDDED, PRODUCTION], indirect=True)


@pytest.fixture
def engines(request: pytest.FixtureRequest) -> Production | None:
    """None (embedded), or the production mode's engines: skipped with one line when they are
    not configured, a failure under ``CI=true`` (tests/engines.py). The database is the test
    process's own, emptied for each test (tests/engines.py ``postgres_flow_url``). Synchronous,
    so that it may ask for the async engine fixtures."""
    if getattr(request, "param", EMBEDDED) != PRODUCTION:
        return None
    return Production(
        postgres_url=request.getfixturevalue("postgres_flow_url"),
        redis_url=request.getfixturevalue("redis_url"),
        redis_prefix=request.getfixturevalue("redis_prefix"),
    )


@pytest.fixture
async def env(tmp_path: Path, engines: Production | None) -> AsyncIterator[BotEnv]:
    """The whole bot, running, with default test settings (see ``engines``)."""
    async with running_bot(tmp_path, production=engines) as bot_env:
        if engines is not None:
            assert_production(bot_env)
        yield bot_env


def assert_production(env: BotEnv) -> None:
    """The production mode is what it says: nothing falls back to the embedded engines."""
    assert env.services is not None and env.webhook is not None
    assert env.services.db.shared and env.services.db.path is None
    assert isinstance(env.fsm, SharedRedisStorage)
    assert isinstance(env.services.locks, RedisUserLocks)
    assert isinstance(env.services.leadership, PostgresLeader)
