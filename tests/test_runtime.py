"""The process tuning stays in ``bot/runtime``, used only by the process's start-up code."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.e2e_process import ROOT

PACKAGE = ROOT / "bot"
# The start-up code: `import bot`, the factories and the process lifecycle.
MAY_IMPORT_IT = {"__init__.py", "app.py", "runner.py"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_start_up_code_imports_the_process_tuning() -> None:
    users = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.parent.name != "runtime"
        and any(name == "bot.runtime" or name.startswith("bot.runtime.") for name in _imports(path))
    }
    assert users == MAY_IMPORT_IT


def test_the_package_itself_imports_nothing() -> None:
    # `import bot` runs lazy_types before anything imports aiogram.
    assert _imports(PACKAGE / "runtime" / "__init__.py") == set()


def test_every_tuning_module_says_what_it_changes_gains_and_how_to_switch_it_off() -> None:
    for path in sorted((PACKAGE / "runtime").glob("*.py")):
        if path.name == "__init__.py":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        for heading in ("**What it changes.**", "**Measured gain**", "**Switching it off.**"):
            assert heading in doc, (path.name, heading)
        assert "tests/test_" in doc, path.name  # the test that fails when a dependency changes
