"""A wrong setting is one clear line naming the variable, and exit code 2 — never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import DEFAULT_INFERNO_API_URL, Settings, SettingsError, load_settings
from tests.storage_helpers import stored_account

TOKEN = "123456:ABC-DEF_ghi"
# Every variable the bot reads, so a test never inherits one from the developer's shell.
SETTING_NAMES = tuple(name.upper() for name in Settings.model_fields)


def run_bot(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = load_settings(bot_token=TOKEN)
    assert settings.inferno_api_url == DEFAULT_INFERNO_API_URL
    assert settings.database_path == Path("data/bot.sqlite3")
    assert settings.encryption_key_file == Path("data/secret.key")
    assert settings.watch_interval == 30
    assert settings.watch_timeout == 7200
    assert settings.default_language == "ru"
    assert settings.allowed_users == frozenset()
    assert settings.log_level == "INFO"
    assert settings.telegram_api_url is None


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"BOT_TOKEN={TOKEN}\nWATCH_INTERVAL=5\n")
    monkeypatch.setenv("ALLOWED_USERS", "1, 2,3")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "EN")
    settings = Settings()  # type: ignore[call-arg]
    assert settings.watch_interval == 5
    assert settings.allowed_users == frozenset({1, 2, 3})
    assert settings.default_language == "en"
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BOT_TOKEN", "not a token", "BOT_TOKEN is invalid"),
        ("WATCH_INTERVAL", "soon", "WATCH_INTERVAL is invalid"),
        ("WATCH_TIMEOUT", "-1", "WATCH_TIMEOUT is invalid"),
        ("DEFAULT_LANGUAGE", "de", "DEFAULT_LANGUAGE is invalid"),
        ("ALLOWED_USERS", "12,bob", "ALLOWED_USERS is invalid"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL is invalid"),
        ("INFERNO_API_URL", "ftp://x", "INFERNO_API_URL is invalid"),
        ("INFERNO_API_URL", "https://cp.inferno.name:99999/api", "INFERNO_API_URL is invalid"),
        ("INFERNO_API_URL", "https:///api_client.php", "INFERNO_API_URL is invalid"),
        ("INFERNO_API_URL", "https://me:hunter2@cp.inferno.name/api", "INFERNO_API_URL is invalid"),
        ("TELEGRAM_API_URL", "localhost:8081", "TELEGRAM_API_URL is invalid"),
        ("INFERNO_API_URL", "", "INFERNO_API_URL is invalid: is empty"),
        ("INFERNO_API_URL", "   ", "INFERNO_API_URL is invalid: is empty"),
        ("INFERNO_API_URL", "https://cp.inferno .name/api", "INFERNO_API_URL is invalid"),
        ("INFERNO_API_URL", "https://cp.inferno.name/api client.php", "INFERNO_API_URL is inv"),
        ("INFERNO_API_URL", " https://cp.inferno.name/api", "INFERNO_API_URL is invalid"),
        ("INFERNO_API_URL", "https://", "INFERNO_API_URL is invalid: must name a host"),
        ("INFERNO_API_URL", "http://:8080/api", "INFERNO_API_URL is invalid"),
        ("TELEGRAM_API_URL", "", "TELEGRAM_API_URL is invalid: is empty"),
        ("TELEGRAM_API_URL", "http://127.0.0.1: 8081", "TELEGRAM_API_URL is invalid"),
        ("TELEGRAM_API_URL", "http:///bot", "TELEGRAM_API_URL is invalid"),
        ("PAYMENT_URL_TEMPLATE", "https://pay.example/invoice", "PAYMENT_URL_TEMPLATE is inv"),
        ("PAYMENT_URL_TEMPLATE", "javascript:{invoice_id}", "PAYMENT_URL_TEMPLATE is invalid"),
        ("PAYMENT_URL_TEMPLATE", "https://pay .example/{invoice_id}", "PAYMENT_URL_TEMPLATE"),
        ("PAYMENT_URL_TEMPLATE", "https://{invoice_id}/pay", "PAYMENT_URL_TEMPLATE is invalid"),
        ("PAYMENT_URL_TEMPLATE", "https://{invoice_id}.x.example/", "PAYMENT_URL_TEMPLATE is i"),
        ("PAYMENT_URL_TEMPLATE", "https://x.example:99999/{invoice_id}", "PAYMENT_URL_TEMPLATE"),
        ("PAYMENT_URL_TEMPLATE", "https://me:hunter2@x.example/{invoice_id}", "PAYMENT_URL_"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE is invalid: is not an IANA time zone name"),
        ("TIMEZONE", "../../etc/passwd", "TIMEZONE is invalid"),
    ],
)
def test_invalid_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)
    assert "hunter2" not in str(info.value)


def test_missing_token_process_exits_2(tmp_path: Path) -> None:
    result = run_bot(tmp_path, {})
    assert result.returncode == 2
    assert result.stderr.strip() == "inferno-bot: BOT_TOKEN is required but not set"
    assert "Traceback" not in result.stderr


def test_invalid_setting_process_exits_2(tmp_path: Path) -> None:
    result = run_bot(tmp_path, {"BOT_TOKEN": TOKEN, "WATCH_INTERVAL": "never"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "WATCH_INTERVAL is invalid" in lines[0]


def test_payment_url_template_is_optional_and_kept() -> None:
    assert load_settings(bot_token=TOKEN).payment_url_template is None
    assert load_settings(bot_token=TOKEN, payment_url_template="  ").payment_url_template is None
    template = "https://cp.inferno.name/viewinvoice.php?id={invoice_id}"
    settings = load_settings(bot_token=TOKEN, payment_url_template=f" {template} ")
    assert settings.payment_url_template == template


@pytest.mark.parametrize(
    "value", ["https://pay.example/invoice", "https://{invoice_id}/pay", "ftp://x/{invoice_id}"]
)
def test_bad_payment_url_template_process_exits_2(tmp_path: Path, value: str) -> None:
    result = run_bot(tmp_path, {"BOT_TOKEN": TOKEN, "PAYMENT_URL_TEMPLATE": value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inferno-bot: PAYMENT_URL_TEMPLATE is invalid")
    assert list(tmp_path.iterdir()) == [], "nothing is written"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("INFERNO_API_URL", ""),
        ("INFERNO_API_URL", "https://cp.inferno.name/api client.php"),
        ("TELEGRAM_API_URL", ""),
        ("TELEGRAM_API_URL", "http://"),
    ],
)
def test_bad_api_url_process_exits_2_writing_nothing(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = run_bot(tmp_path, {"BOT_TOKEN": TOKEN, variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"inferno-bot: {variable} is invalid"), lines
    assert list(tmp_path.iterdir()) == [], "nothing is written"


def test_key_file_with_wrong_permissions_exits_2(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text("x")
    key_file.chmod(0o644)
    result = run_bot(
        tmp_path,
        {
            "BOT_TOKEN": TOKEN,
            "ENCRYPTION_KEY_FILE": str(key_file),
            "TELEGRAM_API_URL": "http://127.0.0.1:9",
        },
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert str(key_file) in result.stderr.strip().splitlines()[-1]


def test_unreadable_key_file_exits_2(tmp_path: Path) -> None:
    key_dir = tmp_path / "keydir"
    key_dir.mkdir()
    result = run_bot(
        tmp_path,
        {
            "BOT_TOKEN": TOKEN,
            "ENCRYPTION_KEY_FILE": str(key_dir),
            "TELEGRAM_API_URL": "http://127.0.0.1:9",
        },
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_bad_encryption_key_exits_2(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path,
        {"BOT_TOKEN": TOKEN, "ENCRYPTION_KEY": "short", "TELEGRAM_API_URL": "http://127.0.0.1:9"},
    )
    assert result.returncode == 2, result.stderr
    assert "ENCRYPTION_KEY" in result.stderr
    assert "short" not in result.stderr


def test_rotate_key_command_needs_no_token_and_reencrypts(tmp_path: Path) -> None:
    import asyncio

    from bot.storage import Database, KeyRing
    from bot.storage.startup import open_storage

    key_file = tmp_path / "secret.key"
    database = tmp_path / "bot.sqlite3"

    async def link() -> None:
        db = await open_storage(database, key_file)
        await db.users.link(7, 777, "the-api-key-123456")
        await db.close()

    async def account() -> str:
        db = await Database.open(database, KeyRing.load(None, key_file))
        found = await stored_account(db, 7)
        await db.close()
        assert found is not None
        return found.api_key

    asyncio.run(link())
    old_key = key_file.read_text()
    env = {"DATABASE_PATH": str(database), "ENCRYPTION_KEY_FILE": str(key_file)}
    result = run_bot(tmp_path, env, "rotate-key")
    assert result.returncode == 0, result.stderr
    assert key_file.read_text() != old_key
    assert asyncio.run(account()) == "the-api-key-123456"
    assert "the-api-key" not in result.stdout + result.stderr


def test_link_attempt_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings(bot_token=TOKEN)
    assert (defaults.link_attempts_per_user, defaults.link_failures_per_minute) == (5, 20)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("LINK_ATTEMPTS_PER_USER", "3")
    monkeypatch.setenv("LINK_FAILURES_PER_MINUTE", "100")
    settings = load_settings()
    assert (settings.link_attempts_per_user, settings.link_failures_per_minute) == (3, 100)
    for variable in ("LINK_ATTEMPTS_PER_USER", "LINK_FAILURES_PER_MINUTE"):
        for bad in ("0", "-1", "many"):
            monkeypatch.setenv(variable, bad)
            with pytest.raises(SettingsError, match=f"^{variable} is invalid"):
                load_settings()
        monkeypatch.setenv(variable, "10")


@pytest.mark.parametrize(("watch", "connections"), [(16, 16), (20, 16), (1, 1)])
def test_background_slots_must_leave_a_connection_for_taps(
    monkeypatch: pytest.MonkeyPatch, watch: int, connections: int
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("WATCH_CONCURRENCY", str(watch))
    monkeypatch.setenv("INFERNO_MAX_CONNECTIONS", str(connections))
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "WATCH_CONCURRENCY" in message and "INFERNO_MAX_CONNECTIONS" in message
    assert "\n" not in message
