"""The supervised background loops stop when asked, whatever else happens at that moment."""

from __future__ import annotations

import asyncio

from bot.services.background import BackgroundTasks, uninterrupted


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


async def test_uninterrupted_work_ends_before_the_cancellation_goes_through() -> None:
    """A push and its "sent" mark: a stop that comes while Telegram's answer is on its way
    waits for the answer and the mark, then stops the loop."""
    answered = asyncio.Event()
    marked: list[str] = []

    async def send_and_mark() -> str:
        await answered.wait()
        await asyncio.sleep(0)
        marked.append("sent")
        return "sent"

    async def loop() -> str:
        return await uninterrupted(send_and_mark())

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()  # cancelled again while it waits: the work still ends first
    await asyncio.sleep(0)
    assert not task.done() and marked == []
    answered.set()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("the cancellation was swallowed")
    assert marked == ["sent"]


async def test_uninterrupted_without_a_cancellation_returns_the_result() -> None:
    async def work() -> int:
        await asyncio.sleep(0)
        return 7

    assert await uninterrupted(work()) == 7
