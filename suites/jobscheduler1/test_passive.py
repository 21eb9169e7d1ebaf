"""JS1-EXCLUSIVE, JS1-NORMAL-STOP, JS1-TAKEOVER, JS1-LOST-STARTS,
JS1-PRECEDENCE, JS1-PRIMARY-RETURN (seed 003): the passive cluster.

"Exclusively the Primary JobScheduler will be active once all the
JobSchedulers have been started"; "a Backup JobScheduler will not become
active if the Primary JobScheduler terminates in a normal way"; if it is
killed "the (next) Backup JobScheduler will become active and will be aware of
the job states and order states"; "all starts … within this time will be lost
and they run on the next scheduled time"; "-backup-precedence=n defines the
order in which the Backup JobSchedulers become active"; "if a Backup is active
and the primary is restarted then the Backup has to be terminated in order to
reactivate the Primary".

What the members say comes from their XML commands; when a member became
exclusive from its log (the engine's SCHEDULER-835); which member ran which
step from the engine's task history and the steps the jobs recorded.
"""

import contextlib
import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, failover_time, single_active
from harness.clients.jobscheduler1 import Js1
from harness.errors import DeadlineExceeded
from suites.jobscheduler1.support import (
    ROLE,
    activations,
    fault_wall_ms,
    ms,
    observe,
    passive_cluster,
    period,
    record_step,
    tasks_of,
    timeout,
    watch,
)


@pytest.mark.guarantee("JS1-EXCLUSIVE")
async def test_only_the_primary_is_active_once_all_started(deploy, history, results, profile):
    dep = await deploy(passive_cluster((None, None)))
    js1 = Js1(dep)
    # A backup that took the role at the start is the verdict below, not a timeout.
    with contextlib.suppress(DeadlineExceeded):
        await js1.wait_role("primary", "active", profile.startup_deadline)
    async with observe(dep, history):
        # Several heartbeat cycles: a backup must not step up meanwhile.
        await watch(dep, period(profile) + timeout(profile))
    roles = {n: (await js1.status(n))["role"] for n in dep.nodes}
    only_primary = CheckResult(
        roles == {"primary": "active", "backup-1": "backup", "backup-2": "backup"},
        {"roles": roles},
        "only-the-primary-active",
    )
    samples = [
        r
        for r in history.records
        if r.get("f") == "observe-active" and r["type"] == "ok" and r["value"]["active"]
    ]
    active_nodes = sorted({r["value"]["node"] for r in samples})
    sampled = CheckResult(
        active_nodes == ["primary"],
        {"active-in-samples": active_nodes},
        "samples-show-only-the-primary",
    )
    result = compose(single_active(history.records, role=ROLE), only_primary, sampled)
    assert results.add(result), result.explain()


def active_samples(history, nodes=None, after_index=-1):
    """Nodes seen active by ``observe-active`` samples completed after a record index."""
    return sorted(
        {
            r["value"]["node"]
            for r in history.records
            if r.get("f") == "observe-active"
            and r["type"] == "ok"
            and r["value"]["active"]
            and r["index"] > after_index
            and (nodes is None or r["value"]["node"] in nodes)
        }
    )


@pytest.mark.guarantee("JS1-NORMAL-STOP")
async def test_no_backup_becomes_active_when_the_primary_terminates_normally(
    deploy, history, results, profile
):
    dep = await deploy(passive_cluster((None, None)))
    js1 = Js1(dep)
    await js1.wait_role("primary", "active", profile.startup_deadline)
    async with observe(dep, history):
        async with faults.stop(dep, "primary", restart=False) as fault:
            pass
        stop_index = max(r["index"] for r in history.records if r.get("fault") == fault.fault_id)
        # Twice what a backup waits before it may take over from a dead primary.
        await watch(dep, 2 * (period(profile) + timeout(profile)))
    rows = {r["member_id"]: r for r in (await js1.status("backup-1"))["cluster"]}
    # The engine deletes the record of a member that terminates normally
    # (cluster.cxx:1330-1333): the backups no longer list it, as dead or alive.
    terminated = CheckResult(
        "primary" not in rows and not any(r["exclusive"] for r in rows.values()),
        {
            "cluster-members-on-backup-1": rows,
            "exit-code": fault.exit_codes.get("primary"),
        },
        "primary-recorded-its-normal-termination",
    )
    stepped_up = active_samples(history, after_index=stop_index)
    nobody = CheckResult(
        not stepped_up,
        {
            "active-after-the-stop": stepped_up,
            "watched-seconds": 2 * (period(profile) + timeout(profile)),
        },
        "no-backup-active",
    )
    result = compose(nobody, terminated, single_active(history.records, role=ROLE))
    assert results.add(result), result.explain()


