"""Journal durability under repeated SIGKILL during load (seeds 001, 004).

Every acknowledged order finishes exactly once in the Controller's journal,
eventIds stay strictly increasing, and a job runs again only where the
journal says its process was lost (``Disrupted(ProcessLost)``) — however
often the Controller and the Agent are killed.
"""

import asyncio
from collections import Counter

import pytest

from harness.checkers import CheckResult, compose, no_loss
from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.history import completed_ops
from harness.js7topo import controller_and_agents, shell_workflow
from harness.nemesis import random_kills
from harness.workload import JobRuns, add_orders, read_all_events


@pytest.mark.guarantee("EVT-HOLD-UNTIL-ACK", "AGT-AUTONOMY")
async def test_journals_survive_repeated_sigkill_under_load(deploy, history, results, rng):
    dep = await deploy(controller_and_agents(1))
    runs = JobRuns(dep, "agent-1")
    ctl = controller_client(dep, "controller")
    await deploy_workflow(
        ctl,
        shell_workflow("dur", ("agent-1", f"{runs.record}; sleep 0.2; echo done")),
    )
    ids = [f"dur-{i}" for i in range(150)]
    load = asyncio.create_task(add_orders(history, ctl, "dur", ids, rate=40, concurrency=4))
    kills = await random_kills(dep, rng, ["controller", "controller", "agent-1"], rounds=6)
    await load
    results.measure("kills", kills)
    acked = [
        inv["value"]
        for inv, done in completed_ops(history.records)
        if inv["f"] == "add" and done is not None and done["type"] == "ok"
    ]
    await wait_all_orders(dep, acked)
    async with history.op("final", "read") as op:
        events = await read_all_events(ctl)
        op.ok([e["Key"] for e in events if e["TYPE"] == "OrderFinished"])
    event_ids = [e["eventId"] for e in events]
    lost = Counter(
        e["Key"]
        for e in events
        if e["TYPE"] == "OrderProcessed" and e["outcome"].get("TYPE") == "Disrupted"
    )
    ran = Counter(runs.read())
    rerun_unexplained = {oid: n for oid, n in ran.items() if n > 1 + lost[oid]}
    never_ran = sorted(oid for oid in acked if ran[oid] == 0)
    journal = CheckResult(
        event_ids == sorted(set(event_ids)) and not rerun_unexplained and not never_ran,
        {
            "event-ids-strictly-increasing": event_ids == sorted(set(event_ids)),
            "runs-beyond-process-lost": rerun_unexplained,
            "acknowledged-but-never-ran": never_ran,
            "process-lost": dict(lost),
        },
        "journal-durable",
    )
    result = compose(no_loss(history.records), journal)
    assert results.add(result), result.explain()
