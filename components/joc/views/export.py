"""The Excel export of a sub-view: what real JOC's GUI writes in the browser
(``excel.service.ts``: one sheet ``data``, the header row of the translated
English labels, JOC's column order, times in the user's time zone, durations
as ``calDuration`` writes them), written here on the server, row by row with
XlsxWriter's ``constant_memory`` mode so the size of the view does not
decide the memory used.

Known GUI quirks (HISTORY-VIEWS.md B.4), and what the reference does:
* order export's literal ``plannedTime`` header — followed (it is the
  header a JOC user's file has);
* the task export's unused planned time — followed (no such column);
* ``dailyPlanDate`` read where the item has ``date`` — fixed: the
  "Daily Plan Date" cell holds the day;
* ``timeSpend`` read where the schema has ``timeSpent`` — fixed: the
  "Time Spent" cell holds it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import xlsxwriter

Body = dict[str, Any]
Cell = str | int | float | None
Column = tuple[str, Callable[[Body, ZoneInfo], Cell]]
MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "data"  # excel.service.ts: SheetNames: ['data']
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # the GUI's default dateFormat, YYYY-MM-DD HH:mm:ss

FILE_NAMES = {
    "ORDER": "JS7-order-history-report.xlsx",
    "TASK": "JS7-task-history-report.xlsx",
    "DEPLOYMENT": "JS7-deployment-history-report.xlsx",
    "SUBMISSION": "JS7-submission-history-report.xlsx",
    "AUDITLOG": "JS7-audit-logs.xlsx",
}
# The GUI's English state texts (assets/i18n/en.json).
STATE_TEXT = {"SUCCESSFUL": "successful", "INCOMPLETE": "in progress", "FAILED": "failed"}


# Cached: a row's times repeat in its cells (the planned time is often the
# start time, and the duration reads start and end again).
@functools.lru_cache(maxsize=4096)
def _instant(v: Any) -> dt.datetime | None:
    if not v:
        return None
    return dt.datetime.fromisoformat(str(v))


@functools.lru_cache(maxsize=4096)
def when(v: Any, tz: ZoneInfo) -> str:
    """``coreService.stringToDate``: the time in the user's zone, ``-`` if none."""
    t = _instant(v)
    return t.astimezone(tz).strftime(TIME_FORMAT) if t else "-"


def duration(start: Any, end: Any) -> str:
    """``calDuration``: ``1d 2h 3m 4s``, ``3m 4s``, ``4 sec``, ``< 1 sec``, ``-``."""
    t0, t1 = _instant(start), _instant(end)
    if t0 is None or t1 is None:
        return "-"
    secs = int((t1 - t0).total_seconds())
    if secs < 1:
        return "< 1 sec"
    d, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if d:
        return f"{d}d {h}h {m}m {s}s"
    if h:
        return f"{h}h {m}m {s}s"
    if m:
        return f"{m}m {s}s"
    return f"{s} sec"


def _text(key: str) -> Callable[[Body, ZoneInfo], Cell]:
    return lambda item, _tz: item.get(key)


def _time(key: str) -> Callable[[Body, ZoneInfo], Cell]:
    return lambda item, tz: when(item.get(key), tz)


def _state(item: Body, _tz: ZoneInfo) -> Cell:
    text = str(item["state"]["_text"])
    return STATE_TEXT.get(text, text.lower())


def _label(item: Body, _tz: ZoneInfo) -> Cell:
    return item.get("label") or item.get("position")


def _duration(item: Body, _tz: ZoneInfo) -> Cell:
    return duration(item.get("startTime"), item.get("endTime"))


def _counts(item: Body, _tz: ZoneInfo) -> Cell:
    parts = [
        ("Workflows", "workflowCount"),
        ("File Order Source", "fileOrderSourceCount"),
        ("Job Resources", "jobResourceCount"),
        ("Notice Boards", "boardCount"),
        ("Resource Locks", "lockCount"),
    ]
    return "  ".join(f"{label}: {item[k]}" for label, k in parts if item.get(k))


