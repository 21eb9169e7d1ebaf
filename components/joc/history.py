"""The History Service: Controller events into ``HISTORY_*`` tables.

What must hold (JS7-FACTS 1, with the *improve* item):

* each batch of events is written in one transaction together with the
  position (``JOC_VARIABLES``, ``NAME='history_<controllerId>'``) and the
  fencing check — so after any crash, restart or JOC fail-over the service
  resumes exactly after the last committed event: no gap, no duplicate;
* events are released on the Controller (user ``History``) only after the
  commit, so the stream can never be torn under History's feet;
* a unique hash (controllerId + eventId + orderId [+ position]) on every
  history row makes a duplicate impossible even if the above failed;
* a replaced (fenced) active writes nothing: ``Fenced`` ends the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import aiohttp

from components.common.auth import SESSION_HEADER
from components.common.client import ProblemError
from components.common.ndjson import NdjsonReader
from components.joc.cluster import Fenced, fence, open_activity
from components.joc.controllers import ControllerLocator, NoActiveController, is_stale_active
from components.joc.db import Conn, Database, DatabaseUnavailable, execute_whole, json_rows
from components.joc.feed import Feed

log = logging.getLogger("js7.joc.history")

TERMINAL = {"OrderFinished": "FINISHED", "OrderFailed": "FAILED", "OrderCancelled": "CANCELLED"}


T = TypeVar("T")


def storable(value: Any) -> Any:
    """``value`` with every NUL character in its strings and keys written as
    the six characters ``\\u0000``: PostgreSQL's ``text`` cannot hold NUL, and
    History keeps such an event's rows rather than stall on them."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    return value


def row_hash(controller_id: str, event_id: int, order_id: str, position: str = "") -> str:
    text = f"{controller_id}\x1f{event_id}\x1f{order_id}\x1f{position}"
    return hashlib.sha256(text.encode()).hexdigest()


def event_time(ev: dict[str, Any]) -> dt.datetime:
    ms = ev.get("timestamp") or ev["eventId"] // 1000
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def position_text(value: Any) -> str:
    return json.dumps(value if value is not None else [0], separators=(",", ""))


@dataclass
class Cursor:
    """What History needs to remember of an open (unfinished) order."""

    id: int
    workflow_path: str
    position: str
    agent: str | None = None
    step_id: int | None = None
    version: str = ""
    failed_in_fork: bool = False  # a Fork's child: its row ends FAILED at the join


@dataclass
class Plan:
    """The rows one batch of events turns into."""

    new_orders: list[dict[str, Any]] = field(default_factory=list)
    order_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    new_steps: list[dict[str, Any]] = field(default_factory=list)
    step_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    logs: list[tuple[Any, ...]] = field(default_factory=list)
    cursors: dict[str, Cursor | None] = field(default_factory=dict)  # None: order closed
    terminated: list[dict[str, Any]] = field(default_factory=list)


# One batch is written with one statement per table, each sent whole as one
# simple-protocol message (components.joc.db.execute_whole) — never
# ``executemany``: psycopg pipelines that, and while the server waits for the
# rest of a pipeline (or of a large Bind) it arms neither statement_timeout nor
# idle_in_transaction_session_timeout, so a writer frozen there (SIGSTOP, a
# paused container) would keep the fence's share lock on JOC_CLUSTER, and with
# it every standby from taking over, for as long as it stays frozen.
# The rows travel as one JSON array; WITH ORDINALITY keeps their order (the
# BIGSERIAL ids of HISTORY_LOGS follow the order of the chunks).
ORDER_INSERT = """INSERT INTO HISTORY_ORDERS (ID, CONTROLLER_ID, ORDER_ID, WORKFLOW_PATH,
    WORKFLOW_VERSION_ID, START_EVENT_ID, START_TIME, PLANNED_TIME, END_TIME, END_EVENT_ID, STATE,
    POSITION, AGENT_PATH, ERROR_TEXT, MODIFIED, HASH)
    SELECT r.id, r.controller_id, r.order_id, r.workflow_path, r.version, r.start_event_id,
        r.start_time, r.planned, r.end_time, r.end_event_id, r.state, r.position, r.agent,
        r.error, clock_timestamp(), r.hash
    FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (id bigint, controller_id text,
        order_id text, workflow_path text, version text, start_event_id bigint,
        start_time timestamptz, planned timestamptz, end_time timestamptz, end_event_id bigint,
        state text, position text, agent text, error text, hash text))
    WITH ORDINALITY AS r(id, controller_id, order_id, workflow_path, version, start_event_id,
        start_time, planned, end_time, end_event_id, state, position, agent, error, hash, n)
    ORDER BY r.n
    ON CONFLICT (HASH) DO NOTHING"""
