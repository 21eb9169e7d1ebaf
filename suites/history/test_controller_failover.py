"""HIS-CTL-FAILOVER (seed 004): "On Primary Controller outage, History
switches to the Secondary".

A Controller cluster (``primary``, ``backup``, the Cluster Watch) and two
JOC instances, each configured with both Controller nodes. Orders go
straight to whichever Controller node is active (the load must not depend on
JOC); the active Controller is then killed, cut off from everyone, or
switched over through JOC's ``controller/cluster/switchover``.

Measured: from the fault to History's first write of events read from the
new active Controller node — every write is announced on the active JOC
instance's push feed with the node its events came from (``history-write``
operations, read by ``failover_time``). Checked: that time against the
bound, every acknowledged order in History exactly once (orders and job
steps), History never re-wrote an event (the unique hash never had to
refuse a row), and never two active Controller nodes.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, failover_time, no_loss, single_active
from harness.clients.joc import JocClient
from harness.clients.js7 import ClusterClient, wait_cluster
from harness.history import completed_ops
from suites.controller.workload import WORKFLOW, Load, settle
from suites.joc.support import (
    FeedListener,
    bound,
    final_read,
    joc_and_controller_cluster,
    wait_history_terminated,
    wait_one_active,
)

RATE = 40.0  # orders per second during the fault


async def _setup(deploy: Any) -> tuple[Any, ClusterClient, str]:
    dep = await deploy(joc_and_controller_cluster(2))
    client = ClusterClient(
        dep, timeout=dep.profile.components["controller.cluster.heartbeat_timeout"]
    )
    await wait_cluster(dep, client)
    await client.deploy(WORKFLOW)
    return dep, client, await wait_one_active(dep)


def _writes_from(history: Any, node: str, since: int = -1) -> int:
    return sum(
        1
        for r in history.records
        if r.get("f") == "history-write"
        and r["type"] == "ok"
        and r.get("node") == node
        and r["index"] > since
    )


def _acknowledged(history: Any) -> list[str]:
    return [
        inv["value"]
        for inv, done in completed_ops(history.records)
        if inv.get("f") == "add" and done is not None and done["type"] == "ok"
    ]


def _attempted(history: Any) -> list[str]:
    return [r["value"] for r in history.records if r.get("f") == "add" and r["type"] == "invoke"]


async def _task_read(history: Any, client: JocClient, ids: list[str]) -> None:
    async with history.op("reader", "read-tasks") as op:
        rows = (await client.post("tasks/history", {"orderIds": ids, "limit": 10**6}))["history"]
        op.ok([r["orderId"] for r in rows if r["state"]["_text"] == "SUCCESSFUL"])


@pytest.mark.guarantee("HIS-CTL-FAILOVER")
@pytest.mark.parametrize("kind", ["kill", "isolate", "switchover"])
async def test_history_follows_the_active_controller(deploy, history, results, profile, kind):
    dep, client, joc = await _setup(deploy)
    limit = bound(dep, "HIS-CTL-FAILOVER")
    timeout = profile.components["controller.cluster.heartbeat_timeout"]
    listener = await FeedListener(dep, joc, history).start()
    admin = JocClient(dep, joc)
    old = await client.find_active()
    assert old is not None
    new = "backup" if old == "primary" else "primary"
    load = Load(history, client, rate=RATE, interval=profile.poll_interval, prefix=kind)
    async with load:
        await dep.wait_for(
            f"History writing from {old}",
            lambda: asyncio.sleep(0, (load.check(), _writes_from(history, old))[1]),
            accept=lambda n: n >= 3,
        )
        deadline = limit + timeout + profile.heal_deadline
        if kind == "switchover":
            fid = history.fault_start("switchover", {"from": old, "via": joc})
            await admin.post("controller/cluster/switchover", {})
            mark = len(history) - 1
            await dep.wait_for(
                f"History writing from {new}",
                lambda: asyncio.sleep(0, _writes_from(history, new)),
                accept=lambda n: n >= 1,
                deadline=deadline,
            )
            history.fault_stop(fid, "switchover", {"from": old, "to": new})
        else:
            fault = (
                faults.kill(dep, old)
                if kind == "kill"
                else faults.isolate(dep, old, post_check=False)
            )
            async with fault:
                fid = fault.fault_id
                mark = len(history) - 1
                await dep.wait_for(
                    f"History writing from {new}",
                    lambda: asyncio.sleep(0, (load.check(), _writes_from(history, new))[1]),
                    accept=lambda n: n >= 3,
                    deadline=deadline,
                )
            await settle(dep, client)
        # Keep the load on the new active a little: History must go on there.
        await dep.wait_for(
            f"orders acknowledged by {new} and written",
            lambda: asyncio.sleep(0, _writes_from(history, new, mark)),
            accept=lambda n: n >= 5,
        )
    await wait_cluster(dep, client, deadline=profile.heal_deadline)
    await listener.stop()
    acked = _acknowledged(history)
    attempted = _attempted(history)
    reader = JocClient(dep, await wait_one_active(dep))
    await wait_history_terminated(dep, reader, acked, deadline=profile.heal_deadline * 2)
    await final_read(history, reader, attempted)
    await _task_read(history, reader, attempted)
    status = (await reader.post("controller/components", {}))["historyService"]
    ft = failover_time(history.records, fault=fid, f="history-write", bound=limit)
    followed = CheckResult(
        status["controllerNode"] == new and new in listener.writers,
        {
            "history-reads-from": status["controllerNode"],
            "switches": status["controllerSwitches"],
        },
        "history-follows-active",
    )
    no_replay = CheckResult(
        status["duplicatesSkipped"] == 0,
        {"duplicates-refused-by-hash": status["duplicatesSkipped"]},
        "no-replay",
    )
    result = results.add(
        compose(
            ft,
            followed,
            no_loss(history.records),
            replace(no_loss(history.records, read_f="read-tasks"), name="no-loss[tasks]"),
            no_replay,
            single_active(history.records, role="controller"),
            name="his-ctl-failover",
        )
    )
    results.measure(f"history switch seconds ({kind})", ft.details.get("seconds"))
    results.measure("acknowledged orders", len(acked))
    assert result, result.explain()
