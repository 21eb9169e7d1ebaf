"""Cleanup Service (seed 004): "By default the Cleanup Service will purge
history items older than 90 days. The Cleanup Service can be configured for
individual retention periods of history items."

The retention is stored in JOC's global settings (``settings/store``, on the
standby: they are the cluster's) in seconds (the same code path as 90
days), so the boundary can be tested exactly: after a run with cut-off C (by
the database's clock) every terminated order that started before C is gone
with its steps,
every one that started at or after C is still there, and the logs follow the
(shorter) log retention the same way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest

from harness.checkers import CheckResult
from harness.clients.joc import JocClient, JocProblem
from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.workload import add_orders
from suites.joc.support import (
    history_orders,
    joc_cluster,
    order_output,
    wait_history_terminated,
    wait_one_active,
    workflow,
)

ORDER_AGE, LOG_AGE = 6, 3
# JOC's global settings, cleanup section (stored with settings/store):
# retentions in seconds (js7ha; JOC counts minutes), several batches per run.
CLEANUP = {
    "order_history_age": {"value": f"{ORDER_AGE}s"},
    "order_history_logs_age": {"value": f"{LOG_AGE}s"},
    "batch_size": {"value": "7"},
}
CONFIG = {"joc.cleanup.check-interval": 3600}  # only the runs this test asks for
_UNIT_S = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def _age_s(value: str) -> float:
    """A JOC duration ("90d", "1w 2d", a bare number of days) in seconds."""
    return float(
        sum(
            int(p[:-1]) * _UNIT_S[p[-1]] if p[-1] in _UNIT_S else int(p) * 86400
            for p in value.split()
        )
    )


async def _cleanup_settings(client: JocClient) -> dict[str, Any]:
    item = (await client.post("settings", {}))["configuration"]["configurationItem"]
    section: dict[str, Any] = json.loads(item).get("cleanup", {})
    return section


def _t(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


@pytest.mark.guarantee("HIS-CLEANUP")
async def test_cleanup_purges_exactly_what_is_older_than_the_retention(deploy, history, results):
    dep = await deploy(joc_cluster(2, joc_config=CONFIG))
    active = await wait_one_active(dep)
    standby = next(n for n in ("joc-1", "joc-2") if n != active)
    ctl = controller_client(dep, "controller", "Harness")
    await deploy_workflow(ctl, workflow())
    client = JocClient(dep, active)
    # Stored on the standby: the settings are the cluster's, not an instance's.
    await JocClient(dep, standby).post(
        "settings/store", {"configurationItem": json.dumps({"cleanup": CLEANUP})}
    )
    waves = [[f"c{w}-{i}" for i in range(20)] for w in range(4)]
    for w in waves:  # orders spread over ~8 s, so both cut-offs fall among them
        await add_orders(history, ctl, "w", w, rate=20)
        await asyncio.sleep(1.0)
    ids = [i for w in waves for i in w]
    await wait_all_orders(dep, ids)
    await wait_history_terminated(dep, client, ids)
    before = {r["orderId"]: r for r in await history_orders(client, ids)}
    logs_before = {
        oid: (await order_output(client, r["historyId"]))[1] for oid, r in before.items()
    }
    try:
        await JocClient(dep, standby).post("cleanup/run", {})
        standby_answer = "ran"
    except JocProblem as exc:
        standby_answer = exc.code
    run = await client.post("cleanup/run", {})
    cut, log_cut = _t(run["orderHistoryCutoff"]), _t(run["orderLogCutoff"])
    after = {r["orderId"]: r for r in await history_orders(client, ids)}
    expect_gone = {o for o, r in before.items() if _t(r["startTime"]) < cut}
    gone = set(before) - set(after)
    steps_left = {
        r["orderId"]
        for r in (await client.post("tasks/history", {"orderIds": sorted(gone), "limit": 10**6}))[
            "history"
        ]
    }
    wrong_logs = []
    for oid, r in after.items():
        log = (await order_output(client, r["historyId"]))[1]
        expect_log = "" if _t(r["startTime"]) < log_cut else logs_before[oid]
        if log != expect_log:
            wrong_logs.append(oid)
    settings = await _cleanup_settings(client)
    details = {
        "cutoff": run["orderHistoryCutoff"],
        "log-cutoff": run["orderLogCutoff"],
        "deleted": run["deleted"],
        "purged-too-early": sorted(gone - expect_gone),
        "kept-too-long": sorted(expect_gone - gone),
        "steps-of-purged-orders": sorted(steps_left),
        "wrong-logs": wrong_logs,
        "kept": len(after),
        "purged": len(gone),
        "standby-cleanup": standby_answer,
        "settings": {k: settings.get(k) for k in CLEANUP},
    }
    ok = (
        gone == expect_gone
        and 0 < len(gone) < len(before)
        and not steps_left
        and not wrong_logs
        and any(_t(r["startTime"]) < log_cut for r in after.values())
        and run["deleted"]["orders"] == len(gone)
        and standby_answer == "JocStandby"
        and settings == CLEANUP
    )
    result = results.add(CheckResult(ok, details, "his-cleanup"))
    assert result, result.explain()


@pytest.mark.guarantee("HIS-CLEANUP")
async def test_the_default_retention_is_90_days(deploy, results):
    """The seed's "by default ... older than 90 days": a JOC given no
    retention at all keeps order history 90 days (the test above sets every
    retention explicitly, so a changed default would pass it) — as JOC's
    settings say it, an entry whose absence means JOC's default counting
    too."""
    dep = await deploy(joc_cluster(1))
    active = await wait_one_active(dep)
    settings = await _cleanup_settings(JocClient(dep, active))
    value = settings.get("order_history_age", {}).get("value") or "90d"
    days = _age_s(value) / 86400
    results.measure("default order history retention (days)", days)
    result = CheckResult(days == 90, {"order_history_age": value}, "default-retention")
    assert results.add(result), result.explain()