def _active(state):
    return "stopped" if state == "stopped" else "active"


@pytest.mark.guarantee("JS1-TAKEOVER")
async def test_a_backup_takes_over_from_a_killed_primary_aware_of_all_states(
    deploy, history, results, profile
):
    dep = await deploy(passive_cluster((None,)))
    js1 = Js1(dep)
    await js1.wait_role("primary", "active", profile.startup_deadline)
    await js1.job("primary", "ja", f"{record_step()}; echo a-$SCHEDULER_ORDER_ID")
    await js1.job("primary", "jb", f"{record_step()}; echo b-$SCHEDULER_ORDER_ID", stopped=True)
    await js1.chain(
        "primary",
        "main",
        [
            {"state": "s1", "job": "ja"},
            {"state": "s2", "job": "ja", "action": "next_state"},  # skipped node
            {"state": "s3", "job": "ja"},
            {"state": "s4", "job": "jb"},  # its job is stopped
        ],
    )
    await js1.chain(
        "primary",
        "frozen",
        [
            {"state": "f1", "job": "ja", "action": "stop"},  # stopped node
            {"state": "f2", "job": "ja"},
        ],
    )
    await js1.add_order(history, "primary", "main", "a1")
    await js1.add_order(history, "primary", "main", "a2", suspended=True)
    await js1.add_order(history, "primary", "frozen", "z1")
    await dep.wait_for(
        "a1 waits at s4 (its job is stopped)",
        lambda: js1.order("primary", "main", "a1"),
        accept=lambda o: o["state"] == "s4" and o["task"] is None and o["occupied_by"] is None,
    )
    expected = {
        "job ja": "active",
        "job jb": "stopped",
        "node main/s1": "process",
        "node main/s2": "next_state",
        "node main/s3": "process",
        "node main/s4": "process",
        "node frozen/f1": "stop",
        "node frozen/f2": "process",
        "chain main": "running",
        "chain frozen": "running",
        "order main/a1": ("s4", False, False),
        "order main/a2": ("s1", True, False),
        "order frozen/z1": ("f1", False, False),
    }
    async with observe(dep, history):
        async with faults.kill(dep, "primary", restart=False) as fault:
            await js1.wait_role("backup-1", "active", profile.heal_deadline)
        # What the new active member knows, item by item.
        seen = {f"job {j['name']}": _active(j["state"]) for j in await js1.jobs("backup-1")}
        for c in await js1.job_chains("backup-1"):
            seen[f"chain {c['name']}"] = c["state"]
            for n in c["nodes"]:
                if n["job"] is not None:
                    seen[f"node {c['name']}/{n['state']}"] = n["action"] or "process"
            for o in c["orders"]:
                seen[f"order {c['name']}/{o['id']}"] = (o["state"], o["suspended"], False)
        # ...and acts on it: start the stopped job, resume the suspended order.
        await js1.modify_job("backup-1", "jb", "unstop")
        await js1.modify_order("backup-1", "main", "a2", suspended=False)
        await dep.wait_for(
            "a1 and a2 finished on the new active member",
            lambda: js1.orders("backup-1", "main"),
            accept=lambda os_: {"a1", "a2"} <= {o["id"] for o in os_ if o["finished"]},
        )
    tasks = await tasks_of(js1, dep, "backup-1", ["ja", "jb"])

    async def rows_seen() -> dict[str, dict[str, Any]]:
        return {r["member_id"]: r for r in (await js1.status("backup-1"))["cluster"]}

    # A member shows the cluster table as it last read it (the reference
    # reads it every tick, up to 1 s; the engine at its heartbeat checks),
    # not as its own take-over left it: read until it shows the take-over or
    # two heartbeat periods passed, then judge what it shows.
    try:
        rows = await dep.wait_for(
            "backup-1 shows the primary's row as it took it over",
            rows_seen,
            deadline=2 * period(profile),
            accept=lambda rows: bool(rows.get("primary", {}).get("dead")),
        )
    except DeadlineExceeded:
        rows = await rows_seen()
    wrong = {
        k: {"expected": v, "seen": seen.get(k)} for k, v in expected.items() if seen.get(k) != v
    }
    aware = CheckResult(not wrong, {"wrong-or-missing": wrong, "seen": seen}, "aware-of-states")
    where = {f"{t['order_id']}/{t['state']}": t["cluster_member_id"] for t in tasks}
    expected_where = {
        "a1/s1": "primary",
        "a1/s3": "primary",
        "a1/s4": "backup-1",
        "a2/s1": "backup-1",
        "a2/s3": "backup-1",
        "a2/s4": "backup-1",
    }
    acted = CheckResult(
        where == expected_where and all(t["result"] == "ok" for t in tasks),
        {
            "steps-by-member": where,
            "expected": expected_where,
            "results": [t["result"] for t in tasks],
        },
        "new-active-acts-on-the-states",
    )
    bound = period(profile) + timeout(profile)
    failover = failover_time(history.records, fault=fault.fault_id, f="active", bound=bound)
    primary_row = rows.get("primary", {})
    took_over = next((t for t, node in activations(dep, ["backup-1"])), None)
    if took_over is not None:
        results.measure(
            "take-over seconds after the kill (its SCHEDULER-835 log line)",
            round((took_over - fault_wall_ms(history, fault.fault_id)) / 1000, 3),
        )
    results.measure("take-over seconds (observed)", failover.details.get("seconds"))
    results.measure("documented bound seconds", bound)
    recorded = CheckResult(
        bool(primary_row.get("dead"))
        and primary_row.get("deactivating_member_id") == "backup-1"
        and took_over is not None,
        {"primary-row-on-backup-1": primary_row, "backup-1-became-exclusive-at": took_over},
        "take-over-recorded",
    )
    result = compose(failover, aware, acted, recorded, single_active(history.records, role=ROLE))
    assert results.add(result), result.explain()


