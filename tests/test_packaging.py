"""What can be checked of the shipping files without a Docker engine."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_copies_only_existing_paths() -> None:
    copies = [rest for keyword, rest in dockerfile_instructions() if keyword == "COPY"]
    assert copies
    for rest in copies:
        if rest.startswith("--from="):
            continue
        *sources, _destination = shlex.split(rest)
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_dockerfile_runs_the_bot_as_non_root_with_a_data_volume() -> None:
    instructions = dict(dockerfile_instructions()[::-1])  # first occurrence wins below
    keywords = [keyword for keyword, _ in dockerfile_instructions()]
    cmd = [rest for keyword, rest in dockerfile_instructions() if keyword == "CMD"][-1]
    assert json.loads(cmd) == ["python", "-m", "bot"]
    users = [rest for keyword, rest in dockerfile_instructions() if keyword == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert json.loads(instructions["VOLUME"]) == ["/data"]
    assert instructions["STOPSIGNAL"] == "SIGTERM"
    assert keywords.count("FROM") >= 2, "a build stage keeps compilers out of the final image"
    final_stage = [rest for keyword, rest in dockerfile_instructions() if keyword == "FROM"][-1]
    assert "slim" in final_stage
    env = " ".join(rest for keyword, rest in dockerfile_instructions() if keyword == "ENV")
    assert "DATABASE_PATH=/data/" in env and "ENCRYPTION_KEY_FILE=/data/" in env


def test_compose_file() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["bot"]
    assert service["env_file"] == ".env"
    assert service["restart"] == "unless-stopped"
    assert any(volume.endswith(":/data") for volume in service["volumes"])
    assert (ROOT / service.get("build", ".")).is_dir()


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    named = set(re.findall(r"^#?([A-Z_]+)=", text, flags=re.MULTILINE))
    settings = {name.upper() for name in Settings.model_fields}
    assert named == settings


def test_readme_documents_every_setting_and_the_ci_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in readme, f"README misses {name.upper()}"
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = ci.strip().splitlines()[-1]
    assert test_command in readme
    assert "-e '.[dev]'" in ci and "pip install -e '.[dev]'" in readme


def test_dockerignore_keeps_secrets_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", "data", ".git"} <= set(ignored)
