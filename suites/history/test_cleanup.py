"""Cleanup Service (seed 004): "By default the Cleanup Service will purge
history items older than 90 days. The Cleanup Service can be configured for
individual retention periods of history items."

Through JOC's own API, as a user does it: retentions stored in JOC's global
settings (``settings/store``, on the standby: they are the cluster's) in
JOC's unit, minutes, and a run started with ``joc/cluster/run`` (which
answers only that it started: the harness waits for its effect, with a
deadline, and then judges). Two waves of orders 20 s apart; once the first
is older than a minute and the second not, a run with the logs' retention
at one minute and the orders' at 0 (kept for ever) takes exactly the first
wave's logs; then a run with the orders' retention at one minute takes the
first wave's orders with their job steps, and keeps the second wave whole.
A run purges by the database's clock at some instant between the request
and the harness seeing its effect; the waves are placed so that no order's
start falls in that band, which makes every expectation exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import pytest

from harness.checkers import CheckResult
from harness.clients.joc import JocClient, JocProblem
from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.errors import DeadlineExceeded
from harness.workload import add_orders
from suites.joc.support import (
    history_orders,
    joc_cluster,
    joc_time,
    order_output,
    wait_history_terminated,
    wait_one_active,
    workflow,
)

AGE = 60.0  # "1m": JOC counts retentions in minutes
GAP = 20.0  # between the waves: the run's band falls between them
BATCH = {"batch_size": {"value": "7"}}  # several batches per run
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


async def _store(client: JocClient, orders: str, logs: str) -> None:
    cleanup = {
        **BATCH,
        "order_history_age": {"value": orders},
        "order_history_logs_age": {"value": logs},
    }
    await client.post("settings/store", {"configurationItem": json.dumps({"cleanup": cleanup})})


async def _output(client: JocClient, history_id: int) -> str:
    """An order's job output as a user reads it; none once purged (a JOC
    may also answer that the log is gone)."""
    try:
        return (await order_output(client, history_id))[1]
    except JocProblem:
        return ""


async def _until(dep: Any, what: str, probe: Any) -> None:
    """Wait for the run's effect; a run that never has it is judged, not timed out."""
    with contextlib.suppress(DeadlineExceeded):
        await dep.wait_for(what, probe)


@pytest.mark.guarantee("HIS-CLEANUP")
async def test_cleanup_purges_what_is_older_than_the_retention_and_nothing_else(
    deploy, history, results
):
    dep = await deploy(joc_cluster(2, joc_config=CONFIG))
    active = await wait_one_active(dep)
    standby = next(n for n in ("joc-1", "joc-2") if n != active)
    ctl = controller_client(dep, "controller", "Harness")
    await deploy_workflow(ctl, workflow())
    client, on_standby = JocClient(dep, active), JocClient(dep, standby)
    old, young = [f"old-{i}" for i in range(20)], [f"young-{i}" for i in range(20)]
    await add_orders(history, ctl, "w", old, rate=20)
    await asyncio.sleep(GAP)  # the gap between the waves, by design
    await add_orders(history, ctl, "w", young, rate=20)
    ids = old + young
    await wait_all_orders(dep, ids)
    await wait_history_terminated(dep, client, ids)
    rows = {r["orderId"]: r for r in await history_orders(client, ids)}
    outputs = {o: await _output(client, r["historyId"]) for o, r in rows.items()}
    old_done = max(joc_time(rows[o]["startTime"]) for o in old if o in rows)
    young_from = min(joc_time(rows[o]["startTime"]) for o in young if o in rows)
    # Until the old wave is older than the retention (the young is not).
    await asyncio.sleep(max(0.0, old_done + AGE + 1.0 - time.time()))

    # Run 1: logs older than a minute, orders kept for ever.
    await _store(on_standby, orders="0", logs="1m")
    try:
        await on_standby.post("joc/cluster/run", {"type": "cleanup"})
        standby_answer = "ran"
    except JocProblem as exc:
        standby_answer = exc.code
    started = time.time()
    await client.post("joc/cluster/run", {"type": "cleanup"})

    async def old_logs_gone() -> bool:
        return not any([await _output(client, rows[o]["historyId"]) for o in old])

    await _until(dep, "the old wave's logs purged", old_logs_gone)
    after_logs = {r["orderId"] for r in await history_orders(client, ids)}
    wrong_logs = [
        o
        for o in ids
        if await _output(client, rows[o]["historyId"]) != ("" if o in old else outputs[o])
    ]
    # Run 2: orders older than a minute, with their job steps.
    await _store(on_standby, orders="1m", logs="1m")
    await client.post("joc/cluster/run", {"type": "cleanup"})

    async def old_orders_gone() -> bool:
        return not await history_orders(client, old)

    await _until(dep, "the old wave's orders purged", old_orders_gone)
    seen_at = time.time()
    after = {r["orderId"] for r in await history_orders(client, ids)}
    steps_left = {
        r["orderId"]
        for r in (await client.post("tasks/history", {"orderIds": old, "limit": 10**6}))["history"]
    }
    young_outputs_kept = [
        o for o in young if await _output(client, rows[o]["historyId"]) == outputs[o]
    ]
    settings = await _cleanup_settings(client)
    details = {
        "band": [round(started - AGE, 3), round(seen_at - AGE, 3)],
        "old-started-until": round(old_done, 3),
        "young-started-from": round(young_from, 3),
        "run-1-orders-kept": len(after_logs),
        "run-1-wrong-logs": wrong_logs,
        "run-2-kept-too-long": sorted(set(old) & after),
        "run-2-purged-too-early": sorted(set(young) - after),
        "steps-of-purged-orders": sorted(steps_left),
        "young-outputs-kept": len(young_outputs_kept),
        "standby-cleanup": standby_answer,
        "settings": {k: settings.get(k) for k in ("order_history_age", "order_history_logs_age")},
    }
    ok = (
        old_done < started - AGE  # the band lies between the waves:
        and young_from > seen_at - AGE  # every expectation is exact
        and after_logs == set(ids)
        and not wrong_logs
        and after == set(young)
        and not steps_left
        and len(young_outputs_kept) == len(young)
        and standby_answer != "ran"
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
