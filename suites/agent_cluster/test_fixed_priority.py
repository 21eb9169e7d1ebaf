"""AGT-SUBAGENT-FIXED-PRIORITY (seed 001: "The Agent offers both an
active-passive cluster and an active-active cluster").

Different priorities in a SubagentBundle make a fixed-priority
(active-passive) Subagent cluster: every job goes to the highest-priority
available Subagent; when it dies the jobs go to the next; when it returns
they go back (AGENT-CLUSTER.md A.2; js7 SubagentBundleTest.scala L92-119).
"""

import pytest

from harness import faults
from harness.checkers import highest_available
from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.js7topo import agent_with_subagents, bundle_job, workflow
from harness.workload import JobRuns, add_orders
from suites.agent_cluster.cluster import AGENT, SUBAGENTS, define_cluster, judge, wait_subagents

PER_PHASE = 10


@pytest.mark.guarantee("AGT-SUBAGENT-FIXED-PRIORITY")
async def test_jobs_go_to_the_highest_available_priority_and_back(deploy, history, results):
    dep = await deploy(agent_with_subagents(3))
    first, second, third = SUBAGENTS
    await define_cluster(dep, {first: 3, second: 2, third: 1})
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, workflow("fixed", bundle_job(AGENT, JobRuns(dep, first).record)))
    expected: dict[str, str] = {}

    async def phase(name: str, on: str) -> None:
        """Orders added while ``on`` is the highest available Subagent, run to the end."""
        ids = [f"{name}-{i}" for i in range(PER_PHASE)]
        expected.update(dict.fromkeys(ids, on))
        await add_orders(history, ctl, "fixed", ids)
        await wait_all_orders(dep, ids)

    await phase("all-up", first)
    async with faults.kill(dep, first):
        await wait_subagents(dep, {second, third}, frozenset({first}))
        await phase("first-down", second)
    # The fault restarted it: the Director dedicates the new run and couples.
    await wait_subagents(dep, set(SUBAGENTS))
    await phase("first-back", first)
    result = await judge(
        dep, history, lambda records: highest_available(records, expected=expected)
    )
    chosen = result.details["highest-available"]
    results.measure("jobs per Subagent", chosen.details["per-subagent"])
    assert results.add(result), result.explain()
