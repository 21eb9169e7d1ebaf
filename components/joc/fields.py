"""Request fields as JOC reads them, each refused with a 400 problem naming
the field: booleans, days, folders, paths, the Daily Plan's selection,
strings, bounded integers, lists, JOC's relative and ISO dates, and a
``scheduledFor`` in a time zone."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from components.common.web import Problem
from components.common.zones import zone
from components.joc.dailyplan import Selection

Body = dict[str, Any]


# JOC's daily plan filter (orderManagement/dailyplan/dailyPlanOrdersFilterBase-schema.json).
SELECTORS = (
    "dailyPlanDateFrom",
    "dailyPlanDateTo",
    "schedulePaths",
    "scheduleFolders",
    "workflowPaths",
    "workflowFolders",
    "orderIds",
    "controllerIds",
)


def field_bool(body: Body, key: str, default: bool) -> bool:
    v = body.get(key, default)
    if not isinstance(v, bool):
        raise Problem(400, "InvalidField", f"'{key}' must be a boolean")
    return v


def field_day(value: Any, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value if isinstance(value, str) else "")
    except ValueError:
        raise Problem(400, "InvalidField", f"'{key}' must be a date YYYY-MM-DD") from None


def field_folders(value: Any, key: str) -> tuple[tuple[str, bool], ...] | None:
    """JOC's folders (common/folders-schema.json): ``[{folder, recursive}]``."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(f, dict)
        and isinstance(f.get("folder"), str)
        and f["folder"].startswith("/")
        and isinstance(f.get("recursive", False), bool)
        for f in value
    ):
        raise Problem(400, "InvalidField", f"'{key}' must be a list of {{folder, recursive}}")
    return tuple((f["folder"], bool(f.get("recursive", False))) for f in value)


def path_item(body: Body, key: str) -> tuple[tuple[str, ...] | None, Any]:
    """JOC's path item (dailyplan/generate/items/path-item-schema.json):
    ``{singles, folders}``; answers (singles, folders)."""
    v = body.get(key)
    if v is None:
        return None, None
    if not isinstance(v, dict):
        raise Problem(400, "InvalidField", f"'{key}' must be an object {{singles, folders}}")
    singles = field_list(v, "singles")
    return (
        tuple(singles) if singles is not None else None,
        field_folders(v.get("folders"), f"{key}.folders"),
    )


def selection(body: Body) -> Selection:
    """The schedule and workflow selectors of JOC's daily plan filters."""
    schedules, workflows = field_list(body, "schedulePaths"), field_list(body, "workflowPaths")
    return Selection(
        schedules=tuple(schedules) if schedules is not None else None,
        schedule_folders=field_folders(body.get("scheduleFolders"), "scheduleFolders"),
        workflows=tuple(workflows) if workflows is not None else None,
        workflow_folders=field_folders(body.get("workflowFolders"), "workflowFolders"),
    )


def field_str(body: Body, key: str, required: bool = True) -> str | None:
    v = body.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v:
        raise Problem(400, "InvalidField", f"'{key}' must be a non-empty string")
    return v


def field_int(body: Body, key: str, default: int, minimum: int = 0) -> int:
    v = body.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise Problem(400, "InvalidField", f"'{key}' must be an integer >= {minimum}")
    return v


def field_list(body: Body, key: str, item: type = str) -> list[Any] | None:
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(x, item) for x in v):
        raise Problem(400, "InvalidField", f"'{key}' must be a list of {item.__name__}")
    return v


_REL = re.compile(r"^([+-]?\d+)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_date(body: Body, key: str) -> dt.datetime | None:
    """ISO-8601 or JOC's relative form (``-2h``, ``-1d`` or ``1d``; ``+1d``;
    ``0d`` = today 00:00 UTC)."""
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise Problem(400, "InvalidField", f"'{key}' must be a date string")
    now = dt.datetime.now(dt.UTC)
    m = _REL.match(v.strip())
    if m:
        # As JOC reads them: a period without sign lies in the past ("1d" =
        # "-1d"), only "+N" in the future.
        n = int(m.group(1))
        if not m.group(1).startswith("+"):
            n = -abs(n)
        if m.group(2) in "dw":
            now = now.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            return now + dt.timedelta(seconds=n * _UNIT[m.group(2)])
        except OverflowError:  # beyond years 1..9999, which no history reaches
            raise Problem(
                400, "InvalidField", f"'{key}' {v!r} lies beyond the dates JOC can hold"
            ) from None
    try:
        t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, "InvalidField", f"'{key}' is not an ISO-8601 date: {v!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def parse_scheduled_for(value: Any, tz: str) -> int | None:
    """``scheduledFor`` of ``orders/add``: ``now``, ``now + N`` (seconds), an
    ISO-8601 date (in ``timeZone``) or — js7ha extension — epoch milliseconds."""
    if value is None or value == "now":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        m = re.match(r"^now\s*\+\s*(\d+)$", value.strip())
        if m:
            return int((time.time() + int(m.group(1))) * 1000)
        try:
            t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if t.tzinfo is None:
                found = zone(tz)
                if found is None:
                    raise Problem(400, "InvalidField", f"unknown timeZone {tz[:100]!r}")
                t = t.replace(tzinfo=found)
            return int(t.timestamp() * 1000)
    raise Problem(
        400, "InvalidField", f"scheduledFor {value!r}: use now, 'now + N', or an ISO date"
    )
