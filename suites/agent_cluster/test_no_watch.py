"""AGT-CLUSTER-NO-WATCH (seed 001: "The Agent offers both an active-passive
cluster and an active-active cluster").

The Director fail-over page: fail-over does not happen when "no Active
Controller instance is running as it holds the Cluster Watch role required
for fail-over". With the Controller stopped, the active Director is killed
or paused: the Backup Director asks for the Watch's consent (seen on its
own reference-only ``js7ha/cluster-node`` view: requests nobody answered)
and does not take over — the pair never has two actives. Once the
Controller is back, one Director acts again and every order finishes with
each job executed once (the jobs' own side effects on the Subagents).
"""

import asyncio

import pytest

from harness import faults
from harness.clients.js7 import agent_client, controller_client, observe_active, wait_all_orders
from harness.workload import add_orders
from suites.agent_cluster.cluster import BACKUP, backup_held, judge
from suites.agent_cluster.directors import WORKFLOW, director_pair

ORDERS = 10
JOB_SECONDS = 2.0  # the jobs still run on the Subagents while nobody is active
VAIN = 2  # fail-over consents the Backup asked for without an answer


async def vain_fail_overs(dep) -> int:
    info = await agent_client(dep, BACKUP).get("/js7ha/cluster-node")
    return int(info["watchRequests"]["unanswered"].get("ClusterFailedOver", 0))


@pytest.mark.guarantee("AGT-CLUSTER-NO-WATCH")
@pytest.mark.parametrize("kind", ["kill", "pause"])
async def test_without_the_controller_the_directors_never_fail_over(
    deploy, history, results, profile, kind
):
    dep, directors = await director_pair(deploy, JOB_SECONDS)
    ids = [f"{kind}-{i}" for i in range(ORDERS)]
    await add_orders(history, controller_client(dep, "controller"), WORKFLOW, ids)
    active = await directors.find_active()
    assert active is not None and active != BACKUP
    stop = asyncio.Event()
    sampler = asyncio.create_task(
        observe_active(history, directors, stop, profile.poll_interval, "director")
    )
    async with faults.stop(dep, "controller") as watch_down, faults.lose_active(kind, dep, active):
        await dep.wait_for(
            f"the Backup asked {VAIN} times in vain to fail over",
            lambda: vain_fail_overs(dep),
            accept=lambda n: n >= VAIN,
        )
    # The Watch is back: one Director acts again.
    await dep.wait_for("a Director active", directors.find_active, accept=lambda n: n is not None)
    await wait_all_orders(dep, ids)
    stop.set()
    await sampler
    result = await judge(dep, history, backup_held(watch_down.fault_id))
    assert results.add(result), result.explain()
