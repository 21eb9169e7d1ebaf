"""``stop``: SIGTERM — a graceful, normal termination. Healing starts the nodes again."""

from __future__ import annotations

from typing import Any

from harness.backends.base import NodeState
from harness.deployment import Deployment
from harness.faults.base import Fault


class Stop(Fault):
    name = "stop"

    def __init__(
        self, dep: Deployment, *nodes: str, restart: bool = True, check_health: bool = True
    ) -> None:
        super().__init__(dep, check_health=check_health)
        self.nodes = nodes
        self.restart = restart
        self.exit_codes: dict[str, int | None] = {}

    def describe(self) -> dict[str, Any]:
        return {
            "nodes": list(self.nodes),
            "restart": self.restart,
            "exit_codes": dict(self.exit_codes),
        }

    async def inject(self) -> None:
        for n in self.nodes:
            self.exit_codes[n] = await self.dep.backend.stop(n)

    async def _heal(self) -> None:
        if not self.restart:
            return
        for n in self.nodes:
            if self.dep.backend.state(n) is NodeState.STOPPED:
                await self.dep.backend.start(n)


def stop(dep: Deployment, *nodes: str, restart: bool = True, check_health: bool = True) -> Stop:
    return Stop(dep, *nodes, restart=restart, check_health=check_health)
