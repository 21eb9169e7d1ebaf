"""Jobs, job chains, orders and the task history in the database.

Each function takes a connection inside an open transaction (see ``Db.run``).

What must hold for order steps:

* A member runs a step only after it *claimed* the order:
  ``UPDATE scheduler_orders SET occupying_cluster_member_id=me WHERE key AND
  occupying_cluster_member_id IS NULL AND distributed_next_time=?`` changed
  exactly one row — and, as a fencing token, only while its own cluster row
  says it may run (not dead, not terminated, and ``exclusive`` in a passive
  cluster). The claim and the task's start row commit together, so every
  step that ran has a history row.
* It completes the step only while it still holds the order
  (``occupying_cluster_member_id=me``); a member declared dead has lost its
  orders to the others.
* A step whose member died, was fenced or was stopped mid-step keeps its start
  row with ``result`` ``disrupted``/``killed`` and ``end_time`` NULL or the
  kill time, and runs again elsewhere: at least once per disrupted step,
  exactly once otherwise.
"""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from components.jobscheduler1 import schedule
from components.jobscheduler1.db import NOW_MS

Conn = psycopg.Connection[dict[str, Any]]
NODE_ACTIONS = (None, "stop", "next_state")


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


def now_ms(conn: Conn) -> int:
    row = conn.execute(f"SELECT {NOW_MS} AS now").fetchone()
    assert row is not None
    return int(row["now"])


# -- jobs ------------------------------------------------------------------


def put_job(
    conn: Conn,
    sid: str,
    name: str,
    command: str | None,
    noop: float | None,
    stopped: bool,
    tasks: int = 1,
) -> None:
    """Create or replace a job; ``tasks``: how many of its tasks one member
    runs at a time (``<job tasks>``, the engine's default 1)."""
    conn.execute(
        """INSERT INTO scheduler_jobs (spooler_id, name, command, noop_seconds, stopped, tasks)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (spooler_id, name) DO UPDATE
             SET command = EXCLUDED.command, noop_seconds = EXCLUDED.noop_seconds,
                 stopped = EXCLUDED.stopped, tasks = EXCLUDED.tasks""",
        (sid, name, command, noop, stopped, tasks),
    )


def set_job_stopped(conn: Conn, sid: str, name: str, stopped: bool) -> None:
    cur = conn.execute(
        "UPDATE scheduler_jobs SET stopped=%s WHERE spooler_id=%s AND name=%s",
        (stopped, sid, name),
    )
    if cur.rowcount != 1:
        raise NotFound(f"no job {name!r}")


def list_jobs(conn: Conn, sid: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT name, command, noop_seconds, stopped, tasks FROM scheduler_jobs"
        " WHERE spooler_id=%s ORDER BY name",
        (sid,),
    ).fetchall()
    return [
        {
            "name": r["name"],
            "command": r["command"],
            "noop": r["noop_seconds"],
            "tasks": r["tasks"],
            "state": "stopped" if r["stopped"] else "active",
        }
        for r in rows
    ]


# -- job chains ----------------------------------------------------------------


