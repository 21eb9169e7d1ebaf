"""A service task that lost its cancellation still ends when stopped."""

import asyncio

from components.joc.history import cancel_and_wait


async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again():
    swallowed = 0

    async def service() -> None:
        # What CPython 3.11's asyncio.wait_for does when the cancellation
        # arrives just as its inner call completes: it returns the result.
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed == 0:
                    swallowed += 1
                    continue
                raise

    task = asyncio.create_task(service())
    await asyncio.sleep(0)
    stopping = asyncio.create_task(cancel_and_wait(task))
    # A deadline for a hang, not a measurement: it ends in milliseconds.
    await asyncio.wait({stopping}, timeout=5)
    ended = stopping.done()
    stopping.cancel()  # (the old code would wait here forever)
    task.cancel()
    await asyncio.gather(stopping, task, return_exceptions=True)
    assert ended, "cancel_and_wait still waits for a task that ran on"
    assert swallowed == 1
