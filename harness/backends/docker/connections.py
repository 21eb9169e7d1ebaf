"""The TCP connections a node container's processes (its jobs included)
opened, for the faults and checks that ask where a node connects.

With the engine on this host (the usual case) they are read straight from
the host's /proc: the container's processes and, through ``/proc/<pid>/net``,
its network namespace — fast enough to sample often. Else from /proc inside
the container (``docker exec``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from harness import procs
from harness.backends.docker.containers import exec_run, host_init_pid
from harness.errors import BackendError

# Run in the container when its processes are not visible from here: every
# process but this snippet's own.
_OUTBOUND_SNIPPET = (
    "import os\n"
    "from harness import sockets\n"
    "me = os.getpid()\n"
    "pids = [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != me]\n"
    "for c in sockets.outbound(pids): print(c)\n"
)


async def outbound(container: Any, node: str, still_running: Callable[[], bool]) -> list[str]:
    """The node's outbound connections as ``harness.sockets`` prints them.
    ``still_running`` is asked after a read from the host's /proc: a node
    restarted meanwhile is a new container, and what was read belongs to the
    old one."""
    init_pid = host_init_pid(container)
    if init_pid is not None:
        from harness import sockets

        pids = await asyncio.to_thread(procs.descendants, init_pid)
        conns = await asyncio.to_thread(sockets.outbound, pids, init_pid)
        return [str(c) for c in conns] if still_running() else []
    code, text = await asyncio.to_thread(exec_run, container, ["python", "-c", _OUTBOUND_SNIPPET])
    if code != 0:
        raise BackendError(f"reading {node}'s connections failed ({code}): {text[-500:]}")
    return [line for line in text.splitlines() if line.strip()]