def put_job_chain(
    conn: Conn, sid: str, name: str, distributed: bool, nodes: list[dict[str, Any]]
) -> None:
    """Create or replace a job chain; ``nodes`` in order, each ``{state, job,
    next_state?, error_state?, action?}`` (``job`` None: an end node). A job
    node without ``next_state`` is followed by the next node in the list (the
    last one ends the chain)."""
    jobs = {r["name"] for r in list_jobs(conn, sid)}
    states = [n["state"] for n in nodes]
    for n in nodes:
        if n["job"] is not None and n["job"] not in jobs:
            raise NotFound(f"node {n['state']!r}: no job {n['job']!r}")
        for key in ("next_state", "error_state"):
            if n.get(key) is not None and n[key] not in states:
                raise NotFound(f"node {n['state']!r}: {key} {n[key]!r} is no node of the chain")
    conn.execute(
        """INSERT INTO scheduler_job_chains (spooler_id, name, distributed) VALUES (%s, %s, %s)
           ON CONFLICT (spooler_id, name) DO UPDATE SET distributed = EXCLUDED.distributed""",
        (sid, name, distributed),
    )
    conn.execute(
        "DELETE FROM scheduler_job_chain_nodes WHERE spooler_id=%s AND job_chain=%s", (sid, name)
    )
    for i, n in enumerate(nodes):
        nxt = n.get("next_state")
        if nxt is None and "next_state" not in n and i + 1 < len(nodes) and n["job"] is not None:
            nxt = nodes[i + 1]["state"]
        conn.execute(
            """INSERT INTO scheduler_job_chain_nodes
               (spooler_id, job_chain, state, ordinal, job, next_state, error_state, action)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            (sid, name, n["state"], i, n["job"], nxt, n.get("error_state"), n.get("action")),
        )


def set_chain_stopped(conn: Conn, sid: str, name: str, stopped: bool) -> None:
    cur = conn.execute(
        "UPDATE scheduler_job_chains SET stopped=%s WHERE spooler_id=%s AND name=%s",
        (stopped, sid, name),
    )
    if cur.rowcount != 1:
        raise NotFound(f"no job chain {name!r}")


def set_node_action(conn: Conn, sid: str, chain: str, state: str, action: str | None) -> None:
    cur = conn.execute(
        "UPDATE scheduler_job_chain_nodes SET action=%s"
        " WHERE spooler_id=%s AND job_chain=%s AND state=%s",
        (action, sid, chain, state),
    )
    if cur.rowcount != 1:
        raise NotFound(f"no node {state!r} in job chain {chain!r}")


def list_job_chains(conn: Conn, sid: str) -> list[dict[str, Any]]:
    chains = conn.execute(
        "SELECT name, distributed, stopped FROM scheduler_job_chains"
        " WHERE spooler_id=%s ORDER BY name",
        (sid,),
    ).fetchall()
    nodes = conn.execute(
        "SELECT job_chain, state, job, next_state, error_state, action"
        " FROM scheduler_job_chain_nodes WHERE spooler_id=%s ORDER BY job_chain, ordinal",
        (sid,),
    ).fetchall()
    out = []
    for c in chains:
        out.append(
            {
                "name": c["name"],
                "distributed": c["distributed"],
                "stopped": c["stopped"],
                "nodes": [
                    {
                        "state": n["state"],
                        "job": n["job"],
                        "next_state": n["next_state"],
                        "error_state": n["error_state"],
                        "action": n["action"],
                    }
                    for n in nodes
                    if n["job_chain"] == c["name"]
                ],
            }
        )
    return out


# -- orders ------------------------------------------------------------------


def add_order(
    conn: Conn,
    sid: str,
    chain: str,
    order_id: str,
    run_time: Any,
    state: str | None,
    suspended: bool,
    owner: str,
    replace: bool = False,
) -> dict[str, Any]:
    """Add an order. An order of the same id that finished is replaced (the
    engine removes finished orders); a waiting one only with ``replace``; one
    a member is processing never (``Conflict``)."""
    nodes = conn.execute(
        "SELECT state FROM scheduler_job_chain_nodes WHERE spooler_id=%s AND job_chain=%s"
        " ORDER BY ordinal",
        (sid, chain),
    ).fetchall()
    if not nodes:
        raise NotFound(f"no job chain {chain!r} (or it has no nodes)")
    states = [n["state"] for n in nodes]
    initial = states[0]
    if state is not None and state not in states:
        raise NotFound(f"job chain {chain!r} has no node {state!r}")
    added = now_ms(conn)
    rt = schedule.parse(run_time, added)
    due = schedule.first_start(rt, added)
    if due is None:
        raise schedule.RunTimeError("run_time has no start at or after now")
    old = conn.execute(
        "SELECT finished, occupying_cluster_member_id AS occupant FROM scheduler_orders"
        " WHERE spooler_id=%s AND job_chain=%s AND id=%s FOR UPDATE",
        (sid, chain, order_id),
    ).fetchone()
    if old is not None and (old["finished"] or (replace and old["occupant"] is None)):
        conn.execute(
            "DELETE FROM scheduler_orders WHERE spooler_id=%s AND job_chain=%s AND id=%s",
            (sid, chain, order_id),
        )
    cur = conn.execute(
        """INSERT INTO scheduler_orders (spooler_id, job_chain, id, state, initial_state,
               suspended, run_time, run_no, run_due, distributed_next_time, owner_member_id,
               created)
           VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s, %s)
           ON CONFLICT DO NOTHING""",
        (
            sid,
            chain,
            order_id,
            state or initial,
            initial,
            suspended,
            None if rt is None else Jsonb(rt),
            due,
            due,
            owner,
            added,
        ),
    )
    if cur.rowcount != 1:
        raise Conflict(f"order {order_id!r} already exists in job chain {chain!r}")
    return get_order(conn, sid, chain, order_id)


def modify_order(
    conn: Conn,
    sid: str,
    chain: str,
    order_id: str,
    suspended: bool | None,
    state: str | None,
    set_at: bool,
    at: Any,
) -> None:
    """``<modify_order>``: suspend or resume it, move it to another node (the
    caller checks it is not being processed), or set its next start (``at``
    as a run time, None for now)."""
    if suspended is not None:
        set_order_suspended(conn, sid, chain, order_id, suspended)
    if state is not None:
        conn.execute(
            "UPDATE scheduler_orders SET state = %s"
            " WHERE spooler_id = %s AND job_chain = %s AND id = %s",
            (state, sid, chain, order_id),
        )
    if set_at:
        now = now_ms(conn)
        due = schedule.first_start(schedule.parse(at, now), now)
        conn.execute(
            "UPDATE scheduler_orders SET run_due = %s, distributed_next_time = %s"
            " WHERE spooler_id = %s AND job_chain = %s AND id = %s"
            " AND occupying_cluster_member_id IS NULL",
            (due, due, sid, chain, order_id),
        )


def set_order_suspended(conn: Conn, sid: str, chain: str, order_id: str, suspended: bool) -> None:
    cur = conn.execute(
        "UPDATE scheduler_orders SET suspended=%s WHERE spooler_id=%s AND job_chain=%s AND id=%s",
        (suspended, sid, chain, order_id),
    )
    if cur.rowcount != 1:
        raise NotFound(f"no order {order_id!r} in job chain {chain!r}")


def _order_json(r: dict[str, Any]) -> dict[str, Any]:
    rt = r["run_time"]
    if isinstance(rt, str):
        rt = json.loads(rt)
    return {
        "job_chain": r["job_chain"],
        "id": r["id"],
        "state": r["state"],
        "suspended": r["suspended"],
        "finished": r["finished"],
        "run_time": schedule.to_json(rt),
        "run_no": r["run_no"],
        "run_due": r["run_due"],
        "distributed_next_time": r["distributed_next_time"],
        "occupying_cluster_member_id": r["occupying_cluster_member_id"],
    }


def get_order(conn: Conn, sid: str, chain: str, order_id: str) -> dict[str, Any]:
    r = conn.execute(
        "SELECT * FROM scheduler_orders WHERE spooler_id=%s AND job_chain=%s AND id=%s",
        (sid, chain, order_id),
    ).fetchone()
    if r is None:
        raise NotFound(f"no order {order_id!r} in job chain {chain!r}")
    return _order_json(r)


def tasks(
    conn: Conn, sid: str, chain: str | None, order_id: str | None, after: int
) -> list[dict[str, Any]]:
    rows = conn.execute(
        """SELECT id, cluster_member_id, job_chain, order_id, run_no, run_due, state, job,
                  exclusive, start_time, end_time, exit_code, result, output
           FROM scheduler_history WHERE spooler_id=%s AND id > %s
             AND (%s::text IS NULL OR job_chain=%s) AND (%s::text IS NULL OR order_id=%s)
           ORDER BY id""",
        (sid, after, chain, chain, order_id, order_id),
    ).fetchall()
    return [dict(r) for r in rows]


def chain_orders(conn: Conn, sid: str, chain: str | None) -> list[dict[str, Any]]:
    """The orders of a job chain (or all) that are not finished, as stored."""
    rows: list[dict[str, Any]] = conn.execute(
        "SELECT * FROM scheduler_orders WHERE spooler_id = %s AND NOT finished"
        " AND (%s::text IS NULL OR job_chain = %s) ORDER BY job_chain, created, id",
        (sid, chain, chain),
    ).fetchall()
    return rows


def order_runs(
    conn: Conn, sid: str, chain: str, order_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """Order history rows (one per run), newest first."""
    return conn.execute(
        """SELECT history_id, job_chain, order_id, state, start_time, end_time
           FROM scheduler_order_history
           WHERE spooler_id = %s AND job_chain = %s AND (%s::text IS NULL OR order_id = %s)
           ORDER BY history_id DESC LIMIT %s""",
        (sid, chain, order_id, order_id, limit),
    ).fetchall()


def job_tasks(
    conn: Conn, sid: str, job: str, task_id: int | None, step: int
) -> list[dict[str, Any]]:
    """A job's task history as ``<show_history>`` selects it
    (``Job_history::read_tail``, database.cxx:1906-1921): without ``task_id``
    the last ``-step`` (or first ``step``) tasks; with it, ``|step|`` tasks
    before (``step`` < 0) or after it, or just it (``step`` 0)."""
    where = ""
    params: list[Any] = [sid, job]
    if task_id is not None:
        where = " AND id " + ("<" if step < 0 else ">" if step > 0 else "=") + " %s"
        params.append(task_id)
    order = "DESC" if step < 0 else "ASC"
    limit = f" LIMIT {abs(step)}" if step else ""
    return conn.execute(
        "SELECT id, cluster_member_id, job, job_chain, order_id, state, start_time, end_time,"
        " exit_code, result, pid FROM scheduler_history"
        f" WHERE spooler_id = %s AND job = %s{where} ORDER BY id {order}{limit}",
        params,
    ).fetchall()


def task(conn: Conn, sid: str, task_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = conn.execute(
        "SELECT id, cluster_member_id, job, start_time, end_time, exit_code, result, pid"
        " FROM scheduler_history WHERE spooler_id = %s AND id = %s",
        (sid, task_id),
    ).fetchone()
    return row


# -- the engine's side -------------------------------------------------------


_IS_END = """EXISTS (SELECT 1 FROM scheduler_job_chain_nodes e
                  WHERE e.spooler_id = o.spooler_id AND e.job_chain = o.job_chain
                    AND e.state = {state} AND e.job IS NULL)"""


def candidates(
    conn: Conn, sid: str, member: str, active_cluster: bool, limit: int
) -> list[dict[str, Any]]:
    """Due, unoccupied, runnable order steps (a stopped node, a stopped job, a
    stopped chain or a suspended order holds its orders where they are)."""
    return conn.execute(
        f"""SELECT o.job_chain, o.id, o.state, o.initial_state, o.run_time, o.run_no, o.run_due,
                   o.distributed_next_time, o.history_id, n.job, n.next_state, n.error_state,
                   n.action, j.command, j.noop_seconds, j.tasks,
                   {_IS_END.format(state="n.next_state")} AS next_is_end,
                   {_IS_END.format(state="n.error_state")} AS error_is_end
            FROM scheduler_orders o
            JOIN scheduler_job_chains c ON c.spooler_id = o.spooler_id AND c.name = o.job_chain
            JOIN scheduler_job_chain_nodes n ON n.spooler_id = o.spooler_id
                 AND n.job_chain = o.job_chain AND n.state = o.state
            JOIN scheduler_jobs j ON j.spooler_id = o.spooler_id AND j.name = n.job
            WHERE o.spooler_id = %(sid)s AND NOT o.finished AND NOT o.suspended
              AND o.occupying_cluster_member_id IS NULL
              AND o.distributed_next_time <= {NOW_MS}
              AND NOT c.stopped
              AND (n.action IS NULL OR n.action = 'next_state')
              AND (NOT j.stopped OR n.action = 'next_state')
              AND (NOT %(ac)s OR c.distributed OR o.owner_member_id = %(me)s)
            ORDER BY o.distributed_next_time
            LIMIT %(limit)s""",
        {"sid": sid, "me": member, "ac": active_cluster, "limit": limit},
    ).fetchall()


def claim(
    conn: Conn, sid: str, chain: str, order_id: str, member: str, next_time: int, exclusive: bool
) -> bool:
    """The claim of JS7-FACTS §6: true only if exactly one row changed. With
    ``exclusive`` the member must also hold the exclusive cluster row."""
    cur = conn.execute(
        """UPDATE scheduler_orders SET occupying_cluster_member_id = %(me)s
           WHERE spooler_id = %(sid)s AND job_chain = %(chain)s AND id = %(id)s
             AND occupying_cluster_member_id IS NULL AND distributed_next_time = %(t)s
             AND EXISTS (SELECT 1 FROM scheduler_clusters m
                         WHERE m.member_id = %(me)s AND NOT m.dead AND m.command IS NULL
                           AND m.active AND (m.exclusive OR NOT %(excl)s))""",
        {
            "sid": sid,
            "chain": chain,
            "id": order_id,
            "me": member,
            "t": next_time,
            "excl": exclusive,
        },
    )
    return cur.rowcount == 1


def start_task(
    conn: Conn, sid: str, member: str, step: dict[str, Any], exclusive: bool
) -> tuple[int, int]:
    """The task's start row (in the claim's transaction): (history id, start ms)."""
    row = conn.execute(
        f"""INSERT INTO scheduler_history (spooler_id, cluster_member_id, job_chain, order_id,
                run_no, run_due, state, job, exclusive, start_time)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, {NOW_MS})
            RETURNING id, start_time""",
        (
            sid,
            member,
            step["job_chain"],
            step["id"],
            step["run_no"],
            step["run_due"],
            step["state"],
            step["job"],
            exclusive,
        ),
    ).fetchone()
    assert row is not None
    return int(row["id"]), int(row["start_time"])


def _run_time(step: dict[str, Any]) -> dict[str, Any] | None:
    rt = step["run_time"]
    return json.loads(rt) if isinstance(rt, str) else rt


def open_order_run(conn: Conn, sid: str, step: dict[str, Any]) -> int:
    """The order history row of the claimed step's run (in the claim's
    transaction): the run's own when a step of it ran before, else a new one."""
    if step.get("history_id") is not None:
        return int(step["history_id"])
    row = conn.execute(
        f"""INSERT INTO scheduler_order_history (spooler_id, job_chain, order_id, state,
                start_time)
            VALUES (%s, %s, %s, %s, {NOW_MS}) RETURNING history_id""",
        (sid, step["job_chain"], step["id"], step["state"]),
    ).fetchone()
    assert row is not None
    conn.execute(
        "UPDATE scheduler_orders SET history_id = %s"
        " WHERE spooler_id = %s AND job_chain = %s AND id = %s",
        (row["history_id"], sid, step["job_chain"], step["id"]),
    )
    return int(row["history_id"])


