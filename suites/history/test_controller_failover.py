"""HIS-CTL-FAILOVER (seed 004): "On Primary Controller outage, History
switches to the Secondary".

A Controller cluster (``primary``, ``backup``, the Cluster Watch) and two
JOC instances, each configured with both Controller nodes. Orders go
straight to whichever Controller node is active (the load must not depend on
JOC); the active Controller is then killed, cut off from everyone, or
switched over through JOC's ``controller/cluster/switchover``.

Measured: from the fault to the first order JOC's History shows terminated
that History can only have read from the new active Controller node — the
harness reads JOC's ``orders/history`` every 50 ms for every acknowledged
order (``support.HistoryWatch``); each order seen is a ``history-write``
operation of the node it came from, which ``failover_time`` reads: after a
kill or a cut, an order that ended after the old node was dead or cut off
(its ``endTime``); in a switch-over, one the new node acknowledged. Checked: that
time against the bound, History went on with the new node's orders, every
acknowledged order in History exactly once (orders and job steps), never two
active Controller nodes; where the target offers it (an extra), the node
History reads from and that it never re-wrote an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, failover_time, single_active
from harness.clients.joc import JocClient
from harness.clients.js7 import ClusterClient, wait_cluster
from harness.errors import DeadlineExceeded
from harness.history import completed_ops
from suites.controller.workload import WORKFLOW, Load, settle
from suites.history.support import HistoryWatch, no_loss_of_orders_and_tasks, task_read
from suites.joc.extras import history_status, no_duplicates_attempted
from suites.joc.support import (
    bound,
    final_read,
    joc_and_controller_cluster,
    joc_time,
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


def _acked_by(history: Any) -> dict[str, str | None]:
    """Every acknowledged order's id and the Controller node that acknowledged it."""
    return {
        inv["value"]: done.get("node")
        for inv, done in completed_ops(history.records)
        if inv.get("f") == "add" and done is not None and done["type"] == "ok"
    }


def _acknowledged(history: Any) -> list[str]:
    return list(_acked_by(history))


def _attempted(history: Any) -> list[str]:
    return [r["value"] for r in history.records if r.get("f") == "add" and r["type"] == "invoke"]


@pytest.mark.guarantee("HIS-CTL-FAILOVER")
@pytest.mark.parametrize("kind", ["kill", "isolate", "switchover"])
async def test_history_follows_the_active_controller(deploy, history, results, profile, kind):
    dep, client, joc = await _setup(deploy)
    limit = bound(dep, "HIS-CTL-FAILOVER")
    timeout = profile.components["controller.cluster.heartbeat_timeout"]
    acked_by: dict[str, str | None] = {}

    def acknowledged() -> list[str]:
        acked_by.update(_acked_by(history))
        return list(acked_by)

    cut_at: list[float] = []  # wall clock: the old active dead or cut off

    def written(oid: str, row: dict[str, Any]) -> None:
        """Whose events History wrote: after a kill or a cut, an order that
        ended later can only have come from the new active (the old one is
        dead, or History cannot reach it); else, in a switch-over, the node
        that acknowledged it. (Not the acknowledging node after a kill or a
        cut: that would add the load client's own fail-over to History's.)"""
        if cut_at:
            node = new if joc_time(row["endTime"]) > cut_at[0] else old
        else:
            node = acked_by.get(oid)
        history.invoke("history", "history-write", oid).ok(oid, node=node)

    watch = HistoryWatch(JocClient(dep, joc, "viewer"), acknowledged, written).start()
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
            with contextlib.suppress(DeadlineExceeded):  # never: the verdict says so
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
                cut_at.append(time.time())
                fid = fault.fault_id
                mark = len(history) - 1
                with contextlib.suppress(DeadlineExceeded):  # never: the verdict says so
                    await dep.wait_for(
                        f"History writing from {new}",
                        lambda: asyncio.sleep(0, (load.check(), _writes_from(history, new))[1]),
                        accept=lambda n: n >= 3,
                        deadline=deadline,
                    )
            await settle(dep, client)
        # Keep the load on the new active a little: History must go on there.
        with contextlib.suppress(DeadlineExceeded):  # else: history-follows-active says so
            await dep.wait_for(
                f"orders acknowledged by {new} and written",
                lambda: asyncio.sleep(0, _writes_from(history, new, mark)),
                accept=lambda n: n >= 5,
            )
    await wait_cluster(dep, client, deadline=profile.heal_deadline)
    await watch.read_once()
    await watch.stop()
    acked = _acknowledged(history)
    attempted = _attempted(history)
    reader = JocClient(dep, await wait_one_active(dep))
    await wait_history_terminated(dep, reader, acked, deadline=profile.heal_deadline * 2)
    await final_read(history, reader, attempted)
    await task_read(history, reader, attempted)
    status = await history_status(reader)
    ft = failover_time(history.records, fault=fid, f="history-write", bound=limit)
    went_on = _writes_from(history, new, mark)
    followed = CheckResult(
        went_on >= 5 and (status is None or status["controllerNode"] == new),
        {
            f"orders-of-{new}-written-after-the-fault": went_on,
            "history-reads-from": status["controllerNode"] if status else "not offered",
        },
        "history-follows-active",
    )
    result = results.add(
        compose(
            ft,
            followed,
            *no_loss_of_orders_and_tasks(history.records),
            no_duplicates_attempted({reader.node: status}),
            single_active(history.records, role="controller"),
            name="his-ctl-failover",
        )
    )
    results.measure(f"history switch seconds ({kind})", ft.details.get("seconds"))
    results.measure("acknowledged orders", len(acked))
    assert result, result.explain()
