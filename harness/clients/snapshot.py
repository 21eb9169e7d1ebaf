"""What a Controller holds, read as a client of a real JS7 reads it: JS7's
``GET /controller/api/snapshot/`` (NDJSON snapshot objects; JS7 2.x has no
``GET`` for orders). The harness keeps only what its suites look at: the
snapshot's eventId, every ``Order`` and every ``AgentRefState``, in JS7's
own JSON (js7-data/.../controller/ControllerStateTest.scala,
order/OrderTest.scala, agent/AgentRefStateTest.scala).

An order's *status*, as the suites wait for it, is JS7's ``Order.state``
TYPE (``Fresh``, ``Ready``, ``Processing``, ``Finished``, ``Failed``,
``Cancelled``, …) — or, for an order that is not terminated and is on its
way to, on, or back from an Agent, its ``attachedState`` TYPE
(``Attaching``, ``Attached``, ``Detaching``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.clients.node import Js7Client

TERMINATED = frozenset({"Finished", "Failed", "Cancelled"})


def order_status(order: dict[str, Any]) -> str:
    state = str((order.get("state") or {}).get("TYPE"))
    attached = order.get("attachedState")
    if state in TERMINATED or not attached:
        return state
    return str(attached.get("TYPE"))


@dataclass(frozen=True)
class ControllerSnapshot:
    event_id: int
    orders: dict[str, dict[str, Any]]
    agents: dict[str, dict[str, Any]]
    subagents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def status(self, oid: str) -> str | None:
        order = self.orders.get(oid)
        return None if order is None else order_status(order)

    def ids_in(self, *statuses: str) -> set[str]:
        return {oid for oid, o in self.orders.items() if order_status(o) in statuses}

    def attached_to(self, agent: str) -> set[str]:
        """The orders the Controller knows attached to ``agent``."""
        return {
            oid
            for oid, o in self.orders.items()
            if (o.get("attachedState") or {}).get("agentPath") == agent
            and order_status(o) == "Attached"
        }

    def coupled(self, agent: str) -> bool:
        """JS7's ``AgentRefState``: ``Coupled`` and no coupling problem."""
        return _coupled(self.agents.get(agent))

    def subagent_coupled(self, sid: str) -> bool:
        """JS7's ``SubagentItemState``: the same test, for a Subagent."""
        return _coupled(self.subagents.get(sid))


def _coupled(state: dict[str, Any] | None) -> bool:
    s = state or {}
    return (s.get("couplingState") or {}).get("TYPE") == "Coupled" and not s.get("problem")


async def read_snapshot(ctl: Js7Client) -> ControllerSnapshot:
    event_id = 0
    orders: dict[str, dict[str, Any]] = {}
    agents: dict[str, dict[str, Any]] = {}
    subagents: dict[str, dict[str, Any]] = {}
    for obj in await ctl.get_ndjson("/snapshot/"):
        kind = obj.get("TYPE")
        if kind == "SnapshotEventId":
            event_id = int(obj["eventId"])
        elif kind == "Order":
            orders[obj["id"]] = obj
        elif kind == "AgentRefState":
            agents[obj["agentRef"]["path"]] = obj
        elif kind == "SubagentItemState":
            subagents[obj["subagentItem"]["id"]] = obj
    return ControllerSnapshot(event_id, orders, agents, subagents)
