"""The sub-views' queries and items: for each, the SQL its request filter
selects (in the view's order) and the item JOC answers per row.

One query serves both the REST answer and the Excel export, so the file
holds exactly the view's items (HIS-EXPORT).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.common.web import Problem
from components.joc.timestamps import iso
from components.joc.views import filters as f

Body = dict[str, Any]
Row = dict[str, Any]

# JOC's grouped order states' severities (as in api.ORDER_SEVERITY).
ORDER_SEVERITY = {"FINISHED": 6, "FAILED": 2, "CANCELLED": 2, "RUNNING": 0, "PENDING": 10}
HISTORY_SEVERITY = {"SUCCESSFUL": 6, "FAILED": 2, "INCOMPLETE": 1}
ORDER_HSTATE = (
    "CASE WHEN o.STATE = 'FINISHED' THEN 'SUCCESSFUL' WHEN o.STATE IN ('FAILED','CANCELLED') "
    "THEN 'FAILED' ELSE 'INCOMPLETE' END"
)
TASK_HSTATE = (
    "CASE WHEN s.STATE = 'SUCCESSFUL' THEN 'SUCCESSFUL' WHEN s.STATE = 'FAILED' THEN 'FAILED' "
    "ELSE 'INCOMPLETE' END"
)
# The folder of a workflow, from the inventory (deployed without one: "/").
WORKFLOW_FOLDER = """coalesce((SELECT i.FOLDER FROM INV_CONFIGURATIONS i
    WHERE i.TYPE = 'WORKFLOW' AND i.NAME = {t}.WORKFLOW_PATH LIMIT 1), '/')"""
DEPLOY_TYPES = ("WORKFLOW", "JOBRESOURCE", "LOCK", "NOTICEBOARD", "FILEORDERSOURCE")
CATEGORIES = (
    "INVENTORY",
    "CONTROLLER",
    "DAILYPLAN",
    "OTHERS",
    "DEPLOYMENT",
    "DOCUMENTATIONS",
    "CERTIFICATES",
    "IDENTITY",
    "SETTINGS",
    "MONITORING",
    "UNKNOWN",
)


def position_string(position: Any) -> str:
    """JS7's position as JOC writes it: ``[1, "then", 0]`` → ``"1/then:0"``."""
    if not isinstance(position, list) or not position:
        return str(position)
    parts = [str(position[0])]
    for i in range(1, len(position) - 1, 2):
        parts.append(f"{position[i]}:{position[i + 1]}")
    return "/".join(parts)


@dataclass(frozen=True)
class Query:
    sql: str
    params: list[Any]


@dataclass(frozen=True)
class View:
    """One sub-view: its endpoint, answer key, default limit, query and item."""

    path: str
    key: str
    default_limit: int
    query: Callable[[Body, str, int | None], Query]
    item: Callable[[Row], Body]


def _limited(sql: str, where: f.Where, limit: int | None) -> Query:
    if limit is None:
        return Query(sql.format(where=where.sql()), where.params)
    return Query(sql.format(where=where.sql()) + " LIMIT %s", [*where.params, limit])


# -- orders/history (order/ordersFilter-schema.json) ---------------------------


def orders_query(body: Body, controller_id: str, limit: int | None) -> Query:
    w = f.Where()
    w.add("o.CONTROLLER_ID = %s", controller_id)
    w.range("o.START_TIME", body, "dateFrom", "dateTo")
    w.range("o.END_TIME", body, "completedDateFrom", "completedDateTo")
    w.range("o.END_TIME", body, "endDateFrom", "endDateTo")
    w.glob("o.ORDER_ID", f.text(body, "orderId"))
    w.glob("o.WORKFLOW_PATH", f.text(body, "workflowPath"))
    w.glob("o.WORKFLOW_PATH", f.text(body, "workflowName"))
    for key in ("orderIds", "orders"):  # orderIds: js7ha's; orders: JOC's paths
        ids = f.strings(body, key)
        if ids is not None:
            w.add("o.ORDER_ID = ANY(%s)", ids)
    excluded = f.strings(body, "excludeWorkflows")
    if excluded:
        w.add("NOT o.WORKFLOW_PATH = ANY(%s)", excluded)
    states = f.strings(body, "historyStates", f.HISTORY_STATES)
    if states is not None:
        w.add(f"({ORDER_HSTATE}) = ANY(%s)", states)
    hids = f.ints(body, "historyIds")
    if hids is not None:
        w.add("o.ID = ANY(%s)", hids)
    w.folders(WORKFLOW_FOLDER.format(t="o"), f.folders(body))
    sql = f"""SELECT o.*, {ORDER_HSTATE} AS HSTATE FROM HISTORY_ORDERS o
              WHERE {{where}} ORDER BY o.START_TIME DESC, o.ID DESC"""
    return _limited(sql, w, limit)


