"""Every test that drives the bot runs in both modes (issue 19: "both modes pass the same flow
tests"), checked on the test modules themselves.

A test drives the bot when it calls :func:`tests.harness.running_bot`, itself, through a helper
of its module or through a fixture (``env``, whichever module defines it). Such a test
runs twice, embedded and in production mode, exactly when its fixtures take ``engines``
(tests/conftest.py ``pytest_generate_tests``) and the bots it starts get them
(``running_bot(..., production=engines)``); a test that is about the embedded engines alone
says why with ``@pytest.mark.embedded_only(reason)``. The modules are read, not imported or
collected: collecting the suite costs seconds of CPU, reading it a few milliseconds.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import EMBEDDED, EMBEDDED_ONLY, PRODUCTION
from tests.harness import Production

TESTS = Path(__file__).parent
# Where fixtures that every test module sees are defined (tests/conftest.py and its plugins).
SHARED_FIXTURES = ("conftest.py", "engines.py", "storage_backends.py")
STARTS_A_BOT = "running_bot"


def _name(node: ast.expr) -> str:
    """``pytest.mark.embedded_only`` for that expression, or a call of it."""
    if isinstance(node, ast.Call):
        return _name(node.func)
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _args(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {a.arg for a in function.args.args + function.args.kwonlyargs}


def _parametrized(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The arguments ``pytest.mark.parametrize`` gives values: they are no fixtures."""
    names: set[str] = set()
    for decorator in function.decorator_list:
        if _name(decorator) == "pytest.mark.parametrize" and isinstance(decorator, ast.Call):
            first = decorator.args[0] if decorator.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names |= {n.strip() for n in first.value.split(",")}
            elif isinstance(first, ast.Tuple | ast.List):
                names |= {e.value for e in first.elts if isinstance(e, ast.Constant)}
    return names


def _embedded_only(decorators: list[ast.expr], aliases: set[str]) -> bool:
    """Marked ``embedded_only`` (a mark without a reason fails at collection), also through a
    module-level name for the mark."""
    return any(_name(d) in aliases | {f"pytest.mark.{EMBEDDED_ONLY}"} for d in decorators)


@dataclass
class Module:
    path: Path
    tree: ast.Module
    fixtures: dict[str, set[str]] = field(default_factory=dict)
    definitions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    helpers: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    tests: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, bool]] = field(
        default_factory=list
    )
    embedded_only: bool = False
    # Module-level names of the mark: ``ON_SQLITE = pytest.mark.embedded_only("…")``.
    aliases: set[str] = field(default_factory=set)
    _read: dict[str, tuple[list[ast.Call], set[str]]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Module:
        module = cls(path, ast.parse(path.read_text(encoding="utf-8")))
        for node in module.tree.body:
            if isinstance(node, ast.Assign) and _embedded_only([node.value], set()):
                module.aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        for node in module.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                module._function(node, node.name, [])
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        module._function(item, f"{node.name}::{item.name}", node.decorator_list)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
            ):
                marks = node.value.elts if isinstance(node.value, ast.List) else [node.value]
                module.embedded_only = _embedded_only(marks, module.aliases)
        return module

    def _function(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        name: str,
        class_decorators: list[ast.expr],
    ) -> None:
        if any(_name(d).startswith("pytest.fixture") for d in node.decorator_list):
            self.fixtures[node.name] = _args(node) - {"self", "request"}
            self.definitions[node.name] = node
        elif node.name.startswith("test_"):
            marked = _embedded_only(node.decorator_list + class_decorators, self.aliases)
            self.tests.append((name, node, marked))
        else:
            self.helpers[node.name] = node

    def starts_a_bot(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call]:
        """The ``running_bot`` calls in ``node``, also through the module's helpers."""
        found: list[ast.Call] = []
        seen = {node.name}
        pending = [node]
        while pending:
            direct, callees = self._calls_in(pending.pop())
            found += direct
            for callee in callees - seen:
                seen.add(callee)
                pending.append(self.helpers[callee])
        return found

    def _calls_in(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> tuple[list[ast.Call], set[str]]:
        """``node``'s own ``running_bot`` calls, and the module's helpers it calls."""
        if node.name not in self._read:
            calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
            self._read[node.name] = (
                [call for call in calls if _name(call.func) == STARTS_A_BOT],
                {_name(call.func) for call in calls} & self.helpers.keys(),
            )
        return self._read[node.name]


def _shared_fixtures() -> dict[str, set[str]]:
    fixtures: dict[str, set[str]] = {}
    for name in SHARED_FIXTURES:
        fixtures |= Module.read(TESTS / name).fixtures
    return fixtures


def _closure(names: set[str], fixtures: dict[str, set[str]]) -> set[str]:
    """Every fixture those names ask for, directly or through other fixtures."""
    closure: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in closure:
            closure.add(name)
            pending += fixtures.get(name, set())
    return closure


@dataclass(frozen=True)
class Finding:
    test: str
    drives_the_bot: bool
    both_modes: bool
    embedded_only: bool
    unpassed: tuple[int, ...]  # lines of running_bot calls without ``production=``


@functools.cache
def findings() -> list[Finding]:
    """Read once, when a test asks (not at collection, which every xdist worker does)."""
    shared = [Module.read(TESTS / name) for name in SHARED_FIXTURES]
    findings = []
    for path in sorted(TESTS.glob("test_*.py")):
        module = Module.read(path)
        fixtures: dict[str, set[str]] = {}
        for defining in [*shared, module]:
            fixtures |= defining.fixtures
        for name, node, marked in module.tests:
            closure = _closure(_args(node) - _parametrized(node), fixtures)
            calls = module.starts_a_bot(node)
            for fixture in closure:
                # The fixture as the test sees it: the module's own, else the shared one.
                for defining in [module, *shared]:
                    if fixture in defining.fixtures:
                        calls += defining.starts_a_bot(defining.definitions[fixture])
                        break
            findings.append(
                Finding(
                    test=f"{path.name}::{name}",
                    drives_the_bot=bool(calls),
                    both_modes="engines" in closure,
                    embedded_only=marked or module.embedded_only,
                    unpassed=tuple(
                        call.lineno
                        for call in calls
                        if not any(k.arg == "production" for k in call.keywords)
                    ),
                )
            )
    return findings


def test_the_reading_finds_the_flow_tests() -> None:
    # Were the reading broken, it would find nothing to complain about.
    driving = {f.test.partition("::")[0] for f in findings() if f.drives_the_bot}
    flows = {p.name for p in TESTS.glob("test_flow_*.py")}
    assert flows and flows <= driving
    assert len([f for f in findings() if f.drives_the_bot]) > 250


def test_every_test_that_drives_the_bot_runs_in_production_mode() -> None:
    missing = [
        f.test
        for f in findings()
        if f.drives_the_bot and not f.embedded_only and not (f.both_modes and not f.unpassed)
    ]
    assert missing == [], (
        "these tests start the bot embedded only: take `engines` (the shared `env` does) and "
        "pass `production=engines` to running_bot, or mark them "
        f"`@pytest.mark.{EMBEDDED_ONLY}(reason)`: {missing}"
    )


def test_a_test_that_takes_engines_runs_in_both_modes(
    request: pytest.FixtureRequest, engines: Production | None
) -> None:
    # What the reading above relies on: taking `engines` is what makes a test run twice.
    mode = request.node.callspec.params["engines"]
    assert mode in (EMBEDDED, PRODUCTION)
    assert (engines is not None) == (mode == PRODUCTION)
