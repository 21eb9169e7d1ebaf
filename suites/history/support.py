"""What the History Service's suites share: a JOC cluster with a Controller
and the ``fast`` workflow, the task history read, and a watch on JOC's order
history that notes when each order became visible there.

Orders are submitted straight to the Controller (the load must not depend on
JOC); what History wrote is read back through the JOC API
(``orders/history``, ``tasks/history``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from harness.checkers import CheckResult, no_loss
from harness.clients.joc import JocClient
from harness.clients.js7 import controller_client, deploy_workflow
from harness.history import Record
from harness.js7topo import internal_workflow
from suites.joc.support import history_orders, joc_cluster, wait_one_active

FAST = internal_workflow("fast", ("agent-1", "js7ha.Noop"))


async def setup(deploy, jocs: int = 2):
    dep = await deploy(joc_cluster(jocs))
    ctl = controller_client(dep, "controller", "Harness")
    await deploy_workflow(ctl, FAST)
    active = await wait_one_active(dep)
    return dep, ctl, active


def no_loss_of_orders_and_tasks(records: list[Record]) -> tuple[CheckResult, CheckResult]:
    """``no_loss`` over the order history's ``read`` and over ``task_read``'s
    ``read-tasks``: every acknowledged order and its job step in History once."""
    tasks = replace(no_loss(records, read_f="read-tasks"), name="no-loss[tasks]")
    return no_loss(records), tasks


async def task_read(history, client: JocClient, ids: list[str]) -> None:
    """``read-tasks``: one entry per recorded job step (a duplicate shows twice)."""
    async with history.op("reader", "read-tasks") as op:
        rows = (await client.post("tasks/history", {"orderIds": ids, "limit": 10**6}))["history"]
        op.ok([r["orderId"] for r in rows if r["state"]["_text"] == "SUCCESSFUL"])


class HistoryWatch:
    """Reads JOC's order history (``orders/history``) every ``poll`` seconds
    for the orders ``source`` names, until stopped; for each, the wall-clock
    time of the first answer that showed it terminated, and that row — when
    it became available to a user of the History view. The polling adds at
    most ``poll`` and one request's time."""

    def __init__(
        self,
        client: JocClient,
        source: Callable[[], Iterable[str]],
        on_seen: Callable[[str, dict[str, Any]], None] | None = None,
        poll: float = 0.05,
    ) -> None:
        self.client = client
        self.source = source
        self.on_seen = on_seen
        self.poll = poll
        self.seen: dict[str, tuple[float, dict[str, Any]]] = {}
        self._task: asyncio.Task[None] | None = None

    def pending(self) -> list[str]:
        return sorted(set(self.source()) - set(self.seen))

    async def read_once(self) -> None:
        pending = self.pending()
        if not pending:
            return
        rows = await history_orders(self.client, pending)
        at = time.time()
        for r in rows:
            oid = r["orderId"]
            if r["endTime"] is not None and oid not in self.seen:
                self.seen[oid] = (at, r)
                if self.on_seen is not None:
                    self.on_seen(oid, r)

    async def _run(self) -> None:
        while True:
            await self.read_once()
            await asyncio.sleep(self.poll)  # the polling interval, not a wait for a condition

    def start(self) -> HistoryWatch:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
