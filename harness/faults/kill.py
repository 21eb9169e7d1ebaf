"""``kill``: SIGKILL (or another signal) to nodes — a crash. Healing restarts them."""

from __future__ import annotations

import signal
from typing import Any

from harness.deployment import Deployment
from harness.faults.base import Fault, start_stopped


class Kill(Fault):
    name = "kill"

    def __init__(
        self,
        dep: Deployment,
        *nodes: str,
        sig: int = signal.SIGKILL,
        restart: bool = True,
        pre_check: bool = True,
        post_check: bool = True,
    ) -> None:
        super().__init__(dep, pre_check=pre_check, post_check=post_check)
        self.nodes = nodes
        self.sig = sig
        self.restart = restart

    def available(self) -> str:
        missing = [n for n in self.nodes if n not in self.dep.nodes]
        return f"unknown nodes {missing}" if missing else ""

    def describe(self) -> dict[str, Any]:
        return {
            "nodes": list(self.nodes),
            "signal": signal.Signals(self.sig).name,
            "restart": self.restart,
        }

    async def inject(self) -> None:
        for n in self.nodes:
            await self.dep.backend.kill(n, self.sig)

    async def _heal(self) -> None:
        if self.restart:
            await start_stopped(self.dep, self.nodes)


def kill(
    dep: Deployment,
    *nodes: str,
    restart: bool = True,
    pre_check: bool = True,
    post_check: bool = True,
) -> Kill:
    return Kill(dep, *nodes, restart=restart, pre_check=pre_check, post_check=post_check)
