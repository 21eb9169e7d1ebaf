"""What the Controller cluster suites share: a topology with a workflow, a
load of orders sent to whichever node is active, a sampler of every node's
own claim to be active, and the final checks."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from harness.backends.base import NodeState
from harness.checkers import CheckResult, compose, no_loss, single_active
from harness.clients.js7 import ClusterClient, observe_active, wait_cluster
from harness.deployment import Deployment
from harness.errors import DeadlineExceeded
from harness.history import History
from harness.js7topo import controller_cluster, internal_workflow
from harness.workload import read_all_events

WORKFLOW = internal_workflow("ha", ("agent-1", "js7ha.Echo"))
# Problems the cluster answers *before* acting on a command: definite failures.


async def coupled_cluster(deploy: Any, **kw: Any) -> tuple[Deployment, ClusterClient]:
    dep = await deploy(controller_cluster(1, **kw))
    # Requests time out after the cluster's own heartbeat timeout: a client
    # stuck longer on a dead node would measure itself, not the fail-over.
    client = ClusterClient(
        dep, timeout=dep.profile.components["controller.cluster.heartbeat_timeout"]
    )
    await wait_cluster(dep, client)
    _, _ = await client.deploy(WORKFLOW)
    return dep, client


@dataclass
class Load:
    """Orders at a steady rate to the active node, plus the active sampler."""

    history: History
    client: ClusterClient
    rate: float
    interval: float
    prefix: str = "o"
    workers: int = 4
    sent: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def _orders(self, process: int) -> None:
        while not self._stop.is_set():
            oid = f"{self.prefix}-{self.sent}"
            self.sent += 1
            # A problem answer is fail or info by the clients' one table.
            async with self.history.op(process, "add", oid) as op:
                node, _ = await self.client.command(
                    {"TYPE": "AddOrder", "order": {"id": oid, "workflowPath": "ha"}}
                )
                op.node = node
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.workers / self.rate)

    async def __aenter__(self) -> Load:
        # Several client processes, as in Jepsen: one stuck on a dead node
        # does not stop the others.
        self._tasks = [asyncio.create_task(self._orders(p)) for p in range(self.workers)]
        self._tasks.append(
            asyncio.create_task(
                observe_active(self.history, self.client, self._stop, self.interval)
            )
        )
        return self

    def check(self) -> None:
        """Raise at once if a load task died (a bug, not an outcome)."""
        for t in self._tasks:
            if t.done() and t.exception() is not None:
                raise RuntimeError("a load task failed") from t.exception()

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        for t in self._tasks:
            t.result()


async def settle(
    dep: Deployment, client: ClusterClient, nodes: tuple[str, ...] = ("primary", "backup")
) -> None:
    """After a fault: a replaced node halts as soon as it hears (from the
    Watch) that it was replaced. Wait until one node is active and every other
    one is halted or passive, then restart the halted ones: they rejoin as
    the passive node."""

    async def settled() -> bool:
        states = await client.states()
        active = [n for n in nodes if (states.get(n) or {}).get("isActive")]
        rest = [n for n in nodes if n not in active]
        return len(active) == 1 and all(
            dep.backend.state(n) is NodeState.STOPPED
            or (states.get(n) or {}).get("role") == "passive"
            for n in rest
        )

    await dep.wait_for("one active, the other halted or passive", settled)
    for n in nodes:
        if dep.backend.state(n) is NodeState.STOPPED:
            await dep.backend.start(n)


async def final_read(dep: Deployment, client: ClusterClient, history: History) -> None:
    """Once the cluster is whole again: the OrderFinished ids on the active."""
    await wait_cluster(dep, client)

    async def finished() -> list[str]:
        node = await client.find_active()
        assert node is not None
        events = await read_all_events(client.client(node))
        return [e["Key"] for e in events if e["TYPE"] == "OrderFinished"]

    # Acknowledged orders must all finish: wait for them up to the deadline,
    # then read once for real. One that never finishes is no_loss's to call
    # lost, never a timeout of the harness.
    acked = {inv["value"] for inv, done in _pairs(history) if done and done["type"] == "ok"}
    with contextlib.suppress(DeadlineExceeded):
        await dep.wait_for(
            "acknowledged orders finished", finished, accept=lambda got: acked <= set(got)
        )
    async with history.op("final", "read") as op:
        op.ok(await finished())


def _pairs(history: History) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    from harness.history import completed_ops

    return [p for p in completed_ops(history.records) if p[0].get("f") == "add"]


def cluster_checks(history: History, *extra: CheckResult) -> CheckResult:
    return compose(
        no_loss(history.records), single_active(history.records, role="controller"), *extra
    )
