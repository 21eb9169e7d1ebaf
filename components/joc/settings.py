"""JOC's global settings: one document the whole cluster shares, read with
``settings`` and replaced with ``settings/store`` (js7-api-schemas, api.raml
``/settings``; configuration200-schema.json, settings/storeSettings-
schema.json), of which the Cleanup Service reads its ``cleanup`` section
before every run.

What must hold, as in JOC: the document is a JSON object of sections, each a
JSON object of entries ``{"value", "ordering"}``, kept as a string in
``JOC_CONFIGURATIONS`` (configurationType ``GLOBALS``, account and
controllerId ``"."``); a store replaces it whole; an entry missing from it
means JOC's default (JocClusterGlobalSettings: ``order_history_age`` 90d,
``order_history_logs_age`` 90d, ``daily_plan_history_age`` 30d, the window
01:00 to 04:00 UTC, ``batch_size`` 1000); a log retention longer than the order
retention is cut to it; an age of ``0`` keeps history for ever. Unlike JOC
(which logs a bad value and falls back to 0), the reference refuses a
document whose ``cleanup`` entries it cannot read, so nothing half-read is
ever stored. The first instance to create the schema stores its own
configuration (``joc.cleanup.*``) as the initial document, as JOC stores its
defaults at first start.

Ages are JOC's durations: space-separated ``<n>w``, ``<n>d``, ``<n>h``,
``<n>m`` and a bare number of days. js7ha: ``<n>s`` counts seconds too (JOC
resolves ages in minutes and ignores seconds), so a suite can test a
retention in seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.common.web import Problem
from components.common.zones import zone
from components.joc.db import Conn

if TYPE_CHECKING:  # (the config reads its defaults from here)
    from components.joc.config import JocConfig

TYPE = "GLOBALS"
ACCOUNT = CONTROLLER_ID = "."
SECTION = "cleanup"

# JOC's cleanup entries with their defaults and order (JocClusterGlobalSettings).
CLEANUP_DEFAULTS: dict[str, str] = {
    "time_zone": "UTC",
    "period": "1,2,3,4,5,6,7",
    "period_begin": "01:00",
    "period_end": "04:00",
    "batch_size": "1000",
    "order_history_age": "90d",
    "order_history_logs_age": "90d",
    "daily_plan_history_age": "30d",
    "audit_log_age": "90d",
    "deployment_history_versions": "10",
}
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_AGE_PART = re.compile(r"^(\d+)([wdhms]?)$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


class SettingProblem(Problem):
    def __init__(self, entry: str, message: str) -> None:
        super().__init__(400, "InvalidField", f"settings '{SECTION}.{entry}': {message}")


@dataclass(frozen=True)
class CleanupSettings:
    """The ``cleanup`` section as the Cleanup Service uses it."""

    time_zone: zoneinfo.ZoneInfo
    weekdays: frozenset[int]  # ISO: 1 Monday … 7 Sunday
    begin: str  # "HH:MM:SS", local to time_zone
    end: str
    batch_size: int
    order_history_age: float  # seconds; 0: kept for ever
    order_log_age: float
    daily_plan_history_age: float

    def in_window(self, now: dt.datetime) -> bool:
        """Whether ``now`` is in [begin, end) on one of the weekdays (the
        window may wrap midnight: then it belongs to the day it began)."""
        local = now.astimezone(self.time_zone)
        t = local.strftime("%H:%M:%S")
        if self.begin <= self.end:
            return self.begin <= t < self.end and local.isoweekday() in self.weekdays
        if t >= self.begin:
            return local.isoweekday() in self.weekdays
        if t < self.end:
            return (local - dt.timedelta(days=1)).isoweekday() in self.weekdays
        return False


def age_seconds(text: str, entry: str) -> float:
    parts = text.strip().lower().split()
    if not parts:
        raise SettingProblem(entry, "must be a duration such as 90d or 1w 2d 3h")
    total = 0
    for part in parts:
        m = _AGE_PART.match(part)
        if m is None:
            raise SettingProblem(entry, f"{part!r} is not a duration such as 90d, 12h or 30m")
        total += int(m.group(1)) * _UNITS[m.group(2) or "d"]
    return float(total)


def format_age(seconds: float) -> str:
    s = int(seconds)
    if s != seconds:
        raise ValueError(f"an age of {seconds} s is not a whole number of seconds")
    for unit in ("d", "h", "m"):
        if s % _UNITS[unit] == 0 and s:
            return f"{s // _UNITS[unit]}{unit}"
    return f"{s}s" if s else "0"


def _time(text: str, entry: str) -> str:
    m = _TIME.match(text.strip())
    if m is None:
        raise SettingProblem(entry, "must be a time of day HH:MM or HH:MM:SS")
    return f"{int(m.group(1)):02d}:{m.group(2)}:{m.group(3) or '00'}"


def _section(document: dict[str, Any]) -> dict[str, str]:
    """The cleanup entries' values, defaults filled in."""
    raw = document.get(SECTION, {})
    if not isinstance(raw, dict):
        raise SettingProblem("*", "the section must be an object of entries")
    values = dict(CLEANUP_DEFAULTS)
    for name, entry in raw.items():
        if name == "ordering":
            continue
        if not isinstance(entry, dict):
            raise SettingProblem(name, 'must be an object {"value": …}')
        value = entry.get("value")
        if value is None:
            continue
        if not isinstance(value, str | int):
            raise SettingProblem(name, "the value must be a string")
        values[name] = str(value)
    return values


