"""The History sub-views' endpoints: JOC's list endpoints (a JSON answer
each, as ``api.raml`` names them) and js7ha's export endpoints
(``export/<view path>``: the same filter, the ``.xlsx`` JOC's GUI would
save). The handlers take (request, body, session) like every API route."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from aiohttp import web

from components.common.web import Problem
from components.joc.db import Conn
from components.joc.timestamps import delivery
from components.joc.views import export, submissions
from components.joc.views import filters as f
from components.joc.views.subviews import VIEWS, View, view_limit

Body = dict[str, Any]
Handler = Callable[[web.Request, Body, Any], Awaitable[web.StreamResponse]]
BATCH = 1_000  # rows fetched (and written) at a time by an export
CHUNK = 256 * 1024


class HistoryViews:
    """Bound to one JOC instance's database and Controller id."""

    def __init__(self, db: Any, controller_id: str, export_timeout: float = 600.0) -> None:
        self.db = db
        self.controller_id = controller_id
        self.export_timeout = export_timeout

    # -- REST ------------------------------------------------------------------

    def list_handler(self, kind: str) -> Handler:
        view = VIEWS[kind]

        async def handle(_: web.Request, body: Body, __: Any) -> web.Response:
            items = await self.items(view, body)
            return web.json_response({"deliveryDate": delivery(), view.key: items})

        return handle

    async def items(self, view: View, body: Body) -> list[Body]:
        q = view.query(body, self.controller_id, view_limit(view, body))

        async def read(conn: Conn) -> list[Body]:
            cur = await conn.execute(q.sql.encode(), q.params)
            cols = [d.name for d in cur.description or []]
            return [view.item(dict(zip(cols, r, strict=True))) for r in await cur.fetchall()]

        return list(await self.db.run(read))

    def submission_handler(self, level: Callable[[Conn, Body, str], Awaitable[Body]]) -> Handler:
        async def handle(_: web.Request, body: Body, __: Any) -> web.Response:
            out = await self.db.run(lambda conn: level(conn, body, self.controller_id))
            return web.json_response({"deliveryDate": delivery(), **out})

        return handle

    # -- export ------------------------------------------------------------------

    def export_handler(self, kind: str) -> Handler:
        async def handle(request: web.Request, body: Body, __: Any) -> web.StreamResponse:
            tz = f.time_zone(body)
            wide = not body.get("controllerId")
            fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="js7ha-export-")
            os.close(fd)
            try:
                if kind == "SUBMISSION":
                    await self._write_submissions(path, body, tz, wide)
                else:
                    await self._write_items(path, VIEWS[kind], kind, body, tz, wide)
                return await _send(request, path, export.FILE_NAMES[kind])
            except psycopg.Error as exc:  # the server ended the export's session
                raise Problem(503, "DatabaseUnavailable", f"the JOC database: {exc}") from None
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(path)

        return handle

    async def _write_items(
        self, path: str, view: View, kind: str, body: Body, tz: Any, wide: bool
    ) -> None:
        q = view.query(body, self.controller_id, view_limit(view, body))
        sheet = export.Sheet(path, export.header(kind, wide))

        def write(rows: list[Body]) -> None:
            for cells in export.item_rows(kind, rows, tz, wide):
                sheet.write(cells)

        async def stream(conn: Conn) -> None:
            # A server-side cursor: the view is read BATCH rows at a time,
            # each batch written before the next is fetched.
            async with conn.transaction(), conn.cursor(name="export") as cur:
                # A read-only transaction that holds no lock a take-over
                # waits for: it may stay open while a batch is written, up
                # to the export's own deadline (the instance-wide idle
                # timeout is for the fenced writers).
                ms = int(self.export_timeout * 1000)
                await conn.execute(f"SET LOCAL idle_in_transaction_session_timeout = {ms}")
                await conn.execute(f"SET LOCAL statement_timeout = {ms}")
                await cur.execute(q.sql.encode(), q.params)
                cols: list[str] | None = None
                while rows := await cur.fetchmany(BATCH):
                    cols = cols or [d.name for d in cur.description or []]
                    items = [view.item(dict(zip(cols, r, strict=True))) for r in rows]
                    # The workbook's CPU work off the event loop: the
                    # instance's heartbeat and live feed go on meanwhile.
                    await asyncio.to_thread(write, items)

        try:
            await self.db.run(stream, timeout=self.export_timeout)
        finally:
            await asyncio.to_thread(sheet.close)

    async def _write_submissions(self, path: str, body: Body, tz: Any, wide: bool) -> None:
        """The fully expanded tree: days → submissions → orders."""

        async def tree(conn: Conn) -> list[Body]:
            days = (await submissions.dates(conn, body, self.controller_id))["dates"]
            for day in days:
                for ctl in day["controllers"]:
                    level = {"controllerId": ctl["controllerId"], "date": day["date"]}
                    if body.get("submitted") is not None:
                        level["submitted"] = body["submitted"]
                    times = await submissions.submission_times(conn, level, ctl["controllerId"])
                    ctl["submissions"] = times["submissionTimes"]
                    for sub in ctl["submissions"]:
                        one = {**level, "submissionTime": sub["submissionTime"]}
                        sub.update(await submissions.orders(conn, one, ctl["controllerId"]))
            return days

        days = await self.db.run(tree, timeout=self.export_timeout)

        def write() -> None:
            sheet = export.Sheet(path, export.header("SUBMISSION", wide))
            for cells in export.submission_rows(days, tz, wide):
                sheet.write(cells)
            sheet.close()

        await asyncio.to_thread(write)


