"""The benchmark of GitHub issue #7: ``python -m bench`` (see ``bench/RESULTS.md``).

Everything runs in one process on loopback: the real bot (``bot.app`` factories, real
middlewares, real polling) against the fake Bot API server of ``tests/fakes/telegram.py`` and the
provider simulator, next to a bare aiogram bot that serves the same screens as a baseline.
"""
