"""JOC's inventory: drafts stored with ``inventory/store``, released with
``inventory/release`` (schedules, calendars) and deployed with
``inventory/deployment/deploy`` (workflows), in JOC's tables
``INV_CONFIGURATIONS``, ``INV_RELEASED_CONFIGURATIONS`` and ``DEP_HISTORY``.

The configuration JSON is kept as JOC keeps it — the inventory's shape
(js7-inventory-schemas: a workflow's jobs name their Agent by ``agentName``,
a schedule names ``workflowNames`` and ``calendars``) — and converted to the
Controller's shape only when deployed (``controller_workflow``).

What must hold: a draft that does not pass validation is stored with
``valid: false`` and its reason, and is neither released nor deployed; an
object's name (the path's last segment) is unique per object type, as in
JOC; planning reads only released schedules and calendars.

The reference plans a subset of JOC's calendars: working days by
``weekdays`` and ``dates`` (includes and excludes) within ``from``/``to``;
periods by ``singleStart``. Anything else is refused when stored, naming
what the reference does not plan — never silently planned otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from components.common.web import Problem
from components.common.workflow import Workflow
from components.common.zones import zone
from components.joc.config import Schedule
from components.joc.db import Conn

Body = dict[str, Any]

# The object types the reference stores (JOC's configurationType-schema.json
# has more: JOBRESOURCE, LOCK, NOTICEBOARD, … — refused with a 420).
STORABLE = ("FOLDER", "WORKFLOW", "SCHEDULE", "WORKINGDAYSCALENDAR")
RELEASABLE = ("SCHEDULE", "WORKINGDAYSCALENDAR")
DEPLOYABLE = ("WORKFLOW",)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_HHMMSS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
_FREQUENCIES = ("dates", "weekdays", "monthdays", "ultimos", "months", "holidays", "repetitions")


def bad(message: str) -> Problem:
    return Problem(400, "InvalidField", message)


def split_path(path: Any, key: str = "path") -> tuple[str, str, str]:
    """JOC's absolute path → (path, folder, name); ``/`` is the root folder."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise bad(f"'{key}' must be an absolute path (/folder/name), got {path!r}")
    parts = [p for p in path.split("/") if p]
    if not all(_NAME.match(p) for p in parts):
        raise bad(f"'{key}' {path!r}: names are letters, digits, _ . -")
    norm = "/" + "/".join(parts)
    folder = "/" + "/".join(parts[:-1])
    return norm, folder, parts[-1] if parts else ""


def in_folder(path: str, folder: str, recursive: bool) -> bool:
    folder = folder.rstrip("/") or "/"
    parent = path.rsplit("/", 1)[0] or "/"
    if parent == folder:
        return True
    return recursive and (folder == "/" or path.startswith(folder + "/"))


# -- validation and conversion ----------------------------------------------------


def controller_job(job: Any) -> Any:
    """An inventory job as the Controller's: ``agentName`` → ``agentPath``,
    ``taskLimit`` → ``parallelism`` (anything else is left to validation)."""
    if not isinstance(job, dict):
        return job
    renames = {"agentName": "agentPath", "taskLimit": "parallelism"}
    return {renames.get(k, k): v for k, v in job.items()}


def controller_workflow(name: str, version: str, inventory: Body) -> Body:
    """A stored workflow as the Controller gets it (what JOC's deployment
    does): its name as path, the commit id as versionId, its jobs as
    ``controller_job`` makes them."""
    out = {k: v for k, v in inventory.items() if k not in ("version", "path")}
    jobs = inventory.get("jobs")
    if isinstance(jobs, dict):
        out["jobs"] = {job_name: controller_job(job) for job_name, job in jobs.items()}
    out.update({"TYPE": "Workflow", "path": name, "versionId": version})
    return out


def _check_validity(obj: Body, where: str) -> None:
    """``from``/``to``: a calendar's or a frequency's validity (YYYY-MM-DD)."""
    for key in ("from", "to"):
        if obj.get(key) is not None:
            try:
                dt.date.fromisoformat(str(obj[key]))
            except ValueError:
                raise bad(f"{where}.{key} must be YYYY-MM-DD") from None


def _valid_on(obj: Body, day: dt.date) -> bool:
    lo, hi = obj.get("from"), obj.get("to")
    return not (lo and day < dt.date.fromisoformat(str(lo))) and not (
        hi and day > dt.date.fromisoformat(str(hi))
    )


