"""AGT-DIRECTOR-FAILOVER (seed 001: "The Agent offers both an active-passive
cluster and an active-active cluster").

The active Director Agent killed (SIGKILL), paused (SIGSTOP) or isolated
while three Subagents run a steady load of jobs: the Backup Director takes
over with the Controller's consent (the Controller is the pair's Cluster
Watch), within the profile's bound (docs: "typically in 2-3s"); the
Controller follows it. The jobs on the Subagents keep running and their
outcomes reach the new active (AGENT-CLUSTER.md A.4: re-attached with an
idempotent StartOrderProcess). Judged by checkers: no acknowledged order
lost, every job executed exactly once (from the jobs' own side effects on
the Subagents), never two active Directors, the fail-over time.
"""

import pytest

from harness import faults
from harness.checkers import compose, failover_time, single_active
from harness.clients.js7 import wait_all_orders
from suites.agent_cluster.cluster import judge
from suites.agent_cluster.directors import DirectorLoad, director_pair
from suites.controller.workload import settle

RATE = 10  # orders per second
JOB_SECONDS = 0.5  # so a few jobs are running on the Subagents at the fault
STEADY = 20  # acknowledged orders before the fault


@pytest.mark.guarantee("AGT-DIRECTOR-FAILOVER")
@pytest.mark.parametrize("kind", ["kill", "pause", "isolate"])
async def test_the_backup_director_takes_over_and_no_job_runs_twice(
    deploy, history, results, profile, kind
):
    dep, directors = await director_pair(deploy, JOB_SECONDS)
    bound = profile.bound("AGT-DIRECTOR-FAILOVER")
    active = await directors.find_active()
    assert active is not None
    async with DirectorLoad(dep, history, directors, RATE, prefix=kind) as load:
        await dep.wait_for(
            "the load in steady state", _async(load.acked), accept=lambda n: n >= STEADY
        )
        async with faults.lose_active(kind, dep, active) as fault:
            await dep.wait_for(
                "the other Director active",
                directors.find_active,
                accept=lambda n: n not in (None, active),
            )
            before = load.acked()
            await dep.wait_for(
                "orders acknowledged after the fail-over",
                _async(load.acked),
                accept=lambda n: n >= before + STEADY // 2,
            )
        # A paused or isolated old active halts once it hears it was replaced
        # (its Watch, the Controller, says so); restarted it rejoins as passive.
        await settle(dep, directors, nodes=tuple(directors.clients))
    await wait_all_orders(dep, load.ids)
    ft = failover_time(history.records, fault=fault.fault_id, f="act", bound=bound)
    results.measure(f"Director fail-over seconds ({kind})", ft.details.get("seconds"))
    result = await judge(
        dep, history, lambda records: compose(single_active(records, role="director"), ft)
    )
    assert results.add(result), result.explain()


def _async(f):
    async def call():
        return f()

    return call
