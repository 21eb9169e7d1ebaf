"""JOC Cockpit standby instances (seeds 000, 004).

"Users can login to a Standby JOC Cockpit Instance and perform any of the
operations that are available from the Active JOC Cockpit Instance." — "The
JS7 - Dashboard does not automatically update [...]" and "No running log is
available for orders and tasks that are currently executed" on a standby;
"any passive JOC Cockpit instances will display the updated history if the
user navigates to the respective History View."
"""

from __future__ import annotations

import datetime as dt

import pytest

from harness.checkers import CheckResult, compose, no_loss
from harness.clients.joc import JocClient, JocProblem
from harness.history import OpFailed
from harness.js7topo import shell_workflow
from suites.joc.support import (
    EVERY_DAY,
    FeedListener,
    add_orders,
    calendar_request,
    deploy_request,
    deploy_workflows,
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


@pytest.mark.guarantee("JOC-STANDBY-LIMITS")
async def test_a_standby_gives_no_live_feed_and_no_running_log(deploy, history, results):
    dep = await deploy(joc_cluster(2))
    active = await wait_one_active(dep)
    standby = next(n for n in ("joc-1", "joc-2") if n != active)
    on_active, on_standby = JocClient(dep, active), JocClient(dep, standby)
    # The job waits for a file in the Agent's work dir (the harness sees it
    # in the Agent's data dir on every backend).
    marker = dep.backend.data_dir("agent-1") / "work" / "go"
    await deploy_workflows(
        on_active,
        shell_workflow(
            "slow",
            (
                "agent-1",
                'echo started; while [ ! -e "$JS7_AGENT_WORK/go" ]; do sleep 0.05; done; echo done',
            ),
        ),
    )
    feed = await FeedListener(dep, active).start()
    await on_standby.post("orders/add", {"orders": [{"orderId": "run", "workflowPath": "slow"}]})

    async def running_row():
        rows = (await on_standby.post("orders/history", {"orderIds": ["run"]}))["history"]
        return rows[0] if rows and rows[0]["orderState"]["_text"] == "RUNNING" else None

    row = await dep.wait_for("order running in history", running_row)
    hid = row["historyId"]
    await dep.wait_for(
        "running log on the active",
        lambda: order_output(on_active, hid),
        accept=lambda r: "started" in r[1] and not r[0]["complete"],
    )
    observed: dict[str, object] = {}
    try:
        await on_standby.post("order/log", {"historyId": hid})
        observed["standby-running-log"] = "served"
    except JocProblem as exc:
        observed["standby-running-log"] = exc.code
    try:
        await FeedListener(dep, standby).start()
        observed["standby-feed"] = "served"
    except JocProblem as exc:
        observed["standby-feed"] = exc.body.get("message")
    marker.touch()
    done = await wait_history_terminated(dep, on_standby, ["run"])
    finished_log, finished_output = await order_output(on_standby, hid)
    await dep.wait_for(
        "feed announced the order", lambda: __import__("asyncio").sleep(0, "run" in feed.announced)
    )
    await feed.stop()
    observed |= {
        "standby-history-after-finish": done[0]["orderState"]["_text"],
        "standby-log-after-finish": finished_log["complete"] and "done" in finished_output,
        "active-feed-announced": "run" in feed.announced,
    }
    ok = (
        observed["standby-running-log"] == "JocStandby"
        and "JocStandby" in str(observed["standby-feed"])
        and observed["standby-history-after-finish"] == "FINISHED"
        and observed["standby-log-after-finish"] is True
        and observed["active-feed-announced"] is True
    )
    result = results.add(CheckResult(ok, observed, "joc-standby-limits"))
    assert result, result.explain()