def advance(conn: Conn, sid: str, member: str, step: dict[str, Any], ok: bool) -> bool:
    """Move a claimed order past its step and release it; false if the member
    no longer holds the order (it was declared dead meanwhile). A run ends at
    an end node (or after a last node without a next state): its order
    history row gets its end, and the order waits for its next start or is
    finished."""
    nxt = step["next_state"] if ok else step["error_state"]
    ends = nxt is None or bool(step.get("next_is_end" if ok else "error_is_end"))
    now = now_ms(conn)
    if not ends:
        values: dict[str, Any] = {
            "state": nxt,
            "finished": False,
            "run_no": step["run_no"],
            "run_due": step["run_due"],
            "t": now,
        }
    else:
        # The run ended. Its next run starts at the next scheduled time after
        # now: starts missed while this run overran are skipped, not caught up.
        rt = _run_time(step)
        after = max(now, int(step["run_due"] or 0) + 1)
        due = schedule.next_start(rt, after)
        if due is None:
            values = {
                "state": nxt,
                "finished": True,
                "run_no": step["run_no"],
                "run_due": step["run_due"],
                "t": None,
            }
        else:
            values = {
                "state": step["initial_state"],
                "finished": False,
                "run_no": step["run_no"] + 1,
                "run_due": due,
                "t": due,
            }
    cur = conn.execute(
        """UPDATE scheduler_orders
           SET state = %(state)s, finished = %(finished)s, run_no = %(run_no)s,
               run_due = %(run_due)s, distributed_next_time = %(t)s,
               occupying_cluster_member_id = NULL,
               history_id = CASE WHEN %(ends)s THEN NULL ELSE history_id END
           WHERE spooler_id = %(sid)s AND job_chain = %(chain)s AND id = %(id)s
             AND occupying_cluster_member_id = %(me)s""",
        {
            **values,
            "ends": ends,
            "sid": sid,
            "chain": step["job_chain"],
            "id": step["id"],
            "me": member,
        },
    )
    if cur.rowcount != 1:
        return False
    if step.get("history_id") is not None:
        conn.execute(
            f"""UPDATE scheduler_order_history
                SET state = %s, end_time = CASE WHEN %s THEN {NOW_MS} ELSE end_time END
                WHERE history_id = %s""",
            (nxt, ends, step["history_id"]),
        )
    return True