@pytest.mark.guarantee("JS1-LOST-STARTS")
async def test_starts_due_during_the_takeover_wait_are_skipped_not_caught_up(
    deploy, history, results, profile
):
    """Starts fall on the order's ``<period absolute_repeat=R>`` grid (from the
    day's start in the engine's time zone; R divides the day). A start is due
    at the grid point at or before it; nothing runs between grid points, so a
    start caught up on the backup shows as a run before the first grid point
    after the backup became exclusive (its SCHEDULER-835 line)."""
    dep = await deploy(passive_cluster((None,)))
    js1 = Js1(dep)
    status = await js1.wait_role("primary", "active", profile.startup_deadline)
    repeat = period(profile) / 2  # several starts fall into the take-over wait
    await js1.job("primary", "tick", "echo tick")
    await js1.chain("primary", "rep", [{"state": "run", "job": "tick"}])
    await js1.add_order(history, "primary", "rep", "r1", absolute_repeat=repeat)

    async def runs():
        return await js1.task_history(dep.expected_up()[0], "tick")

    await dep.wait_for(
        "three runs on the primary",
        runs,
        accept=lambda ts: sum(t["end_time"] is not None and not t["error"] for t in ts) >= 3,
    )
    async with faults.kill(dep, "primary", restart=False) as fault:
        await js1.wait_role("backup-1", "active", profile.heal_deadline)
    await dep.wait_for(
        "three runs on the backup",
        runs,
        accept=lambda ts: (
            sum(t["cluster_member_id"] == "backup-1" and t["end_time"] is not None for t in ts) >= 3
        ),
    )
    tasks = await runs()
    activation = next((t for t, _ in activations(dep, ["backup-1"])), None)
    repeat_ms = round(repeat * 1000)
    begin_ms = grid_origin(status["time_zone"], repeat_ms)
    tolerance_ms = profile.schedule_tolerance * 1000

    def due(t):
        return begin_ms + (t - begin_ms) // repeat_ms * repeat_ms

    starts = [(t["cluster_member_id"], ms(t["start_time"])) for t in tasks]
    dues = [due(s) for _, s in starts]
    duplicated = sorted({d for d in dues if dues.count(d) > 1})
    late = [(m, s) for m, s in starts if s - due(s) > tolerance_ms]
    on_primary = sorted(s for m, s in starts if m == "primary")
    on_backup = sorted(s for m, s in starts if m == "backup-1")
    details = {
        "activation-ms": activation,
        "kill-wall-ms": fault_wall_ms(history, fault.fault_id),
        "repeat-ms": repeat_ms,
        "grid-origin-ms": begin_ms,
        "duplicated-dues": duplicated,
        "late": late,
        "first-on-backup": on_backup[:1],
        "tolerance-ms": tolerance_ms,
    }
    if activation is None or not on_primary or not on_backup:
        why = {**details, "reason": "no activation or no runs"}
        check = CheckResult("unknown", why, "lost-starts")
        assert results.add(check), check.explain()
    # The first start due at or after the activation (a little before its log
    # line: the line follows the committed take-over).
    first_due = begin_ms + math.ceil((activation - 50 - begin_ms) / repeat_ms) * repeat_ms
    caught_up = [s for s in on_backup if s < first_due]
    lost = list(range(due(on_primary[-1]) + repeat_ms, first_due, repeat_ms))
    details |= {
        "next-scheduled-after-activation": first_due,
        "caught-up": caught_up,
        "lost-starts": lost,
    }
    results.measure("starts lost in the take-over wait", len(lost))
    if not lost:
        check = CheckResult(
            "unknown", {**details, "reason": "no start fell into the wait"}, "lost-starts"
        )
    else:
        check = CheckResult(
            not duplicated
            and not late
            and not caught_up
            and on_backup[0] - first_due <= tolerance_ms,
            details,
            "lost-starts",
        )
    assert results.add(check), check.explain()


