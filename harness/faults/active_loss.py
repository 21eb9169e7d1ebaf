"""The three ways a fail-over suite loses an active node: SIGKILL, a pause
(SIGSTOP) and isolation from every link. A paused or isolated node may halt
once it hears it was replaced, so neither checks its health on healing."""

from __future__ import annotations

from harness.deployment import Deployment
from harness.faults.base import Fault
from harness.faults.kill import kill
from harness.faults.partition import isolate
from harness.faults.pause import pause


def lose_active(kind: str, dep: Deployment, node: str) -> Fault:
    """``kind``: ``kill``, ``pause``, or (anything else) ``isolate``."""
    if kind == "kill":
        return kill(dep, node)
    if kind == "pause":
        return pause(dep, node, post_check=False)
    return isolate(dep, node, post_check=False)
