"""HIS-VIEWS (seed 004): "The History View includes a number of sub-views"
— Orders, Tasks, Deployments and Submissions, and the Audit Log beside them
(HISTORY-VIEWS.md B.1). JOC's GUI fills each from JOC's REST API, so the
suite asks those endpoints, with their filters, on the active and on a
standby instance: every question must be answered with exactly the items
expected, none missing, none extra, none twice."""

from __future__ import annotations

import datetime as dt

import pytest

from harness.checkers import compose, no_loss
from harness.clients.joc import JocClient
from suites.history_views.checks import views_answer
from suites.history_views.support import keys_of, run_orders, setup_views
from suites.joc.support import (
    CONTROLLER_ID,
    deploy_workflows,
    final_read,
    plan_and_submit,
    wait_history_terminated,
    workflow,
)


@pytest.mark.guarantee("HIS-VIEWS")
async def test_every_sub_view_answers_with_its_filters_on_every_instance(deploy, history, results):
    dep, ctl, active, standby = await setup_views(deploy)
    user = JocClient(dep, active)
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await deploy_workflows(user, workflow("views-w"))
    today = t0.date().isoformat()
    plan = await plan_and_submit(user, today, "views-s", "views-w", ["23:59:00"])
    ids_a = [f"views-a-{i}" for i in range(10)]
    ids_b = [f"views-b-{i}" for i in range(5)]
    await run_orders(dep, history, ctl, ids_a + ids_b, rate=50.0)
    await wait_history_terminated(dep, user, ids_a + ids_b)
    await final_read(history, user, ids_a + ids_b)

    questions = {
        "orders views-*": ("orders/history", {"orderId": "views-*"}, set(ids_a + ids_b)),
        "orders views-a-*": ("orders/history", {"orderId": "views-a-*"}, set(ids_a)),
        "orders failed": (
            "orders/history",
            {"orderId": "views-*", "historyStates": ["FAILED"]},
            set(),
        ),
        "orders successful since t0 (ISO)": (
            "orders/history",
            {"orderId": "views-*", "historyStates": ["SUCCESSFUL"], "dateFrom": t0.isoformat()},
            set(ids_a + ids_b),
        ),
        "orders until yesterday (relative)": (
            "orders/history",
            {"orderId": "views-*", "dateTo": "-1d"},
            set(),
        ),
        "orders in folder /": (
            "orders/history",
            {"orderId": "views-*", "folders": [{"folder": "/"}]},
            set(ids_a + ids_b),
        ),
        "tasks views-b-*": ("tasks/history", {"orderId": "views-b-*"}, set(ids_b)),
        "deployments by root": (
            "inventory/deployment/history",
            {"compactFilter": {"account": "root", "from": "-1h"}},
            {"root"},
        ),
        "audit DEPLOYMENT": (
            "audit_log",
            {"categories": ["DEPLOYMENT"]},
            {"./inventory/deployment/deploy"},
        ),
        "audit DAILYPLAN": (
            "audit_log",
            {"categories": ["DAILYPLAN"]},
            {"./daily_plan/orders/generate"},
        ),
    }
    keys = {
        "orders/history": "orderId",
        "tasks/history": "orderId",
        "inventory/deployment/history": "account",
        "audit_log": "request",
    }
    lists = {
        "orders/history": "history",
        "tasks/history": "history",
        "inventory/deployment/history": "depHistory",
        "audit_log": "auditLog",
    }
    expected, answered = {}, {}
    for node in (active, standby):
        client = JocClient(dep, node)
        for name, (path, body, want) in questions.items():
            answer = await client.post(path, {"controllerId": CONTROLLER_ID, **body})
            expected[f"{name} @{node}"] = want
            answered[f"{name} @{node}"] = keys_of(answer[lists[path]], keys[path])
        # The Submission History, all three levels down to the planned orders.
        level = {"controllerId": CONTROLLER_ID, "date": today}
        times = await client.post("daily_plan/history/submissions", level)
        planned = []
        for sub in times["submissionTimes"]:
            one = {**level, "submissionTime": sub["submissionTime"]}
            orders = await client.post("daily_plan/history/submissions/orders", one)
            planned += [o["orderId"] for o in orders["orders"] if o["submitted"]]
        expected[f"submissions {today} @{node}"] = set(plan["submitted"])
        answered[f"submissions {today} @{node}"] = planned
    result = results.add(
        compose(views_answer(expected, answered), no_loss(history.records), name="his-views")
    )
    assert result, result.explain()
