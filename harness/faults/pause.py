"""``pause``: freeze nodes (SIGSTOP) — alive to the kernel, silent to everyone
else, as a long GC pause or an overloaded host. Healing resumes them (SIGCONT)."""

from __future__ import annotations

from typing import Any

from harness.backends.base import NodeState
from harness.deployment import Deployment
from harness.faults.base import Fault


class Pause(Fault):
    name = "pause"

    def __init__(self, dep: Deployment, *nodes: str, check_health: bool = True) -> None:
        super().__init__(dep, check_health=check_health)
        self.nodes = nodes

    def describe(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes)}

    async def inject(self) -> None:
        for n in self.nodes:
            await self.dep.backend.pause(n)

    async def _heal(self) -> None:
        for n in self.nodes:
            if self.dep.backend.state(n) is NodeState.PAUSED:
                await self.dep.backend.resume(n)


def pause(dep: Deployment, *nodes: str, check_health: bool = True) -> Pause:
    return Pause(dep, *nodes, check_health=check_health)
