"""What the History view suites share: a two-instance JOC cluster over one
Controller with the workflow ``fast``, and orders added straight to the
Controller (JS7's ``POST /controller/api/command``), so that History has
something to show."""

from __future__ import annotations

from typing import Any

from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.js7topo import internal_workflow
from harness.workload import add_orders
from suites.joc.support import joc_cluster, joc_nodes, wait_one_active

FAST = internal_workflow("fast", ("agent-1", "js7ha.Noop"))


async def setup_views(
    deploy: Any, joc_config: dict[str, Any] | None = None
) -> tuple[Any, Any, str, str]:
    """(deployment, Controller client, the active JOC, a standby JOC)."""
    dep = await deploy(joc_cluster(2, joc_config=joc_config or {}))
    ctl = controller_client(dep, "controller", "Harness")
    await deploy_workflow(ctl, FAST)
    active = await wait_one_active(dep)
    standby = next(n for n in joc_nodes(dep) if n != active)
    return dep, ctl, active, standby


async def run_orders(
    dep: Any, history: Any, ctl: Any, ids: list[str], rate: float, concurrency: int = 8
) -> None:
    """Add ``ids`` to ``fast`` at ``rate`` and wait until the Controller ran them."""
    await add_orders(history, ctl, "fast", ids, rate=rate, concurrency=concurrency)
    await wait_all_orders(dep, ids, deadline=dep.profile.heal_deadline * 4)


def keys_of(items: list[dict[str, Any]], key: str) -> list[str]:
    return [str(i[key]) for i in items]
