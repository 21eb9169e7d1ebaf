"""The Daily Plan: a schedule's orders of one day, submitted to the Controller
with ``scheduledFor`` — so they run whether JOC is up or not. The schedules
are the configured ones and the inventory's released ones
(``components.joc.inventory``), at their calendars' times of day.

What must hold: a planned order has a deterministic id
(``#<date>#P<HHMMSS>-<schedule>``, the time of day in the schedule's time
zone; an inventory schedule adds ``-<orderName>`` of its order
parameterisation, and ``-<workflow>`` when it names several), so planning
twice plans nothing twice and submitting twice adds nothing twice (the
Controller answers ``ignoredBecauseDuplicate``, which counts as submitted).
JOC's own ids differ (``#<date>#P<number>-<orderName>``): the reference's
are deterministic instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from components.common.client import ProblemError
from components.joc.cluster import Fenced, fence, open_activity
from components.joc.config import Schedule
from components.joc.controllers import ControllerLocator, NoActiveController
from components.joc.db import Conn, Database, DatabaseUnavailable, execute_whole, json_rows
from components.joc.inventory import in_folder, released, schedules_for, workflow_paths
from components.joc.timestamps import delivery, iso
from components.joc.views import submissions

log = logging.getLogger("js7.joc.dailyplan")

# The columns of a planned order that DPL_ORDERS stores.
STORED = (
    "orderId",
    "controllerId",
    "scheduleName",
    "workflowPath",
    "planDate",
    "scheduledFor",
    "orderName",
    "arguments",
    "timeZone",
)
# JOC's daily plan order states and their severities (dailyPlanOrderState).
STATE_SEVERITY = {"PLANNED": 4, "SUBMITTED": 5, "FINISHED": 6}
LATE = dt.timedelta(minutes=2)  # JOC: late is two minutes after the planned start


def planned_orders(controller_id: str, date: dt.date, s: Schedule) -> list[dict[str, Any]]:
    tz = ZoneInfo(s.time_zone)
    out = []
    for t in s.times:
        h, m, sec = (int(x) for x in t.split(":"))
        at = dt.datetime(date.year, date.month, date.day, h, m, sec, tzinfo=tz)
        out.append(
            {
                "orderId": f"#{date.isoformat()}#P{h:02d}{m:02d}{sec:02d}-{s.name}",
                "controllerId": controller_id,
                "scheduleName": s.schedule_path,
                "workflowPath": s.workflow_path,
                "planDate": date,
                "scheduledFor": at.astimezone(dt.UTC),
                "orderName": s.order_name or s.name,
                "arguments": s.arguments,
                "timeZone": s.time_zone,
            }
        )
    return out


@dataclass(frozen=True)
class Selection:
    """JOC's selectors of schedules and workflows (``schedulePaths``,
    ``workflowPaths``: singles by path or name; folders with ``recursive``);
    each kind that is given must match, within a kind any entry does."""

    schedules: tuple[str, ...] | None = None
    schedule_folders: tuple[tuple[str, bool], ...] | None = None
    workflows: tuple[str, ...] | None = None
    workflow_folders: tuple[tuple[str, bool], ...] | None = None

    @staticmethod
    def _one(path: str, singles: Any, folders: Any) -> bool:
        if singles is None and folders is None:
            return True
        name = path.rsplit("/", 1)[-1]
        if singles is not None and (path in singles or name in singles):
            return True
        return any(in_folder(path, f, r) for f, r in folders or ())

    def selects(self, schedule_path: str, workflow_path: str) -> bool:
        workflow = workflow_path if workflow_path.startswith("/") else f"/{workflow_path}"
        return self._one(schedule_path, self.schedules, self.schedule_folders) and self._one(
            workflow, self.workflows, self.workflow_folders
        )


class DailyPlanService:
    def __init__(
        self,
        db: Database,
        member_id: str,
        controller_id: str,
        locator: ControllerLocator,
        schedules: tuple[Schedule, ...],
        interval: float,
    ) -> None:
        self.db = db
        self.member_id = member_id
        self.controller_id = controller_id
        self.locator = locator
        self.schedules = schedules
        self.interval = interval

    async def run(self, epoch: int) -> None:
        """While active: plan and submit today's and tomorrow's orders of the
        configured schedules and of the released schedules that JOC plans
        automatically (``planOrderAutomatically``), again every interval (it
        is idempotent)."""
        try:
            while True:
                try:
                    today = dt.datetime.now(dt.UTC).date()
                    for day in (today, today + dt.timedelta(days=1)):
                        schedules = await self.schedules_of(day, Selection(), auto_only=True)
                        if schedules:
                            await self.generate(day, schedules, epoch=epoch)
                except (DatabaseUnavailable, NoActiveController) as exc:
                    log.warning("daily plan not submitted yet: %s", exc)
                await asyncio.sleep(self.interval)
        except Fenced as exc:
            log.warning("Daily Plan Service fenced: %s", exc)

    async def schedules_of(
        self, day: dt.date, selection: Selection, *, auto_only: bool
    ) -> list[Schedule]:
        """The schedules that plan orders on ``day``: the configured ones
        (planned automatically) and the released ones of the inventory, as
        ``selection`` selects them; ``auto_only``: only those JOC plans
        automatically."""

        async def read(conn: Conn) -> tuple[list[Any], dict[str, Any], dict[str, str]]:
            calendars = {c.name: c.content for c in await released(conn, "WORKINGDAYSCALENDAR")}
            return await released(conn, "SCHEDULE"), calendars, await workflow_paths(conn)

        found, calendars, paths = await self.db.run(read)
        out = list(self.schedules)
        for r in found:
            if auto_only and not r.content.get("planOrderAutomatically", False):
                continue
            out += schedules_for(r, calendars, day)
        return [
            s
            for s in out
            if selection.selects(s.schedule_path, paths.get(s.workflow_path, s.workflow_path))
        ]

    async def generate(
        self,
        date: dt.date,
        schedules: tuple[Schedule, ...] | list[Schedule],
        *,
        epoch: int | None = None,
        submit: bool = True,
        overwrite: bool = False,
    ) -> dict[str, Any]:
        """Plan the day's orders (stored in ``DPL_ORDERS``) and submit the
        unsubmitted ones. ``epoch``: fence the writes (the service); ``None``:
        a user's request, allowed on any instance. ``overwrite``: a planned
        order not yet submitted takes the schedule's current arguments (a
        submitted one is the Controller's and stays as it is)."""
        orders = [o for s in schedules for o in planned_orders(self.controller_id, date, s)]
        conflict = (
            """DO UPDATE SET SCHEDULE_NAME = EXCLUDED.SCHEDULE_NAME,
                   WORKFLOW_PATH = EXCLUDED.WORKFLOW_PATH, ORDER_NAME = EXCLUDED.ORDER_NAME,
                   ARGUMENTS = EXCLUDED.ARGUMENTS, TIME_ZONE = EXCLUDED.TIME_ZONE
               WHERE NOT DPL_ORDERS.SUBMITTED"""
            if overwrite
            else "DO NOTHING"
        )

        async def store(conn: Conn) -> list[dict[str, Any]]:
            async with conn.transaction():
                if epoch is not None:
                    await fence(conn, self.member_id, epoch)
                    await open_activity(conn, self.member_id, "dailyplan", epoch)
                # One statement sent as one message, never ``executemany``:
                # mid-pipeline (or mid-message) the server arms neither
                # statement_timeout nor idle_in_transaction_session_timeout,
                # and a process frozen there would hold the fence's lock on
                # JOC_CLUSTER — keeping every standby from taking over — for
                # as long as it stays frozen (see db.execute_whole).
                await execute_whole(
                    conn,
                    f"""INSERT INTO DPL_ORDERS (ORDER_ID, CONTROLLER_ID, SCHEDULE_NAME,
                           WORKFLOW_PATH, PLAN_DATE, SCHEDULED_FOR, ORDER_NAME, ARGUMENTS,
                           TIME_ZONE, CREATED)
                       SELECT r."orderId", r."controllerId", r."scheduleName",
                           r."workflowPath", r."planDate", r."scheduledFor", r."orderName",
                           r."arguments"::text, r."timeZone", now()
                       FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ("orderId" text,
                           "controllerId" text, "scheduleName" text, "workflowPath" text,
                           "planDate" date, "scheduledFor" timestamptz, "orderName" text,
                           "arguments" jsonb, "timeZone" text))
                       WITH ORDINALITY AS r("orderId", "controllerId", "scheduleName",
                           "workflowPath", "planDate", "scheduledFor", "orderName",
                           "arguments", "timeZone", n)
                       ORDER BY r.n
                       ON CONFLICT (ORDER_ID) {conflict}""",
                    (json_rows([{k: o[k] for k in STORED} for o in orders]),),
                )
                cur2 = await execute_whole(
                    conn,
                    "SELECT ORDER_ID FROM DPL_ORDERS WHERE SUBMITTED AND ORDER_ID = ANY(%s)",
                    ([o["orderId"] for o in orders],),
                )
                done = {r[0] for r in await cur2.fetchall()}
            return [o for o in orders if o["orderId"] not in done]

        todo = await self.db.run(store)
        submitted = await self._submit(todo, epoch) if submit and todo else []
        return {
            "dailyPlanDate": date.isoformat(),
            "planned": [o["orderId"] for o in orders],
            "submitted": submitted,
        }

    async def _submit(self, todo: list[dict[str, Any]], epoch: int | None) -> list[str]:
        """AddOrder each planned order with its ``scheduledFor``; marks the
        ones the Controller took (a planned order submitted before answers
        ``ignoredBecauseDuplicate``: it counts as submitted)."""
        submitted: list[str] = []
        messages: dict[str, str] = {}  # why an order was not submitted
        _, ctl = await self.locator.active()
        for o in todo:
            try:
                await ctl.command(
                    {
                        "TYPE": "AddOrder",
                        "order": {
                            "id": o["orderId"],
                            "workflowPath": o["workflowPath"],
                            "scheduledFor": int(o["scheduledFor"].timestamp() * 1000),
                            "arguments": o["arguments"],
                        },
                    }
                )
            except ProblemError as exc:
                log.warning("planned order %s not submitted: %s", o["orderId"], exc)
                messages[o["orderId"]] = str(exc)
                continue
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.locator.forget()
                log.warning("Controller unreachable, submission retried later: %s", exc)
                break
            submitted.append(o["orderId"])

        async def mark(conn: Conn) -> None:
            async with conn.transaction():
                if epoch is not None:
                    await fence(conn, self.member_id, epoch)
                await execute_whole(
                    conn,
                    """UPDATE DPL_ORDERS SET SUBMITTED = TRUE, SUBMIT_TIME = now()
                       WHERE ORDER_ID = ANY(%s)""",
                    (submitted,),
                )
                # The Submission History: what this submission tried, done or not.
                tried = todo[: len(submitted) + len(messages)]
                await submissions.record(conn, self.controller_id, tried, set(submitted), messages)

        if submitted or messages:
            await self.db.run(mark)
        return submitted

    async def _rows(self, date_from: dt.date, date_to: dt.date) -> list[dict[str, Any]]:
        """The planned orders of the days, with what History knows of each."""

        async def read(conn: Conn) -> list[dict[str, Any]]:
            cur = await conn.execute(
                """SELECT d.ORDER_ID, d.SCHEDULE_NAME, d.WORKFLOW_PATH, d.PLAN_DATE,
                          d.SCHEDULED_FOR, d.SUBMITTED, d.ORDER_NAME, d.ARGUMENTS,
                          h.ID, h.START_TIME, h.END_TIME, h.STATE,
                          coalesce(i.PATH, d.WORKFLOW_PATH) AS INVENTORY_PATH
                   FROM DPL_ORDERS d
                   LEFT JOIN INV_CONFIGURATIONS i
                       ON i.TYPE = 'WORKFLOW' AND i.NAME = d.WORKFLOW_PATH
                   LEFT JOIN LATERAL (
                       SELECT ID, START_TIME, END_TIME, STATE FROM HISTORY_ORDERS
                       WHERE CONTROLLER_ID = d.CONTROLLER_ID AND ORDER_ID = d.ORDER_ID
                       ORDER BY ID DESC LIMIT 1) h ON TRUE
                   WHERE d.CONTROLLER_ID = %s AND d.PLAN_DATE BETWEEN %s AND %s
                   ORDER BY d.SCHEDULED_FOR, d.ORDER_ID""",
                (self.controller_id, date_from, date_to),
            )
            cols = [d.name for d in cur.description or []]
            return [dict(zip(cols, r, strict=True)) for r in await cur.fetchall()]

        return await self.db.run(read)

    async def submit_planned(
        self,
        date_from: dt.date | None,
        date_to: dt.date | None,
        selection: Selection,
        order_ids: list[str] | None,
    ) -> list[str]:
        """JOC's ``daily_plan/orders/submit``: submit the selected planned
        orders not submitted yet; answers the ids the Controller took."""
        lo = date_from or dt.date.min
        rows = await self._rows(lo, date_to or date_from or dt.date.max)
        todo = [
            {
                "orderId": r["order_id"],
                "workflowPath": r["workflow_path"],
                "planDate": r["plan_date"],
                "scheduledFor": r["scheduled_for"],
                "arguments": json.loads(r["arguments"]) if r["arguments"] else {},
            }
            for r in rows
            if not r["submitted"]
            and selection.selects(r["schedule_name"], r["inventory_path"])
            and (order_ids is None or r["order_id"] in order_ids)
        ]
        return await self._submit(todo, None) if todo else []

    async def list(
        self,
        date_from: dt.date,
        date_to: dt.date,
        selection: Selection,
        order_ids: list[str] | None = None,
        states: list[str] | None = None,
        late: bool = False,
    ) -> list[dict[str, Any]]:
        """JOC's ``daily_plan/orders``: plannedOrderItems (orderManagement/
        dailyplan/plannedOrderItem-schema.json). The state is FINISHED once
        History has the order's end, SUBMITTED once submitted, else PLANNED."""
        now = dt.datetime.now(dt.UTC)
        out = []
        for r in await self._rows(date_from, date_to):
            if not selection.selects(r["schedule_name"], r["inventory_path"]):
                continue
            if order_ids is not None and r["order_id"] not in order_ids:
                continue
            finished = r["end_time"] is not None
            text = "FINISHED" if finished else "SUBMITTED" if r["submitted"] else "PLANNED"
            is_late = r["start_time"] is None and not finished and now > r["scheduled_for"] + LATE
            if (states and text not in states) or (late and not is_late):
                continue
            item: dict[str, Any] = {
                "controllerId": self.controller_id,
                "surveyDate": delivery(),
                "workflowPath": r["inventory_path"],
                "schedulePath": r["schedule_name"],
                "orderId": r["order_id"],
                "orderName": r["order_name"] or r["schedule_name"].rsplit("/", 1)[-1],
                "plannedStartTime": iso(r["scheduled_for"]),
                "expectedEndTime": iso(r["scheduled_for"]),
                "startMode": 0,
                "late": is_late,
                "submitted": bool(r["submitted"]),
                "state": {"_text": text, "severity": STATE_SEVERITY[text]},
            }
            if r["id"] is not None:
                item["historyId"] = str(r["id"])
                item["startTime"] = iso(r["start_time"])
                if finished:
                    item["endTime"] = iso(r["end_time"])
            out.append(item)
        return out
