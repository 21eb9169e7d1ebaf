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
from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.history import fault_windows
from harness.workload import add_orders
from suites.joc.support import (
    ActiveObserver,
    JocClient,
    JocProblem,
    final_read,
    joc_cluster,
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
            and d["orders/history"] == "503 DatabaseUnavailable"
            for d in during.values()
        )
        and after["connectionState"]["_text"] == "established",
        {"during-outage": during, "after": after},
        "outage-reported",
    )
    # No instance claims to be active in the outage once the leases ran out.
    (start, stop), *_ = fault_windows(history.records)
    assert stop is not None
    late = [
        r
        for r in history.records
        if r.get("f") == "observe-active"
        and r["type"] == "ok"
        and r["value"].get("active")
        and start["time"] + exceeded < r["time"] < stop["time"]
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
    dep = await deploy(joc_cluster(2))
    active = await wait_one_active(dep)
    client = JocClient(dep, active)
    await client.post("inventory/deployment/deploy", {"workflows": [workflow()]})
    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
    times = [(start + dt.timedelta(seconds=i)).strftime("%H:%M:%S") for i in range(6)]
    times = sorted(set(times))
    today = start.date().isoformat()
    plan = await client.post(
        "daily_plan/orders/generate",
        {
            "dailyPlanDate": today,
            "schedules": [{"name": "indep", "workflowPath": "w", "times": times}],
        },
    )
    for oid in plan["planned"]:
        op = history.invoke("dailyplan", "add", oid)
        if oid in plan["submitted"]:
            op.ok(node=active)
        else:
            op.fail("not submitted")
    jocs = [n.name for n in dep.topology.by_role("joc")]
    async with faults.stop(dep, *jocs):
        down_from = dt.datetime.now(dt.UTC)
        await wait_all_orders(dep, plan["submitted"], deadline=dep.profile.heal_deadline)
        down_until = dt.datetime.now(dt.UTC)
    active = await wait_one_active(dep)
    client = JocClient(dep, active)
    rows = await wait_history_terminated(dep, client, plan["submitted"])
    await final_read(history, client, plan["submitted"])
    ends = {r["orderId"]: r["endTime"] for r in rows}
    ran_without_joc = {
        oid: down_from.isoformat() <= t.replace("Z", "+00:00") <= down_until.isoformat()
        for oid, t in ends.items()
    }
    independent = CheckResult(
        bool(ran_without_joc) and all(ran_without_joc.values()),
        {
            "planned": len(plan["planned"]),
            "submitted": len(plan["submitted"]),
            "finished-while-all-jocs-down": ran_without_joc,
        },
        "ran-without-joc",
    )
    result = results.add(compose(independent, no_loss(history.records), name="joc-independent"))
    assert result, result.explain()