def grid_origin(time_zone, repeat_ms):
    """A day's start in the engine's time zone (a grid point of
    ``absolute_repeat`` when the repeat divides the day)."""
    assert (24 * 3600 * 1000) % repeat_ms == 0, f"repeat {repeat_ms} ms must divide a day"
    today = datetime.now(ZoneInfo(time_zone or "UTC")).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return round(today.timestamp() * 1000)


@pytest.mark.guarantee("JS1-PRECEDENCE")
async def test_backups_become_active_in_the_order_of_their_precedence(
    deploy, history, results, profile
):
    # backup-1 has the highest precedence number, backup-2 the lowest.
    dep = await deploy(passive_cluster((3, 1, 2)))
    js1 = Js1(dep)
    await js1.wait_role("primary", "active", profile.startup_deadline)
    async with observe(dep, history):
        for _ in range(3):
            # Kill whoever is active now: the next one shows whom precedence chose.
            victim = await _active_among(js1, dep)
            async with faults.kill(dep, victim, restart=False):
                await dep.wait_for(
                    f"a member active after {victim} was killed",
                    lambda: _active_among(js1, dep),
                    deadline=profile.heal_deadline,
                )
    # Each member's log tells when it became exclusive (SCHEDULER-835); a
    # killed member's log stays readable.
    found = activations(dep)
    order = [node for _, node in found]
    expected = ["primary", "backup-2", "backup-3", "backup-1"]
    check = CheckResult(
        order == expected,
        {"activations": order, "expected": expected, "at-ms": found},
        "activation-order",
    )
    result = compose(check, single_active(history.records, role=ROLE))
    assert results.add(result), result.explain()


async def _active_among(js1, dep):
    for n in dep.expected_up():
        if (await js1.status(n))["role"] == "active":
            return n
    return None


@pytest.mark.guarantee("JS1-PRIMARY-RETURN")
async def test_a_restarted_primary_takes_over_only_after_the_backup_terminates(
    deploy, history, results, profile
):
    dep = await deploy(passive_cluster((None,)))
    js1 = Js1(dep)
    await js1.wait_role("primary", "active", profile.startup_deadline)
    async with observe(dep, history):
        async with faults.kill(dep, "primary", restart=False):
            await js1.wait_role("backup-1", "active", profile.heal_deadline)
        await dep.backend.start("primary")
        await dep.wait_for(
            "the restarted primary registered",
            lambda: js1.status("primary"),
            accept=lambda s: s["registered"],
            deadline=profile.startup_deadline,
        )
        returned = len(history.records)
        # Longer than any take-over wait: the primary must stay passive.
        await watch(dep, 2 * (period(profile) + timeout(profile)))
        while_backup = active_samples(history, after_index=returned)
        async with faults.stop(dep, "backup-1", restart=False) as stop:
            pass
        await js1.wait_role("primary", "active", profile.heal_deadline)
    seq = [(node, "active") for _, node in activations(dep)]
    terminated_at = fault_wall_ms(history, stop.fault_id)
    # Where the termination (the harness's own stop) falls among them.
    before = sum(t < terminated_at for t, _ in activations(dep))
    seq.insert(before, ("backup-1", "terminated"))
    expected = [
        ("primary", "active"),
        ("backup-1", "active"),
        ("backup-1", "terminated"),
        ("primary", "active"),
    ]
    stayed = CheckResult(
        while_backup == ["backup-1"],
        {"active-while-the-backup-was-active": while_backup},
        "primary-stayed-passive",
    )
    sequence = CheckResult(
        seq == expected, {"sequence": seq, "expected": expected}, "activation-sequence"
    )
    result = compose(stayed, sequence, single_active(history.records, role=ROLE))
    assert results.add(result), result.explain()
