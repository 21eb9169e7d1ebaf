"""JOC's request filters of the History sub-views, parsed and refused as JOC
refuses them: a 420 answer ``InvalidField`` naming the field.

* ``dateFrom``/``dateTo`` (common/dateFromTo-schema.json): ``0``, a relative
  period ``[±]N[smhdwMy]`` (units may be chained: ``-1d2h``) or ISO-8601.
  As JOC reads them: an unsigned period lies in the past; a period counted
  in days, weeks, months or years starts at midnight in ``timeZone``, and as
  ``dateTo`` covers that whole day (the GUI's "today" is ``0d``..``0d``).
* ``limit``: the view's default when absent, ``-1`` unlimited.
* globs (``orderId``, ``workflowPath``…): ``*`` and ``?``, matched with LIKE.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from components.common.web import Problem
from components.common.zones import zone

Body = dict[str, Any]
HISTORY_STATES = ("SUCCESSFUL", "INCOMPLETE", "FAILED")
_PERIOD = re.compile(r"([+-]?)(\d+)([smhdwMy])")
_RELATIVE = re.compile(r"^(?:[+-]?0|(?:[+-]?\d+[smhdwMy])+)$")
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def invalid(key: str, why: str) -> Problem:
    return Problem(400, "InvalidField", f"'{key}' {why}")


def time_zone(body: Body) -> ZoneInfo:
    name = body.get("timeZone") or "Etc/UTC"
    if not isinstance(name, str):
        raise invalid("timeZone", "must be a time zone name")
    found = zone(name)
    if found is None:
        raise invalid("timeZone", f"is no known time zone: {name[:100]!r}")
    return found


def _add_months(t: dt.datetime, months: int) -> dt.datetime:
    y, m = divmod(t.month - 1 + months, 12)
    return t.replace(year=t.year + y, month=m + 1, day=min(t.day, 28))


def relative(value: str, now: dt.datetime, *, end: bool) -> dt.datetime:
    """``now`` moved by the chained periods of ``value``; day-granular units
    snap to midnight (``end``: the midnight after)."""
    t, by_day = now, False
    for sign, n, unit in _PERIOD.findall(value):
        k = int(n) if sign == "+" else -int(n)
        if unit in "My":
            t = _add_months(t, k * (12 if unit == "y" else 1))
        else:
            t += dt.timedelta(seconds=k * _SECONDS[unit])
        by_day = by_day or unit in "dwMy"
    if value.lstrip("+-") == "0":
        by_day = True
    if by_day:
        t = t.replace(hour=0, minute=0, second=0, microsecond=0)
        if end:
            t += dt.timedelta(days=1)
    return t


def date(body: Body, key: str, *, end: bool = False, now: dt.datetime | None = None) -> Any:
    """The instant ``body[key]`` names (UTC), or None when absent."""
    v = body.get(key)
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise invalid(key, "must be a date string (relative like -1d or ISO-8601)")
    v = v.strip()
    tz = time_zone(body)
    try:
        if _RELATIVE.match(v):
            local = (now or dt.datetime.now(dt.UTC)).astimezone(tz)
            return relative(v, local, end=end).astimezone(dt.UTC)
        if _ISO.match(v):
            t = dt.datetime.fromisoformat(v.replace("Z", "+00:00").replace(",", "."))
            return (t if t.tzinfo else t.replace(tzinfo=tz)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise invalid(key, f"lies beyond the dates JOC can hold: {v!r}") from None
    raise invalid(key, f"is neither a relative date ([+-]N[smhdwMy]) nor ISO-8601: {v!r}")


def day(body: Body, key: str, *, end: bool = False) -> dt.date | None:
    """The day-granular dates of ``daily_plan/history``: ``0``, ``±N[dwMy]``
    or ``YYYY-MM-DD``."""
    v = body.get(key)
    if v is None or v == "":
        return None
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    elif isinstance(v, str) and re.fullmatch(r"[+-]?0|(?:[+-]?\d+[dwMy])+", v):
        t = date(body, key)
        assert t is not None
        return t.astimezone(time_zone(body)).date()
    raise invalid(key, f"must be 0, [+-]N[dwMy] or YYYY-MM-DD, not {v!r}")


def limit(body: Body, default: int) -> int | None:
    """JOC's ``limit``: absent → the view's default; -1 → no limit (None)."""
    v = body.get("limit", default)
    if isinstance(v, bool) or not isinstance(v, int) or v < -1 or v == 0:
        raise invalid("limit", f"must be -1 (no limit) or a positive integer, not {v!r}")
    return None if v == -1 else v


def strings(body: Body, key: str, allowed: tuple[str, ...] | None = None) -> list[str] | None:
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise invalid(key, "must be a list of strings")
    if allowed is not None and set(v) - set(allowed):
        raise invalid(key, f"has unknown values {sorted(set(v) - set(allowed))}; use {allowed}")
    return v


def ints(body: Body, key: str) -> list[int] | None:
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in v
    ):
        raise invalid(key, "must be a list of integers")
    return v


def text(body: Body, key: str) -> str | None:
    v = body.get(key)
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise invalid(key, "must be a string")
    return v


def like(glob: str) -> str:
    """A JOC glob (``*``, ``?``) as a LIKE pattern."""
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def folders(body: Body, key: str = "folders") -> list[tuple[str, bool]] | None:
    """common/folders-schema.json: ``[{folder, recursive = true}]``."""
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or not all(
        isinstance(f, dict)
        and isinstance(f.get("folder"), str)
        and f["folder"].startswith("/")
        and isinstance(f.get("recursive", True), bool)
        for f in v
    ):
        raise invalid(key, "must be a list of {folder: '/…', recursive: bool}")
    return [(f["folder"].rstrip("/") or "/", bool(f.get("recursive", True))) for f in v]


class Where:
    """A WHERE clause built filter by filter, with its parameters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, *params: Any) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    def glob(self, column: str, value: str | None) -> None:
        if value is not None:
            self.add(f"{column} LIKE %s", like(value))

    def range(self, column: str, body: Body, lo: str, hi: str) -> None:
        start, stop = date(body, lo), date(body, hi, end=True)
        if start is not None:
            self.add(f"{column} >= %s", start)
        if stop is not None:
            self.add(f"{column} < %s", stop)

    def folders(self, column: str, chosen: list[tuple[str, bool]] | None) -> None:
        """``column`` holds an item's folder: in one of the chosen ones."""
        if chosen is None:
            return
        ors: list[str] = []
        for folder, recursive in chosen:
            if recursive and folder == "/":
                ors.append("TRUE")
            elif recursive:
                ors.append(f"({column} = %s OR {column} LIKE %s)")
                self.params.extend([folder, like(folder) + "/%"])
            else:
                ors.append(f"{column} = %s")
                self.params.append(folder)
        self.parts.append("(" + (" OR ".join(ors) or "FALSE") + ")")

    def sql(self) -> str:
        return " AND ".join(self.parts) or "TRUE"
