"""The benchmark of GitHub issues #7 and #16: ``python -m bench`` (see ``bench/RESULTS.md``).

The bot runs as ``python -m bot`` and the two aiogram baselines as ``python -m bench.baseline``,
each a process of its own, against the fake Bot API servers of ``tests/fakes/telegram.py`` and
the provider simulator, which run with the simulated users in the bench process. The watcher
benchmark drives the real ``InstallWatcher`` in the bench process.

Nothing is imported here: ``python -m bench.baseline`` must be able to start without the bot.
"""