def cleanup_settings(document: dict[str, Any]) -> CleanupSettings:
    v = _section(document)
    tz = zone(v["time_zone"])
    if tz is None:
        raise SettingProblem("time_zone", f"unknown time zone {str(v['time_zone'])[:100]!r}")
    try:
        days = frozenset(int(d) for d in v["period"].split(",") if d.strip())
    except ValueError:
        days = frozenset({0})
    if not days <= set(range(1, 8)):
        raise SettingProblem("period", "must list weekdays 1 (Monday) to 7 (Sunday), e.g. 1,2,3")
    if not v["batch_size"].strip().isdigit() or int(v["batch_size"]) < 1:
        raise SettingProblem("batch_size", "must be a positive integer")
    order_age = age_seconds(v["order_history_age"], "order_history_age")
    log_age = age_seconds(v["order_history_logs_age"], "order_history_logs_age")
    if order_age and log_age > order_age:
        log_age = order_age  # JOC: a log outlives no order (its order's purge takes it)
    return CleanupSettings(
        time_zone=tz,
        weekdays=days,
        begin=_time(v["period_begin"], "period_begin"),
        end=_time(v["period_end"], "period_end"),
        batch_size=int(v["batch_size"]),
        order_history_age=order_age,
        order_log_age=log_age,
        daily_plan_history_age=age_seconds(v["daily_plan_history_age"], "daily_plan_history_age"),
    )


def initial_document(cfg: JocConfig) -> dict[str, Any]:
    """This instance's configuration as JOC's settings document."""
    values = dict(CLEANUP_DEFAULTS)
    values["period_begin"], values["period_end"] = cfg.cleanup_period
    values["batch_size"] = str(cfg.cleanup_batch_size)
    values["order_history_age"] = format_age(cfg.cleanup_ages["order-history"])
    values["order_history_logs_age"] = format_age(cfg.cleanup_ages["order-log"])
    values["daily_plan_history_age"] = format_age(cfg.cleanup_ages["daily-plan-history"])
    section: dict[str, Any] = {"ordering": 1}
    for i, (name, value) in enumerate(values.items()):
        section[name] = {"value": value, "ordering": i}
    return {SECTION: section}


def checked_document(text: Any) -> str:
    """``text`` if it can be stored as the ``configurationItem``: a JSON
    object of sections, whose ``cleanup`` section the reference can read
    (else a 400 problem)."""
    if not isinstance(text, str):
        raise Problem(400, "InvalidField", "'configurationItem' must be a string")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise Problem(400, "InvalidField", f"'configurationItem' is not JSON: {exc}") from None
    if not isinstance(document, dict) or not all(isinstance(s, dict) for s in document.values()):
        raise Problem(
            400, "InvalidField", "'configurationItem' must be a JSON object of sections (objects)"
        )
    cleanup_settings(document)
    return text


async def ensure(conn: Conn, cfg: JocConfig) -> None:
    """Store this instance's configuration unless a document is stored."""
    await conn.execute(
        """INSERT INTO JOC_CONFIGURATIONS
               (CONTROLLER_ID, ACCOUNT, CONFIGURATION_TYPE, SHARED, CONFIGURATION_ITEM)
           VALUES (%s, %s, %s, FALSE, %s)
           ON CONFLICT (CONFIGURATION_TYPE) WHERE CONFIGURATION_TYPE = 'GLOBALS' DO NOTHING""",
        (CONTROLLER_ID, ACCOUNT, TYPE, json.dumps(initial_document(cfg))),
    )


async def read(conn: Conn) -> dict[str, Any]:
    """The stored row as JOC's ``configuration`` (configuration-schema.json)."""
    cur = await conn.execute(
        """SELECT ID, CONTROLLER_ID, ACCOUNT, SHARED, CONFIGURATION_ITEM
           FROM JOC_CONFIGURATIONS WHERE CONFIGURATION_TYPE = %s""",
        (TYPE,),
    )
    row = await cur.fetchone()
    if row is None:  # only between a schema and its first instance's ensure()
        return {"id": 0, "configurationType": TYPE, "configurationItem": "{}"}
    return {
        "id": row[0],
        "controllerId": row[1],
        "account": row[2],
        "configurationType": TYPE,
        "shared": row[3],
        "configurationItem": row[4],
    }


async def store(conn: Conn, text: str) -> None:
    """Replace the document with ``text`` (checked by ``checked_document``),
    kept as the client wrote it."""
    await conn.execute(
        """INSERT INTO JOC_CONFIGURATIONS
               (CONTROLLER_ID, ACCOUNT, CONFIGURATION_TYPE, SHARED, CONFIGURATION_ITEM)
           VALUES (%s, %s, %s, FALSE, %s)
           ON CONFLICT (CONFIGURATION_TYPE) WHERE CONFIGURATION_TYPE = 'GLOBALS'
           DO UPDATE SET CONFIGURATION_ITEM = EXCLUDED.CONFIGURATION_ITEM, MODIFIED = now()""",
        (CONTROLLER_ID, ACCOUNT, TYPE, text),
    )


async def read_cleanup(conn: Conn) -> CleanupSettings:
    """What the Cleanup Service runs with now (a stored document is valid:
    ``store`` refuses any other)."""
    return cleanup_settings(json.loads((await read(conn))["configurationItem"]))
