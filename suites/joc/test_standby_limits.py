"""JOC Cockpit standby instances (seeds 000, 004): what a standby does not
give. "The JS7 - Dashboard does not automatically update [...]" and "No
running log is available for orders and tasks that are currently executed"
on a standby; "any passive JOC Cockpit instances will display the updated
history if the user navigates to the respective History View."
"""

from __future__ import annotations

import asyncio

import pytest

from harness.checkers import CheckResult
from harness.clients.joc import JocClient, JocProblem
from harness.js7topo import shell_workflow
from suites.joc.support import (
    FeedListener,
    deploy_workflows,
    joc_cluster,
    order_output,
    wait_history_terminated,
    wait_one_active,
)


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
        "feed announced the order", lambda: asyncio.sleep(0, "run" in feed.announced)
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
