"""A real SIGSTOP and SIGCONT for every process of a node's container but
its init (``kill -1`` spares the caller and pid 1).

Unlike the cgroup freezer (``docker pause``), a stopped process is stopped
as its parent and /proc see it: what a component's supervisor or a job's
parent would observe on a real machine. What holds: ``stop_all`` returns only
once the kernel shows every process stopped (when the engine is local and
its /proc is readable here), so "paused" is true when it returns.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from harness import procs
from harness.backends.docker.containers import exec_checked, host_init_pid
from harness.errors import BackendError

STOP_WAIT = 5.0  # seconds the kernel may take to stop every process


async def stop_all(container: Any, node: str) -> None:
    await exec_checked(container, ["sh", "-c", "kill -STOP -1"], node)
    await _wait_all_stopped(container, node)


async def continue_all(container: Any, node: str) -> None:
    await exec_checked(container, ["sh", "-c", "kill -CONT -1"], node)


async def _wait_all_stopped(container: Any, node: str) -> None:
    """Signals are delivered asynchronously: wait until the kernel shows
    every process of the container but init stopped (read from the host's
    /proc when the engine is local; else trust the signal)."""
    init_pid = host_init_pid(container)
    if init_pid is None:
        return
    end = time.monotonic() + STOP_WAIT
    while True:
        states = [procs.proc_state(p) for p in procs.descendants(init_pid) if p != init_pid]
        if all(st in ("T", "t", None) for st in states):
            return
        if time.monotonic() > end:
            raise BackendError(f"{node} did not stop on SIGSTOP within {STOP_WAIT:g} s")
        await asyncio.sleep(0.005)