STEP_INSERT = """INSERT INTO HISTORY_ORDER_STEPS (ID, HISTORY_ORDER_ID, CONTROLLER_ID, ORDER_ID,
    WORKFLOW_PATH, POSITION, JOB_NAME, AGENT_PATH, START_EVENT_ID, START_TIME, END_TIME,
    END_EVENT_ID, RETURN_CODE, STATE, ERROR_TEXT, HASH)
    SELECT r.id, r."order", r.controller_id, r.order_id, r.workflow_path, r.position, r.job,
        r.agent, r.start_event_id, r.start_time, r.end_time, r.end_event_id, r.rc, r.state,
        r.error, r.hash
    FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (id bigint, "order" bigint,
        controller_id text, order_id text, workflow_path text, position text, job text,
        agent text, start_event_id bigint, start_time timestamptz, end_time timestamptz,
        end_event_id bigint, rc integer, state text, error text, hash text))
    WITH ORDINALITY AS r(id, "order", controller_id, order_id, workflow_path, position, job,
        agent, start_event_id, start_time, end_time, end_event_id, rc, state, error, hash, n)
    ORDER BY r.n
    ON CONFLICT (HASH) DO NOTHING"""
LOG_COLUMNS = ("order", "step", "event_id", "stream", "chunk", "hash")  # of Plan.logs
LOG_INSERT = """INSERT INTO HISTORY_LOGS (HISTORY_ORDER_ID, STEP_ID, EVENT_ID, STREAM, CHUNK, HASH)
    SELECT r."order", r.step, r.event_id, r.stream, r.chunk, r.hash
    FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ("order" bigint, step bigint,
        event_id bigint, stream text, chunk text, hash text))
    WITH ORDINALITY AS r("order", step, event_id, stream, chunk, hash, n)
    ORDER BY r.n
    ON CONFLICT (HASH) DO NOTHING"""
# The updates of one batch are keyed by row id (Plan.order_updates,
# Plan.step_updates): each row is updated at most once per statement.
STEP_UPDATE = """UPDATE HISTORY_ORDER_STEPS s SET
    END_TIME = r.end_time, END_EVENT_ID = r.end_event_id, RETURN_CODE = r.rc,
    STATE = r.state, ERROR_TEXT = r.error
    FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, end_time timestamptz,
        end_event_id bigint, rc integer, state text, error text)
    WHERE s.ID = r.id"""
ORDER_UPDATE = """UPDATE HISTORY_ORDERS o SET
    STATE = COALESCE(r.state, o.STATE), POSITION = COALESCE(r.position, o.POSITION),
    AGENT_PATH = COALESCE(r.agent, o.AGENT_PATH), END_TIME = COALESCE(r.end_time, o.END_TIME),
    END_EVENT_ID = COALESCE(r.end_event_id, o.END_EVENT_ID),
    ERROR_TEXT = COALESCE(r.error, o.ERROR_TEXT), MODIFIED = clock_timestamp()
    FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, state text, position text, agent text,
        end_time timestamptz, end_event_id bigint, error text)
    WHERE o.ID = r.id"""


def _outcome(outcome: Any) -> tuple[str, int | None, str | None]:
    """(step state, return code, error text) of a JS7 outcome."""
    if not isinstance(outcome, dict):
        return "INCOMPLETE", None, "no outcome"
    rc = (outcome.get("namedValues") or {}).get("returnCode")
    rc = rc if isinstance(rc, int) and not isinstance(rc, bool) else None
    kind = outcome.get("TYPE")
    if kind == "Succeeded":
        return "SUCCESSFUL", rc, None
    if kind == "Failed":
        return "FAILED", rc, str(outcome.get("message") or f"returnCode {rc}")
    return "INCOMPLETE", rc, json.dumps(outcome)