def _check_frequencies(freq: Any, where: str) -> None:
    if freq is None:
        return
    if not isinstance(freq, dict):
        raise bad(f"{where} must be an object")
    for key, value in freq.items():
        if key not in _FREQUENCIES:
            raise bad(f"{where}: unknown frequency {key!r}")
        if key not in ("dates", "weekdays"):
            if value:
                raise bad(f"{where}.{key}: the reference plans weekdays and dates only")
            continue
        if not isinstance(value, list):
            raise bad(f"{where}.{key} must be a list")
        if key == "dates":
            for d in value:
                try:
                    dt.date.fromisoformat(str(d))
                except ValueError:
                    raise bad(f"{where}.dates: {d!r} is not YYYY-MM-DD") from None
        else:
            for w in value:
                days = w.get("days") if isinstance(w, dict) else None
                if not isinstance(days, list) or not all(
                    isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 7 for x in days
                ):
                    raise bad(f"{where}.weekdays: each needs days, integers 0-7 (0, 7: Sunday)")
                _check_validity(w, f"{where}.weekdays")


def validate(object_type: str, conf: Body) -> None:
    """Raises a ``Problem`` naming what makes ``conf`` invalid."""
    if object_type == "WORKFLOW":
        Workflow.from_json(controller_workflow("check", "check", conf))
    elif object_type == "SCHEDULE":
        names = conf.get("workflowNames") or (
            [conf["workflowName"]] if conf.get("workflowName") else None
        )
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise bad("a schedule needs workflowNames (or workflowName)")
        if conf.get("nonWorkingDayCalendars"):
            raise bad("nonWorkingDayCalendars: the reference plans working-day calendars only")
        calendars = conf.get("calendars")
        if not isinstance(calendars, list) or not calendars:
            raise bad("a schedule needs calendars (at least one)")
        for i, c in enumerate(calendars):
            where = f"calendars[{i}]"
            if not isinstance(c, dict) or not isinstance(c.get("calendarName"), str):
                raise bad(f"{where}.calendarName is required")
            tz = c.get("timeZone", "Etc/UTC")
            if zone(tz) is None:
                raise bad(f"{where}.timeZone {str(tz)[:100]!r} is unknown")
            periods = c.get("periods")
            if not isinstance(periods, list) or not periods:
                raise bad(f"{where}.periods needs at least one period")
            for p in periods:
                start = p.get("singleStart") if isinstance(p, dict) else None
                if not isinstance(start, str) or not _HHMMSS.match(start):
                    raise bad(f"{where}.periods: the reference plans singleStart HH:MM:SS only")
            _check_frequencies(c.get("includes"), f"{where}.includes")
            _check_frequencies(c.get("excludes"), f"{where}.excludes")
        for key in ("orderParameterisations", "variableSets"):
            sets = conf.get(key, [])
            if not isinstance(sets, list) or not all(
                isinstance(s, dict)
                and isinstance(s.get("variables", {}), dict)
                and isinstance(s.get("orderName", "o"), str)
                and _NAME.match(s.get("orderName", "o"))
                for s in sets
            ):
                raise bad(
                    f"{key} must be a list of {{orderName (letters, digits, _ . -), variables}}"
                )
    elif object_type == "WORKINGDAYSCALENDAR":
        _check_frequencies(conf.get("includes"), "includes")
        _check_frequencies(conf.get("excludes"), "excludes")
        _check_validity(conf, "calendar")


def _matches(freq: Body | None, day: dt.date) -> bool:
    if not freq:
        return False
    if day.isoformat() in [str(d) for d in freq.get("dates") or []]:
        return True
    wd = day.isoweekday()  # Monday 1 … Sunday 7; JOC: 0 or 7 is Sunday
    return any(
        (wd in w["days"] or (wd == 7 and 0 in w["days"])) and _valid_on(w, day)
        for w in freq.get("weekdays") or []
    )


def is_working_day(calendar: Body, assigned: Body, day: dt.date) -> bool:
    """Whether ``day`` is planned by the released ``calendar`` as the schedule
    assigns it (the assignment's includes/excludes restrict the calendar)."""
    if not _valid_on(calendar, day):
        return False
    if not _matches(calendar.get("includes"), day) or _matches(calendar.get("excludes"), day):
        return False
    if assigned.get("includes") and not _matches(assigned["includes"], day):
        return False
    return not _matches(assigned.get("excludes"), day)


@dataclass(frozen=True)
class Released:
    path: str
    name: str
    content: Body