CONTROLLER: Column = ("Controller ID", _text("controllerId"))
COLUMNS: dict[str, list[Column]] = {
    "ORDER": [
        ("Order ID", _text("orderId")),
        ("Workflow", _text("workflow")),
        ("Label", _label),
        ("Status", _state),
        ("Order State", lambda i, _tz: str(i["orderState"]["_text"]).lower()),
        ("plannedTime", _time("plannedTime")),
        ("Start Time", _time("startTime")),
        ("End Time", _time("endTime")),
        ("Duration", _duration),
    ],
    "TASK": [
        ("Job", _text("job")),
        ("Workflow", _text("workflow")),
        ("Label", _label),
        ("Status", _state),
        ("Start Time", _time("startTime")),
        ("End Time", _time("endTime")),
        ("Duration", _duration),
        ("Criticality", _text("criticality")),
        ("Return Code", _text("exitCode")),
    ],
    "DEPLOYMENT": [
        ("Deployment Date", _time("deploymentDate")),
        ("User Account", _text("account")),
        ("Status", lambda i, _tz: str(i.get("state") or "").lower().replace("_", " ")),
        ("Number Of Items", _counts),
    ],
    "AUDITLOG": [
        ("Created", _time("created")),
        ("User Account", _text("account")),
        ("Request", _text("request")),
        ("Category", _text("category")),
        ("Reason", _text("comment")),
        ("Time Spent", _text("timeSpent")),
        ("Ticket Link", _text("ticketLink")),
        ("Request Body", _text("parameters")),
    ],
}
# The submission export flattens three levels into rows with different keys;
# SheetJS' json_to_sheet makes the header the union in the order first seen.
SUBMISSION_HEADER = [
    "Daily Plan Date",
    "Total Count",
    "Submission Count",
    "Controller ID",
    "Submission",
    "Error Messages",
    "Order ID",
    "Workflow",
    "Scheduled for",
    "Status",
]


def columns(kind: str, with_controller: bool) -> list[Column]:
    """JOC's columns; ``Controller ID`` first only when the view spans all
    Controllers (the GUI's "current controller" box is off)."""
    return ([CONTROLLER] if with_controller else []) + COLUMNS[kind]


class Sheet:
    """One ``data`` sheet written row by row in constant memory."""

    def __init__(self, out: str | BinaryIO, header: list[str]) -> None:
        self.book = xlsxwriter.Workbook(out, {"constant_memory": True})
        self.sheet = self.book.add_worksheet(SHEET)
        self.row = 0
        self.width = len(header)
        self.write(header)

    def write(self, cells: Iterable[Cell]) -> None:
        # The typed writers, not ``write``: its per-cell type dispatch is
        # most of XlsxWriter's time (a string stays a string, as SheetJS
        # writes JOC's strings).
        row, text, number = self.row, self.sheet.write_string, self.sheet.write_number
        for col, value in enumerate(cells):
            if isinstance(value, str):
                if value:
                    text(row, col, value)
            elif value is not None:
                number(row, col, value)
        self.row += 1

    def close(self) -> None:
        self.book.close()


def item_rows(
    kind: str, items: Iterable[Body], tz: ZoneInfo, with_controller: bool
) -> Iterable[list[Cell]]:
    cols = columns(kind, with_controller)
    for item in items:
        yield [fn(item, tz) for _h, fn in cols]


def submission_rows(tree: list[Body], tz: ZoneInfo, with_controller: bool) -> Iterable[list[Cell]]:
    """Days, then (per Controller) submissions, then their orders — as the
    GUI flattens the fully expanded tree."""
    keep = [i for i, c in enumerate(SUBMISSION_HEADER) if with_controller or c != "Controller ID"]
    for full in _submission_cells(tree, tz, with_controller):
        yield [full[i] for i in keep]


def _submission_cells(
    tree: list[Body], tz: ZoneInfo, with_controller: bool
) -> Iterable[list[Cell]]:
    h = {name: i for i, name in enumerate(SUBMISSION_HEADER)}

    def row(**cells: Cell) -> list[Cell]:
        out: list[Cell] = [None] * len(SUBMISSION_HEADER)
        for k, v in cells.items():
            out[h[k.replace("_", " ")]] = v
        return out

    for day in tree:
        yield row(
            Daily_Plan_Date=day["date"],
            Total_Count=day["countTotal"],
            Submission_Count=day["countSubmitted"],
        )
        for ctl in day["controllers"]:
            if with_controller:
                yield row(Controller_ID=ctl["controllerId"])
            for sub in ctl.get("submissions", []):
                yield row(
                    Submission=when(sub["submissionTime"], tz),
                    Submission_Count=sub["countSubmitted"],
                )
                for msg in sub.get("errorMessages", []):
                    yield row(Error_Messages=msg)
                for o in sub.get("orders", []):
                    yield row(
                        Order_ID=o["orderId"],
                        Workflow=o["workflowPath"],
                        Scheduled_for=when(o["scheduledFor"], tz),
                        Status="submitted" if o["submitted"] else "not submitted",
                    )


def header(kind: str, with_controller: bool) -> list[str]:
    if kind == "SUBMISSION":
        return [c for c in SUBMISSION_HEADER if with_controller or c != "Controller ID"]
    return [name for name, _fn in columns(kind, with_controller)]
