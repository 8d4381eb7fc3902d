"""``python -m bench [--quick] [--users 10,50,200] ...`` — see ``bench/run.py``.

The bot's modules are imported here, timed, before anything else uses them: that import is the
first part of a cold start and can only be measured once per process. Importing ``bot`` first
also defers aiogram's types here as in ``python -m bot`` (``bot/runtime/lazy_types.py``).
"""

from __future__ import annotations

import sys
import time


def _main() -> int:
    started = time.perf_counter()
    import bot.app  # noqa: F401 - imported for its cost: the first part of a cold start

    import_s = time.perf_counter() - started
    from bench.run import main

    return main(sys.argv[1:], import_s=import_s)


if __name__ == "__main__":
    sys.exit(_main())
