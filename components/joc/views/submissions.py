"""The Submission History (daily_plan/history, api.raml L1350-1409): three
levels a user expands one by one — days, a day's submissions, a
submission's orders — from ``DPL_HISTORY``, one row per order the Daily Plan
tried to submit (``record``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from components.joc.db import Conn, execute_whole
from components.joc.timestamps import iso
from components.joc.views import filters as f

Body = dict[str, Any]
DEFAULT_LIMIT = 5_000


async def record(
    conn: Conn, controller_id: str, orders: list[Body], submitted: set[str], messages: Body
) -> None:
    """One submission: every order tried, submitted or not, at one time
    (milliseconds, as JOC's ``submissionTime`` names it)."""
    if not orders:
        return
    # One simple-protocol message: this runs inside the Daily Plan's fenced
    # transaction (see db.execute_whole).
    await execute_whole(
        conn,
        """INSERT INTO DPL_HISTORY (CONTROLLER_ID, DAILY_PLAN_DATE, SUBMISSION_TIME, ORDER_ID,
               WORKFLOW_PATH, SCHEDULED_FOR, SUBMITTED, MESSAGE)
           SELECT %s, d, date_trunc('milliseconds', now()), o, w, s, o = ANY(%s), m
           FROM unnest(%s::date[], %s::text[], %s::text[], %s::timestamptz[], %s::text[])
               AS t(d, o, w, s, m)""",
        (
            controller_id,
            list(submitted),
            [x["planDate"] for x in orders],
            [x["orderId"] for x in orders],
            [x["workflowPath"] for x in orders],
            [x["scheduledFor"] for x in orders],
            [messages.get(x["orderId"]) for x in orders],
        ),
    )


def _submitted(body: Body) -> bool | None:
    v = body.get("submitted")
    if v is not None and not isinstance(v, bool):
        raise f.invalid("submitted", "must be a boolean")
    return v


def _required_day(body: Body) -> dt.date:
    d = f.day(body, "date")
    if d is None:
        raise f.invalid("date", "is required")
    return d


def _where(body: Body, controller_id: str | None) -> f.Where:
    w = f.Where()
    if controller_id is not None:
        w.add("CONTROLLER_ID = %s", controller_id)
    submitted = _submitted(body)
    if submitted is not None:
        w.add("SUBMITTED = %s", submitted)
    return w


async def _all(conn: Conn, sql: str, params: list[Any]) -> list[Any]:
    cur = await conn.execute(sql.encode(), params)
    return list(await cur.fetchall())


async def dates(conn: Conn, body: Body, controller_id: str) -> Body:
    """Level 1 (dailyplan/history/main-request-schema.json)."""
    w = _where(body, body.get("controllerId") or None)
    lo, hi = f.day(body, "dateFrom"), f.day(body, "dateTo")
    if lo is not None:
        w.add("DAILY_PLAN_DATE >= %s", lo)
    if hi is not None:
        w.add("DAILY_PLAN_DATE <= %s", hi)
    limit = f.limit(body, DEFAULT_LIMIT)
    rows = await _all(
        conn,
        f"""SELECT DAILY_PLAN_DATE, CONTROLLER_ID, count(*), count(*) FILTER (WHERE SUBMITTED)
            FROM DPL_HISTORY WHERE {w.sql()} GROUP BY DAILY_PLAN_DATE, CONTROLLER_ID
            ORDER BY DAILY_PLAN_DATE DESC, CONTROLLER_ID""",
        w.params,
    )
    out: list[Body] = []
    for day, cid, total, done in rows:
        if not out or out[-1]["date"] != day.isoformat():
            if limit is not None and len(out) == limit:
                break
            out.append(
                {"date": day.isoformat(), "countTotal": 0, "countSubmitted": 0, "controllers": []}
            )
        d = out[-1]
        d["countTotal"] += total
        d["countSubmitted"] += done
        d["controllers"].append({"controllerId": cid, "countTotal": total, "countSubmitted": done})
    return {"dates": out}


async def submission_times(conn: Conn, body: Body, controller_id: str) -> Body:
    """Level 2: a day's submissions."""
    if not body.get("controllerId"):
        raise f.invalid("controllerId", "is required")
    w = _where(body, controller_id)
    w.add("DAILY_PLAN_DATE = %s", _required_day(body))
    limit = f.limit(body, DEFAULT_LIMIT)
    rows = await _all(
        conn,
        f"""SELECT SUBMISSION_TIME, count(*), count(*) FILTER (WHERE SUBMITTED)
            FROM DPL_HISTORY WHERE {w.sql()} GROUP BY SUBMISSION_TIME
            ORDER BY SUBMISSION_TIME DESC {"LIMIT %s" if limit else ""}""",
        [*w.params, *([limit] if limit else [])],
    )
    return {
        "submissionTimes": [
            {"submissionTime": iso(t), "countTotal": n, "countSubmitted": k} for t, n, k in rows
        ]
    }


async def orders(conn: Conn, body: Body, controller_id: str) -> Body:
    """Level 3: a submission's orders, with its warnings and errors."""
    if not body.get("controllerId"):
        raise f.invalid("controllerId", "is required")
    when = f.date(body, "submissionTime")
    if when is None:
        raise f.invalid("submissionTime", "is required")
    w = _where(body, controller_id)
    w.add("DAILY_PLAN_DATE = %s", _required_day(body))
    w.add("SUBMISSION_TIME = %s", when)
    limit = f.limit(body, DEFAULT_LIMIT)
    rows = await _all(
        conn,
        f"""SELECT SCHEDULED_FOR, WORKFLOW_PATH, ORDER_ID, SUBMITTED, MESSAGE
            FROM DPL_HISTORY WHERE {w.sql()} ORDER BY SCHEDULED_FOR, ORDER_ID
            {"LIMIT %s" if limit else ""}""",
        [*w.params, *([limit] if limit else [])],
    )
    return {
        "orders": [
            {
                "scheduledFor": iso(s),
                "workflowPath": wf,
                "orderId": oid,
                "submitted": done,
                "permitted": True,
            }
            for s, wf, oid, done, _m in rows
        ],
        "warnMessages": [],
        "errorMessages": [f"{oid}: {m}" for _s, _w, oid, done, m in rows if m and not done],
    }
