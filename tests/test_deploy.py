"""docker-compose.yml's two profiles and deploy/Caddyfile, read as files (no Docker engine runs
the tests: docs/DEPLOY.md "Testing notes"), and the health check a replica's container runs."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import yaml
from yarl import URL

from bot.healthcheck import check_postgres, check_webhook
from tests.harness import Production, free_port, running_bot

ROOT = Path(__file__).resolve().parent.parent
REPLICAS = ("bot-1", "bot-2")
OFFICIAL = {
    "postgres": r"postgres:\d+(-[a-z]+)?",
    "redis": r"redis:\d+(-[a-z]+)?",
    "proxy": r"(caddy|nginx):[\w.-]+",
}


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_default_profile_is_the_single_sqlite_bot() -> None:
    services = compose()["services"]
    default = [name for name, service in services.items() if "profiles" not in service]
    assert default == ["bot"]
    bot = services["bot"]
    assert any(volume.endswith(":/data") for volume in bot["volumes"])
    assert "environment" not in bot and "depends_on" not in bot and "ports" not in bot


def test_the_scale_profile() -> None:
    services = compose()["services"]
    scale = {name for name, service in services.items() if "scale" in service.get("profiles", [])}
    assert scale == {"postgres", "redis", "proxy", *REPLICAS}
    for name, pattern in OFFICIAL.items():
        assert re.fullmatch(pattern, services[name]["image"]), services[name]["image"]

    # Naming `proxy` starts the whole stack: it needs both replicas, which need both engines
    # healthy before they start.
    assert set(services["proxy"]["depends_on"]) == set(REPLICAS)
    for name in REPLICAS:
        replica = services[name]
        assert replica["image"] == services["bot"]["image"]
        assert replica["env_file"] == ".env"
        assert replica["environment"]["WEBHOOK_LISTEN"] == "0.0.0.0:8080"
        assert replica["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
        assert replica["healthcheck"]["test"] == ["CMD", "python", "-m", "bot", "healthcheck"]
        assert "ports" not in replica, "replicas are reached through the proxy only"
        assert replica["restart"] == "unless-stopped"
    for name in ("postgres", "redis"):
        assert "ports" not in services[name], f"{name} stays on the compose network"
        assert services[name]["healthcheck"]["test"]
    # Telegram delivers to 443, 80, 88 or 8443 only.
    published = {int(port.split(":")[-2]) for port in services["proxy"]["ports"]}
    assert 443 in published and published <= {443, 80, 88, 8443}
    assert any("Caddyfile" in volume for volume in services["proxy"]["volumes"])
    # Redis must never evict a lock or a dialog.
    assert "noeviction" in " ".join(services["redis"]["command"])


def test_nothing_in_the_compose_file_is_interpolated() -> None:
    """The default profile must not ask for the scale profile's secrets: every value comes
    from .env inside the containers ($$ leaves a variable to the container's shell)."""
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"(?<!\$)\$(\{|[A-Za-z_])", text)


def test_the_caddyfile_proxies_to_both_replicas_and_keeps_internal_paths_inside() -> None:
    text = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "{$BOT_DOMAIN}" in text
    proxy = re.search(r"reverse_proxy\s+([^{]+)\{", text)
    assert proxy is not None
    assert proxy.group(1).split() == [f"{name}:8080" for name in REPLICAS]
    assert "lb_policy round_robin" in text and "health_uri /healthz" in text
    assert re.search(r"@internal path /healthz /metrics\s+respond @internal 404", text)


async def test_the_containers_health_check_asks_the_replicas_healthz(
    tmp_path: Path, engines: Production | None
) -> None:
    async with running_bot(tmp_path, production=engines, webhook=True) as env:
        listen = env.settings.webhook_listen
        health = await asyncio.to_thread(check_webhook, listen)
        assert health.ok, health.line
        await env.db.close()
        health = await asyncio.to_thread(check_webhook, listen)
        assert not health.ok and "503" in health.line and "database unavailable" in health.line
    nobody = await asyncio.to_thread(check_webhook, f"0.0.0.0:{free_port()}")
    assert not nobody.ok and nobody.line.startswith("unhealthy: no bot answers on WEBHOOK_LISTEN")


async def test_the_health_check_of_a_bot_polling_on_postgresql(postgres_url: str) -> None:
    """No lock file on PostgreSQL: healthy while the poller's session (holding the polling
    lock) is connected, and the database answers."""
    from bot.services.leader import POLLER_SESSION, connector, hold_polling_lock, polling_key
    from bot.storage.postgres import describe_url

    name = describe_url(postgres_url)
    nobody = await asyncio.to_thread(check_postgres, postgres_url, name)
    assert not nobody.ok
    assert nobody.line == f"unhealthy: no bot is polling on DATABASE_URL ({name})"
    conn = await hold_polling_lock(connector(postgres_url, 1.0, POLLER_SESSION), polling_key(1))
    try:
        health = await asyncio.to_thread(check_postgres, postgres_url, name)
        assert health.ok, health.line
    finally:
        conn.terminate()
    gone = URL(postgres_url).with_port(free_port())
    down = await asyncio.to_thread(check_postgres, str(gone), name)
    assert not down.ok and "does not answer" in down.line
    assert str(gone) not in down.line and (gone.password or "\\0") not in down.line