def schedules_for(schedule: Released, calendars: dict[str, Body], day: dt.date) -> list[Schedule]:
    """A released schedule's orders on ``day``: one ``Schedule`` per workflow
    and order parameterisation, at the single starts of every calendar that
    has ``day`` as a working day (a calendar not released plans nothing)."""
    conf = schedule.content
    names = conf.get("workflowNames") or [conf["workflowName"]]
    params = conf.get("orderParameterisations") or conf.get("variableSets") or [{}]
    out = []
    for c in conf["calendars"]:
        calendar = calendars.get(c["calendarName"])
        if calendar is None or not is_working_day(calendar, c, day):
            continue
        times = tuple(
            p["singleStart"] + (":00" if p["singleStart"].count(":") == 1 else "")
            for p in c["periods"]
        )
        for workflow in names:
            for i, p in enumerate(params):
                order_name = p.get("orderName") or ""
                suffix = schedule.name
                if order_name:
                    suffix += f"-{order_name}"
                elif len(params) > 1:
                    suffix += f"-{i}"
                if len(names) > 1:
                    suffix += f"-{workflow}"
                out.append(
                    Schedule(
                        name=suffix,
                        workflow_path=workflow,
                        times=times,
                        arguments=dict(p.get("variables") or {}),
                        path=schedule.path,
                        order_name=order_name or schedule.name,
                        time_zone=str(c.get("timeZone", "Etc/UTC")),
                    )
                )
    return out


# -- the tables ----------------------------------------------------------------------


def json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


async def store(conn: Conn, path: str, object_type: str, conf: Body) -> Body:
    """Store (or replace) a draft; answers JOC's ConfigurationObject."""
    path, folder, name = split_path(path)
    valid, message = True, None
    try:
        validate(object_type, conf)
    except Problem as p:
        valid, message = False, p.message
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT PATH FROM INV_CONFIGURATIONS WHERE TYPE = %s AND NAME = %s AND PATH <> %s",
            (object_type, name, path),
        )
        other = await cur.fetchone()
        if other is not None and object_type != "FOLDER":
            raise Problem(
                409, "JOC-NameAlreadyUsed", f"{object_type} name {name!r} is used by {other[0]}"
            )
        cur = await conn.execute(
            """INSERT INTO INV_CONFIGURATIONS (TYPE, PATH, FOLDER, NAME, CONTENT, VALID,
                   DEPLOYED, RELEASED, CREATED, MODIFIED)
               VALUES (%s, %s, %s, %s, %s, %s, FALSE, FALSE, now(), now())
               ON CONFLICT (TYPE, PATH) DO UPDATE SET CONTENT = EXCLUDED.CONTENT,
                   VALID = EXCLUDED.VALID, DEPLOYED = FALSE, RELEASED = FALSE, MODIFIED = now()
               RETURNING ID, MODIFIED""",
            (object_type, path, folder, name, json_text(conf), valid),
        )
        row = await cur.fetchone()
    assert row is not None
    out: Body = {
        "id": row[0],
        "path": path,
        "objectType": object_type,
        "name": name,
        "valid": valid,
        "deployed": False,
        "released": False,
        "configurationDate": row[1],
    }
    if message is not None:
        out["invalidMsg"] = message
    return out


async def drafts(
    conn: Conn, object_types: tuple[str, ...], path: str, *, folder: bool, recursive: bool
) -> list[Body]:
    """The drafts ``path`` names: the object, or (``folder``) the folder's
    objects of the types (``recursive``: its subfolders' too)."""
    cur = await conn.execute(
        """SELECT ID, TYPE, PATH, NAME, CONTENT, VALID FROM INV_CONFIGURATIONS
           WHERE TYPE = ANY(%s) ORDER BY PATH""",
        (list(object_types),),
    )
    rows = [
        {
            "id": r[0],
            "type": r[1],
            "path": r[2],
            "name": r[3],
            "content": json.loads(r[4]),
            "valid": r[5],
        }
        for r in await cur.fetchall()
    ]
    if folder:
        return [r for r in rows if in_folder(r["path"], path, recursive)]
    return [r for r in rows if r["path"] == path]


async def mark(conn: Conn, column: str, ids: list[int]) -> None:
    assert column in ("DEPLOYED", "RELEASED")
    await conn.execute(
        f"UPDATE INV_CONFIGURATIONS SET {column} = TRUE WHERE ID = ANY(%s)".encode(), (ids,)
    )