def end_task(
    conn: Conn, task_id: int, exit_code: int | None, result: str, output: str | None
) -> None:
    """Record the end of a task, unless another member already marked it
    disrupted (then that verdict stands: its order was handed on)."""
    conn.execute(
        f"""UPDATE scheduler_history
            SET end_time = {NOW_MS}, exit_code = %s, result = %s, output = %s
            WHERE id = %s AND result IS NULL""",
        (exit_code, result, output, task_id),
    )


def release(conn: Conn, sid: str, member: str, step: dict[str, Any]) -> None:
    """Give a claimed order back unchanged (its step was killed on a normal
    stop): it runs again, from the same step, on whoever is active."""
    conn.execute(
        """UPDATE scheduler_orders SET occupying_cluster_member_id = NULL
           WHERE spooler_id = %s AND job_chain = %s AND id = %s
             AND occupying_cluster_member_id = %s""",
        (sid, step["job_chain"], step["id"], member),
    )


def free_member(conn: Conn, sid: str, member: str) -> tuple[int, int]:
    """Free the orders a dead (or restarted) member held and mark its unfinished
    tasks disrupted: (orders freed, tasks disrupted)."""
    orders = conn.execute(
        "UPDATE scheduler_orders SET occupying_cluster_member_id = NULL"
        " WHERE spooler_id = %s AND occupying_cluster_member_id = %s",
        (sid, member),
    ).rowcount
    tasks_ = conn.execute(
        "UPDATE scheduler_history SET result = 'disrupted'"
        " WHERE spooler_id = %s AND cluster_member_id = %s AND result IS NULL",
        (sid, member),
    ).rowcount
    return orders, tasks_


