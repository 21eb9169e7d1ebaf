"""What the History Service's suites share: a JOC cluster with a Controller
and the ``fast`` workflow, the task history read, and the History Service's
own account of refused duplicates.

Orders are submitted straight to the Controller (the load must not depend on
JOC); what History wrote is read back through the JOC API
(``orders/history``, ``tasks/history``).
"""

from __future__ import annotations

from typing import Any

from harness.checkers import CheckResult
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


async def history_status(client: JocClient) -> dict[str, Any] | None:
    """The reference JOC's account of its History Service (position, start
    position, duplicates refused by hash); None where the target does not
    offer it (a real JOC): the checks made from it are extras."""
    status = (await client.post("controller/components", {})).get("historyService")
    return status if isinstance(status, dict) else None


async def task_read(history, client: JocClient, ids: list[str]) -> None:
    """``read-tasks``: one entry per recorded job step (a duplicate shows twice)."""
    async with history.op("reader", "read-tasks") as op:
        rows = (await client.post("tasks/history", {"orderIds": ids, "limit": 10**6}))["history"]
        op.ok([r["orderId"] for r in rows if r["state"]["_text"] == "SUCCESSFUL"])


def no_duplicates_attempted(statuses: dict[str, dict[str, Any] | None]) -> CheckResult:
    """History never tried to write an event twice (its unique hash never
    had to refuse a row) — an extra: not made where the target does not say
    (``no_loss`` sees a duplicate that got through in any case)."""
    offered = {n: s for n, s in statuses.items() if s is not None}
    if not offered:
        return CheckResult(True, {"not-checked": "the target does not offer it"}, "no-replay")
    skipped = {n: s.get("duplicatesSkipped") for n, s in offered.items()}
    return CheckResult(
        all(v == 0 for v in skipped.values()),
        {"duplicates-refused-by-hash": skipped},
        "no-replay",
    )
