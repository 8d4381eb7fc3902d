"""Reads a py-spy profile (``py-spy record -f raw``) of a bench run and says where the CPU went.

    py-spy record --subprocesses -r 400 -f raw -o prof.txt -- python -m bench --users 50 ...
    python -m bench.pyspy_split prof.txt

(The bots under test are child processes of the bench; ``--subprocesses`` records them too, or
``py-spy record --pid`` one of them.)

Stacks are split with the same rules as the in-process meter (:mod:`bench.cpu`): the fakes, the
simulator and the simulated users versus the bot. Within the bot, self time is grouped by the
package of the innermost frame (ours = ``bot/``; the rest are dependencies or the standard
library), and our functions are ranked by inclusive time, which is the cost they cause.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.cpu import _STOP, category_of

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass
class Split:
    total: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    bot_self_by_package: Counter[str] = field(default_factory=Counter)
    ours_inclusive: Counter[str] = field(default_factory=Counter)
    dependency_self: Counter[str] = field(default_factory=Counter)


def _parse_frame(text: str) -> tuple[str, str]:
    match = _FRAME.match(text.strip())
    if match is None:
        return text, ""
    return match["function"], match["file"]


def package_of(path: str) -> str:
    """``bot`` for ours, the top-level package for a dependency, ``stdlib:<module>`` else."""
    if path.startswith("bot/"):
        return "bot (ours)"
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    head = path.split("/", 1)[0]
    if "/" not in path:
        return f"stdlib:{head.removesuffix('.py')}"
    if head in {"asyncio", "json", "email", "http", "urllib", "concurrent", "importlib"}:
        return f"stdlib:{head}"
    if head.startswith("<frozen"):
        return "stdlib:importlib"
    return head


def split_profile(lines: Sequence[str]) -> Split:
    split = Split()
    for line in lines:
        stack_text, _, count_text = line.rstrip().rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_parse_frame(f) for f in stack_text.split(";")]
        if _is_startup_import(frames):
            continue
        split.total += count
        category = _classify(frames)
        split.categories[category] += count
        if category != "bot":
            continue
        leaf_function, leaf_file = frames[-1]
        split.bot_self_by_package[package_of(leaf_file)] += count
        if not leaf_file.startswith("bot/"):
            split.dependency_self[f"{package_of(leaf_file)}: {leaf_function}"] += count
        for function, file in {f for f in frames if f[1].startswith("bot/")}:
            split.ours_inclusive[f"{file}: {function}"] += count
    return split


def _is_startup_import(frames: Sequence[tuple[str, str]]) -> bool:
    """Importing modules before the event loop runs: setup, not serving."""
    names = [function for function, _ in frames]
    return "<module>" in names and not any(n.endswith("_run_once") for n in names)


def _classify(frames: Sequence[tuple[str, str]]) -> str:
    only_loop = True
    for function, file in reversed(frames):
        category = category_of(file, function.rsplit(".", 1)[-1])
        if category == _STOP:
            break
        if category is None:
            only_loop = False
        elif category != "loop":
            return category
    return "loop" if only_loop else "bot"


def render(split: Split, top: int) -> str:
    def pct(n: int, of: int) -> str:
        return f"{100 * n / of:5.1f}%" if of else "   —"

    bot = split.categories.get("bot", 0)
    out = [f"{split.total} samples", "", "Where the CPU went (share of all samples):"]
    out += [f"  {pct(n, split.total)}  {name}" for name, n in split.categories.most_common()]
    out += ["", "The bot's self time by package (share of the bot's samples):"]
    out += [f"  {pct(n, bot)}  {name}" for name, n in split.bot_self_by_package.most_common(top)]
    out += ["", "Our functions by inclusive time (share of the bot's samples):"]
    out += [f"  {pct(n, bot)}  {name}" for name, n in split.ours_inclusive.most_common(top)]
    out += ["", "Dependency functions by self time (share of the bot's samples):"]
    out += [f"  {pct(n, bot)}  {name}" for name, n in split.dependency_self.most_common(top)]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pyspy_split")
    parser.add_argument("profile", type=Path, help="py-spy record -f raw output")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    lines = args.profile.read_text(encoding="utf-8").splitlines()
    print(render(split_profile(lines), args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