class HistoryService:
    """Runs while this instance is active (``run(epoch)``); ``status()`` for the API."""

    def __init__(
        self,
        db: Database,
        member_id: str,
        controller_id: str,
        locator: ControllerLocator,
        feed: Feed,
        *,
        batch_limit: int = 1000,
        long_poll: float = 1.0,
        retry_delay: float = 0.2,
        release_interval: float = 0.2,
        rediscover_delay: float = 0.1,
        heartbeat: float = 0.5,
    ) -> None:
        self.db = db
        self.member_id = member_id
        self.controller_id = controller_id
        self.locator = locator
        self.feed = feed
        self.batch_limit = batch_limit
        self.long_poll = long_poll
        self.retry_delay = retry_delay
        self.release_interval = release_interval
        self.rediscover_delay = rediscover_delay
        self.heartbeat = heartbeat
        # The Controller node History read its last batch from, and every
        # change of it (wall clock of the first write from the new node).
        self.controller_node: str | None = None
        self.controller_switches: list[dict[str, Any]] = []
        self.variable = f"history_{controller_id}"
        self.position: int | None = None
        self.released = 0
        self.last_error: str | None = None
        self.running_epoch: int | None = None
        self.committed_batches = 0
        self.start_position: int | None = None
        # Rows the unique hash refused: a replay History should never attempt.
        self.duplicates_skipped = 0
        # Events History could not store, each kept in HISTORY_POISON.
        self.poison_events = 0
        self.problem: str | None = None
        self._cursors: dict[str, Cursor] = {}

    def status(self) -> dict[str, Any]:
        return {
            "active": self.running_epoch is not None,
            "epoch": self.running_epoch,
            "position": self.position,
            "released": self.released,
            "batches": self.committed_batches,
            "startPosition": self.start_position,
            "duplicatesSkipped": self.duplicates_skipped,
            "poisonEvents": self.poison_events,
            "problem": self.problem,
            "lastError": self.last_error,
            "controllerNode": self.controller_node,
            "controllerSwitches": list(self.controller_switches),
        }

    async def load_position(self) -> int:
        async def read(conn: Conn) -> int:
            cur = await conn.execute(
                "SELECT NUMERIC_VALUE FROM JOC_VARIABLES WHERE NAME = %s", (self.variable,)
            )
            row = await cur.fetchone()
            return int(row[0]) if row and row[0] is not None else 0

        return await self.db.run(read)

    async def run(self, epoch: int) -> None:
        """Until cancelled or fenced. Every outage is waited out and retried."""
        self.running_epoch = epoch
        self._cursors = {}  # another instance may have written meanwhile
        try:
            while True:
                try:
                    self.position = await self.load_position()
                    break
                except DatabaseUnavailable as exc:
                    self.last_error = str(exc)
                    await asyncio.sleep(self.retry_delay)
            self.start_position = self.position
            log.info("History Service started (epoch %d) at eventId %d", epoch, self.position)
            await self._loop(epoch)
        except Fenced as exc:
            log.warning("History Service fenced, stops writing: %s", exc)
        finally:
            self.running_epoch = None

    async def _read(self) -> tuple[str, list[dict[str, Any]]]:
        """One long poll on the active Controller node, with heartbeats: a
        node silent for longer than two heartbeats (killed, cut off, paused)
        is given up at once, not after the poll's timeout."""
        name, ctl = await self.locator.active()
        params = {
            "after": str(self.position or 0),
            "timeout": str(self.long_poll),
            "limit": str(self.batch_limit),
            "heartbeat": str(self.heartbeat),
        }
        silence = 2 * self.heartbeat + 0.25
        events: list[dict[str, Any]] = []
        async with asyncio.timeout(self.locator.probe_timeout + silence):
            headers = {SESSION_HEADER: await ctl.token()}
            resp = await ctl.http.get(
                ctl.url("/event"),
                params=params,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
            )
        async with resp:
            if resp.status != 200:
                if resp.status == 401:
                    ctl.forget_token()
                body = await asyncio.wait_for(resp.json(content_type=None), silence)
                body = body if isinstance(body, dict) else {}
                raise ProblemError(
                    resp.status, str(body.get("code")), str(body.get("message")), body
                )
            lines = NdjsonReader(resp.content)
            while True:
                raw = await asyncio.wait_for(lines.readline(), silence)
                if not raw:
                    break
                line = raw.strip()
                if line:
                    event = json.loads(line)
                    events.append(storable(event) if b"\\u0000" in line else event)
        return name, events

    async def _loop(self, epoch: int) -> None:
        last_release = 0.0
        failures = 0
        assert self.position is not None
        while True:
            try:
                node, events = await self._read()
                failures = 0
            except ProblemError as exc:
                self.last_error = f"{exc.code}: {exc.message}"
                self.locator.forget()
                if is_stale_active(exc):
                    # Switched or failed over: ask every node again, at once
                    # (a node handing over still claims to be active for a
                    # moment: then back off a little).
                    log.info("Controller node no longer active: %s", self.last_error)
                    failures += 1
                    if failures > 1:
                        await asyncio.sleep(self.rediscover_delay)
                    continue
                # EventSeqTorn/UnknownEventId: never skip ahead — a gap must stay visible.
                log.error("Controller refused the event stream: %s", self.last_error)
                await asyncio.sleep(self.retry_delay * 5)
                continue
            except NoActiveController as exc:
                self.last_error = str(exc)
                await asyncio.sleep(self.rediscover_delay)
                continue
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                # Connection lost: re-discover at once the first time (the
                # active may have been replaced), then back off a little.
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.locator.forget()
                failures += 1
                if failures > 1:
                    await asyncio.sleep(self.rediscover_delay)
                continue
            if not events:
                continue
            await self._commit(epoch, events, node)
            self.position = events[-1]["eventId"]
            if time.monotonic() - last_release >= self.release_interval:
                last_release = time.monotonic()
                await self._release(self.position)

    async def _commit(self, epoch: int, events: list[dict[str, Any]], node: str = "") -> None:
        """Write the batch; retry through database outages (the events stay in
        memory and on the Controller, which holds them until released).

        A batch that fails for its content (not the database's availability)
        is written in halves, down to the one event that cannot be stored: a
        poison event, kept in HISTORY_POISON with its problem (visible in
        ``status()``), and History goes on after it — never stalls."""
        try:
            plan = await self._retrying(lambda c: self._write(c, epoch, events))
        except (Fenced, DatabaseUnavailable):
            raise
        except Exception as exc:  # noqa: BLE001 - the content of an event, whatever it is
            if len(events) > 1:
                mid = len(events) // 2
                await self._commit(epoch, events[:mid], node)
                await self._commit(epoch, events[mid:], node)
                return
            problem = f"{type(exc).__name__}: {exc}"
            await self._retrying(lambda c: self._write_poison(c, epoch, events[0], problem))
            self.poison_events += 1
            self.problem = f"event {events[0].get('eventId')} could not be stored: {problem}"
            log.error("History: %s (kept in HISTORY_POISON)", self.problem)
            return
        for oid, cursor in plan.cursors.items():
            if cursor is None:
                self._cursors.pop(oid, None)
            else:
                self._cursors[oid] = cursor
        self.committed_batches += 1
        self.last_error = None
        if node != self.controller_node:
            self.controller_node = node
            self.controller_switches.append(
                {"node": node, "firstWrite": time.time(), "eventId": events[-1]["eventId"]}
            )
            del self.controller_switches[:-100]
        self.feed.publish(
            {
                "TYPE": "HistoryChanged",
                "controllerId": self.controller_id,
                "controllerNode": node,  # js7ha extension: the node the events came from
                "eventId": events[-1]["eventId"],
                "terminated": plan.terminated,
                "added": [o["order_id"] for o in plan.new_orders],
                "started": [
                    {
                        "orderId": o["order_id"],
                        "workflowPath": o["workflow_path"],
                        "versionId": o["version"],
                    }
                    for o in plan.new_orders
                ],
            }
        )

    async def _release(self, until: int) -> None:
        """Bounded like a probe: a node cut off must not hold History up (a
        release is repeated with the next batch anyway)."""
        try:
            _, ctl = await self.locator.active()
            async with asyncio.timeout(self.locator.probe_timeout + 2 * self.heartbeat):
                await ctl.command({"TYPE": "ReleaseEvents", "untilEventId": until})
            self.released = until
        except (ProblemError, NoActiveController, aiohttp.ClientError, OSError) as exc:
            if is_stale_active(exc):
                self.locator.forget()
            log.warning("ReleaseEvents until %d failed (retried later): %s", until, exc)
        except TimeoutError:
            self.locator.forget()
            log.warning("ReleaseEvents until %d timed out (retried later)", until)

    async def _retrying(self, write: Callable[[Conn], Awaitable[T]]) -> T:
        while True:
            try:
                return await self.db.run(write)
            except DatabaseUnavailable as exc:
                self.last_error = f"database: {exc}"
                await asyncio.sleep(self.retry_delay)

    async def _write_poison(
        self, conn: Conn, epoch: int, event: dict[str, Any], problem: str
    ) -> None:
        async with conn.transaction():
            await fence(conn, self.member_id, epoch)
            await conn.execute(
                """INSERT INTO HISTORY_POISON (CONTROLLER_ID, EVENT_ID, EVENT, PROBLEM)
                   VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                # ASCII JSON: whatever the event holds, this text can be stored.
                (self.controller_id, int(event["eventId"]), json.dumps(event), problem[:2000]),
            )
            await self._store_position(conn, int(event["eventId"]))

    async def _store_position(self, conn: Conn, event_id: int) -> None:
        await conn.execute(
            """INSERT INTO JOC_VARIABLES (NAME, NUMERIC_VALUE) VALUES (%s, %s)
               ON CONFLICT (NAME) DO UPDATE SET NUMERIC_VALUE = EXCLUDED.NUMERIC_VALUE""",
            (self.variable, event_id),
        )

    async def _write(self, conn: Conn, epoch: int, events: list[dict[str, Any]]) -> Plan:
        async with conn.transaction():
            await fence(conn, self.member_id, epoch)
            plan = await self._plan(conn, events)
            skipped = 0
            # One statement per table, each one message (see ORDER_INSERT): the
            # server's timeouts hold wherever this process may freeze.
            logs = [dict(zip(LOG_COLUMNS, row, strict=True)) for row in plan.logs]
            for sql, rows in (
                (ORDER_INSERT, plan.new_orders),
                (STEP_INSERT, plan.new_steps),
                (LOG_INSERT, logs),
            ):
                if rows:
                    cur = await execute_whole(conn, sql, (json_rows(rows),))
                    skipped += len(rows) - max(0, cur.rowcount)
            if plan.step_updates:
                steps = json_rows(list(plan.step_updates.values()))
                await execute_whole(conn, STEP_UPDATE, (steps,))
            if plan.order_updates:
                orders = json_rows(list(plan.order_updates.values()))
                await execute_whole(conn, ORDER_UPDATE, (orders,))
            await self._store_position(conn, events[-1]["eventId"])
            await open_activity(conn, self.member_id, "history", epoch)
            await conn.execute(
                """UPDATE JOC_SERVICE_ACTIVITY SET ACTIVE_UNTIL = clock_timestamp()
                   WHERE SERVICE = 'history' AND EPOCH = %s""",
                (epoch,),
            )
        if skipped:
            log.error("%d history rows were already written (refused by their hash)", skipped)
            self.duplicates_skipped += skipped
        return plan

    async def _load_cursors(
        self, conn: Conn, order_ids: list[str], joined: list[str]
    ) -> dict[str, Cursor]:
        """The open orders ``order_ids`` and the open children of the
        parents ``joined``."""
        if not order_ids and not joined:
            return {}
        # Inside the fenced transaction, with as many ids as the batch has
        # orders: one message (see ORDER_INSERT).
        cur = await execute_whole(
            conn,
            """SELECT DISTINCT ON (o.ORDER_ID) o.ORDER_ID, o.ID, o.WORKFLOW_PATH, o.POSITION,
                      o.AGENT_PATH,
                      (SELECT s.ID FROM HISTORY_ORDER_STEPS s
                       WHERE s.HISTORY_ORDER_ID = o.ID AND s.END_EVENT_ID IS NULL
                       ORDER BY s.ID DESC LIMIT 1),
                      o.WORKFLOW_VERSION_ID, o.STATE
               FROM HISTORY_ORDERS o
               WHERE o.CONTROLLER_ID = %s AND o.END_EVENT_ID IS NULL
                 AND (o.ORDER_ID = ANY(%s)
                      -- the open children of a joined parent: its id before the last '|'
                      OR (strpos(o.ORDER_ID, '|') > 0
                          AND regexp_replace(o.ORDER_ID, '[|][^|]*$', '') = ANY(%s)))
               ORDER BY o.ORDER_ID, o.ID DESC""",
            (self.controller_id, order_ids, joined),
        )
        return {
            r[0]: Cursor(
                int(r[1]),
                r[2],
                r[3],
                r[4],
                int(r[5]) if r[5] is not None else None,
                r[6] or "",
                r[7] == "FAILED",
            )
            for r in await cur.fetchall()
        }

    async def _plan(self, conn: Conn, events: list[dict[str, Any]]) -> Plan:
        plan = Plan()
        cid = self.controller_id
        # Orders this batch continues but History has not in memory (after a
        # restart or fail-over): one query for all of them.
        added: set[str] = set()
        missing: list[str] = []
        needs_ids = 0
        joined: list[str] = []
        for ev in events:
            oid, kind = ev.get("Key"), ev.get("TYPE")
            if not isinstance(oid, str) or not str(kind).startswith("Order"):
                continue
            if kind in ("OrderAdded", "OrderProcessingStarted"):
                needs_ids += 1
            if kind == "OrderForked":
                children = _children(ev)
                needs_ids += len(children)
                added.update(children)
            if kind == "OrderJoined":
                joined.append(oid)
            if kind == "OrderAdded":
                added.add(oid)
            elif oid not in added and oid not in self._cursors and oid not in missing:
                missing.append(oid)
        loaded = await self._load_cursors(conn, missing, joined)
        ids: list[int] = []
        if needs_ids:
            cur = await conn.execute(
                "SELECT nextval('HISTORY_IDS') FROM generate_series(1, %s)", (needs_ids,)
            )
            ids = [int(r[0]) for r in await cur.fetchall()]
        new_by_id: dict[int, dict[str, Any]] = {}
        new_steps_by_id: dict[int, dict[str, Any]] = {}

        def cursor_of(oid: str) -> Cursor | None:
            if oid in plan.cursors:
                return plan.cursors[oid]
            c = self._cursors.get(oid) or loaded.get(oid)
            return replace(c) if c is not None else None

        def update_order(c: Cursor, **cols: Any) -> None:
            if c.id in new_by_id:
                new_by_id[c.id].update({k: v for k, v in cols.items() if v is not None})
                return
            u = plan.order_updates.setdefault(
                c.id,
                {
                    "id": c.id,
                    "state": None,
                    "position": None,
                    "agent": None,
                    "end_time": None,
                    "end_event_id": None,
                    "error": None,
                },
            )
            u.update({k: v for k, v in cols.items() if v is not None})

        def open_order(
            ev: dict[str, Any], oid: str, path: str, version: str, position: Any, state: str
        ) -> None:
            eid = ev["eventId"]
            hid = ids.pop()
            planned = ev.get("scheduledFor")
            row = {
                "id": hid,
                "controller_id": cid,
                "order_id": oid,
                "workflow_path": path,
                "version": version,
                "start_event_id": eid,
                "start_time": event_time(ev),
                "planned": dt.datetime.fromtimestamp(planned / 1000, dt.UTC)
                if isinstance(planned, int)
                else None,
                "end_time": None,
                "end_event_id": None,
                "state": state,
                "position": position_text(position),
                "agent": None,
                "error": None,
                "hash": row_hash(cid, eid, oid),
            }
            plan.new_orders.append(row)
            new_by_id[hid] = row
            plan.cursors[oid] = Cursor(hid, path, row["position"], version=version)

        def children_of(parent: str) -> list[str]:
            known = {**loaded, **self._cursors, **plan.cursors}
            return [k for k in known if k.rpartition("|")[0] == parent]

        for ev in events:
            oid, kind, eid = ev.get("Key"), ev.get("TYPE"), ev["eventId"]
            if not isinstance(oid, str) or not str(kind).startswith("Order"):
                continue
            if kind == "OrderAdded":
                wf = ev.get("workflowId") or {}
                path, version = str(wf.get("path", "")), str(wf.get("versionId", ""))
                open_order(ev, oid, path, version, [0], "PENDING")
                continue
            c = cursor_of(oid)
            if c is None:
                log.warning(
                    "event %d %s for order %s without its OrderAdded: ignored", eid, kind, oid
                )
                continue
            plan.cursors[oid] = c
            if kind == "OrderAttached":
                c.agent = ev.get("agentPath")
                update_order(c, agent=c.agent)
            elif kind == "OrderStarted":
                update_order(c, state="RUNNING")
            elif kind == "OrderProcessingStarted":
                sid = ids.pop()
                step = {
                    "id": sid,
                    "order": c.id,
                    "controller_id": cid,
                    "order_id": oid,
                    "workflow_path": c.workflow_path,
                    "position": c.position,
                    "job": f"{c.workflow_path}:{c.position}",
                    "agent": c.agent,
                    "start_event_id": eid,
                    "start_time": event_time(ev),
                    "end_time": None,
                    "end_event_id": None,
                    "rc": None,
                    "state": "RUNNING",
                    "error": None,
                    "hash": row_hash(cid, eid, oid, c.position),
                }
                plan.new_steps.append(step)
                new_steps_by_id[sid] = step
                c.step_id = sid
            elif kind in ("OrderStdoutWritten", "OrderStderrWritten"):
                stream = "stdout" if kind == "OrderStdoutWritten" else "stderr"
                plan.logs.append(
                    (
                        c.id,
                        c.step_id,
                        eid,
                        stream,
                        str(ev.get("chunk", "")),
                        row_hash(cid, eid, oid),
                    )
                )
            elif kind == "OrderProcessed":
                state, rc, error = _outcome(ev.get("outcome"))
                if c.step_id is not None:
                    end = {
                        "id": c.step_id,
                        "end_time": event_time(ev),
                        "end_event_id": eid,
                        "rc": rc,
                        "state": state,
                        "error": error,
                    }
                    if c.step_id in new_steps_by_id:
                        new_steps_by_id[c.step_id].update(end)
                    else:
                        plan.step_updates[c.step_id] = end
                c.step_id = None
            elif kind in ("OrderMoved", "OrderCaught") or (
                kind == "OrderRetrying" and "movedTo" in ev
            ):
                # JS7 moves an order by these three (Order.scala applyEvent).
                c.position = position_text(ev.get("to", ev.get("movedTo")))
                update_order(c, position=c.position)
            elif kind in TERMINAL:
                error = None
                if kind == "OrderFailed":
                    error = _outcome(ev.get("outcome"))[2]
                update_order(
                    c, state=TERMINAL[kind], end_time=event_time(ev), end_event_id=eid, error=error
                )
                plan.cursors[oid] = None
                plan.terminated.append(
                    {
                        "orderId": oid,
                        "historyId": c.id,
                        "state": TERMINAL[kind],
                        "endEventId": eid,
                        "workflowPath": c.workflow_path,
                        "versionId": c.version,
                    }
                )
            elif kind == "OrderDeleted":
                plan.cursors[oid] = None
            elif kind == "OrderForked":
                # JS7's children have no OrderAdded: OrderForked is their
                # start; each gets its own row, as JOC shows child orders.
                try:
                    at = json.loads(c.position)
                except ValueError:
                    at = [0]
                for child, branch in _children(ev).items():
                    position = [*at, branch, 0]
                    open_order(ev, child, c.workflow_path, c.version, position, "RUNNING")
            elif kind == "OrderFailedInFork":
                c.failed_in_fork = True
                c.position = position_text(ev.get("movedTo"))
                update_order(c, position=c.position, state="FAILED")
            elif kind == "OrderJoined":
                # The children leave with the join (JS7 writes no event of theirs).
                for child in children_of(oid):
                    cc = cursor_of(child)
                    if cc is None:
                        continue
                    update_order(
                        cc,
                        state="FAILED" if cc.failed_in_fork else "FINISHED",
                        end_time=event_time(ev),
                        end_event_id=eid,
                    )
                    plan.cursors[child] = None
        return plan


def _children(ev: dict[str, Any]) -> dict[str, str]:
    """``OrderForked``'s children: child order id to the branch of its
    position — a Fork's ``fork+<branchId>``, a ForkList's ``fork`` (its
    children have no branchId)."""
    out: dict[str, str] = {}
    for child in ev.get("children") or []:
        if isinstance(child, dict) and isinstance(child.get("orderId"), str):
            branch = child.get("branchId")
            out[child["orderId"]] = "fork" if branch is None else f"fork+{branch}"
    return out


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it ended. Cancelled again as long as it
    runs on: CPython 3.11's ``asyncio.wait_for`` drops a cancellation that
    arrives just as its inner call completes, and a service loop that lost
    its one cancellation would run on forever — and hold up a normal stop
    (found by JOC-SWITCHOVER-STOP: a hand-over that never came)."""
    if task is None:
        return
    rounds = 0
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.05)
        rounds += 1
        if rounds == 2:
            log.warning("task %s ran on after its cancellation: cancelled again", task.get_name())
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
