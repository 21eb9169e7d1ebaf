"""What the Director-cluster suites share: a coupled Director pair with three
Subagents, a steady load of jobs on the Subagents, a prober that finds the
active Director (what fail-over time is measured on) and a sampler of each
Director's own claim to be active (what ``single_active`` reads)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from harness.clients.js7 import (
    ClusterClient,
    controller_client,
    deploy_workflow,
    observe_active,
    wait_cluster,
)
from harness.deployment import Deployment
from harness.history import History
from harness.js7topo import agent_cluster, bundle_job, workflow
from suites.agent_cluster.cluster import AGENT, BACKUP, SUBAGENTS, define_cluster

DIRECTORS = (AGENT, BACKUP)
WORKFLOW = "director-ha"


# One line per execution, in the Subagent's work dir: what JobRuns reads.
RECORD_RUN = 'echo "$JS7_ORDER_ID" >> "$JS7_AGENT_WORK/runs"'


def job(seconds: float) -> dict[str, Any]:
    """Works ``seconds`` on a Subagent of the bundle, then records its run."""
    return bundle_job(AGENT, f"sleep {seconds}; {RECORD_RUN}")


async def director_pair(deploy: Any, job_seconds: float) -> tuple[Deployment, ClusterClient]:
    """The topology up, then ``prepare_pair``."""
    dep = await deploy(agent_cluster(2, len(SUBAGENTS)))
    return dep, await prepare_pair(dep, job_seconds)


async def prepare_pair(dep: Deployment, job_seconds: float) -> ClusterClient:
    """The pair coupled, the Subagents coupled and the workflow deployed;
    the client that finds the active Director."""
    # Requests time out after the pair's heartbeat timeout: a client stuck
    # longer on a dead Director would measure itself, not the fail-over.
    directors = ClusterClient(
        dep,
        nodes=DIRECTORS,
        prefix="/agent/api",
        timeout=dep.profile.components["agent.cluster.heartbeat_timeout"],
    )
    await define_cluster(dep, dict.fromkeys(SUBAGENTS, 1), backup=True)
    await wait_cluster(dep, directors)
    await deploy_workflow(
        controller_client(dep, "controller"), workflow(WORKFLOW, job(job_seconds))
    )
    return directors


@dataclass
class DirectorLoad:
    """Orders at ``rate`` per second to the Controller, the active-Director
    prober (``act`` ops, ``node`` = the Director acting as active) and the
    sampler (``observe-active`` ops, role ``director``)."""

    dep: Deployment
    history: History
    directors: ClusterClient
    rate: float
    prefix: str = "o"
    ids: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def _orders(self) -> None:
        ctl = controller_client(self.dep, "controller")
        while not self._stop.is_set():
            oid = f"{self.prefix}-{len(self.ids)}"
            self.ids.append(oid)
            async with self.history.op("client", "add", oid) as op:
                await ctl.command(
                    {"TYPE": "AddOrder", "order": {"id": oid, "workflowPath": WORKFLOW}}
                )
                op.node = "controller"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 1 / self.rate)

    async def _probe(self) -> None:
        """A probe every poll interval, each its own operation — not one after
        the other: a probe that asks a paused Director waits for the client's
        timeout, and the next one, started only then, would see the new active
        up to that timeout late (AGT-DIRECTOR-FAILOVER[pause] measured 2.14 s
        on Docker for a take-over of about one second)."""
        interval = self.dep.profile.poll_interval
        running: set[asyncio.Task[None]] = set()
        n = 0
        while not self._stop.is_set():
            n += 1
            task = asyncio.create_task(self._probe_once(f"prober-{n}"))
            running.add(task)
            task.add_done_callback(running.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)
        await asyncio.gather(*running)

    async def _probe_once(self, process: str) -> None:
        async with self.history.op(process, "act") as op:
            node = await self.directors.find_active()
            if node is None:
                op.fail("no Director acts as the active one")
            else:
                op.ok(node, node=node)

    async def __aenter__(self) -> DirectorLoad:
        interval = self.dep.profile.poll_interval
        self._tasks = [
            asyncio.create_task(self._orders()),
            asyncio.create_task(self._probe()),
            asyncio.create_task(
                observe_active(self.history, self.directors, self._stop, interval, "director")
            ),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        for t in await asyncio.gather(*self._tasks, return_exceptions=True):
            if isinstance(t, BaseException):
                raise RuntimeError("a load task failed") from t

    def acked(self) -> int:
        return sum(1 for r in self.history.records if r.get("f") == "add" and r["type"] == "ok")
