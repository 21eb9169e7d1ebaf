"""``stop``: SIGTERM — a graceful, normal termination. Healing starts the nodes again."""

from __future__ import annotations

from typing import Any

from harness.deployment import Deployment
from harness.faults.base import Fault, start_stopped


class Stop(Fault):
    name = "stop"

    def __init__(
        self,
        dep: Deployment,
        *nodes: str,
        restart: bool = True,
        pre_check: bool = True,
        post_check: bool = True,
    ) -> None:
        super().__init__(dep, pre_check=pre_check, post_check=post_check)
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
        if self.restart:
            await start_stopped(self.dep, self.nodes)


def stop(
    dep: Deployment,
    *nodes: str,
    restart: bool = True,
    pre_check: bool = True,
    post_check: bool = True,
) -> Stop:
    return Stop(dep, *nodes, restart=restart, pre_check=pre_check, post_check=post_check)
