"""``python -m bot`` runs the bot; ``--demo`` adds an in-process simulator; ``rotate-key``
re-encrypts the stored API keys under a new master key; ``forget-undecryptable`` gives up the
accounts whose key was lost; ``healthcheck`` says whether a bot runs and reads its database;
``migrate-to-postgres`` copies the SQLite database into the PostgreSQL one of DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot import __version__
from bot.config import Settings, SettingsError, load_settings
from bot.logging_setup import mask_text, setup_logging

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_UNHEALTHY = 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Inferno VPS Telegram bot")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run against a built-in simulator with a demo account (only BOT_TOKEN needed)",
    )
    parser.add_argument("--version", action="version", version=f"inferno-bot {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    sub.add_parser("rotate-key", help="re-encrypt stored API keys under a new master key")
    forget = sub.add_parser(
        "forget-undecryptable",
        help="unlink the accounts whose stored API key no loaded master key can decrypt, and "
        "ask each of their users to link again (the bot must be stopped)",
    )
    forget.add_argument("--yes", action="store_true", help="do it (without: only say what)")
    move = sub.add_parser(
        "migrate-to-postgres",
        help="copy the SQLite database (the bot must be stopped) into the PostgreSQL database "
        "of DATABASE_URL; keys stay encrypted, so keep the same master key; safe to run again",
    )
    move.add_argument(
        "--from",
        dest="source",
        metavar="PATH",
        help="the SQLite database to copy (default: DATABASE_PATH)",
    )
    sub.add_parser(
        "healthcheck",
        help="exit 0 when a bot is running on the database (or its --demo one) and the "
        "database answers a read-only query, 1 otherwise; changes nothing",
    )
    return parser.parse_args(argv)


def fail(message: str) -> int:
    print(f"inferno-bot: {message}", file=sys.stderr)
    return EXIT_CONFIG


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # These commands touch only the database and the key file: no bot token needed.
    offline = args.command in (
        "rotate-key",
        "forget-undecryptable",
        "healthcheck",
        "migrate-to-postgres",
    )
    overrides = {"bot_token": f"0:not-used-by-{args.command}"} if offline else {}
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        code = fail(str(exc))
        # Docker reserves 2 in a HEALTHCHECK; a bot that cannot even be configured is unhealthy.
        return EXIT_UNHEALTHY if args.command == "healthcheck" else code
    if args.command == "healthcheck":
        return healthcheck(settings)
    secrets = [settings.bot_token.get_secret_value()]
    if settings.webhook_secret is not None:
        secrets.append(settings.webhook_secret.get_secret_value())
    secrets.extend(settings.redis_secrets)
    if settings.database_url is not None:
        secrets.extend(database_url_secrets(settings.database_url.get_secret_value()))
    setup_logging(settings.log_level_number, secrets=secrets)

    from bot.storage import StorageError

    try:
        if args.command == "migrate-to-postgres":
            return asyncio.run(migrate_to_postgres(settings, args.source))
        if args.command in ("rotate-key", "forget-undecryptable") and settings.database_url:
            return fail(
                f"{args.command} works on the SQLite database only, and DATABASE_URL is set; "
                "unset DATABASE_URL to run it on DATABASE_PATH"
            )
        if args.command == "rotate-key":
            return asyncio.run(rotate_key(settings))
        if args.command == "forget-undecryptable":
            return asyncio.run(forget_undecryptable(settings, apply=args.yes))
        from bot.runner import run_bot

        asyncio.run(run_bot(settings, demo=args.demo))
    except StorageError as exc:
        # The database or key file cannot be used, the keys do not match, another bot runs on
        # the same database: one line.
        return fail(str(exc))
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        telegram_code = telegram_failure(exc, settings, secrets)
        if telegram_code is None:
            raise
        return telegram_code
    return 0


def telegram_failure(exc: Exception, settings: Settings, secrets: list[str]) -> int | None:
    """The exit code and one line for a start-up that Telegram refused or could not be reached;
    None for any other error. aiogram is imported here, not at the top of ``main``, so that the
    commands and start-ups that fail before they need it never load it."""
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    if isinstance(exc, TelegramUnauthorizedError):
        return fail("Telegram rejected BOT_TOKEN (check it with @BotFather)")
    if isinstance(exc, TelegramNetworkError):
        api = settings.telegram_api_url or "https://api.telegram.org"
        # aiohttp's error text can hold the request URL, and with it /bot<TOKEN>/.
        reason = mask_text(exc.message, secrets)
        print(f"inferno-bot: cannot reach the Telegram Bot API at {api}: {reason}", file=sys.stderr)
        return 1
    return None


def healthcheck(settings: Settings) -> int:
    """One line, and 0 (healthy) or 1 (unhealthy): Docker's HEALTHCHECK reserves every other
    exit code."""
    from bot.config import demo_database_path
    from bot.healthcheck import check, check_postgres, check_webhook

    if settings.webhook_url is not None:
        # A replica (perhaps on PostgreSQL and Redis) says itself whether it can serve.
        health = check_webhook(settings.webhook_listen)
        print(f"inferno-bot: {health.line}", file=sys.stdout if health.ok else sys.stderr)
        return 0 if health.ok else EXIT_UNHEALTHY
    if settings.database_url is not None:
        from bot.storage.postgres import describe_url

        url = settings.database_url.get_secret_value()
        health = check_postgres(url, describe_url(url))
        print(f"inferno-bot: {health.line}", file=sys.stdout if health.ok else sys.stderr)
        return 0 if health.ok else EXIT_UNHEALTHY
    database = settings.database_path
    health = check(database, demo_path=demo_database_path(database))
    print(f"inferno-bot: {health.line}", file=sys.stdout if health.ok else sys.stderr)
    return 0 if health.ok else EXIT_UNHEALTHY


def database_url_secrets(url: str) -> list[str]:
    """What of DATABASE_URL must never reach a log line: the URL and its password."""
    from yarl import URL

    found = [url]
    try:
        parsed = URL(url)
        found += [p for p in (parsed.password, parsed.raw_password) if p]
    except ValueError:
        pass
    return found


async def migrate_to_postgres(settings: Settings, source: str | None) -> int:
    from pathlib import Path

    from bot.storage import KeyRing
    from bot.storage.copy_to_postgres import copy_to_postgres

    if settings.database_url is None:
        return fail(
            "migrate-to-postgres copies into the database of DATABASE_URL, which is not set "
            "(for example DATABASE_URL=postgresql://bot:password@db:5432/bot)"
        )
    # The key the SQLite bot used; without a key file and ENCRYPTION_KEY there is none.
    keyring = KeyRing.load(settings.encryption_key, settings.encryption_key_file)
    path = Path(source) if source else settings.database_path
    report = await copy_to_postgres(path, settings.database_url.get_secret_value(), keyring)
    keys = ", ".join(report.key_ids) or "none"
    if not report.copied:
        print(
            f"inferno-bot: nothing to do: PostgreSQL already holds exactly the {report.rows} "
            f"rows of {path} (copied by an earlier run)"
        )
        return 0
    tables = ", ".join(f"{t.table} {t.rows}" for t in report.tables if t.rows)
    print(
        f"inferno-bot: copied {report.rows} rows from {path} into PostgreSQL ({tables}). "
        f"API keys stay encrypted with key {keys}: start the bot with DATABASE_URL and the same "
        f"ENCRYPTION_KEY / ENCRYPTION_KEY_FILE; {path} is left as it is, and running this "
        "again refuses rather than copy a second time"
    )
    return 0


async def rotate_key(settings: Settings) -> int:
    from bot.storage.rotate import rotate_key as rotate

    env_key = settings.encryption_key.get_secret_value() if settings.encryption_key else None
    report = await rotate(settings.database_path, settings.encryption_key_file, env_key=env_key)
    retired = ", ".join(report.retired_key_ids) or "none"
    resumed = " (resumed an interrupted rotation)" if report.resumed else ""
    print(
        f"inferno-bot: new key {report.key_id}; re-encrypted {report.reencrypted} accounts; "
        f"retired keys: {retired}{resumed}"
    )
    return 0


async def forget_undecryptable(settings: Settings, *, apply: bool) -> int:
    from bot.storage.forget import forget_undecryptable as forget

    report = await forget(
        settings.database_path,
        settings.encryption_key_file,
        env_key=settings.encryption_key,
        apply=apply,
    )
    count = len(report.user_ids)
    accounts = f"{count} account" + ("" if count == 1 else "s")
    keys = ", ".join(report.key_ids)
    if not count:
        print("inferno-bot: every stored API key can be decrypted; nothing to forget")
    elif apply:
        print(
            f"inferno-bot: unlinked {accounts} whose API key could not be decrypted (key ids: "
            f"{keys}); the bot asks each of their users to link again when it next starts"
        )
    else:
        print(
            f"inferno-bot: {accounts} cannot be decrypted (key ids: {keys}); nothing was "
            "changed. Run again with --yes to unlink them and ask each of their users to link "
            "again"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
