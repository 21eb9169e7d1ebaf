"""JS1-ACTIVE-CLUSTER, JS1-ACTIVE-FAILOVER (seed 003): the active cluster.

"All the JobSchedulers in this type of cluster will be active"; "each cluster
member can process any step of an order within a job chain" with "some load
balancing logic"; a killed member's orders are continued by the others.

Delivery is checked per order step from the engine's task history
(``<show_history>``) joined with the step each task's job recorded: each
step completes exactly once, and runs more than once only when its earlier
run was on a member that was killed or fenced while the step ran (the
documented at-least-once per disrupted step: the step may have run partly or
wholly on the lost member, nobody can know).
"""

from collections import Counter

import pytest

from harness import faults
from harness.backends.base import NodeState
from harness.checkers import CheckResult, compose, exactly_once
from harness.clients.jobscheduler1 import Js1
from suites.jobscheduler1.support import (
    ABORTS,
    active_cluster,
    check_steps,
    log_events,
    period,
    record_step,
    recorded_steps,
    step_key,
    tasks_of,
    work_deadline,
)

STATES = ("s1", "s2", "s3")
MAX_TASKS = 2


async def setup_chain(js1, node, command, states=STATES):
    # As many of its tasks at once as a member takes (<job tasks>).
    await js1.job(node, "step", f"{record_step()}; {command}", tasks=MAX_TASKS)
    await js1.chain(node, "dist", [{"state": s, "job": "step"} for s in states], distributed=True)


async def add_round_robin(js1, history, dep, ids):
    members = dep.expected_up()
    for i, oid in enumerate(ids):
        await js1.add_order(history, members[i % len(members)], "dist", oid)


async def wait_finished(js1, dep, ids, deadline=None):
    wanted = set(ids)
    return await dep.wait_for(
        f"{len(wanted)} orders finished",
        lambda: js1.orders(dep.expected_up()[0], "dist"),
        accept=lambda os_: wanted <= {o["id"] for o in os_ if o["finished"]},
        deadline=deadline,
    )


def record_runs(history, tasks, last_state):
    """One ``run`` operation per completed final step: an order that finished."""
    for t in tasks:
        if t["state"] == last_state and t["result"] == "ok":
            history.invoke("final-read", "run", t["order_id"]).ok(
                {"id": t["order_id"]}, node=t["cluster_member_id"]
            )


@pytest.mark.guarantee("JS1-ACTIVE-CLUSTER")
async def test_every_member_is_active_and_each_step_runs_exactly_once(
    deploy, history, results, profile
):
    dep = await deploy(active_cluster(3, max_tasks=MAX_TASKS))
    js1 = Js1(dep)
    for n in dep.nodes:
        await js1.wait_role(n, "active", profile.startup_deadline)
    await setup_chain(js1, "member-1", "sleep 0.05; echo $SCHEDULER_ORDER_ID")
    ids = [f"o{i:03d}" for i in range(45)]
    await add_round_robin(js1, history, dep, ids)
    await wait_finished(js1, dep, ids)
    tasks = await tasks_of(js1, dep, "member-2", ["step"])
    record_runs(history, tasks, STATES[-1])
    expected = [f"dist/{o}#1/{s}" for o in ids for s in STATES]
    steps = check_steps(tasks, expected)
    share = Counter(t["cluster_member_id"] for t in tasks)
    members_of = {}
    for t in tasks:
        members_of.setdefault(t["order_id"], set()).add(t["cluster_member_id"])
    mixed = sum(1 for ms in members_of.values() if len(ms) > 1)
    results.measure("steps per member", dict(share))
    balanced = CheckResult(
        set(share) == set(dep.nodes) and mixed > 0,
        {"steps-per-member": dict(share), "orders-whose-steps-ran-on-several-members": mixed},
        "every-member-took-a-share",
    )
    result = compose(exactly_once(history.records), steps, balanced)
    assert results.add(result), result.explain()


async def running_recorded(js1, dep, node):
    """The member's running tasks whose job already recorded its step."""
    running = {t["id"] for t in await js1.running_tasks(node, "step")}
    return running & set(recorded_steps(dep))


@pytest.mark.guarantee("JS1-ACTIVE-FAILOVER")
@pytest.mark.parametrize("how", ["kill", "db-partition"])
async def test_a_lost_members_orders_are_continued_by_the_others(
    deploy, history, results, profile, how
):
    dep = await deploy(active_cluster(3, max_tasks=MAX_TASKS))
    js1 = Js1(dep)
    for n in dep.nodes:
        await js1.wait_role(n, "active", profile.startup_deadline)
    # Steps long enough that the victim is certainly mid-step when it is lost.
    await setup_chain(js1, "member-1", f"sleep {period(profile)}; echo done", states=("s1", "s2"))
    ids = [f"f{i:02d}" for i in range(12)]
    await add_round_robin(js1, history, dep, ids)
    victim = "member-2"
    await dep.wait_for(
        f"{victim} running a step", lambda: running_recorded(js1, dep, victim), accept=bool
    )
    fence_line = None
    if how == "kill":
        async with faults.kill(dep, victim, restart=False):
            pass
    else:
        async with faults.partition(dep, [f"{victim}--postgres"]):
            await dep.wait_for(
                f"{victim} fenced itself",
                _state_of(dep, victim),
                accept=lambda s: s is NodeState.STOPPED,
            )
        # The engine's own words for aborting without its heartbeat.
        fence_line = next(iter(log_events(dep, victim, ABORTS)), None)
    # Every step once, the victim's interrupted ones again, on the survivors.
    survivors = [n for n in dep.nodes if n != victim]
    slots = sum(dep.topology.node(n).config["max_tasks"] for n in survivors)
    step_runs = len(ids) * 2 + dep.topology.node(victim).config["max_tasks"]
    await wait_finished(js1, dep, ids, deadline=work_deadline(profile, step_runs, slots))
    tasks = await tasks_of(js1, dep, "member-1", ["step"])
    record_runs(history, tasks, "s2")
    expected = [f"dist/{o}#1/{s}" for o in ids for s in ("s1", "s2")]
    steps = check_steps(tasks, expected, disrupted_members=[victim])
    disrupted = [
        t
        for t in tasks
        if t["cluster_member_id"] == victim
        and t["result"] in ("disrupted", "killed")
        and t["order_id"] is not None  # its job had recorded its step
    ]
    continued = {
        step_key(t) for t in tasks if t["cluster_member_id"] != victim and t["result"] == "ok"
    }
    taken_over = CheckResult(
        bool(disrupted)
        and all(step_key(t) in continued for t in disrupted)
        and (how == "kill" or fence_line is not None),
        {"disrupted-steps": [step_key(t) for t in disrupted], "fence-log-line": fence_line},
        "disrupted-steps-continued-by-others",
    )
    results.measure("disrupted steps run again", len(disrupted))
    result = compose(exactly_once(history.records), steps, taken_over)
    assert results.add(result), result.explain()


def _state_of(dep, node):
    async def probe():
        return dep.backend.state(node)

    return probe