def order_item(r: Row) -> Body:
    text = r["hstate"]
    return {
        "controllerId": r["controller_id"],
        "orderId": r["order_id"],
        "workflow": r["workflow_path"],
        "workflowId": {"path": r["workflow_path"], "versionId": r["workflow_version_id"]},
        "historyId": r["id"],
        "surveyDate": iso(r["modified"]),
        "plannedTime": iso(r["planned_time"] or r["start_time"]),
        "startTime": iso(r["start_time"]),
        "endTime": iso(r["end_time"]),
        # JOC writes a position as a string (orderHistoryItem-schema).
        "position": position_string(json.loads(r["position"])),
        "sequence": 1,  # the reference has no child orders
        "state": {"_text": text, "severity": HISTORY_SEVERITY[text]},
        "orderState": {"_text": r["state"], "severity": ORDER_SEVERITY.get(str(r["state"]), 2)},
        "agentPath": r["agent_path"],
        "error": r["error_text"] is not None,
        "errorText": r["error_text"],
        "endEventId": r["end_event_id"],  # js7ha extension
        "modified": iso(r["modified"]),  # js7ha extension (database clock)
    }


# -- tasks/history (job/jobsFilter-schema.json) --------------------------------


def _jobs(body: Body, key: str) -> list[tuple[str, str]] | None:
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or not all(
        isinstance(j, dict)
        and isinstance(j.get("workflowPath"), str)
        and isinstance(j.get("job"), str)
        for j in v
    ):
        raise f.invalid(key, "must be a list of {workflowPath, job}")
    return [(j["workflowPath"].rsplit("/", 1)[-1], j["job"]) for j in v]


def tasks_query(body: Body, controller_id: str, limit: int | None) -> Query:
    w = f.Where()
    w.add("s.CONTROLLER_ID = %s", controller_id)
    w.range("s.START_TIME", body, "dateFrom", "dateTo")
    w.range("s.END_TIME", body, "completedDateFrom", "completedDateTo")
    w.glob("s.JOB_NAME", f.text(body, "jobName"))
    w.glob("s.WORKFLOW_PATH", f.text(body, "workflowPath"))
    w.glob("s.WORKFLOW_PATH", f.text(body, "workflowName"))
    w.glob("s.ORDER_ID", f.text(body, "orderId"))
    ids = f.strings(body, "orderIds")  # js7ha extension
    if ids is not None:
        w.add("s.ORDER_ID = ANY(%s)", ids)
    states = f.strings(body, "historyStates", f.HISTORY_STATES)
    if states is not None:
        w.add(f"({TASK_HSTATE}) = ANY(%s)", states)
    tids = f.ints(body, "taskIds")
    if tids is not None:
        w.add("s.ID = ANY(%s)", tids)
    for key, negate in (("jobs", ""), ("excludeJobs", "NOT ")):
        jobs = _jobs(body, key)
        if jobs:
            pairs = " OR ".join("(s.WORKFLOW_PATH = %s AND s.JOB_NAME = %s)" for _ in jobs)
            w.add(f"{negate}({pairs})", *[x for j in jobs for x in j])
    w.folders(WORKFLOW_FOLDER.format(t="s"), f.folders(body))
    sql = f"""SELECT s.*, {TASK_HSTATE} AS HSTATE FROM HISTORY_ORDER_STEPS s
              WHERE {{where}} ORDER BY s.START_TIME DESC, s.ID DESC"""
    return _limited(sql, w, limit)


def task_item(r: Row) -> Body:
    text = r["hstate"]
    item: Body = {
        "controllerId": r["controller_id"],
        "job": r["job_name"],
        "workflow": r["workflow_path"],
        "orderId": r["order_id"],
        "historyId": r["history_order_id"],
        "taskId": r["id"],
        "surveyDate": iso(r["end_time"] or r["start_time"]),
        "startTime": iso(r["start_time"]),
        "endTime": iso(r["end_time"]),
        # JOC's job/historyItem-schema: the position as a string.
        "position": position_string(json.loads(r["position"])),
        "sequence": 0,
        "retryCounter": 0,
        "criticality": "normal",
        "state": {"_text": text, "severity": HISTORY_SEVERITY[text]},
        # The reference JOC has no Agent inventory to name the URL from: the
        # Agent's path stands in (reference-only).
        "agentUrl": r["agent_path"],
        "exitCode": r["return_code"],
    }
    if r["error_text"] is not None:
        item["error"] = {"code": "JobFailed", "message": r["error_text"]}
    return item


# -- inventory/deployment/history (publish/depHistoryCompactFilter-schema.json) --


def compact_filter(body: Body) -> Body:
    if body.get("detailFilter") is not None:
        raise Problem(400, "UnsupportedField", "the reference serves 'compactFilter' only")
    cf = body.get("compactFilter", {})
    if not isinstance(cf, dict):
        raise f.invalid("compactFilter", "must be an object")
    return cf