async def release(conn: Conn, items: list[Body]) -> None:
    """Release drafts (their content becomes what the Daily Plan reads)."""
    for r in items:
        await conn.execute(
            """INSERT INTO INV_RELEASED_CONFIGURATIONS (CID, TYPE, PATH, NAME, CONTENT,
                   CREATED, MODIFIED) VALUES (%s, %s, %s, %s, %s, now(), now())
               ON CONFLICT (TYPE, NAME) DO UPDATE SET CID = EXCLUDED.CID, PATH = EXCLUDED.PATH,
                   CONTENT = EXCLUDED.CONTENT, MODIFIED = now()""",
            (r["id"], r["type"], r["path"], r["name"], json_text(r["content"])),
        )
    await mark(conn, "RELEASED", [r["id"] for r in items])


async def recall(conn: Conn, object_type: str, path: str, *, folder: bool) -> None:
    """``inventory/release``'s delete: the object (``folder``: every one in
    the folder, recursively) is no longer released."""
    paths = [
        r.path
        for r in await released(conn, object_type)
        if (in_folder(r.path, path, True) if folder else r.path == path)
    ]
    await conn.execute(
        "DELETE FROM INV_RELEASED_CONFIGURATIONS WHERE TYPE = %s AND PATH = ANY(%s)",
        (object_type, paths),
    )
    await conn.execute(
        "UPDATE INV_CONFIGURATIONS SET RELEASED = FALSE WHERE TYPE = %s AND PATH = ANY(%s)",
        (object_type, paths),
    )


async def released(conn: Conn, object_type: str) -> list[Released]:
    cur = await conn.execute(
        "SELECT PATH, NAME, CONTENT FROM INV_RELEASED_CONFIGURATIONS WHERE TYPE = %s ORDER BY PATH",
        (object_type,),
    )
    return [Released(r[0], r[1], json.loads(r[2])) for r in await cur.fetchall()]


async def workflow_paths(conn: Conn) -> dict[str, str]:
    """Each stored workflow's inventory path by its name (the Controller's
    workflow path)."""
    cur = await conn.execute("SELECT NAME, PATH FROM INV_CONFIGURATIONS WHERE TYPE = 'WORKFLOW'")
    return {r[0]: r[1] for r in await cur.fetchall()}


async def record_deployment(
    conn: Conn,
    controller_id: str,
    commit_id: str,
    items: list[Body],
    account: str | None = None,
    operation: str = "UPDATE",
) -> None:
    """``DEP_HISTORY``: what was deployed (``UPDATE``) or removed
    (``DELETE``), with the commit id (the Controller's versionId) and the
    content sent (for a removal: the content it had)."""
    assert operation in ("UPDATE", "DELETE")
    for r in items:
        await conn.execute(
            """INSERT INTO DEP_HISTORY (INV_CONFIGURATION_ID, CONTROLLER_ID, TYPE, PATH, NAME,
                   COMMIT_ID, CONTENT, STATE, DEPLOYMENT_DATE, ACCOUNT, OPERATION)
               VALUES (%s, %s, %s, %s, %s, %s, %s, 'DEPLOYED', now(), %s, %s)""",
            (
                r["id"],
                controller_id,
                "WORKFLOW",
                r["path"],
                r["name"],
                commit_id,
                json_text(r["content"]),
                account,
                operation,
            ),
        )
    if operation == "UPDATE":
        await mark(conn, "DEPLOYED", [r["id"] for r in items])


async def last_deployed(conn: Conn, controller_id: str, path: str, *, folder: bool) -> list[Body]:
    """``deployConfigurations`` (a redeploy, or what a delete removes): the
    last deployed content of the workflow at ``path`` (``folder``: of every
    workflow under it) — none for a workflow whose last deployment deleted it."""
    cur = await conn.execute(
        """SELECT INV_CONFIGURATION_ID, PATH, NAME, CONTENT FROM (
               SELECT DISTINCT ON (PATH) INV_CONFIGURATION_ID, PATH, NAME, CONTENT, OPERATION
               FROM DEP_HISTORY WHERE CONTROLLER_ID = %s AND TYPE = 'WORKFLOW'
               ORDER BY PATH, ID DESC) last
           WHERE OPERATION <> 'DELETE'""",
        (controller_id,),
    )
    rows = [
        {
            "id": r[0],
            "type": "WORKFLOW",
            "path": r[1],
            "name": r[2],
            "content": json.loads(r[3]),
            "valid": True,
        }
        for r in await cur.fetchall()
    ]
    if folder:
        return [r for r in rows if in_folder(r["path"], path, True)]
    return [r for r in rows if r["path"] == path]
