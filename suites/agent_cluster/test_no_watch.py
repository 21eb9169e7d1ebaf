"""AGT-CLUSTER-NO-WATCH (seed 001: "The Agent offers both an active-passive
cluster and an active-active cluster").

The Director fail-over page: fail-over does not happen when "no Active
Controller instance is running as it holds the Cluster Watch role required
for fail-over". With the Controller stopped, the active Director is killed
or paused for as long as a Backup takes to take over several times over
(where the target tells, until the Backup asked for the Watch's consent
twice in vain: an extra) and the Backup does not take over — the pair never
has two actives. Once the
Controller is back, one Director acts again and every order finishes with
each job executed once (the jobs' own side effects on the Subagents).
"""

import asyncio

import pytest

from harness import faults
from harness.clients.js7 import controller_client, observe_active, wait_all_orders
from harness.workload import add_orders
from suites.agent_cluster.cluster import BACKUP, backup_held, judge
from suites.agent_cluster.directors import WORKFLOW, director_pair
from suites.agent_cluster.extras import unanswered_watch_requests

ORDERS = 10
JOB_SECONDS = 2.0  # the jobs still run on the Subagents while nobody is active
VAIN = 2  # fail-over consents the Backup asked for without an answer


async def the_backup_tried(dep, profile) -> None:
    """Until the Backup asked for the Watch's consent ``VAIN`` times without
    an answer, where the target tells; else (a real JS7) for as long as
    ``VAIN`` fail-overs would take: the heartbeat timeout each, and twice
    that for the request."""
    if await unanswered_watch_requests(dep, BACKUP, "ClusterFailedOver") is None:
        timeout = profile.components["agent.cluster.heartbeat_timeout"]
        await asyncio.sleep(VAIN * 3 * timeout)  # the experiment's length, by design
        return
    await dep.wait_for(
        f"the Backup asked {VAIN} times in vain to fail over",
        lambda: unanswered_watch_requests(dep, BACKUP, "ClusterFailedOver"),
        accept=lambda n: n is not None and n >= VAIN,
    )


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
        await the_backup_tried(dep, profile)
    # The Watch is back: one Director acts again.
    await dep.wait_for("a Director active", directors.find_active, accept=lambda n: n is not None)
    await wait_all_orders(dep, ids)
    stop.set()
    await sampler
    result = await judge(dep, history, backup_held(watch_down.fault_id))
    assert results.add(result), result.explain()
