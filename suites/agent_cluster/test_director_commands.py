"""AGT-DIRECTOR-FAILOVER, the commands around it (AGENT-CLUSTER.md A.4): the
passive Director serves only the cluster and refuses commands and events
with ``ClusterNodeIsNotActive`` (503); the Controller's
``ClusterSwitchOver{agentPath}`` hands the active role to the Backup
Director, which the Controller then follows, and the pair's ClusterEvents
reach the Controller's journal as ``AgentMirroredEvent``;
``ConfirmClusterNodeLoss{agentPath, lostNodeId}`` is refused, naming the
problem, for an Agent that is no Director pair, a node id that is none, or a
node whose loss the Watch was not asked to confirm (JS7's
``ClusterNodeIsNotLostProblem``).
Orders added around the switch-over all finish, each job once.
"""

import pytest

from harness.checkers import CheckResult, compose
from harness.clients.js7 import agent_client, controller_client, wait_all_orders
from harness.clients.node import ProblemError
from harness.workload import add_orders, read_all_events
from suites.agent_cluster.cluster import AGENT, BACKUP, judge
from suites.agent_cluster.directors import WORKFLOW, director_pair


async def problem_of(call) -> tuple[int, str] | None:
    try:
        await call
    except ProblemError as exc:
        return exc.status, exc.code
    return None


@pytest.mark.guarantee("AGT-DIRECTOR-FAILOVER")
async def test_switch_over_and_the_passive_directors_refusals(deploy, history, results):
    dep, directors = await director_pair(deploy, 0.2)
    ctl = controller_client(dep, "controller")
    passive = agent_client(dep, BACKUP)
    refusals = {
        "command": await problem_of(passive.command({"TYPE": "NoOperation"})),
        "events": await problem_of(passive.get("/event?after=0")),
        "unknown-agent": await problem_of(
            ctl.command({"TYPE": "ClusterSwitchOver", "agentPath": "no-such-agent"})
        ),
        "bad-node-id": await problem_of(
            ctl.command({"TYPE": "ConfirmClusterNodeLoss", "agentPath": AGENT, "lostNodeId": "X"})
        ),
        # The Watch was asked to confirm no loss of the (living) Primary.
        "not-lost": await problem_of(
            ctl.command(
                {"TYPE": "ConfirmClusterNodeLoss", "agentPath": AGENT, "lostNodeId": "Primary"}
            )
        ),
    }
    await add_orders(history, ctl, WORKFLOW, [f"before-{i}" for i in range(5)])
    await ctl.command({"TYPE": "ClusterSwitchOver", "agentPath": AGENT})
    await dep.wait_for(
        "the Backup Director active", directors.find_active, accept=lambda n: n == BACKUP
    )
    after = [f"after-{i}" for i in range(5)]
    await add_orders(history, ctl, WORKFLOW, after)
    await wait_all_orders(dep, [f"before-{i}" for i in range(5)] + after)
    mirrored = [
        e["event"]["TYPE"]
        for e in await read_all_events(ctl)
        if e["TYPE"] == "AgentMirroredEvent" and e.get("Key") == AGENT
    ]
    expected = {
        "command": (503, "ClusterNodeIsNotActive"),
        "events": (503, "ClusterNodeIsNotActive"),
        "unknown-agent": (400, "UnknownItemPath"),
        "bad-node-id": (400, "InvalidField"),
        "not-lost": (400, "ClusterNodeIsNotLost"),
    }
    result = await judge(
        dep,
        history,
        lambda _: compose(
            CheckResult(refusals == expected, {"refusals": refusals}, "refusals"),
            CheckResult(
                {"ClusterCoupled", "ClusterSwitchedOver"} <= set(mirrored),
                {"mirrored": mirrored},
                "agent-mirrored-events",
            ),
        ),
    )
    assert results.add(result), result.explain()
