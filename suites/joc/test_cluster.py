"""JOC Cockpit cluster: fail-over, switch-over, single active (seeds 000, 001, 004).

"Fail-over is an automated operation that occurs when the Primary JOC Cockpit
is aborted or killed." — "Switch-over is an operation that is caused by user
intervention in JOC Cockpit or by use of the JS7 - REST Web Service API. The
procedure includes normal termination of an Active JOC Cockpit Instance." —
"Only one instance of JOC Cockpit and of the History Service is active at a
given point in time."

How active-ness is observed: every instance is sampled directly over
``/joc/api/controller/components`` (its own ``current`` entry) — the
``observe-active`` operations ``single_active`` reads; an active sample is
also an ``active-service`` operation served by that node, which
``failover_times`` reads. Where the target offers them
(``suites/joc/extras.py``), the services' own records (the reference's
intervals of the cluster lease and of every History write, with their
fencing epoch, on the database's clock) are checked the same way, and a
switch-over's old epoch must have ended by a hand-over.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, failover_times, no_loss, single_active
from harness.clients.joc import JocClient
from harness.clients.js7 import controller_client
from harness.clients.snapshot import TERMINATED, read_snapshot
from suites.joc.extras import (
    handed_over,
    history_epochs,
    history_status,
    instance_epoch,
    service_intervals,
    single_active_reported,
)
from suites.joc.support import (
    ActiveObserver,
    add_orders,
    bound,
    deploy_workflows,
    final_read,
    joc_cluster,
    wait_active,
    wait_history_terminated,
    wait_one_active,
    workflow,
)

ROUNDS = 5  # fail-overs / switch-overs per test: enough for a p99 over the rounds


async def add_active_orders(dep, count: int, workflow_path: str = "w", chunk: int = 1000) -> int:
    """``count`` orders scheduled an hour ahead (so they stay active), sent
    straight to the Controller in ``Batch``es of ``AddOrder``; returns how
    many the Controller then holds as not terminated."""
    ctl = controller_client(dep, "controller")
    for k in range(0, count, chunk):
        at = int((time.time() + 3600) * 1000)
        commands = [
            {
                "TYPE": "AddOrder",
                "order": {"id": f"later-{i}", "workflowPath": workflow_path, "scheduledFor": at},
            }
            for i in range(k, min(k + chunk, count))
        ]
        answer = await ctl.command({"TYPE": "Batch", "commands": commands})
        refused = [r for r in answer.get("responses", []) if r.get("TYPE") == "Problem"]
        assert not refused, refused[:3]
    snap = await read_snapshot(ctl)
    return len(snap.orders) - len(snap.ids_in(*TERMINATED))


async def wait_history_caught_up(dep, client: JocClient) -> None:
    """Until History has written every event the Controller has — where the
    target tells its History Service's position (an extra; elsewhere the
    fail-overs run while History may still be catching up, a heavier load)."""
    last = (await read_snapshot(controller_client(dep, "controller"))).event_id
    if await history_status(client) is None:
        return

    async def position() -> int:
        status = await history_status(client)
        return (status or {}).get("position") or 0

    await dep.wait_for(
        "History at the Controller's last event",
        position,
        accept=lambda p: p >= last,
        deadline=dep.profile.heal_deadline * 2,
    )


async def _setup(deploy, jocs: int = 2):
    dep = await deploy(joc_cluster(jocs))
    active = await wait_one_active(dep)
    admin = JocClient(dep, active)
    await deploy_workflows(admin, workflow())
    return dep, active


@pytest.mark.guarantee("JOC-FAILOVER")
@pytest.mark.parametrize("active_orders", [1_000, 10_000])
async def test_a_killed_active_instance_fails_over_to_a_standby(
    deploy, history, results, active_orders
):
    """Killed ``ROUNDS`` times, with ``active_orders`` orders active (added,
    scheduled an hour ahead, and in History as open orders): service comes
    back on a standby within the bound (p99 and every round)."""
    dep, active = await _setup(deploy)
    client = JocClient(dep, active)
    held = await add_active_orders(dep, active_orders)
    await wait_history_caught_up(dep, client)
    observer = ActiveObserver(dep, history).start()
    for _ in range(ROUNDS):
        old = await wait_one_active(dep)
        async with faults.kill(dep, old):
            new = await wait_one_active(dep, among=[n for n in observer.nodes if n != old])
            await observer.wait_seen_active(new, since=len(history) - 1)
    await observer.stop()
    still = await add_active_orders(dep, 0)
    # The guarantee's bound, or what a standby that acts as configured needs
    # if that is less: the active's heartbeat is exceeded, noticed at the next
    # poll, then the services start (a second of slack) — so a standby twice
    # as slow as its configuration fails even where the target is loose.
    timing = dep.profile.components
    configured = (
        timing["joc.cluster.heart_beat_exceeded_interval"]
        + 2 * timing["joc.cluster.polling_interval"]
        + 1.0
    )
    limit = min(bound(dep, "JOC-FAILOVER"), configured)
    results.measure("failover-bound-s", limit)
    loaded = CheckResult(
        held >= active_orders and still >= active_orders,
        {"wanted": active_orders, "before": held, "after": still},
        "orders-active-throughout",
    )
    result = results.add(
        compose(
            failover_times(history.records, fault_name="kill", f="active-service", bound=limit),
            single_active(history.records, role="joc"),
            loaded,
            name="joc-failover",
        )
    )
    results.measure("active-orders", held)
    results.measure("failover-p50-s", result.details["failover-times"].details["p50"])
    results.measure("failover-p99-s", result.details["failover-times"].details["p99"])
    assert result, result.explain()


@pytest.mark.guarantee("JOC-SWITCHOVER-API")
async def test_switch_member_makes_the_chosen_standby_active(deploy, history, results):
    dep, _ = await _setup(deploy, jocs=3)
    observer = ActiveObserver(dep, history).start()
    old_epochs: list[int | None] = []
    for k in range(ROUNDS):
        old = await wait_one_active(dep)
        target = [n for n in observer.nodes if n != old][k % 2]
        # Alternate which instance receives the request: the active or a standby.
        via = old if k % 2 == 0 else target
        old_epochs.append(await instance_epoch(JocClient(dep, old)))
        fid = history.fault_start("switch_member", {"from": old, "to": target, "via": via})
        async with history.op("user", "switch_member", target) as op:
            r = await JocClient(dep, via).post("joc/cluster/switch_member", {"memberId": target})
            assert r["state"] == "SWITCH_MEMBER"
            op.node = via
        await wait_active(dep, target)
        await observer.wait_seen_active(target, since=len(history) - 1)
        history.fault_stop(fid, "switch_member", {"from": old, "to": target})
    await observer.stop()
    acts = await service_intervals(JocClient(dep, target))
    result = results.add(
        compose(
            failover_times(
                history.records,
                fault_name="switch_member",
                f="active-service",
                bound=bound(dep, "JOC-SWITCHOVER"),
            ),
            single_active(history.records, role="joc"),
            handed_over(acts, old_epochs),
            name="joc-switchover-api",
        )
    )
    results.measure("switchover-p99-s", result.details["failover-times"].details["p99"])
    assert result, result.explain()


@pytest.mark.guarantee("JOC-SWITCHOVER-STOP")
async def test_a_normal_stop_of_the_active_hands_over_to_a_standby(deploy, history, results):
    dep, _ = await _setup(deploy)
    observer = ActiveObserver(dep, history).start()
    old_epochs: list[int | None] = []
    for _ in range(ROUNDS):
        old = await wait_one_active(dep)
        old_epochs.append(await instance_epoch(JocClient(dep, old)))
        async with faults.stop(dep, old):
            new = await wait_one_active(dep, among=[n for n in observer.nodes if n != old])
            await observer.wait_seen_active(new, since=len(history) - 1)
    await observer.stop()
    acts = await service_intervals(JocClient(dep, await wait_one_active(dep)))
    result = results.add(
        compose(
            failover_times(
                history.records,
                fault_name="stop",
                f="active-service",
                bound=bound(dep, "JOC-SWITCHOVER"),
            ),
            single_active(history.records, role="joc"),
            handed_over(acts, old_epochs),
            name="joc-switchover-stop",
        )
    )
    results.measure("switchover-p99-s", result.details["failover-times"].details["p99"])
    assert result, result.explain()


@pytest.mark.guarantee("JOC-SINGLE-ACTIVE", "HIS-JOC-FAILOVER")
async def test_never_two_active_instances_under_kills_pauses_partitions_and_db_outages(
    deploy, history, results
):
    """Three instances, a stream of orders (so History writes all the time),
    and in turn: the active paused past the exceeded interval (it wakes up
    replaced: fenced), its links cut, killed, and each kind of database
    outage. Checked: the samples, the cluster leases and every History
    write — never two at once — and the order history complete, once each."""
    dep, _ = await _setup(deploy, jocs=3)
    nodes = [n.name for n in dep.topology.by_role("joc")]
    exceeded = dep.profile.components["joc.cluster.heart_beat_exceeded_interval"]
    observer = ActiveObserver(dep, history).start()
    ids = [f"o-{i}" for i in range(300)]
    stop_load = asyncio.Event()

    async def load() -> None:
        k = 0
        while k < len(ids) and not stop_load.is_set():
            target = await wait_one_active(dep, deadline=dep.profile.heal_deadline * 2)
            await add_orders(history, JocClient(dep, target), "w", ids[k : k + 10])
            k += 10
            await asyncio.sleep(0.1)

    loader = asyncio.create_task(load())
    # Pause the active past the exceeded interval: a standby takes over; the
    # paused one must not write when it wakes up.
    old = await wait_one_active(dep)
    async with faults.pause(dep, old):
        await wait_one_active(dep, among=[n for n in nodes if n != old])
        await asyncio.sleep(exceeded)
    # Cut every link of the active (database and Controller).
    old = await wait_one_active(dep)
    async with faults.isolate(dep, old):
        await wait_one_active(dep, among=[n for n in nodes if n != old])
    old = await wait_one_active(dep)
    async with faults.kill(dep, old):
        await wait_one_active(dep, among=[n for n in nodes if n != old])
    for mode in ("stop", "hang", "cut"):
        await wait_one_active(dep)
        async with faults.db_outage(dep, mode):
            await asyncio.sleep(exceeded * 1.5)
    await loader
    stop_load.set()
    await observer.stop()
    active = await wait_one_active(dep)
    client = JocClient(dep, active)
    acknowledged = [
        r["value"] for r in history.records if r.get("f") == "add" and r["type"] == "ok"
    ]
    await wait_history_terminated(dep, client, acknowledged)
    await final_read(history, client, ids)
    acts = await service_intervals(client)
    result = results.add(
        compose(
            single_active(history.records, role="joc"),
            single_active_reported(history, acts, "cluster"),
            single_active_reported(history, acts, "history"),
            no_loss(history.records),
            name="joc-single-active",
        )
    )
    results.measure("samples", observer.samples)
    results.measure("history-epochs", history_epochs(acts))
    assert result, result.explain()
