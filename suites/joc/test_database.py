"""JOC Cockpit and its database (seeds 000, 001, 003, 004).

"Any JOC Cockpit instances operated as a cluster use the same JS7 - Database
[...] Unavailability of the database prevents the JOC Cockpit cluster from
working." — "Orders are started and executed independently of the JOC
Cockpit once they have been submitted by the JS7 - Daily Plan."
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, no_loss, single_active
from harness.clients.joc import JocClient, JocProblem
from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.history import completed_ops, fault_spans
from harness.workload import add_orders
from suites.joc.support import (
    ActiveObserver,
    deploy_workflows,
    final_read,
    joc_cluster,
    plan_and_submit,
    wait_history_terminated,
    wait_one_active,
    workflow,
)


@pytest.mark.guarantee("JOC-DB-SHARED")
@pytest.mark.parametrize(
    "mode",
    [
        "stop",
        "hang",
        "cut",
    ],
)
async def test_a_database_outage_is_reported_clearly_and_recovered_from(
    deploy, history, results, mode
):
    """During the outage every instance answers at once with a clear database
    problem, none stays active past its lease; afterwards one instance is
    active again by itself and History catches up with every order that ran
    meanwhile."""
    dep = await deploy(joc_cluster(2))
    await wait_one_active(dep)
    ctl = controller_client(dep, "controller", "Harness")
    await deploy_workflow(ctl, workflow())
    jocs = [n.name for n in dep.topology.by_role("joc")]
    exceeded = dep.profile.components["joc.cluster.heart_beat_exceeded_interval"]
    ids = [f"db-{mode}-{i}" for i in range(60)]
    during: dict[str, dict] = {}
    async with ActiveObserver(dep, history):
        async with faults.db_outage(dep, mode):
            await add_orders(history, ctl, "w", ids, rate=30)
            await asyncio.sleep(exceeded)  # leases have run out by now
            for n in jocs:
                c = JocClient(dep, n, "viewer")
                comp = await c.post("controller/components", {})
                try:
                    await c.post("orders/history", {"orderIds": ids})
                    history_answer = "served"
                except JocProblem as exc:
                    history_answer = f"{exc.status} {exc.code}"
                during[n] = {
                    "database": comp["database"]["connectionState"]["_text"],
                    "active": next(j for j in comp["jocs"] if j["current"])["clusterNodeState"][
                        "_text"
                    ],
                    "orders/history": history_answer,
                }
        active = await wait_one_active(dep)
    await wait_all_orders(dep, ids)
    client = JocClient(dep, active)
    await wait_history_terminated(dep, client, ids)
    await final_read(history, client, ids)
    after = (await client.post("controller/components", {}))["database"]
    reported = CheckResult(
        all(
            d["database"] == "unreachable"
            and d["active"] == "inactive"
            and d["orders/history"] == "420 DatabaseUnavailable"
            for d in during.values()
        )
        and after["connectionState"]["_text"] == "established",
        {"during-outage": during, "after": after},
        "outage-reported",
    )
    # No instance claims to be active in the outage once the leases ran out:
    # a sample counts when it was asked after the outage took effect plus one
    # lease and answered before the heal began (the database may serve again
    # while the heal is still finishing).
    (span, *_) = fault_spans(history.records)
    late = [
        done
        for asked, done in completed_ops(history.records)
        if asked.get("f") == "observe-active"
        and done is not None
        and done["type"] == "ok"
        and done["value"].get("active")
        and span.during(asked["time"] - exceeded, done["time"])
    ]
    idle = CheckResult(not late, {"active-samples-during-outage": late[:5]}, "inactive-in-outage")
    result = results.add(
        compose(
            reported,
            idle,
            single_active(history.records, role="joc"),
            no_loss(history.records),
            name=f"joc-db-shared[{mode}]",
        )
    )
    assert result, result.explain()


@pytest.mark.guarantee("JOC-INDEPENDENT")
async def test_daily_plan_orders_run_while_every_joc_instance_is_down(deploy, history, results):
    """Orders the Daily Plan submitted run while every JOC instance is down.

    The plan spreads its orders over several seconds because how long the
    JOC instances take to stop is not known in advance: the evidence is the
    orders *scheduled* after the stop took effect (each must have finished
    before the heal began), never a bet that the stop takes less than the
    plan's lead. Orders that fell due before that are only checked for loss.
    """
    dep = await deploy(joc_cluster(2))
    active = await wait_one_active(dep)
    client = JocClient(dep, active)
    await deploy_workflows(client, workflow())
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=3)
    due = {(start + dt.timedelta(seconds=i)).strftime("%H:%M:%S"): i for i in range(10)}
    today = start.date().isoformat()
    plan = await plan_and_submit(client, today, "indep", "w", sorted(due))
    for oid in plan["planned"]:
        op = history.invoke("dailyplan", "add", oid)
        if oid in plan["submitted"]:
            op.ok(node=active)
        else:
            op.fail("not submitted")
    jocs = [n.name for n in dep.topology.by_role("joc")]
    async with faults.stop(dep, *jocs) as down:
        await wait_all_orders(dep, plan["submitted"], deadline=dep.profile.heal_deadline)
    walls = {r["type"]: r["wall"] for r in history.records if r.get("fault") == down.fault_id}
    down_from = dt.datetime.fromtimestamp(walls["in-effect"], dt.UTC)
    down_until = dt.datetime.fromtimestamp(walls["heal"], dt.UTC)
    active = await wait_one_active(dep)
    client = JocClient(dep, active)
    rows = await wait_history_terminated(dep, client, plan["submitted"])
    await final_read(history, client, plan["submitted"])
    ends = {r["orderId"]: dt.datetime.fromisoformat(r["endTime"]) for r in rows}
    scheduled = {
        oid: start + dt.timedelta(seconds=due[f"{t[:2]}:{t[2:4]}:{t[4:6]}"])
        for oid in plan["submitted"]
        for t in [oid.split("#P")[1][:6]]
    }
    evidence = {oid: at for oid, at in scheduled.items() if at >= down_from}
    ran_without_joc = {
        oid: oid in ends and down_from <= ends[oid] <= down_until for oid in evidence
    }
    details = {
        "planned": len(plan["planned"]),
        "submitted": len(plan["submitted"]),
        "all-jocs-down": [down_from.isoformat(), down_until.isoformat()],
        "due-while-all-jocs-down": len(evidence),
        "finished-while-all-jocs-down": ran_without_joc,
    }
    if not evidence:
        details["reason"] = "stopping the JOC instances outlasted the plan: no order fell due"
        independent = CheckResult("unknown", details, "ran-without-joc")
    else:
        independent = CheckResult(all(ran_without_joc.values()), details, "ran-without-joc")
    result = results.add(compose(independent, no_loss(history.records), name="joc-independent"))
    assert result, result.explain()
