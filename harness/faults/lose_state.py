"""``lose_state``: a node loses its disk — stop it, wipe ``state/``; healing
starts it again on an empty state dir (its config is kept)."""

from __future__ import annotations

from typing import Any

from harness.backends.base import NodeState
from harness.deployment import Deployment
from harness.faults.base import Fault


class LoseState(Fault):
    name = "lose_state"

    def __init__(
        self, dep: Deployment, node: str, *, pre_check: bool = True, post_check: bool = True
    ) -> None:
        super().__init__(dep, pre_check=pre_check, post_check=post_check)
        self.node = node

    def describe(self) -> dict[str, Any]:
        return {"node": self.node}

    async def inject(self) -> None:
        await self.dep.backend.stop(self.node)
        await self.dep.backend.wipe_state(self.node)

    async def _heal(self) -> None:
        if self.dep.backend.state(self.node) is NodeState.STOPPED:
            await self.dep.backend.start(self.node)


def lose_state(
    dep: Deployment, node: str, *, pre_check: bool = True, post_check: bool = True
) -> LoseState:
    return LoseState(dep, node, pre_check=pre_check, post_check=post_check)
