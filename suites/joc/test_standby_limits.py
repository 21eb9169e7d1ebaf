"""JOC Cockpit standby instances (seeds 000, 004): what a standby does not
give. "The JS7 - Dashboard does not automatically update [...]" and "No
running log is available for orders and tasks that are currently executed"
on a standby; "any passive JOC Cockpit instances will display the updated
history if the user navigates to the respective History View." Live
updates are JOC's ``events`` long poll, whose History snapshots are "sent
only in an active JOC Cockpit node".
"""

from __future__ import annotations

import asyncio

import pytest

from harness.checkers import CheckResult
from harness.clients.joc import JocClient, JocProblem
from harness.clients.joc_events import JocEvents
from harness.js7topo import shell_workflow
from suites.joc.support import (
    deploy_workflows,
    joc_cluster,
    order_output,
    wait_history_terminated,
    wait_one_active,
)


@pytest.mark.guarantee("JOC-STANDBY-LIMITS")
async def test_a_standby_gives_no_live_updates_and_no_running_log(deploy, history, results):
    # JOC's events long poll answers within 2 s when it has nothing (JOC:
    # 30 s to 3 min), so a standby's silence is seen in a few seconds.
    dep = await deploy(joc_cluster(2, joc_config={"joc.events.response-period": 2}))
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
    # JOC's GUI refreshes its views from the events long poll; History's
    # snapshots are "sent only in an active JOC Cockpit node".
    on_active_events = JocEvents(JocClient(dep, active, "viewer")).start()
    on_standby_events = JocEvents(JocClient(dep, standby, "viewer")).start()
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
    marker.touch()
    done = await wait_history_terminated(dep, on_standby, ["run"])
    finished_log, finished_output = await order_output(on_standby, hid)
    announced = await dep.wait_for(
        "the active's events announce a terminated order",
        lambda: asyncio.sleep(0, on_active_events.of_type("HistoryOrderTerminated")),
        accept=lambda found: bool(found) or on_active_events.failed is not None,
    )
    assert on_active_events.failed is None, on_active_events.failed
    when = announced[0][0]
    # Every standby poll up to one that began after the active's announcement:
    # a History snapshot of the standby would have ended one of them.
    await dep.wait_for(
        "the standby's events read past the active's announcement",
        lambda: asyncio.sleep(0, on_standby_events.polls),
        accept=lambda polls: any(p.started > when for p in polls) or on_standby_events.failed,
    )
    await on_active_events.stop()
    await on_standby_events.stop()
    standby_history = [
        s
        for p in on_standby_events.polls
        for s in p.snapshots
        if s["eventType"].startswith("History")
    ]
    observed |= {
        "standby-history-after-finish": done[0]["orderState"]["_text"],
        "standby-log-after-finish": finished_log["complete"] and "done" in finished_output,
        "active-events-announced": [s for _, s in announced],
        "standby-events": {
            "polls": len(on_standby_events.polls),
            "history-snapshots": standby_history,
            "failed": on_standby_events.failed,
        },
    }
    ok = (
        observed["standby-running-log"] == "JocStandby"
        and not standby_history
        and on_standby_events.failed is None
        and observed["standby-history-after-finish"] == "FINISHED"
        and observed["standby-log-after-finish"] is True
        and any(s["workflow"]["path"] == "slow" for _, s in announced)
    )
    result = results.add(CheckResult(ok, observed, "joc-standby-limits"))
    assert result, result.explain()
