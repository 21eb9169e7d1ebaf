"""``pause``: freeze nodes — alive to the kernel, silent to everyone else, as
a long GC pause or an overloaded host. Healing resumes them.

``how="pause"`` (the default) is the backend's own freeze: SIGSTOP to the
node's process group locally, the cgroup freezer (``docker pause``) on
Docker. ``how="sigstop"`` is a real SIGSTOP to every process of the node on
either backend (on Docker the freezer hides the stop from the processes'
parents and from /proc; a signal does not)."""

from __future__ import annotations

import signal
from typing import Any, Literal

from harness.backends.base import NodeState
from harness.deployment import Deployment
from harness.errors import ConfigError
from harness.faults.base import Fault

PauseHow = Literal["pause", "sigstop"]


class Pause(Fault):
    name = "pause"

    def __init__(
        self,
        dep: Deployment,
        *nodes: str,
        how: PauseHow = "pause",
        pre_check: bool = True,
        post_check: bool = True,
    ) -> None:
        super().__init__(dep, pre_check=pre_check, post_check=post_check)
        if how not in ("pause", "sigstop"):
            raise ConfigError(f"pause: how={how!r} is neither 'pause' nor 'sigstop'")
        self.nodes = nodes
        self.how = how

    def describe(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes), "how": self.how}

    async def inject(self) -> None:
        for n in self.nodes:
            if self.how == "sigstop":
                await self.dep.backend.kill(n, signal.SIGSTOP)
            else:
                await self.dep.backend.pause(n)

    async def _heal(self) -> None:
        for n in self.nodes:
            if self.dep.backend.state(n) is NodeState.PAUSED:
                await self.dep.backend.resume(n)


def pause(
    dep: Deployment,
    *nodes: str,
    how: PauseHow = "pause",
    pre_check: bool = True,
    post_check: bool = True,
) -> Pause:
    return Pause(dep, *nodes, how=how, pre_check=pre_check, post_check=post_check)