def skip_missed_starts(conn: Conn, sid: str, now: int) -> list[dict[str, Any]]:
    """On becoming active: move every scheduled order still waiting for a start
    that fell due before ``now`` to its next scheduled start at or after
    ``now``. Orders in the middle of a run and immediate orders are left as
    they are. Returns what was skipped."""
    rows = conn.execute(
        """SELECT job_chain, id, run_time, run_no, run_due FROM scheduler_orders
           WHERE spooler_id = %s AND NOT finished AND run_time IS NOT NULL
             AND state = initial_state AND occupying_cluster_member_id IS NULL
             AND distributed_next_time < %s
           FOR UPDATE""",
        (sid, now),
    ).fetchall()
    skipped = []
    for r in rows:
        rt = _run_time(r)
        due = schedule.next_start(rt, now)
        conn.execute(
            """UPDATE scheduler_orders SET run_due = %s, distributed_next_time = %s,
                   finished = %s, state = CASE WHEN %s THEN NULL ELSE state END
               WHERE spooler_id = %s AND job_chain = %s AND id = %s""",
            (due, due, due is None, due is None, sid, r["job_chain"], r["id"]),
        )
        skipped.append(
            {"job_chain": r["job_chain"], "id": r["id"], "missed_due": r["run_due"], "next": due}
        )
    return skipped


def log_event(
    conn: Conn, sid: str, member: str, event: str, detail: str = "", at: int | None = None
) -> int:
    """Record a cluster event at ``at`` (default: now on the database clock)."""
    row = conn.execute(
        f"""INSERT INTO scheduler_cluster_events (scheduler_id, member_id, event, time, detail)
            VALUES (%s, %s, %s, coalesce(%s, {NOW_MS}), %s) RETURNING time""",
        (sid, member, event, at, detail),
    ).fetchone()
    assert row is not None
    return int(row["time"])


def wall_ms() -> int:
    return int(time.time() * 1000)
