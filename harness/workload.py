"""Workloads: orders submitted at a rate, and the final reads, all recorded
in the history in the shape the checkers read.

* ``add`` operations: value = the order id; ok when the Controller answered,
  fail when it answered with a problem, info when the answer was lost.
* ``read`` operations (the final read): value = list of order ids that
  reached ``OrderFinished`` according to the Controller's events.
* ``run`` operations: value = an order id whose job left its side effect
  (one line per execution in a runs file the job appends to).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.clients.node import Js7Client
from harness.deployment import Deployment
from harness.history import History


async def add_orders(
    history: History,
    client: Js7Client,
    workflow: str,
    ids: Sequence[str],
    *,
    rate: float | None = None,
    concurrency: int = 8,
    extra: dict[str, Any] | None = None,
) -> None:
    """Submit ``ids`` as AddOrder commands, at most ``rate`` per second."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in ids:
        queue.put_nowait(i)
    t0 = time.monotonic()
    sent = 0

    async def worker(process: int) -> None:
        nonlocal sent
        while True:
            try:
                oid = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if rate:
                due = t0 + sent / rate
                sent += 1
                if due > time.monotonic():
                    await asyncio.sleep(due - time.monotonic())
            # A problem answer is fail or info by the clients' one table.
            async with history.op(process, "add", oid) as op:
                await client.command(
                    {
                        "TYPE": "AddOrder",
                        "order": {"id": oid, "workflowPath": workflow, **(extra or {})},
                    }
                )
                op.node = client.base

    await asyncio.gather(*(worker(p) for p in range(concurrency)))


async def read_all_events(
    client: Js7Client, after: int = 0, timeout: float = 0.5
) -> list[dict[str, Any]]:
    """Every event after ``after`` that the node holds, in order."""
    out: list[dict[str, Any]] = []
    while True:
        batch = [e async for e in client.events(after, timeout=0, limit=10_000)]
        if not batch:
            return out
        out.extend(batch)
        after = batch[-1]["eventId"]


class JobRuns:
    """The side effect of shell jobs, observable on every backend: each run
    appends its order id to ``$JS7_AGENT_WORK/<name>`` on the Agent, i.e. a
    file in the Agent's data dir, which the harness reads on the host (the
    local backend's data dirs are host folders; the Docker backend bind-mounts
    them). A suite puts ``runs.record`` into its job script and never needs
    to know where the Agent runs."""

    def __init__(self, dep: Deployment, agent: str, name: str = "runs") -> None:
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"runs file name {name!r}: letters, digits, - and _ only")
        self.dep = dep
        self.agent = agent
        self.name = name

    @property
    def record(self) -> str:
        """A shell command that records this run (one line per execution)."""
        return f'echo "$JS7_ORDER_ID" >> "$JS7_AGENT_WORK/{self.name}"'

    @property
    def path(self) -> Path:
        return self.dep.backend.data_dir(self.agent) / "work" / self.name

    def read(self) -> list[str]:
        """Order ids in the order their runs were recorded (repeats kept)."""
        try:
            return self.path.read_text().split()
        except FileNotFoundError:
            return []

    def to_history(self, history: History) -> list[str]:
        """Record each run as a ``run`` op (what ``exactly_once`` reads)."""
        lines = self.read()
        for oid in lines:
            history.invoke("jobs", "run", oid).ok()
        return lines