async def _send(request: web.Request, path: str, name: str) -> web.StreamResponse:
    resp = web.StreamResponse(
        headers={
            "Content-Type": export.MIME,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(os.stat(path).st_size),
        }
    )
    await resp.prepare(request)
    with open(path, "rb") as fh:  # noqa: ASYNC230 - a local temp file, read in chunks
        while chunk := fh.read(CHUNK):
            await resp.write(chunk)
    await resp.write_eof()
    return resp


def routes(views: HistoryViews) -> list[tuple[str, str, Handler, str, tuple[str, ...]]]:
    """(path, permission, handler, summary, fields) of every endpoint."""
    common = ("controllerId", "dateFrom", "dateTo", "timeZone", "folders", "limit")
    out: list[tuple[str, str, Handler, str, tuple[str, ...]]] = [
        (
            "orders/history",
            "view",
            views.list_handler("ORDER"),
            "Order history (order/ordersFilter-schema.json → orderHistory-schema.json)",
            (
                *common,
                "historyStates",
                "orderId",
                "workflowPath",
                "workflowName",
                "orders",
                "orderIds",
                "historyIds",
                "completedDateFrom",
                "completedDateTo",
                "excludeWorkflows",
            ),
        ),
        (
            "tasks/history",
            "view",
            views.list_handler("TASK"),
            "Task history (job/jobsFilter-schema.json → job/history-schema.json)",
            (
                *common,
                "historyStates",
                "jobName",
                "workflowPath",
                "workflowName",
                "orderId",
                "orderIds",
                "taskIds",
                "jobs",
                "excludeJobs",
                "completedDateFrom",
                "completedDateTo",
            ),
        ),
        (
            "inventory/deployment/history",
            "view",
            views.list_handler("DEPLOYMENT"),
            "Deployment history (publish/showDepHistoryFilter-schema.json: compactFilter)",
            ("compactFilter",),
        ),
        (
            "daily_plan/history",
            "view",
            views.submission_handler(submissions.dates),
            "Submission history: days (dailyplan/history/main-request-schema.json)",
            ("controllerId", "dateFrom", "dateTo", "submitted", "limit"),
        ),
        (
            "daily_plan/history/submissions",
            "view",
            views.submission_handler(submissions.submission_times),
            "Submission history: a day's submissions",
            ("controllerId", "date", "submitted", "limit"),
        ),
        (
            "daily_plan/history/submissions/orders",
            "view",
            views.submission_handler(submissions.orders),
            "Submission history: a submission's orders",
            ("controllerId", "date", "submissionTime", "submitted", "limit"),
        ),
        (
            "audit_log",
            "view",
            views.list_handler("AUDITLOG"),
            "Audit log (audit/auditLogFilter-schema.json)",
            (
                "controllerId",
                "dateFrom",
                "dateTo",
                "timeZone",
                "categories",
                "account",
                "comment",
                "ticketLink",
                "limit",
            ),
        ),
    ]
    exports = {
        "ORDER": "orders/history",
        "TASK": "tasks/history",
        "DEPLOYMENT": "inventory/deployment/history",
        "SUBMISSION": "daily_plan/history",
        "AUDITLOG": "audit_log",
    }
    fields = {r[0]: r[4] for r in out}
    for kind, path in exports.items():
        out.append(
            (
                f"export/{path}",
                "view",
                views.export_handler(kind),
                f"js7ha: {path} as JOC's GUI exports it ({export.FILE_NAMES[kind]})",
                fields[path],
            )
        )
    return out
