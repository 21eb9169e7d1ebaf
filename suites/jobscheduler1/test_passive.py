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
"""

import contextlib

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, failover_time, single_active
from harness.clients.jobscheduler1 import Js1
from harness.errors import DeadlineExceeded
from suites.jobscheduler1.support import ROLE, observe, passive_cluster, period, timeout, watch


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
    primary_row = rows.get("primary", {})
    terminated = CheckResult(
        primary_row.get("command") == "terminated"
        and not primary_row.get("exclusive")
        and not primary_row.get("dead"),
        {"primary-row": primary_row, "exit-code": fault.exit_codes.get("primary")},
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


def kill_window(history, fault_id):
    start = next(
        r
        for r in history.records
        if r.get("kind") == "fault" and r.get("fault") == fault_id and r["type"] == "start"
    )
    return start


@pytest.mark.guarantee("JS1-TAKEOVER")
async def test_a_backup_takes_over_from_a_killed_primary_aware_of_all_states(
    deploy, history, results, profile
):
    dep = await deploy(passive_cluster((None,)))
    js1 = Js1(dep)
    await js1.wait_role("primary", "active", profile.startup_deadline)
    await js1.job("primary", "ja", command="echo a-$SCHEDULER_ORDER_ID")
    await js1.job("primary", "jb", command="echo b-$SCHEDULER_ORDER_ID", stopped=True)
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
        lambda: js1.get("primary", "/orders/main/a1"),
        accept=lambda o: o["state"] == "s4" and o["occupying_cluster_member_id"] is None,
    )
    expected = {
        "job ja": "active",
        "job jb": "stopped",
        "node main/s1": "active",
        "node main/s2": "skipped",
        "node main/s3": "active",
        "node main/s4": "active",
        "node frozen/f1": "stopped",
        "node frozen/f2": "active",
        "chain main": "active",
        "chain frozen": "active",
        "order main/a1": ("s4", False, False),
        "order main/a2": ("s1", True, False),
        "order frozen/z1": ("f1", False, False),
    }
    async with observe(dep, history):
        async with faults.kill(dep, "primary", restart=False) as fault:
            await js1.wait_role("backup-1", "active", profile.heal_deadline)
        # What the new active member knows, item by item.
        jobs = (await js1.get("backup-1", "/jobs"))["jobs"]
        chains = (await js1.get("backup-1", "/job_chains"))["job_chains"]
        orders = await js1.orders("backup-1")
        seen = {f"job {j['name']}": j["state"] for j in jobs}
        for c in chains:
            seen[f"chain {c['name']}"] = c["state"]
            for n in c["nodes"]:
                seen[f"node {c['name']}/{n['state']}"] = n["action"]
        for o in orders:
            seen[f"order {o['job_chain']}/{o['id']}"] = (o["state"], o["suspended"], o["finished"])
        # ...and acts on it: start the stopped job, resume the suspended order.
        await js1.post("backup-1", "/jobs/jb/start")
        await js1.post("backup-1", "/orders/main/a2/resume")
        await dep.wait_for(
            "a1 and a2 finished on the new active member",
            lambda: js1.orders("backup-1"),
            accept=lambda os_: all(o["finished"] for o in os_ if o["id"] in ("a1", "a2")),
        )
    tasks = await js1.tasks("backup-1")
    events = await js1.events("backup-1")
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
    primary_dead = next(
        (e for e in events if e["member_id"] == "primary" and e["event"] == "dead"), None
    )
    took_over = next(
        (e for e in events if e["member_id"] == "backup-1" and e["event"] == "active"), None
    )
    kill_wall_ms = kill_window(history, fault.fault_id)["wall"] * 1000
    if took_over:
        results.measure(
            "take-over seconds after the kill (database clock)",
            round((took_over["time"] - kill_wall_ms) / 1000, 3),
        )
    results.measure("take-over seconds (observed)", failover.details.get("seconds"))
    results.measure("documented bound seconds", bound)
    recorded = CheckResult(
        primary_dead is not None and took_over is not None, {"events": events}, "take-over-recorded"
    )
    result = compose(failover, aware, acted, recorded, single_active(history.records, role=ROLE))
    assert results.add(result), result.explain()


@pytest.mark.guarantee("JS1-LOST-STARTS")
async def test_starts_due_during_the_takeover_wait_are_skipped_not_caught_up(
    deploy, history, results, profile
):
    dep = await deploy(passive_cluster((None,)))
    js1 = Js1(dep)
    await js1.wait_role("primary", "active", profile.startup_deadline)
    repeat = period(profile) / 2  # several starts fall into the take-over wait
    await js1.job("primary", "tick", command="echo tick")
    await js1.chain("primary", "rep", [{"state": "run", "job": "tick"}])
    await js1.add_order(history, "primary", "rep", "r1", run_time={"repeat": repeat})

    async def runs():
        return await js1.tasks(dep.expected_up()[0], order_id="r1")

    await dep.wait_for(
        "three runs on the primary",
        runs,
        accept=lambda ts: sum(t["result"] == "ok" for t in ts) >= 3,
    )
    async with faults.kill(dep, "primary", restart=False) as fault:
        await js1.wait_role("backup-1", "active", profile.heal_deadline)
    await dep.wait_for(
        "three runs on the backup",
        runs,
        accept=lambda ts: (
            sum(t["cluster_member_id"] == "backup-1" and t["result"] == "ok" for t in ts) >= 3
        ),
    )
    tasks = await runs()
    order = await js1.get("backup-1", "/orders/rep/r1")
    events = await js1.events("backup-1")
    activation = next(
        e["time"] for e in events if e["member_id"] == "backup-1" and e["event"] == "active"
    )
    begin_ms = round(order["run_time"]["begin"] * 1000)
    repeat_ms = round(repeat * 1000)
    tolerance_ms = profile.schedule_tolerance * 1000
    dues = [t["run_due"] for t in tasks]
    duplicated = sorted({d for d in dues if dues.count(d) > 1})
    late = [t for t in tasks if not 0 <= t["start_time"] - t["run_due"] <= tolerance_ms]
    on_primary = sorted(t["run_due"] for t in tasks if t["cluster_member_id"] == "primary")
    on_backup = sorted(t["run_due"] for t in tasks if t["cluster_member_id"] == "backup-1")
    caught_up = [d for d in on_backup if d < activation]
    lost = list(range(on_primary[-1] + repeat_ms, activation, repeat_ms)) if on_primary else []
    k = -(-(activation - begin_ms) // repeat_ms)
    next_due = begin_ms + k * repeat_ms
    details = {
        "activation-ms": activation,
        "kill-wall-ms": kill_window(history, fault.fault_id)["wall"] * 1000,
        "repeat-ms": repeat_ms,
        "lost-starts": lost,
        "duplicated-dues": duplicated,
        "late-or-early": [
            {k_: t[k_] for k_ in ("cluster_member_id", "run_due", "start_time")} for t in late
        ],
        "caught-up": caught_up,
        "next-scheduled-after-activation": next_due,
        "first-on-backup": on_backup[:1],
        "tolerance-ms": tolerance_ms,
    }
    results.measure("starts lost in the take-over wait", len(lost))
    if not lost:
        check = CheckResult(
            "unknown", {**details, "reason": "no start fell into the wait"}, "lost-starts"
        )
    else:
        check = CheckResult(
            not duplicated and not late and not caught_up and on_backup[:1] == [next_due],
            details,
            "lost-starts",
        )
    assert results.add(check), check.explain()


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
    # Read from the member left running (the cluster's events are in the
    # shared database): a wrong order may have killed backup-1 already.
    (survivor,) = [n for n in dep.expected_up() if n in ("backup-1", "backup-2", "backup-3")]
    events = await js1.events(survivor)
    order = [e["member_id"] for e in events if e["event"] == "active"]
    expected = ["primary", "backup-2", "backup-3", "backup-1"]
    check = CheckResult(
        order == expected,
        {"activations": order, "expected": expected, "events": events},
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
        async with faults.stop(dep, "backup-1", restart=False):
            pass
        await js1.wait_role("primary", "active", profile.heal_deadline)
    events = await js1.events("primary")
    seq = [(e["member_id"], e["event"]) for e in events if e["event"] in ("active", "terminated")]
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
