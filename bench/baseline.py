"""``python -m bench.baseline``: an aiogram bot serving the very screens our bot showed, as a
process of its own, in one of two builds.

* **as shipped** (the default): a plain ``Dispatcher``, aiogram's default ``AiohttpSession``
  (pointed at the fake Bot API server), default polling, logging at INFO as in aiogram's own
  examples. Nothing of the bot is imported: aiogram builds its types at import, Python's garbage
  collector keeps its defaults.
* **with the bot's process tuning** (``--tuned``): the same, plus everything of ``bot/runtime``
  that ``python -m bot`` applies: ``bot`` imported first (its types built on first use, unless
  ``LAZY_TYPES=0``), the kept answer models, the uncached ``Update.event_type``, the start-up
  heap frozen before polling.

This module only reads the command line; aiogram is imported afterwards
(:mod:`bench.baseline_bot`), so that the tuned build can import ``bot`` before it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

TOKEN_VARIABLE = "BENCH_BOT_TOKEN"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--api", required=True, help="base URL of the (fake) Bot API server")
    parser.add_argument("--screens", type=Path, required=True, help="JSON written by the bench")
    parser.add_argument("--describe", type=Path, help="write what this process runs with here")
    parser.add_argument("--tuned", action="store_true", help="apply the bot's process tuning")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.tuned:
        import bot  # noqa: F401  # before aiogram, as in `python -m bot` (bot/runtime/lazy_types)
    from bench.baseline_bot import serve

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.api, args.screens, args.describe, tuned=args.tuned))
    return 0


if __name__ == "__main__":
    sys.exit(main())
