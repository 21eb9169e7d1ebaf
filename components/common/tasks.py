"""Running a connection's loops together."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


async def until_one_fails(*loops: Coroutine[Any, Any, Any]) -> None:
    """Run ``loops`` (each meant to run forever) until the first raises; then
    cancel the others and re-raise — one broken loop of a coupling ends the
    coupling, and the caller reconnects."""
    tasks = [asyncio.create_task(c) for c in loops]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            t.result()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
