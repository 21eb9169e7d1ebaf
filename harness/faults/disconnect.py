"""``disconnect``: take a node off the network altogether (Docker: ``docker
network disconnect``), the whole-node isolation of a machine whose cable is
pulled. Unlike ``isolate`` (which cuts the node's links and leaves the
harness's own path to it), the harness cannot reach the node either while it
lasts: a test observes the node's peers, not the node. Healing connects it
again under its name. Backends without a network of their own (local
processes) do not offer it: entering the fault is then a ``ConfigError``
that says so, never a silent no-op."""

from __future__ import annotations

from typing import Any

from harness.deployment import Deployment
from harness.faults.base import Fault


class Disconnect(Fault):
    name = "disconnect"

    def __init__(
        self, dep: Deployment, node: str, *, pre_check: bool = True, post_check: bool = True
    ) -> None:
        super().__init__(dep, pre_check=pre_check, post_check=post_check)
        self.node = node

    def available(self) -> str:
        if self.node not in self.dep.nodes:
            return f"unknown node {self.node!r}"
        if not hasattr(self.dep.backend, "disconnect"):
            return (
                f"the {self.dep.backend.name} backend cannot take a node off its network"
                " (isolate cuts its links instead)"
            )
        return ""

    def describe(self) -> dict[str, Any]:
        return {"nodes": [self.node]}

    async def inject(self) -> None:
        await self.dep.backend.disconnect(self.node)  # type: ignore[attr-defined]

    async def _heal(self) -> None:
        await self.dep.backend.reconnect(self.node)  # type: ignore[attr-defined]


def disconnect(
    dep: Deployment, node: str, *, pre_check: bool = True, post_check: bool = True
) -> Disconnect:
    return Disconnect(dep, node, pre_check=pre_check, post_check=post_check)
