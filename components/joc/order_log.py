"""JOC's order log (``order/log``) as JOC answers it: an ``OrderLog``
``{"complete", "eventId", "historyId", "logEvents": [orderLogEntry]}``
(js7-api-schemas ``order/orderLog-schema.json``,
``history/order/orderLogEntry-schema.json``), built from the History tables.

The entries are the order's history — ``OrderStarted``, each job step's
``OrderProcessingStarted`` and ``OrderProcessed`` (with its ``job``,
``taskId``, ``agentId`` and ``returnCode``), and its end (``OrderFinished``,
``OrderFailed``, ``OrderCancelled``) — with JOC's log levels and its
``"yyyy-MM-dd HH:mm:ss.SSS+0000"`` times. A step's output is not in the
order log but in its task log (``task/log``), as in JOC.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from components.joc.db import Conn
from components.joc.views.subviews import position_string

Entry = dict[str, Any]

_END = {
    "FINISHED": ("OrderFinished", "MAIN"),
    "FAILED": ("OrderFailed", "ERROR"),
    "CANCELLED": ("OrderCancelled", "MAIN"),
}


def joc_time(t: dt.datetime) -> str:
    """JOC's log time: ``2021-04-16 20:12:02.002+0000`` (here always UTC)."""
    u = t.astimezone(dt.UTC)
    return u.strftime("%Y-%m-%d %H:%M:%S.") + f"{u.microsecond // 1000:03d}+0000"


def _position(stored: str) -> str:
    """JS7's position text from the stored JSON list (``[1,"then",0]`` →
    ``1/then:0``)."""
    try:
        return position_string(json.loads(stored))
    except ValueError:
        return stored


async def read(conn: Conn, history_id: int) -> tuple[Any, list[Any]] | None:
    """The order's row and its steps, or None when there is no such order."""
    cur = await conn.execute(
        """SELECT ORDER_ID, START_TIME, END_TIME, END_EVENT_ID, STATE, POSITION,
                  ERROR_TEXT, START_EVENT_ID
           FROM HISTORY_ORDERS WHERE ID = %s""",
        (history_id,),
    )
    order = await cur.fetchone()
    if order is None:
        return None
    cur = await conn.execute(
        """SELECT ID, POSITION, JOB_NAME, AGENT_PATH, START_TIME, END_TIME, RETURN_CODE,
                  STATE, ERROR_TEXT, START_EVENT_ID, END_EVENT_ID
           FROM HISTORY_ORDER_STEPS WHERE HISTORY_ORDER_ID = %s ORDER BY START_EVENT_ID""",
        (history_id,),
    )
    return order, list(await cur.fetchall())


def order_log(history_id: int, order: Any, steps: list[Any]) -> dict[str, Any]:
    """The ``OrderLog`` answer for one order's row and steps (see ``read``)."""
    oid, start, end, end_eid, state, position, error, start_eid = order
    first = _position(steps[0][1]) if steps else _position(position)
    entries: list[Entry] = [
        _entry(start, oid, "MAIN", "OrderStarted", first),
    ]
    last_eid = int(start_eid)
    for sid, pos, job, agent, s_start, s_end, rc, s_state, s_error, s_eid, e_eid in steps:
        where = _position(pos)
        started = _entry(s_start, oid, "MAIN", "OrderProcessingStarted", where)
        started.update(job=job, taskId=sid, agentDatetime=joc_time(s_start))
        if agent:
            started["agentId"] = agent
        entries.append(started)
        last_eid = max(last_eid, int(s_eid))
        if s_end is not None:
            ok = s_state == "SUCCESSFUL"
            done = _entry(s_end, oid, "SUCCESS" if ok else "ERROR", "OrderProcessed", where)
            done.update(job=job, taskId=sid, agentDatetime=joc_time(s_end))
            if rc is not None:
                done["returnCode"] = rc
            if not ok and s_error:
                done["error"] = {"errorState": s_state.lower(), "errorText": s_error}
            entries.append(done)
            last_eid = max(last_eid, int(e_eid or 0))
    if end is not None and state in _END:
        kind, level = _END[state]
        last = _entry(end, oid, level, kind, _position(position))
        if state == "FAILED" and error:
            last["error"] = {"errorState": "failed", "errorText": error}
        entries.append(last)
        last_eid = max(last_eid, int(end_eid or 0))
    return {
        "historyId": history_id,
        "complete": end_eid is not None,
        "eventId": last_eid,
        "logEvents": entries,
    }


def _entry(t: dt.datetime, oid: str, level: str, event: str, position: str) -> Entry:
    return {
        "controllerDatetime": joc_time(t),
        "orderId": oid,
        "logLevel": level,
        "logEvent": event,
        "position": position,
    }
