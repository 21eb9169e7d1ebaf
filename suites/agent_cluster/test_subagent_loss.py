"""AGT-SUBAGENT-LOSS (seed 001: "The Agent offers both an active-passive
cluster and an active-active cluster").

AGENT-CLUSTER.md A.3 and A.6: a Subagent the Director cannot reach may
still run its jobs, so they are not started elsewhere (only
``SubagentCouplingFailed``; the orders stay processing). A Subagent that was
killed and restarted has lost its processes: the Director learns it from
``SubagentNotDedicated`` and each order gets
``OrderProcessed(Disrupted(ProcessLost))``, ``OrderMoved`` to the same
position and runs again — exactly once more; a job marked
``isNotRestartable`` fails instead. Judged from the jobs' own side effects:
a start and an end line per execution, on the Subagent that ran it.
"""

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, exactly_once, no_loss
from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.js7topo import agent_with_subagents, bundle_job, workflow
from harness.workload import JobRuns, add_orders, read_all_events
from suites.agent_cluster.cluster import (
    AGENT,
    SUBAGENTS,
    define_cluster,
    final_read,
    record_runs,
    wait_subagents,
)

FIRST, OTHERS = SUBAGENTS[0], SUBAGENTS[1:]
ORDERS = 5


def job(seconds: float, *, restartable: bool = True) -> dict:
    """Records its start (``starts``), works ``seconds``, records its end
    (``runs``, what ``record_runs`` reads) on the Subagent that runs it."""
    record = 'echo "$JS7_ORDER_ID" >> "$JS7_AGENT_WORK/{}"'
    j = bundle_job(AGENT, f"{record.format('starts')}; sleep {seconds}; {record.format('runs')}")
    if not restartable:
        j["job"]["isNotRestartable"] = True
    return j


def about(records, ids) -> list:
    """The history without the operations on orders other than ``ids``."""
    keep = set(ids)

    def mine(r) -> bool:
        v = r.get("value")
        oid = v.get("id") if isinstance(v, dict) else v
        return r.get("kind") != "op" or r.get("f") not in ("add", "run") or oid in keep

    return [r for r in records if mine(r)]


def starts(dep, subagents=SUBAGENTS) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for sub in subagents:
        for oid in JobRuns(dep, sub, "starts").read():
            out.setdefault(oid, []).append(sub)
    return out


async def all_started(dep, ids, on):
    await dep.wait_for(
        f"{len(ids)} jobs started on {on}",
        lambda: _async(starts(dep, [on])),
        accept=lambda s: set(ids) <= set(s),
    )


async def _async(value):
    return value


def started_once(started: dict[str, list[str]], ids) -> CheckResult:
    """No job of ``ids`` was started a second time (on any Subagent)."""
    again = {oid: subs for oid, subs in started.items() if oid in ids and len(subs) != 1}
    return CheckResult(not again, {"started-again": again}, "not-started-elsewhere")


@pytest.mark.guarantee("AGT-SUBAGENT-LOSS")
async def test_a_cut_off_subagents_jobs_are_not_started_elsewhere(deploy, history, results):
    dep = await deploy(agent_with_subagents(3))
    await define_cluster(dep, {FIRST: 2, **dict.fromkeys(OTHERS, 1)})
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, workflow("slow", job(3)))
    ids = [f"cut-{i}" for i in range(ORDERS)]
    await add_orders(history, ctl, "slow", ids)
    await all_started(dep, ids, FIRST)
    async with faults.partition(dep, [f"{AGENT}--{FIRST}"]):
        await wait_subagents(dep, set(OTHERS), frozenset({FIRST}))
        # The jobs end on the cut-off Subagent; nobody starts them elsewhere.
        await dep.wait_for(
            "the jobs ended on the cut-off Subagent",
            lambda: _async(JobRuns(dep, FIRST).read()),
            accept=lambda r: set(ids) <= set(r),
        )
        during = starts(dep)
    await wait_all_orders(dep, ids)
    await final_read(dep, history)
    record_runs(dep, history, SUBAGENTS)
    result = compose(
        no_loss(history.records),
        exactly_once(history.records),
        started_once(during, ids),
        started_once(starts(dep), ids),
    )
    assert results.add(result), result.explain()


@pytest.mark.guarantee("AGT-SUBAGENT-LOSS")
async def test_a_restarted_subagents_jobs_run_again_once_unless_not_restartable(
    deploy, history, results
):
    dep = await deploy(agent_with_subagents(3))
    await define_cluster(dep, {FIRST: 2, **dict.fromkeys(OTHERS, 1)})
    ctl = controller_client(dep, "controller")
    await deploy_workflow(
        ctl,
        workflow("again", job(2)),
        workflow("once", job(2, restartable=False)),
    )
    again = [f"again-{i}" for i in range(ORDERS)]
    once = [f"once-{i}" for i in range(ORDERS)]
    await add_orders(history, ctl, "again", again)
    await add_orders(history, ctl, "once", once)
    await all_started(dep, again + once, FIRST)
    async with faults.kill(dep, FIRST):
        # Dead but not known to have lost anything: nothing starts elsewhere.
        await wait_subagents(dep, set(OTHERS), frozenset({FIRST}))
        while_down = starts(dep, OTHERS)
    await wait_all_orders(dep, again)
    await wait_all_orders(dep, once, "Failed")
    await final_read(dep, history, ("OrderFinished", "OrderFailed"))
    record_runs(dep, history, SUBAGENTS)
    events = await read_all_events(ctl)
    started = starts(dep)
    ran_twice = {oid: subs for oid, subs in started.items() if oid in again and len(subs) != 2}
    lost = [
        e["Key"]
        for e in events
        if e["TYPE"] == "OrderProcessed"
        and e["outcome"].get("reason", {}).get("problem", {}).get("code")
        == "ProcessLostDueToRestart"
    ]
    moved_back = [e["Key"] for e in events if e["TYPE"] == "OrderMoved" and e["to"] == [0]]
    result = compose(
        no_loss(history.records),
        # Restartable: one completed run each (the killed one never ended).
        exactly_once(about(history.records, again)),
        CheckResult(not while_down, {"started-while-down": while_down}, "nothing-while-down"),
        CheckResult(not ran_twice, {"not-started-twice": ran_twice}, "re-run-once"),
        started_once(started, once),
        CheckResult(
            sorted(lost) == sorted(again + once) and sorted(moved_back) == sorted(again),
            {"process-lost": sorted(lost), "moved-to-same-position": sorted(moved_back)},
            "process-lost-then-moved",
        ),
    )
    results.measure("re-run on", {oid: subs[-1] for oid, subs in started.items() if oid in again})
    assert results.add(result), result.explain()
