"""JOC Cockpit standby instances (seed 000): "Users can login to a Standby
JOC Cockpit Instance and perform any of the operations that are available
from the Active JOC Cockpit Instance." (What a standby does not give:
test_standby_limits.py.)
"""

from __future__ import annotations

import datetime as dt

import pytest

from harness.checkers import CheckResult, compose, no_loss
from harness.clients.joc import JocClient, JocProblem
from harness.history import OpFailed
from suites.joc.support import (
    EVERY_DAY,
    add_orders,
    calendar_request,
    deploy_request,
    final_read,
    generate_request,
    inventory_workflow,
    joc_cluster,
    order_output,
    release_request,
    schedule_request,
    store_request,
    wait_history_terminated,
    wait_one_active,
    workflow,
)


def _outcomes(history, fs: set[str]) -> CheckResult:
    """Every listed operation (by ``f``) completed ``ok``."""
    done = {}
    for r in history.records:
        if r.get("kind") == "op" and r.get("f") in fs and r["type"] != "invoke":
            done.setdefault(r["f"], []).append(
                r["type"] if r["type"] == "ok" else f"{r['type']}: {r.get('error')}"
            )
    bad = {f: v for f, v in done.items() if any(x != "ok" for x in v)}
    missing = sorted(fs - set(done))
    return CheckResult(
        not bad and not missing,
        {"operations": done, "not-ok": bad, "never-done": missing},
        "standby-operations",
    )


SETTINGS = '{"cleanup":{"batch_size":{"value":"500"}}}'  # JOC's global settings, stored


@pytest.mark.guarantee("JOC-STANDBY-OPS")
async def test_every_operation_works_on_a_standby(deploy, history, results):
    dep = await deploy(joc_cluster(2))
    active = await wait_one_active(dep)
    standby = next(n for n in ("joc-1", "joc-2") if n != active)
    client = JocClient(dep, standby)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).strftime("%H:%M:%S")
    calls = [
        ("login", None, None),
        ("inventory/store", store_request("/w", "WORKFLOW", inventory_workflow(workflow())), None),
        ("inventory/deployment/deploy", deploy_request("/w"), None),
        ("orders", {"orderIds": ["sb-0"]}, None),
        ("controller/components", {}, None),
        ("tasks/history", {"orderIds": ["sb-0"]}, None),
        ("settings", {}, None),
        (
            "settings/store",
            {"configurationItem": '{"cleanup":{"batch_size":{"value":"500"}}}'},
            None,
        ),
        ("inventory/store", calendar_request(), None),
        ("inventory/store", schedule_request("sb", "w", [soon]), None),
        (
            "inventory/release",
            release_request((f"/{EVERY_DAY}", "WORKINGDAYSCALENDAR"), ("/sb", "SCHEDULE")),
            None,
        ),
        ("daily_plan/orders/generate", generate_request(today, "sb"), None),
        ("daily_plan/orders", {"dailyPlanDateFrom": today}, None),
    ]
    for path, body, _ in calls:
        async with history.op("user", path, path) as op:
            try:
                if path == "login":
                    await client.login()
                else:
                    await client.post(path, body)
            except JocProblem as exc:
                raise OpFailed(f"{exc.status} {exc.code}") from None
            op.node = standby
    ids = [f"sb-{i}" for i in range(20)]
    await add_orders(history, client, "w", ids)
    rows = await wait_history_terminated(dep, client, ids)
    async with history.op("user", "order/log", "order/log") as op:
        log, output = await order_output(client, rows[0]["historyId"])
        if not log["complete"] or "hello-" not in output:
            raise OpFailed(f"unexpected log {log!r} with output {output!r}")
    await final_read(history, client, ids)
    # Last: a switch-over requested on the standby, for itself.
    async with history.op("user", "joc/cluster/switch_member", standby) as op:
        await client.post("joc/cluster/switch_member", {"memberId": standby})
    became = await wait_one_active(dep, among=[standby])
    fs = {p for p, _, _ in calls} | {"order/log", "joc/cluster/switch_member"}
    result = results.add(
        compose(
            _outcomes(history, fs),
            no_loss(history.records),
            CheckResult(became == standby, {"active-after-switch": became}, "switched"),
            name="joc-standby-ops",
        )
    )
    assert result, result.explain()
