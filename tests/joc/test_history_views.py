"""The History sub-views over the wire: JOC's endpoints with their filters
and fields, the audit log written by state-changing calls, and the Excel
export — exactly the view's items, JOC's file names and columns."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from components.joc.views.export import COLUMNS, FILE_NAMES, SUBMISSION_HEADER
from tests.joc.historyrows import NOW, add_deployment, add_orders, add_submission
from tests.joc.jocapi import login, problem

H = dt.timedelta(hours=1)
ORDERS = [
    (1, "a-1", "wf-a", "FINISHED", NOW - 3 * H, NOW - 3 * H + dt.timedelta(seconds=65)),
    (2, "a-2", "wf-a", "FAILED", NOW - 2 * H, NOW - 2 * H + dt.timedelta(seconds=3)),
    (3, "b-1", "wf-b", "RUNNING", NOW - H, None),
    (4, "old", "wf-b", "FINISHED", NOW - 50 * H, NOW - 49 * H),
]


async def post(api, token, path, body):
    r = await api.post(f"/joc/api/{path}", json=body, headers=token)
    assert r.status == 200, await r.text()
    return await r.json()


async def ids(api, token, body):
    return [i["orderId"] for i in (await post(api, token, "orders/history", body))["history"]]


async def test_order_and_task_history_filters(api, database_url):
    await add_orders(database_url, ORDERS)
    token = await login(api)
    assert await ids(api, token, {}) == ["b-1", "a-2", "a-1", "old"]  # newest first
    assert await ids(api, token, {"dateFrom": "-1d"}) == ["b-1", "a-2", "a-1"]
    start = (NOW - 150 * dt.timedelta(minutes=1)).isoformat()
    assert await ids(api, token, {"dateFrom": start}) == ["b-1", "a-2"]
    assert await ids(api, token, {"historyStates": ["FAILED"]}) == ["a-2"]
    assert await ids(api, token, {"historyStates": ["INCOMPLETE"]}) == ["b-1"]
    assert await ids(api, token, {"orderId": "a-*"}) == ["a-2", "a-1"]
    assert await ids(api, token, {"workflowPath": "wf-?", "limit": 2}) == ["b-1", "a-2"]
    assert await ids(api, token, {"folders": [{"folder": "/"}]}) == ["b-1", "a-2", "a-1", "old"]
    assert await ids(api, token, {"folders": [{"folder": "/elsewhere"}]}) == []
    item = (await post(api, token, "orders/history", {"historyIds": [1]}))["history"][0]
    assert item["state"] == {"_text": "SUCCESSFUL", "severity": 6}
    assert item["orderState"]["_text"] == "FINISHED" and item["position"] == "0"
    for key in ("surveyDate", "workflow", "startTime", "plannedTime", "sequence", "historyId"):
        assert key in item
    tasks = (await post(api, token, "tasks/history", {"historyStates": ["SUCCESSFUL"]}))["history"]
    assert [t["orderId"] for t in tasks] == ["a-1", "old"]
    assert {"job", "taskId", "criticality", "retryCounter", "agentUrl"} <= tasks[0].keys()
    tasks = await post(api, token, "tasks/history", {"jobName": "job*", "orderId": "b-*"})
    assert [t["orderId"] for t in tasks["history"]] == ["b-1"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("orders/history", {"dateFrom": "last tuesday"}, "dateFrom"),
        ("orders/history", {"limit": -5}, "limit"),
        ("tasks/history", {"historyStates": ["GREAT"]}, "historyStates"),
        ("inventory/deployment/history", {"compactFilter": {"from": "soon"}}, "from"),
        ("inventory/deployment/history", {"compactFilter": {"state": "X"}}, "state"),
        ("daily_plan/history", {"dateFrom": "-2h"}, "dateFrom"),
        ("daily_plan/history/submissions", {"controllerId": "js7"}, "date"),
        ("audit_log", {"categories": ["NOPE"]}, "categories"),
        ("export/orders/history", {"dateTo": "x"}, "dateTo"),
    ],
)
async def test_malformed_filters_get_joc_s_error_naming_the_field(api, path, body, field):
    token = await login(api)
    r = await api.post(f"/joc/api/{path}", json=body, headers=token)
    err = await problem(r, 420, "InvalidField")
    assert field in err["error"]["message"]


async def test_deployments_submissions_and_the_audit_log(api, database_url):
    await add_deployment(database_url, "c-1", ["/f/wf-a", "/f/wf-b"])
    await add_deployment(database_url, "c-2", ["/g/wf-c"], account="other")
    day = NOW.date()
    await add_submission(
        database_url, day, NOW - H, [("p-1", "wf-a", True), ("p-2", "wf-a", False)]
    )
    await add_submission(database_url, day, NOW, [("p-3", "wf-b", True)])
    token = await login(api)
    deps = await post(api, token, "inventory/deployment/history", {"compactFilter": {}})
    assert [(d["commitId"], d["workflowCount"], d["account"]) for d in deps["depHistory"]] == [
        ("c-2", 1, "other"),
        ("c-1", 2, "root"),
    ]
    only = {"compactFilter": {"folder": "/f", "from": "-1d", "account": "root"}}
    assert [
        d["commitId"]
        for d in (await post(api, token, "inventory/deployment/history", only))["depHistory"]
    ] == ["c-1"]

    dates = (await post(api, token, "daily_plan/history", {"dateFrom": "-1d"}))["dates"]
    assert dates == [
        {
            "date": day.isoformat(),
            "countTotal": 3,
            "countSubmitted": 2,
            "controllers": [{"controllerId": "js7", "countTotal": 3, "countSubmitted": 2}],
        }
    ]
    level = {"controllerId": "js7", "date": day.isoformat()}
    times = (await post(api, token, "daily_plan/history/submissions", level))["submissionTimes"]
    assert [t["countTotal"] for t in times] == [1, 2]
    orders = await post(
        api,
        token,
        "daily_plan/history/submissions/orders",
        {**level, "submissionTime": times[1]["submissionTime"]},
    )
    assert [(o["orderId"], o["submitted"]) for o in orders["orders"]] == [
        ("p-1", True),
        ("p-2", False),
    ]
    assert orders["errorMessages"] == ["p-2: refused"]

    # A state-changing call leaves an audit entry with its reason; a read does not.
    await post(
        api,
        token,
        "inventory/store",
        {
            "path": "/f/wf-x",
            "objectType": "WORKFLOW",
            "configuration": {"instructions": []},
            "auditLog": {"comment": "because", "ticketLink": "T-1", "timeSpent": 3},
        },
    )
    log = (await post(api, token, "audit_log", {"dateFrom": "-1h"}))["auditLog"]
    assert [
        (e["request"], e["category"], e["comment"], e["timeSpent"], e["account"]) for e in log
    ] == [("./inventory/store", "INVENTORY", "because", 3, "root")]
    assert (await post(api, token, "audit_log", {"categories": ["DEPLOYMENT"]}))["auditLog"] == []


async def export(api, token, path, body):
    r = await api.post(f"/joc/api/export/{path}", json=body, headers=token)
    assert r.status == 200, await r.text()
    name = r.headers["Content-Disposition"].split('filename="')[1].rstrip('"')
    book = openpyxl.load_workbook(io.BytesIO(await r.read()), read_only=True)
    assert book.sheetnames == ["data"]
    return name, [list(row) for row in book["data"].iter_rows(values_only=True)]


async def test_the_export_holds_exactly_the_view_s_items(api, database_url):
    await add_orders(database_url, ORDERS)
    token = await login(api)
    body = {"dateFrom": "-1d", "controllerId": "js7", "timeZone": "Europe/Berlin"}
    items = (await post(api, token, "orders/history", body))["history"]
    name, rows = await export(api, token, "orders/history", body)
    assert name == FILE_NAMES["ORDER"] == "JS7-order-history-report.xlsx"
    assert rows[0] == [h for h, _fn in COLUMNS["ORDER"]]
    assert rows[0][5] == "plannedTime"  # JOC's literal header, followed
    assert [r[0] for r in rows[1:]] == [i["orderId"] for i in items]
    first = dict(zip(rows[0], rows[-1], strict=True))  # a-1: 65 s, successful
    start = (NOW - 3 * H).astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d %H:%M:%S")
    assert first["Status"] == "successful" and first["Duration"] == "1m 5s"
    assert first["Start Time"] == start  # in the request's time zone
    # Without a controllerId the view spans all Controllers: Controller ID first.
    _name, wide = await export(api, token, "orders/history", {})
    assert wide[0][0] == "Controller ID" and len(wide) == 1 + len(ORDERS)
    name, tasks = await export(api, token, "tasks/history", {"controllerId": "js7"})
    assert name == "JS7-task-history-report.xlsx" and tasks[0][-1] == "Return Code"
    assert len(tasks) == 1 + len(ORDERS)


async def test_an_empty_view_exports_the_header_row_only(api):
    token = await login(api)
    for kind, path, body in [
        ("ORDER", "orders/history", {"controllerId": "js7"}),
        ("TASK", "tasks/history", {"controllerId": "js7"}),
        ("DEPLOYMENT", "inventory/deployment/history", {"controllerId": "js7"}),
        ("SUBMISSION", "daily_plan/history", {"controllerId": "js7"}),
        ("AUDITLOG", "audit_log", {"controllerId": "js7"}),
    ]:
        name, rows = await export(api, token, path, body)
        assert name == FILE_NAMES[kind]
        assert len(rows) == 1, (kind, rows)
        expected = (
            [h for h, _ in COLUMNS[kind]]
            if kind in COLUMNS
            else [h for h in SUBMISSION_HEADER if h != "Controller ID"]
        )
        assert rows[0] == expected


async def test_the_submission_export_flattens_days_submissions_and_orders(api, database_url):
    day = NOW.date()
    await add_submission(database_url, day, NOW, [("p-1", "wf-a", True), ("p-2", "wf-a", False)])
    token = await login(api)
    _name, rows = await export(api, token, "daily_plan/history", {"controllerId": "js7"})
    header = rows[0]
    cells = [
        dict((h, v) for h, v in zip(header, r, strict=True) if v is not None) for r in rows[1:]
    ]
    assert cells[0] == {"Daily Plan Date": day.isoformat(), "Total Count": 2, "Submission Count": 1}
    assert cells[1]["Submission Count"] == 1 and "Submission" in cells[1]
    assert cells[2] == {"Error Messages": "p-2: refused"}
    assert [c.get("Order ID") for c in cells[3:]] == ["p-1", "p-2"]
    assert [c["Status"] for c in cells[3:]] == ["submitted", "not submitted"]
