"""AGT-SUBAGENT-ACTIVE-ACTIVE (seed 001: "The Agent offers both an
active-passive cluster and an active-active cluster").

Equal priorities in a SubagentBundle make an active-active Subagent cluster:
the Director hands the jobs round-robin to every coupled Subagent
(AGENT-CLUSTER.md A.2). Judged from the jobs' own side effects on each
Subagent, checked against the ``subagentId`` JS7 records in
``OrderProcessingStarted``.
"""

import pytest

from harness.checkers import subagent_share
from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.js7topo import agent_with_subagents, bundle_job, workflow
from harness.workload import JobRuns, add_orders
from suites.agent_cluster.cluster import AGENT, SUBAGENTS, define_cluster, judge

ORDERS = 300


@pytest.mark.guarantee("AGT-SUBAGENT-ACTIVE-ACTIVE")
async def test_equal_priorities_spread_jobs_evenly_over_all_subagents(deploy, history, results):
    dep = await deploy(agent_with_subagents(3))
    await define_cluster(dep, {s: 1 for s in SUBAGENTS})
    ctl = controller_client(dep, "controller")
    record = JobRuns(dep, SUBAGENTS[0]).record  # the same line on every Subagent
    await deploy_workflow(ctl, workflow("spread", bundle_job(AGENT, record)))
    ids = [f"aa-{i:03d}" for i in range(ORDERS)]
    await add_orders(history, ctl, "spread", ids)
    await wait_all_orders(dep, ids)
    result = await judge(
        dep, history, lambda records: subagent_share(records, subagents=SUBAGENTS, tolerance=0.10)
    )
    results.measure("jobs per Subagent", result.details["subagent-share"].details["shares"])
    assert results.add(result), result.explain()
