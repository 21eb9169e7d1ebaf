"""The Daily Plan: a schedule's orders of one day, submitted to the Controller
with ``scheduledFor`` — so they run whether JOC is up or not.

What must hold: a planned order has a deterministic id
(``#<date>#P<HHMMSS>-<schedule>``), so planning twice plans nothing twice and
submitting twice adds nothing twice (the Controller answers
``ignoredBecauseDuplicate``, which counts as submitted).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import aiohttp
import psycopg

from components.common.client import ProblemError
from components.joc.cluster import Fenced, fence, open_activity
from components.joc.config import Schedule
from components.joc.controllers import ControllerLocator, NoActiveController
from components.joc.db import Database, DatabaseUnavailable, execute_whole, json_rows

log = logging.getLogger("js7.joc.dailyplan")
Conn = psycopg.AsyncConnection[Any]

# The columns of a planned order that DPL_ORDERS stores.
STORED = ("orderId", "controllerId", "scheduleName", "workflowPath", "planDate", "scheduledFor")


def planned_orders(controller_id: str, date: dt.date, s: Schedule) -> list[dict[str, Any]]:
    out = []
    for t in s.times:
        h, m, sec = (int(x) for x in t.split(":"))
        at = dt.datetime(date.year, date.month, date.day, h, m, sec, tzinfo=dt.UTC)
        out.append(
            {
                "orderId": f"#{date.isoformat()}#P{h:02d}{m:02d}{sec:02d}-{s.name}",
                "controllerId": controller_id,
                "scheduleName": s.name,
                "workflowPath": s.workflow_path,
                "planDate": date,
                "scheduledFor": at,
                "arguments": s.arguments,
            }
        )
    return out


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
        configured schedules, again every interval (it is idempotent)."""
        try:
            while True:
                if self.schedules:
                    try:
                        today = dt.datetime.now(dt.UTC).date()
                        for day in (today, today + dt.timedelta(days=1)):
                            await self.generate(day, self.schedules, epoch=epoch)
                    except (DatabaseUnavailable, NoActiveController) as exc:
                        log.warning("daily plan not submitted yet: %s", exc)
                await asyncio.sleep(self.interval)
        except Fenced as exc:
            log.warning("Daily Plan Service fenced: %s", exc)

    async def generate(
        self,
        date: dt.date,
        schedules: tuple[Schedule, ...] | list[Schedule],
        *,
        epoch: int | None = None,
        submit: bool = True,
    ) -> dict[str, Any]:
        """Plan the day's orders (stored in ``DPL_ORDERS``) and submit the
        unsubmitted ones. ``epoch``: fence the writes (the service); ``None``:
        a user's request, allowed on any instance."""
        orders = [o for s in schedules for o in planned_orders(self.controller_id, date, s)]

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
                    """INSERT INTO DPL_ORDERS (ORDER_ID, CONTROLLER_ID, SCHEDULE_NAME,
                           WORKFLOW_PATH, PLAN_DATE, SCHEDULED_FOR, CREATED)
                       SELECT r."orderId", r."controllerId", r."scheduleName",
                           r."workflowPath", r."planDate", r."scheduledFor", now()
                       FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ("orderId" text,
                           "controllerId" text, "scheduleName" text, "workflowPath" text,
                           "planDate" date, "scheduledFor" timestamptz))
                       WITH ORDINALITY AS r("orderId", "controllerId", "scheduleName",
                           "workflowPath", "planDate", "scheduledFor", n)
                       ORDER BY r.n
                       ON CONFLICT (ORDER_ID) DO NOTHING""",
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
        submitted: list[str] = []
        if submit and todo:
            _, ctl = await self.locator.active()
            for o in todo:
                try:
                    # A planned order submitted before answers
                    # ignoredBecauseDuplicate: it counts as submitted.
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

            if submitted:
                await self.db.run(mark)
        return {
            "dailyPlanDate": date.isoformat(),
            "planned": [o["orderId"] for o in orders],
            "submitted": submitted,
        }

    async def list(self, date: dt.date | None) -> list[dict[str, Any]]:
        async def read(conn: Conn) -> list[dict[str, Any]]:
            cur = await conn.execute(
                """SELECT ORDER_ID, SCHEDULE_NAME, WORKFLOW_PATH, PLAN_DATE, SCHEDULED_FOR,
                          SUBMITTED FROM DPL_ORDERS
                   WHERE CONTROLLER_ID = %s AND (%s::date IS NULL OR PLAN_DATE = %s::date)
                   ORDER BY SCHEDULED_FOR, ORDER_ID""",
                (self.controller_id, date, date),
            )
            return [
                {
                    "orderId": r[0],
                    "schedulePath": r[1],
                    "workflowPath": r[2],
                    "dailyPlanDate": r[3].isoformat(),
                    "plannedStartTime": r[4].isoformat(),
                    "submitted": bool(r[5]),
                }
                for r in await cur.fetchall()
            ]

        return await self.db.run(read)
