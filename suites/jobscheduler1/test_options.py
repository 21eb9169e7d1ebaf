"""JS1-OPTIONS (seed 003): "-backup" needs "-exclusive"; "-distributed-orders"
excludes "-exclusive"; a member with contradicting options does not start,
and its log names the problem with the engine's message code."""

import pytest

from harness.checkers import CheckResult
from harness.errors import NodeStartError
from harness.topology import Database, Node, Topology
from suites.jobscheduler1.support import ROLE

CASES = {
    "SCHEDULER-368": ({"backup": True}, ("-backup", "-exclusive")),
    "SCHEDULER-369": (
        {"exclusive": True, "distributed": True},
        ("-distributed-orders", "-exclusive"),
    ),
}


@pytest.mark.guarantee("JS1-OPTIONS")
@pytest.mark.parametrize("code", sorted(CASES))
async def test_contradicting_cluster_options_stop_the_member_at_start(deploy, results, code):
    options, named = CASES[code]
    topo = Topology.build(
        [Node("bad", ROLE, {"id": "js1", **options})], database=Database(clients=("bad",))
    )
    error = None
    try:
        await deploy(topo)
    except NodeStartError as exc:
        error = exc
    tail = error.log_tail if error else ""
    check = CheckResult(
        error is not None
        and "exited" in error.reason
        and code in tail
        and all(opt in tail for opt in named)
        and "Traceback" not in tail,
        {
            "started": error is None,
            "reason": error and error.reason,
            "log-tail": tail[-800:],
            "must-name": [code, *named],
        },
        "start-up-error",
    )
    assert results.add(check), check.explain()


@pytest.mark.guarantee("JS1-OPTIONS")
async def test_members_with_another_scheduler_id_form_their_own_cluster(deploy, results, profile):
    """Same database, different scheduler id: two independent passive clusters,
    each with its own active member (the exclusive row is per scheduler id)."""
    from harness.clients.jobscheduler1 import Js1

    nodes = [
        Node("a", ROLE, {"id": "js1-a", "exclusive": True}),
        Node("b", ROLE, {"id": "js1-b", "exclusive": True}),
    ]
    dep = await deploy(Topology.build(nodes, database=Database(clients=("a", "b"))))
    js1 = Js1(dep)
    a = await js1.wait_role("a", "active", profile.startup_deadline)
    b = await js1.wait_role("b", "active", profile.startup_deadline)
    check = CheckResult(
        [r["member_id"] for r in a["cluster"]] == ["a"]
        and [r["member_id"] for r in b["cluster"]] == ["b"],
        {"a-sees": a["cluster"], "b-sees": b["cluster"]},
        "separate-clusters",
    )
    assert results.add(check), check.explain()
