"""The supervised background loops stop when asked, whatever else happens at that moment."""

from __future__ import annotations

import asyncio

from bot.services.background import BackgroundTasks


async def test_a_wake_at_the_moment_of_stopping_does_not_keep_the_loop_alive() -> None:
    background = BackgroundTasks()
    passes = 0
    first_pass = asyncio.Event()

    async def step() -> float | None:
        nonlocal passes
        passes += 1
        first_pass.set()
        return None

    background.start("loop", step, 3600.0)
    await first_pass.wait()
    await asyncio.sleep(0)  # the loop is now asleep, waiting for a wake-up
    # A wake-up (a link waking the alerts, say) in the same instant as the shutdown: on
    # Python 3.11 asyncio.wait_for returns the wake-up and swallows the cancellation.
    background.wake("loop")
    try:
        # stop() runs in this task, so it cancels the loop in the same instant as the wake.
        async with asyncio.timeout(5.0):
            await background.stop()
    except TimeoutError:
        raise AssertionError("the loop outlived stop()") from None
    assert passes == 1
