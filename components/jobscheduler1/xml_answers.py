"""The answer elements of the XML command interface, shaped as JobScheduler
1.13 builds them (file:line of ``sos-berlin/scheduler-engine`` at each
builder): element and attribute names, ``yes`` for flags that are set (a
flag that is not set is left out, as the engine leaves it out), paths with a
leading slash, times as ``Time::xml_value`` in UTC.

What must hold: every builder is a pure function of what it is given — the
database rows of the shared store, or this member's own view of the cluster
and of its running tasks — so any member answers the same about jobs, job
chains, orders and the history, and ``<show_state>`` answers without the
database.
"""

from __future__ import annotations

import signal
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from components.jobscheduler1.xml_wire import element, xc, xml_time

VERSION = "1.13.22-js7ha"  # the engine release whose interface this follows


def path(name: str) -> str:
    """A root-folder object's path (``File_based::path().with_slash()``)."""
    return "/" + name


def _time(ms: Any) -> str | None:
    return None if ms is None else xml_time(int(ms))


# -- <state>, <cluster> -----------------------------------------------------


def state(attrs: Mapping[str, Any], children: Iterable[ET.Element]) -> ET.Element:
    """``Spooler::state_dom_element`` (spooler.cxx:886-1000): the member's
    own attributes, then jobs, job chains and its cluster view as asked."""
    e = element("state", attrs)
    for c in children:
        e.append(c)
    return e


def cluster(
    me: str,
    *,
    active: bool,
    exclusive: bool,
    backup: bool,
    rows: Iterable[Mapping[str, Any]],
    precedence: int,
    with_members: bool,
) -> ET.Element:
    """``Cluster::dom_element`` (cluster.cxx:2746-2775) with one
    ``<cluster_member>`` per member row when asked (``what="cluster"``),
    ``Cluster_member::dom_element`` (cluster.cxx:844-880) and the member's
    own ``xml`` (cluster.cxx:2722-2741). A member that terminated normally
    has no row in the engine (it deletes its own, cluster.cxx:1330-1333,
    712-744): it is not shown."""
    e = element(
        "cluster",
        cluster_member_id=me,
        active=active,
        exclusive=exclusive,
        backup=backup,
        is_member_allowed_to_start="yes",
    )
    if not with_members:
        return e
    for r in rows:
        if r.get("command") == "terminated":
            continue
        its_me = r["member_id"] == me
        e.append(
            element(
                "cluster_member",
                {
                    "backup_precedence": precedence if its_me else r.get("precedence"),
                    "backup": backup and its_me,
                    "cluster_member_id": r["member_id"],
                    "http_url": r.get("http_url") or "",
                    "active": bool(r.get("active")),
                    "exclusive": bool(r.get("exclusive")),
                    "dead": bool(r.get("dead")),
                    "database_last_heart_beat": None
                    if r.get("last_heart_beat") is None
                    else xml_time(int(r["last_heart_beat"]), with_ms=False),
                    "deactivating_member_id": r.get("deactivating_member_id"),
                },
            )
        )
    return e


# -- <job>, <task> ----------------------------------------------------------


def job(
    row: Mapping[str, Any], running: Iterable[Mapping[str, Any]], *, with_tasks: bool
) -> ET.Element:
    """``Standard_job::dom_element`` (spooler_job.cxx:3322-3470): ``state``
    is ``stopped``, ``running`` (this member runs tasks of it) or
    ``pending`` (``Job::state_name``, spooler_job.cxx:3214-3228)."""
    tasks = [t for t in running if t["job"] == row["name"]]
    status = "stopped" if row["state"] == "stopped" else ("running" if tasks else "pending")
    e = element(
        "job",
        {
            "path": path(row["name"]),
            "name": row["name"],
            "job": row["name"],
            "state": status,
            "order": "yes",
            "tasks": row["tasks"],
            "in_period": "yes",
            "enabled": "yes",
        },
    )
    if with_tasks:
        t_el = ET.SubElement(e, "tasks", count=str(len(tasks)))
        for t in tasks:
            t_el.append(task(t))
    ET.SubElement(e, "queued_tasks", length="0")
    return e


def task(t: Mapping[str, Any]) -> ET.Element:
    """A running task (``Task::dom_element``, spooler_task.cxx) with the
    order it processes."""
    step = t["step"]
    started = _time(t["started"])
    e = element(
        "task",
        {
            "job": path(t["job"]),
            "id": t["id"],
            "task": t["id"],
            "state": "running",
            "name": "",
            "running_since": started,
            "cause": "order",
            "in_process_since": started,
            "steps": 1,
            "pid": t.get("pid"),
        },
    )
    e.append(
        element(
            "order",
            {
                "history_id": step.get("history_id"),
                "order": step["id"],
                "id": step["id"],
                "state": step["state"],
                "job_chain": path(step["job_chain"]),
                "job": path(step["job"]),
                "task": t["id"],
                "in_process_since": started,
            },
        )
    )
    return e


def stored_task(row: Mapping[str, Any]) -> ET.Element:
    """A finished (or lost) task read from the history
    (``Database::read_task``, database.cxx:1734-1785)."""
    e = element(
        "task",
        {
            "id": row["id"],
            "start_time": xml_time(int(row["start_time"]), with_ms=False),
            "end_time": None
            if row["end_time"] is None
            else xml_time(int(row["end_time"]), with_ms=False),
            "cause": "order",
            "steps": 1,
        },
    )
    code, text = task_error(row)
    if code is not None:
        ET.SubElement(e, "ERROR", code=code, text=text or "")
    return e


