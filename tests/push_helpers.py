"""Moving the push pacer's clock past Telegram's flood control, for tests that provoke a long
``429 retry_after`` and then look at the pass after it: every background push waits that long
(bot/services/pacer.py), and a test does not."""

from __future__ import annotations

from bot.services.pacer import PushPacer
from tests.harness import BotEnv


def flood_is_over(env: BotEnv) -> PushPacer:
    """The pacer's clock moved on to the end of the hold that is on now."""
    assert env.services is not None
    pacer = env.services.pacer
    shift, base = pacer.held(), pacer.clock
    pacer.clock = lambda: base() + shift
    return pacer
