"""What the History Service's suites share: a JOC cluster with a Controller
and the ``fast`` workflow, the task history read, and the History Service's
own account of refused duplicates.

Orders are submitted straight to the Controller (the load must not depend on
JOC); what History wrote is read back through the JOC API
(``orders/history``, ``tasks/history``).
"""

from __future__ import annotations

from harness.clients.joc import JocClient
from harness.clients.js7 import controller_client, deploy_workflow
from harness.js7topo import internal_workflow
from suites.joc.support import joc_cluster, wait_one_active

FAST = internal_workflow("fast", ("agent-1", "js7ha.Noop"))


async def setup(deploy, jocs: int = 2):
    dep = await deploy(joc_cluster(jocs))
    ctl = controller_client(dep, "controller", "Harness")
    await deploy_workflow(ctl, FAST)
    active = await wait_one_active(dep)
    return dep, ctl, active


async def task_read(history, client: JocClient, ids: list[str]) -> None:
    """``read-tasks``: one entry per recorded job step (a duplicate shows twice)."""
    async with history.op("reader", "read-tasks") as op:
        rows = (await client.post("tasks/history", {"orderIds": ids, "limit": 10**6}))["history"]
        op.ok([r["orderId"] for r in rows if r["state"]["_text"] == "SUCCESSFUL"])