def deployments_query(body: Body, controller_id: str, limit: int | None) -> Query:
    cf = compact_filter(body)
    w = f.Where()
    w.add("d.CONTROLLER_ID = %s", controller_id)
    account = f.text(cf, "account")
    if account is not None:
        w.add("d.ACCOUNT = %s", account)
    folder = f.text(cf, "folder")
    if folder is not None:
        w.folders("d.FOLDER", [(folder.rstrip("/") or "/", True)])
    for key, column, allowed in (
        ("deployType", "d.TYPE", DEPLOY_TYPES),
        ("operation", "d.OPERATION", ("UPDATE", "DELETE")),
        ("state", "d.STATE", ("DEPLOYED", "NOT_DEPLOYED")),
    ):
        v = f.text(cf, key)
        if v is not None and v not in allowed:
            raise f.invalid(f"compactFilter.{key}", f"must be one of {allowed}, not {v!r}")
        if v is not None:
            w.add(f"{column} = %s", v)
    w.range("d.DEPLOYMENT_DATE", {**cf, "timeZone": cf.get("timeZone")}, "from", "to")
    sql = """SELECT d.COMMIT_ID, d.CONTROLLER_ID, max(d.ACCOUNT) AS ACCOUNT,
                    min(d.OPERATION) AS OPERATION, min(d.STATE) AS STATE,
                    max(d.DEPLOYMENT_DATE) AS DEPLOYMENT_DATE, min(d.ID) AS DEPLOYMENT_ID,
                    min(d.FOLDER) AS FOLDER,
                    count(*) FILTER (WHERE d.TYPE = 'WORKFLOW') AS WORKFLOWS,
                    count(*) FILTER (WHERE d.TYPE = 'JOBRESOURCE') AS JOB_RESOURCES,
                    count(*) FILTER (WHERE d.TYPE = 'FILEORDERSOURCE') AS FILE_ORDER_SOURCES,
                    count(*) FILTER (WHERE d.TYPE = 'NOTICEBOARD') AS BOARDS,
                    count(*) FILTER (WHERE d.TYPE = 'LOCK') AS LOCKS
             FROM (SELECT *, coalesce(nullif(regexp_replace(PATH, '/[^/]*$', ''), ''), '/')
                       AS FOLDER FROM DEP_HISTORY) d
             WHERE {where} GROUP BY d.COMMIT_ID, d.CONTROLLER_ID
             ORDER BY max(d.DEPLOYMENT_DATE) DESC, min(d.ID) DESC"""
    return _limited(sql, w, limit)


def deployment_item(r: Row) -> Body:
    """DepHistoryItem as JOC answers the compact filter: one per commit."""
    return {
        "account": r["account"],
        "folder": r["folder"],
        "controllerId": r["controller_id"],
        "commitId": r["commit_id"],
        "version": r["commit_id"],
        "operation": r["operation"],
        "state": r["state"],
        "deploymentDate": iso(r["deployment_date"]),
        "deploymentId": r["deployment_id"],
        "workflowCount": r["workflows"],
        "jobResourceCount": r["job_resources"],
        "fileOrderSourceCount": r["file_order_sources"],
        "boardCount": r["boards"],
        "lockCount": r["locks"],
    }


# -- audit_log (audit/auditLogFilter-schema.json) -------------------------------


def audit_query(body: Body, controller_id: str, limit: int | None) -> Query:
    w = f.Where()
    w.add("(a.CONTROLLER_ID = %s OR a.CONTROLLER_ID IS NULL)", controller_id)
    w.range("a.CREATED", body, "dateFrom", "dateTo")
    cats = f.strings(body, "categories", CATEGORIES)
    if cats is not None:
        w.add("a.CATEGORY = ANY(%s)", cats)
    account = f.text(body, "account")
    if account is not None:
        w.add("a.ACCOUNT = %s", account)
    w.glob("a.COMMENT", f.text(body, "comment"))
    w.glob("a.TICKET_LINK", f.text(body, "ticketLink"))
    sql = """SELECT a.* FROM JOC_AUDIT_LOG a WHERE {where} ORDER BY a.CREATED DESC, a.ID DESC"""
    return _limited(sql, w, limit)


def _camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(p.capitalize() for p in rest)


AUDIT_COLUMNS = (
    "id",
    "account",
    "request",
    "controller_id",
    "category",
    "comment",
    "parameters",
    "time_spent",
    "ticket_link",
    "commit_id",
)


def audit_item(r: Row) -> Body:
    return {**{_camel(c): r[c] for c in AUDIT_COLUMNS}, "created": iso(r["created"])}


VIEWS = {
    "ORDER": View("orders/history", "history", 10_000, orders_query, order_item),
    "TASK": View("tasks/history", "history", 10_000, tasks_query, task_item),
    "DEPLOYMENT": View(
        "inventory/deployment/history", "depHistory", 5_000, deployments_query, deployment_item
    ),
    "AUDITLOG": View("audit_log", "auditLog", 10_000, audit_query, audit_item),
}


def view_limit(view: View, body: Body) -> int | None:
    if view.path == "inventory/deployment/history":
        return f.limit(compact_filter(body), view.default_limit)
    return f.limit(body, view.default_limit)
