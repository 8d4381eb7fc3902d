"""What can be checked of the shipping files without a Docker engine, and the wheel itself:
built, installed into a fresh virtual environment and run from an empty directory."""

from __future__ import annotations

import asyncio
import email.parser
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from bot.config import Settings
from bot.inferno.simulator import Simulator, SimulatorServer
from tests.e2e_process import process_env
from tests.fakes.telegram import FakeTelegram
from tests.harness import make_settings

ROOT = Path(__file__).resolve().parent.parent
UID = 515151


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
    assert "-slim-" in final_stage
    env = " ".join(rest for keyword, rest in dockerfile_instructions() if keyword == "ENV")
    assert "DATABASE_PATH=/data/" in env and "ENCRYPTION_KEY_FILE=/data/" in env


def test_compose_file() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["bot"]
    assert service["env_file"] == ".env"
    assert service["restart"] == "unless-stopped"
    assert any(volume.endswith(":/data") for volume in service["volumes"])
    assert (ROOT / service.get("build", ".")).is_dir()
    logging = service["logging"]
    assert logging["driver"] == "json-file", "the log is kept, in files of a bounded size"
    assert re.fullmatch(r"\d+[km]", logging["options"]["max-size"])
    assert int(logging["options"]["max-file"]) >= 1


def test_dockerfile_pins_one_debian_release_for_both_stages() -> None:
    images = [rest.split()[0] for keyword, rest in dockerfile_instructions() if keyword == "FROM"]
    assert len(set(images)) == 1, images
    assert re.fullmatch(r"python:3\.1[1-9]-slim-(bookworm|trixie)", images[0]), images[0]


def test_dockerfile_compiles_bytecode_at_build_time() -> None:
    runs = [rest for keyword, rest in dockerfile_instructions() if keyword == "RUN"]
    assert any("compileall" in run and "/venv/lib" in run for run in runs), "the bot and its deps"
    assert any("compileall" in run and '"stdlib"' in run for run in runs), "the standard library"


def test_dockerfile_healthcheck_runs_the_bot_s_own_check() -> None:
    checks = [rest for keyword, rest in dockerfile_instructions() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    options, _, command = checks[0].partition("CMD")
    assert json.loads(command) == ["python", "-m", "bot", "healthcheck"]
    assert {"--interval", "--timeout", "--start-period", "--retries"} <= {
        option.split("=")[0] for option in options.split()
    }
    # The subcommand exists in this very package (tests/test_healthcheck.py runs it).
    done = subprocess.run(
        [sys.executable, "-m", "bot", "healthcheck", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


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


# --- The wheel ------------------------------------------------------------------------------


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def clean_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (ours by default) without anything that could put the checkout or a user site
    on the installed bot's path."""
    base = dict(os.environ) if base is None else base
    env = {k: v for k, v in base.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env["PYTHONNOUSERSITE"] = "1"
    return env


# The tests that use the wheel are in this module only: pytest-xdist's loadscope runs them on
# one worker, which builds and installs the wheel once.


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once from a copy of what a clone holds (so no build/ or *.egg-info is
    written into the checkout, where other test workers run) in an isolated build environment:
    that is also what checks ``build-system.requires``."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    output = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--verbose",  # shows the build backend's own output, warnings included
        "--no-deps",
        "--wheel-dir",
        work / "dist",
        ".",
        cwd=source,
    )
    # setuptools reports deprecated configuration (such as a table-form license) as a
    # SetuptoolsDeprecationWarning, and only that: the build itself succeeds.
    assert "DeprecationWarning" not in output, output
    (built,) = (work / "dist").glob("inferno_bot-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; its bin directory.

    The wheel's dependencies are the ones this test session runs with, reached through a
    ``.pth`` line instead of downloaded again (offline, seconds instead of minutes;
    :func:`test_the_wheel_requires_what_the_tests_run_with` holds its declared requirements
    against exactly those versions). Only a path is added, not a site directory, so the
    checkout's editable install (a ``.pth`` of its own there) stays out: ``bot`` can only come
    from the wheel.
    """
    target = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = run(
        python,
        "-c",
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        cwd=target,
        env=clean_env(),
    )
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (Path(site.strip()) / "inferno_bot_test_deps.pth").write_text(
        "".join(f"{path}\n" for path in ours)
    )
    pip = (sys.executable, "-m", "pip", "--python", python)
    # --force-reinstall: the checkout's own dist-info, reachable through that path, must not
    # count as "already installed".
    install = ("install", "--no-deps", "--no-index", "--force-reinstall", "--quiet", wheel)
    run(*pip, *install, cwd=target, env=clean_env())
    return target / "bin"


@pytest.fixture
def empty_dir(tmp_path: Path) -> Iterator[Path]:
    """The working directory of the installed bot: empty, and left empty."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    yield cwd
    assert list(cwd.iterdir()) == [], "the bot wrote into its working directory"


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.BytesParser().parsebytes(archive.read(name))


def test_the_wheel_requires_what_the_tests_run_with(wheel: Path) -> None:
    """What ``pip check`` would say of the wheel in this environment, the dev extra included:
    every bound admits the version the suite passes with."""
    lines = wheel_metadata(wheel).get_all("Requires-Dist", [])
    requirements = [Requirement(line) for line in lines]
    assert {r.name for r in requirements} >= {"aiogram", "pydantic", "pydantic-settings"}
    for requirement in requirements:
        if requirement.marker and not requirement.marker.evaluate({"extra": "dev"}):
            continue
        version = importlib.metadata.version(requirement.name)
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the wheel requires {requirement}; the tests run with {version}"
        )


def test_the_wheel_ships_the_translations(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = {name for name in names if name.startswith("bot/locales/")}
    in_checkout = {
        path.relative_to(ROOT).as_posix() for path in (ROOT / "bot" / "locales").rglob("*.ftl")
    }
    assert {"bot/locales/en/common.ftl", "bot/locales/ru/common.ftl"} <= in_checkout
    assert shipped == in_checkout
    assert "bot/py.typed" in names
    assert wheel_metadata(wheel)["License-Expression"] == "MIT"


def test_installed_help_runs_from_anywhere(installed: Path, empty_dir: Path) -> None:
    output = run(installed / "inferno-bot", "--help", cwd=empty_dir, env=clean_env())
    assert "rotate-key" in output
    where = run(
        installed / "python",
        "-c",
        "import bot.i18n; print(bot.i18n.LOCALES_DIR)",
        cwd=empty_dir,
        env=clean_env(),
    )
    assert Path(where.strip()).is_relative_to(installed.parent), "translations outside the wheel"


async def test_installed_bot_starts_answers_and_stops(
    installed: Path, empty_dir: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    async with FakeTelegram() as tg, SimulatorServer(Simulator()) as server:
        env = clean_env(process_env(make_settings(state, tg, server.url)))
        log_path = tmp_path / "bot.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                installed / "inferno-bot",
                cwd=empty_dir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        try:

            def polling() -> bool:
                if process.returncode is not None:
                    raise AssertionError(f"the bot exited early:\n{log_path.read_text()}")
                return tg.polling_active

            await tg.wait_for(polling, 30.0, "the installed bot to poll getUpdates")
            sent = await tg.send_command(UID, "/start", language_code="en")
            answer = await tg.wait_for_bot_message(UID, timeout=20.0, after=sent.message_id)
            assert answer.button("Client id + API key")
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), timeout=15.0) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert (state / "bot.sqlite3").is_file()
    logs = log_path.read_text()
    assert "Traceback" not in logs, logs
