"""Settings from environment variables and an optional ``.env`` file.

The variable names are a contract shared with the README, Docker files and tests.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from yarl import URL

DEFAULT_INFERNO_API_URL = "https://cp.inferno.name/api_client.php"
SUPPORTED_LANGUAGES = ("ru", "en")
DEFAULT_WEBHOOK_LISTEN = "0.0.0.0:8080"
# Telegram's rule for setWebhook's secret_token.
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    bot_token: SecretStr
    telegram_api_url: str | None = None
    telegram_proxy: SecretStr | None = None
    inferno_api_url: str = DEFAULT_INFERNO_API_URL
    database_path: Path = Path("data/bot.sqlite3")
    # PostgreSQL instead of the SQLite file (several replicas share it). It may carry a
    # password: a secret, never logged; logs name its host and database only.
    database_url: SecretStr | None = None
    encryption_key_file: Path = Path("data/secret.key")
    encryption_key: SecretStr | None = None
    watch_interval: float = Field(default=30.0, gt=0)
    watch_timeout: float = Field(default=7200.0, gt=0)
    # Days each account's history (who did what through the bot) is kept.
    history_days: int = Field(default=90, ge=1, le=3650)
    # The IANA time zone the history's times are shown in (Telegram tells a bot no user's).
    timezone: str = "UTC"
    watch_concurrency: int = Field(default=8, ge=1, le=256)
    password_ttl: float = Field(default=300.0, gt=0)
    default_language: Literal["ru", "en"] = "ru"
    allowed_users: Annotated[frozenset[int], NoDecode] = frozenset()
    log_level: Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"] = "INFO"
    inferno_timeout: float = Field(default=20.0, gt=0)
    inferno_connect_timeout: float = Field(default=5.0, gt=0)
    # Users' taps wait for a free connection: with many people at once (a hoster's bot), a
    # small pool, of which the background passes may hold WATCH_CONCURRENCY, makes the live
    # server card queue behind other taps (bench/RESULTS.md, "Issue 16: the last session").
    inferno_max_connections: int = Field(default=64, ge=1, le=1000)
    read_cache_ttl: float = Field(default=15.0, ge=0)
    # For amounts whose provider answer names no currency, when the balance names none either.
    currency: str = Field(default="USD", min_length=1, max_length=10, pattern=r"^\S+$")
    # Alerts (bot/services/alerts.py): account checks (orders, services, balance) and down
    # checks (getinfo of each monitored server).
    alert_interval: float = Field(default=900.0, gt=0)
    monitor_interval: float = Field(default=120.0, gt=0)
    unpaid_order_after: float = Field(default=3600.0, ge=0)
    # A link to pay an invoice, "{invoice_id}" replaced: e.g.
    # https://cp.inferno.name/viewinvoice.php?id={invoice_id}
    payment_url_template: str | None = None
    # Failed link attempts: per Telegram user before the waits begin, and per minute in all.
    link_attempts_per_user: int = Field(default=5, ge=1, le=1000)
    link_failures_per_minute: int = Field(default=20, ge=1, le=10_000)
    # Webhook mode (README "Webhook mode"): set WEBHOOK_URL to take updates over HTTPS instead
    # of polling; WEBHOOK_SECRET is then required.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = DEFAULT_WEBHOOK_LISTEN
    # The production mode (docs/DEPLOY.md): with REDIS_URL, dialogs, the per-user locks and the
    # update ids already taken in live in Redis, shared by every replica. A SecretStr: the URL
    # may carry a password, and nothing prints it (see redis_url_for_log).
    redis_url: SecretStr | None = None
    # Every key the bot writes starts with it: one Redis can serve several bots.
    redis_prefix: str = Field(default="inferno-bot", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    # Replicas on a shared PostgreSQL (bot/services/leader.py): how often a follower tries for
    # the leader lock and the leader checks it still holds it.
    leader_interval: float = Field(default=5.0, ge=0.05, le=300)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret or any(ch.isspace() for ch in token):
            raise ValueError("must look like 123456:ABC-DEF (the token @BotFather gives)")
        return SecretStr(token)

    @field_validator("telegram_api_url", "inferno_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            # An empty value is a half-written setting, not a request for the default: leave
            # the variable out to get the default.
            raise ValueError("is empty (remove the line to use the default, or give a URL)")
        if any(ch.isspace() for ch in value):
            raise ValueError("must not contain spaces")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        try:
            url = URL(value)
            host, _port = url.host, url.port  # yarl checks the port only when it is read
        except ValueError as exc:
            raise ValueError(f"is not a valid URL ({exc})") from None
        if not host:
            raise ValueError("must name a host")
        if url.user is not None or url.password is not None:
            # The URL is logged at start-up; credentials in it would be too.
            raise ValueError("must not carry a user name or password")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        value = value.strip() or "UTC"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "is not an IANA time zone name (for example UTC or Europe/Moscow)"
            ) from None
        return value

    @field_validator("payment_url_template")
    @classmethod
    def _payment_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")) or any(ch.isspace() for ch in value):
            raise ValueError("must be an http:// or https:// URL without spaces")
        if "{invoice_id}" not in value:
            raise ValueError("must contain {invoice_id}")
        # The link goes to users as a button: its host is fixed (not made of the invoice id)
        # and it carries no credentials; Telegram refuses a button whose URL has no host.
        try:
            one, other = (URL(value.replace("{invoice_id}", n)) for n in ("1", "2"))
            hosts = (one.host, other.host)
        except ValueError as exc:
            raise ValueError(f"is not a valid URL ({exc})") from None
        if not hosts[0] or hosts[0] != hosts[1]:
            raise ValueError("must name a host before {invoice_id}")
        if one.user is not None or one.password is not None:
            raise ValueError("must not carry a user name or password")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        checked = cls._http_url(value)
        assert checked is not None
        url = URL(checked)
        # Telegram delivers to HTTPS only; plain HTTP is for a bot and a test on one machine.
        if url.scheme != "https" and url.host not in _LOOPBACK_HOSTS:
            raise ValueError("must start with https:// (Telegram delivers updates over HTTPS)")
        if url.query_string or url.fragment:
            raise ValueError("must not carry a query or a fragment")
        return checked

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(text, str):
            return value
        text = text.strip()
        if not text:
            return None  # an empty variable (a compose default) means SQLite
        # No error text below may quote the value: it may hold the password.
        if not text.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (or postgres://)")
        if any(ch.isspace() for ch in text):
            raise ValueError("must not contain spaces")
        try:
            url = URL(text)
            _host, _port = url.host, url.port  # yarl checks the port only when it is read
        except ValueError:
            raise ValueError("is not a valid URL") from None
        if len(url.path.strip("/").split("/")) > 1:
            raise ValueError("must name one database: postgresql://user:password@host:5432/db")
        return SecretStr(text)

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value().strip()
        if not text:
            raise ValueError("is empty (remove the line to run without Redis, or give a URL)")
        if not text.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        if any(ch.isspace() for ch in text):
            raise ValueError("must not contain spaces")
        try:
            url = URL(text)
            _port = url.port  # yarl checks the port only when it is read
        except ValueError:
            # Not the parser's text: it may quote the URL, password included.
            raise ValueError("is not a valid URL") from None
        if url.scheme != "unix" and not url.host:
            raise ValueError("must name a host")
        return SecretStr(text)

    @property
    def redis_url_for_log(self) -> str | None:
        """REDIS_URL without its user name and password, for the start-up line."""
        if self.redis_url is None:
            return None
        url = URL(self.redis_url.get_secret_value())
        return str(url.with_user(None).with_password(None).with_query(None))

    @property
    def redis_secrets(self) -> list[str]:
        """The password in REDIS_URL, which the logs mask."""
        if self.redis_url is None:
            return []
        password = URL(self.redis_url.get_secret_value()).password
        return [password] if password else []

    @field_validator("webhook_listen")
    @classmethod
    def _listen_address(cls, value: str) -> str:
        parse_listen(value)
        return value.strip()

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET is required but not set (WEBHOOK_URL is set)")
        return self

    @model_validator(mode="after")
    def _taps_keep_a_connection(self) -> Settings:
        # The background passes share WATCH_CONCURRENCY slots; with fewer provider connections
        # than that, a sweep could hold every connection and a user's tap would wait behind it.
        if self.watch_concurrency >= self.inferno_max_connections:
            raise ValueError(
                f"WATCH_CONCURRENCY ({self.watch_concurrency}) must be below "
                f"INFERNO_MAX_CONNECTIONS ({self.inferno_max_connections}), so that users' "
                "taps always find a free provider connection while the background checks run"
            )
        return self

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, where the webhook app takes updates."""
        assert self.webhook_url is not None
        return URL(self.webhook_url).path or "/"

    @field_validator("allowed_users", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            ids: set[int] = set()
            for part in parts:
                if not part:
                    continue
                if not part.lstrip("-").isdigit():
                    raise ValueError(f"{part!r} is not a Telegram user id")
                ids.add(int(part))
            return frozenset(ids)
        return value

    @field_validator("default_language", mode="before")
    @classmethod
    def _lower_language(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]


def demo_database_path(database_path: Path) -> Path:
    """Where ``--demo`` keeps its data: ``demo-<name>`` beside ``DATABASE_PATH``."""
    return database_path.with_name("demo-" + database_path.name)


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) -> (host, port); ValueError on anything else."""
    host, sep, port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port, e.g. 0.0.0.0:8080")
    return host, int(port)


class SettingsError(Exception):
    """One human sentence naming the variable that is wrong; never a secret's value."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    error = exc.errors(include_input=False, include_url=False)[0]
    if not error["loc"]:  # a check across settings names them itself
        return str(error["msg"]).removeprefix("Value error, ")
    variable = str(error["loc"][0]).upper()
    if error["type"] == "missing":
        return f"{variable} is required but not set"
    reason = str(error["msg"]).removeprefix("Value error, ")
    return f"{variable} is invalid: {reason}"
