"""Split brain in a passive cluster (seed 003, JS7-FACTS §6: "a watchdog aborts
an instance that could not write its own heartbeat in time").

The active member is cut from the database while its jobs keep running. It
cannot write its heartbeat, so its watchdog must kill its jobs and abort it
*before* the backup may declare it dead and take over. What must hold: never
two members running jobs as the exclusive active member at the same time —
checked from the task history (each task an interval from its start to its
end, or to the self-fencing time the watchdog logged when the end could not
be recorded) and from the status samples. The task history is the
engine's (``<show_history>``); when the member aborted and when the backup
became exclusive are the engine's log lines (SCHEDULER-386 or -367, and
SCHEDULER-835), at their own times.
"""

import pytest

from harness import faults
from harness.backends.base import NodeState
from harness.checkers import CheckResult, compose, single_active
from harness.clients.jobscheduler1 import Js1
from harness.errors import DeadlineExceeded
from suites.jobscheduler1.support import (
    ROLE,
    aborted_at,
    activations,
    observe,
    passive_cluster,
    period,
    tasks_of,
    timeout,
)

JOBS = ("short", "long")


def overlaps(intervals):
    found = []
    for i, (m1, a1, b1, k1) in enumerate(intervals):
        for m2, a2, b2, k2 in intervals[i + 1 :]:
            if m1 != m2 and a1 < b2 and a2 < b1:
                found.append(
                    {"tasks": [k1, k2], "members": [m1, m2], "from": max(a1, a2), "to": min(b1, b2)}
                )
    return found


@pytest.mark.guarantee("JS1-EXCLUSIVE", "JS1-TAKEOVER", "JS1-FENCING")
async def test_a_member_cut_from_the_database_fences_itself_before_the_takeover(
    deploy, history, results, profile
):
    dep = await deploy(passive_cluster((None,)))
    js1 = Js1(dep)
    await js1.wait_role("primary", "active", profile.startup_deadline)
    p, t = period(profile), timeout(profile)
    await js1.job("primary", "short", f"sleep {p / 4}")
    # Outlives the fencing limit: the watchdog has to kill it.
    await js1.job("primary", "long", f"sleep {2 * (p + t)}")
    await js1.chain("primary", "busy", [{"state": "run", "job": "short"}])
    await js1.chain("primary", "slow", [{"state": "run", "job": "long"}])
    await js1.add_order(history, "primary", "busy", "b1", absolute_repeat=p / 4)
    await js1.add_order(history, "primary", "slow", "l1")
    await dep.wait_for(
        "the long job runs and short ones ran on the primary",
        lambda: tasks_of(js1, dep, "primary", JOBS),
        accept=lambda ts: (
            any(x["job"] == "long" for x in ts)
            and sum(x["job"] == "short" and x["result"] == "ok" for x in ts) >= 2
        ),
    )
    async with observe(dep, history):
        async with faults.partition(dep, ["primary--postgres"]):
            # Whatever the primary does, the backup takes over; the check below
            # tells whether the primary had stopped its jobs by then.
            await js1.wait_role("backup-1", "active", profile.heal_deadline)
            await dep.wait_for(
                "short runs on the backup",
                lambda: tasks_of(js1, dep, "backup-1", JOBS),
                accept=lambda ts: (
                    sum(x["cluster_member_id"] == "backup-1" and x["job"] == "short" for x in ts)
                    >= 2
                ),
            )
        try:
            await dep.wait_for(
                "the primary gone",
                _state_of(dep, "primary"),
                accept=lambda s: s is NodeState.STOPPED,
                deadline=profile.startup_deadline,
            )
        except DeadlineExceeded:
            pass  # reported below: it has no fencing line and its tasks have no end
    tasks = await tasks_of(js1, dep, "backup-1", JOBS)
    fenced = aborted_at(dep, "primary")
    fence_ms = {} if fenced is None else {"primary": fenced}
    takeover = next((at for at, _ in activations(dep, ["backup-1"])), None)
    intervals, open_ended = [], []
    # A passive cluster runs jobs only on its exclusive member: every task counts.
    for x in tasks:
        end = x["end_time"]
        member = x["cluster_member_id"]
        if end is None and member in fence_ms:
            end = fence_ms[member]  # the watchdog killed it before it logged this
        elif end is None:
            if dep.backend.state(member) is not NodeState.RUNNING:
                open_ended.append(x["id"])  # a lost member's task with no known end
            end = float("inf")  # still running
        intervals.append((x["cluster_member_id"], x["start_time"], end, x["id"]))
    found = overlaps(intervals)
    killed_long = [
        x["id"]
        for x in tasks
        if x["job"] == "long" and x["cluster_member_id"] == "primary" and x["result"] == "disrupted"
    ]
    fenced_first = takeover is not None and "primary" in fence_ms and fence_ms["primary"] < takeover
    if takeover is not None and "primary" in fence_ms:
        results.measure(
            "fencing ahead of take-over seconds", round((takeover - fence_ms["primary"]) / 1000, 3)
        )
    check = CheckResult(
        not found and not open_ended and fenced_first and bool(killed_long),
        {
            "overlaps": found,
            "tasks-without-end": open_ended,
            "aborted-at-ms": fence_ms,
            "takeover-ms": takeover,
            "fenced-before-takeover": fenced_first,
            "long-task-cut-by-fencing": killed_long,
            "task-count": len(intervals),
        },
        "no-two-exclusive-members-running-jobs",
    )
    result = compose(check, single_active(history.records, role=ROLE))
    assert results.add(result), result.explain()


def _state_of(dep, node):
    async def probe():
        return dep.backend.state(node)

    return probe