def task_error(row: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The error a task ended with, as the engine records it: a non-zero
    exit code is SCHEDULER-280, a signal SCHEDULER-279 (a killed task)."""
    result, rc = row.get("result"), row.get("exit_code")
    if row.get("end_time") is None or result == "ok":
        return None, None
    if result == "killed" or (rc is not None and rc < 0):
        sig = -rc if rc is not None and rc < 0 else int(signal.SIGKILL)
        return "SCHEDULER-279", xc("SCHEDULER-279", sig, signal.Signals(sig).name).text
    if rc is not None:
        return "SCHEDULER-280", xc("SCHEDULER-280", rc, f"{rc & 0xFFFFFFFF:X}").text
    return "SCHEDULER-280", xc("SCHEDULER-280", "?", "0").text


def history_entry(row: Mapping[str, Any], sid: str) -> ET.Element:
    """``<history.entry>`` (``Job_history::read_tail``, database.cxx:1930-1991):
    SCHEDULER_HISTORY's non-empty columns in its order, ``id`` as ``task`` and
    ``id``. A task whose member was lost has no ``end_time``."""
    ended = row["end_time"] is not None
    code, text = task_error(row)
    return element(
        "history.entry",
        {
            "task": row["id"],
            "id": row["id"],
            "spooler_id": sid,
            "job_name": row["job"],
            "start_time": xml_time(int(row["start_time"])),
            "end_time": _time(row["end_time"]),
            "cause": "order",
            "steps": 1,
            "error": ("1" if code else "0") if ended else None,
            "error_code": code,
            "error_text": text,
            "cluster_member_id": row["cluster_member_id"],
            "exit_code": row["exit_code"] if ended else None,
            "pid": row.get("pid"),
        },
    )


# -- <job_chain>, <order> -----------------------------------------------------


def job_chain(
    chain: Mapping[str, Any],
    orders: Iterable[Mapping[str, Any]],
    me: str,
    running: Mapping[tuple[str, str], int],
    history: Iterable[Mapping[str, Any]] | None,
    now: int,
) -> ET.Element:
    """``Job_chain::dom_element`` (spooler_order.cxx:2325-2400): its nodes
    (``Node::dom_element`` :1349-1368, ``Job_node::dom_element`` :1753-1770,
    each job node with its ``<order_queue>``, ``Order_queue::dom_element``
    :4272-4340) and, when asked, its ``<order_history>``."""
    orders = list(orders)
    e = element(
        "job_chain",
        {
            "path": path(chain["name"]),
            "name": chain["name"],
            "orders": len(orders),
            "state": "stopped" if chain["stopped"] else "running",
            "orders_recoverable": "yes",
        },
    )
    for n in chain["nodes"]:
        node = element(
            "job_chain_node",
            {
                "state": n["state"],
                "next_state": n["next_state"],
                "error_state": n["error_state"],
                "action": n["action"],
            },
        )
        if n["job"] is not None:
            node.set("job", path(n["job"]))
            here = [o for o in orders if o["state"] == n["state"]]
            queue = ET.SubElement(node, "order_queue", length=str(len(here)))
            for o in here:
                queue.append(order(o, chain, me, running, now))
        e.append(node)
    if history is not None:
        h = ET.SubElement(e, "order_history")
        for run in history:
            h.append(order_run(run))
    return e


def order(
    o: Mapping[str, Any],
    chain: Mapping[str, Any],
    me: str,
    running: Mapping[tuple[str, str], int],
    now: int,
) -> ET.Element:
    """A waiting or running order (``Order::dom_element``, Order.cxx:1607-1790):
    ``task`` when this member processes it, ``occupied_by_cluster_member_id``
    when another member does (spooler_order.cxx:4339), ``at`` its next start
    when that lies ahead, ``suspended="yes"``."""
    node_job = next((n["job"] for n in chain["nodes"] if n["state"] == o["state"]), None)
    occupant = o["occupying_cluster_member_id"]
    nxt = o["distributed_next_time"]
    return element(
        "order",
        {
            "history_id": o.get("history_id"),
            "order": o["id"],
            "id": o["id"],
            "state": o["state"],
            "initial_state": o.get("initial_state"),
            "job_chain": path(o["job_chain"]),
            "job": None if node_job is None else path(node_job),
            "task": running.get((o["job_chain"], o["id"])) if occupant == me else None,
            "priority": 0,
            "created": _time(o.get("created")),
            "order_source_type": "AdHoc",
            "at": _time(nxt) if nxt is not None and nxt > now else None,
            "suspended": bool(o["suspended"]),
            "occupied_by_cluster_member_id": occupant if occupant not in (None, me) else None,
        },
    )


def order_run(run: Mapping[str, Any]) -> ET.Element:
    """One run of ``<order_history>`` (spooler_order.cxx:2359-2398): the
    order as it ended (or stands), with its run's times and the chain's name
    as the table holds it (no leading slash)."""
    return element(
        "order",
        {
            "history_id": run["history_id"],
            "order": run["order_id"],
            "id": run["order_id"],
            "state": run["state"],
            "priority": 0,
            "order_source_type": "AdHoc",
            "start_time": _time(run["start_time"]),
            "end_time": _time(run["end_time"]),
            "job_chain": run["job_chain"],
        },
    )


def finished_order(run: Mapping[str, Any]) -> ET.Element:
    """``<show_order>`` of an order no longer in its job chain: built from its
    last order history row outside any job chain — no ``job_chain``, no
    times (spooler_command.cxx:1230-1283)."""
    return element(
        "order",
        {
            "order": run["order_id"],
            "id": run["order_id"],
            "state": run["state"],
            "priority": 0,
            "order_source_type": "AdHoc",
        },
    )
