"""JobScheduler 1.x's XML commands on one member.

Each command of a document runs on the shared database (``store``) and on
this member's engine and cluster view, and is answered in the engine's shape
(``xml_answers``); the wire — parsing, schema, envelope, errors — is
``xml_wire``. References are to JobScheduler 1.13's ``scheduler-engine``;
``Command_processor::execute_command`` (spooler_command.cxx:1570-1722)
dispatches the same way.

Executed (anything else the schema declares answers SCHEDULER-105):
``<show_state>``/``<s>``, ``<show_jobs>``, ``<show_job>``,
``<show_job_chains>``, ``<show_job_chain>``, ``<show_order>``,
``<show_history>``, ``<show_task>``, ``<add_order>``/``<order>``,
``<modify_order suspended state at>``, ``<modify_job cmd="stop|unstop">``,
``<job_chain.modify>``, ``<job_chain_node.modify>``, ``<job>``,
``<add_jobs>``, ``<job_chain>``, each alone, in ``<commands>`` or in
``<spooler>``.

What must hold:

* A command that fails answers its ``<ERROR>`` and changes nothing: every
  check comes before the first write, and a command's writes are one
  transaction. Commands before it in the same document keep their effect,
  as in the engine (``execute_commands``, spooler_command.cxx:2189-2196).
* ``<show_state>`` without jobs or job chains never touches the database:
  it answers from the member's own cluster view, so it answers while the
  member is cut from the database (the engine answers from memory too).
* What the reference does not support of a command it executes (another
  script language, relative ``repeat``, …) is refused, never ignored:
  SCHEDULER-105 for an element or attribute it does not execute,
  SCHEDULER-391 for a value it does not take.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg

from components.jobscheduler1 import schedule, store
from components.jobscheduler1 import xml_answers as answers
from components.jobscheduler1.cluster import Cluster
from components.jobscheduler1.db import Db
from components.jobscheduler1.engine import Engine
from components.jobscheduler1.options import Options
from components.jobscheduler1.xml_wire import (
    Answer,
    EngineError,
    parse,
    validate,
    xc,
    xml_time,
    yes,
)

log = logging.getLogger("js7ha.jobscheduler1.xml")
T = TypeVar("T")

# Show_what::set_what (spooler_command.cxx:341-426): the words of what=.
WHAT_WORDS = frozenset(
    re.split(
        " ",
        "none all! all task_queue orders job_chains job_chain_orders job_orders description log"
        " task_history order_history remote_schedulers schedules run_time job_chain_jobs jobs"
        " tasks job_commands blacklist order_source_files payload job_params cluster operations"
        " folders no_subfolders source statistics standard",
    )
)
ALL_FLAGS = frozenset({"jobs", "tasks", "orders", "job_chains", "job_chain_orders", "cluster"})
_LOCAL = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d)(:\d\d)?$")


def unsupported(what: str) -> EngineError:
    """What the engine executes and the reference does not (README)."""
    return xc("SCHEDULER-105", what)


def _name(value: str | None, kind: str) -> str:
    """An object of the root folder by its name or path (``/name``)."""
    name = (value or "").removeprefix("/")
    if not name or "/" in name:
        raise xc("SCHEDULER-161", kind, "/" + name)
    return name


def _seconds(text: str) -> float:
    """``Duration::of`` (spooler_time.cxx:113-127): seconds or HH:MM[:SS]."""
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            return float(parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0))
        value = float(text)
    except (ValueError, IndexError):
        value = -1.0
    if not 0 <= value < float("inf"):
        raise xc("SCHEDULER-391", "duration", text, "seconds, HH:MM, HH:MM:SS")
    return value


def _utc_ms(text: str) -> int:
    """``yyyy-mm-dd HH:MM[:SS]`` in the scheduler's time zone (UTC here)."""
    m = _LOCAL.match(text.strip())
    if not m:
        raise xc("SCHEDULER-391", "at", text, "yyyy-mm-dd HH:MM[:SS], now, now+SECONDS")
    stamp = f"{m.group(1)} {m.group(2)}{m.group(3) or ':00'}"
    t = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


def run_time(e: ET.Element | None, at: str | None) -> dict[str, Any] | None:
    """An order's start times as ``schedule`` takes them: ``<run_time>`` with
    one ``<period absolute_repeat begin>`` (starts at begin + k·repeat from
    the day's begin, UTC) or ``<at at>`` elements; ``at=`` on the order
    (``now``, ``now+SECONDS``, a time). None: one run, now."""
    if e is not None and at is not None:
        raise unsupported("add_order at= with <run_time>")
    if at is not None:
        text = at.replace(" ", "")
        if text == "now":
            return None
        if text.startswith("now+"):
            return {"at": [time.time() + _seconds(text[4:])]}
        return {"at": [_utc_ms(at) / 1000]}
    if e is None:
        return None
    if e.attrib:
        raise unsupported(f"run_time {' '.join(sorted(e.attrib))}")
    periods = [c for c in e if c.tag == "period"]
    ats = [c for c in e if c.tag == "at"]
    if len(periods) + len(ats) != len(e) or (periods and ats) or len(periods) > 1:
        raise unsupported("run_time other than one <period absolute_repeat> or <at> elements")
    if ats:
        return {"at": [_utc_ms(a.get("at", "")) / 1000 for a in ats]}
    if not periods:
        return None
    (p,) = periods
    extra = set(p.attrib) - {"absolute_repeat", "begin"}
    if extra or "absolute_repeat" not in p.attrib:
        raise unsupported(f"period {' '.join(sorted(extra)) or 'without absolute_repeat'}")
    now = time.time()
    begin = now - now % 86400 + (_seconds(p.get("begin", "0")) if "begin" in p.attrib else 0)
    return {"repeat": _seconds(p.attrib["absolute_repeat"]), "begin": begin}


class Commands:
    """The XML command interface of one member."""

    def __init__(self, opts: Options, cluster: Cluster, engine: Engine) -> None:
        self.opts = opts
        self.sid = opts.scheduler_id
        self.me = opts.member_id
        self.cluster = cluster
        self.engine = engine
        self.db = Db(opts.db_url, f"js1-xml-{opts.member_id}", opts.timing.timeout)
        self.executor = ThreadPoolExecutor(2, thread_name_prefix="js1-xml-db")
        self.budget = max(2.0, opts.timing.timeout)
        self.started = xml_time(int(time.time() * 1000), with_ms=False)
        self._run: dict[str, Callable[[ET.Element], Awaitable[ET.Element]]] = {
            "show_state": self.show_state,
            "s": self.show_state,
            "show_jobs": self.show_jobs,
            "show_job": self.show_job,
            "show_job_chains": self.show_job_chains,
            "show_job_chain": self.show_job_chain,
            "show_order": self.show_order,
            "show_history": self.show_history,
            "show_task": self.show_task,
            "add_order": self.add_order,
            "order": self.add_order,
            "modify_order": self.modify_order,
            "modify_job": self.modify_job,
            "job_chain.modify": self.modify_job_chain,
            "job_chain_node.modify": self.modify_node,
            "job": self.job,
            "add_jobs": self.add_jobs,
            "job_chain": self.job_chain,
        }

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def execute(self, body: bytes) -> bytes:
        """Answer one command document (never raises for what it is sent)."""
        answer = Answer()
        try:
            commands = validate(parse(body))
            for command in commands:
                answer.append(await self.one(command))
            if not commands:
                raise xc("SCHEDULER-353", "")
        except EngineError as err:
            answer.error(err)
        except Exception as exc:  # a bug: the engine answers any exception so
            log.exception("command failed")
            answer.error(EngineError(type(exc).__name__, str(exc)))
        return answer.to_bytes()

    async def one(self, e: ET.Element) -> ET.Element:
        run = self._run.get(e.tag)
        if run is None:
            raise xc("SCHEDULER-105", e.tag)
        return await run(e)

    async def _db(self, fn: Callable[[store.Conn], T], table: str) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self.executor, self.db.run, fn), self.budget
            )
        except schedule.RunTimeError as exc:
            raise xc("SCHEDULER-391", "run_time", str(exc), "a start at or after now") from None
        except (TimeoutError, psycopg.Error) as exc:
            # It may have committed after all: the harness counts this unknown.
            log.warning("database (%s): %s", table, str(exc).strip() or type(exc).__name__)
            raise xc("SCHEDULER-360", table) from None

    @staticmethod
    def _what(e: ET.Element) -> set[str]:
        """``Show_what`` (spooler_command.cxx:341-426; ``jobs,tasks`` by
        default, spooler_command.cxx:1582)."""
        flags = {"jobs", "tasks"}
        what = e.get("what", "")
        for word in filter(None, re.split(r"[ ,]+", what)):
            if word not in WHAT_WORDS:
                raise xc("SCHEDULER-164", what)
            if word == "none":
                flags.clear()
            elif word in ("all", "all!"):
                flags |= ALL_FLAGS
            else:
                flags.add(word)
        return flags

    def _running(self) -> list[dict[str, Any]]:
        return [{"id": tid, **r} for tid, r in sorted(self.engine.running_steps.items())]

    def _running_orders(self) -> dict[tuple[str, str], int]:
        return {
            (r["step"]["job_chain"], r["step"]["id"]): tid
            for tid, r in self.engine.running_steps.items()
        }

    # -- show ----------------------------------------------------------------

    async def show_state(self, e: ET.Element) -> ET.Element:
        flags = self._what(e)
        snap = self.cluster.snapshot()
        children = []
        if "jobs" in flags:
            children.append(await self._jobs(None, "tasks" in flags))
        if flags & {"job_chains", "job_chain_orders", "job_chain_jobs", "orders"}:
            children.append(await self._chains(None, self._max_history(e, flags)))
        else:
            children.append(ET.Element("job_chains"))
        if self.opts.cluster_mode != "none":
            children.append(
                answers.cluster(
                    self.me,
                    active=snap["active"],
                    exclusive=snap["exclusive"],
                    backup=self.opts.backup,
                    rows=snap["cluster"],
                    precedence=self.opts.precedence,
                    with_members="cluster" in flags,
                )
            )
        if not snap["registered"]:
            status = "starting"
        elif self.cluster.may_run():
            status = "running"
        else:
            status = "waiting_for_activation"
        attrs = {
            "time": xml_time(int(time.time() * 1000)),
            "time_zone": "UTC",
            "id": self.sid,
            "spooler_id": self.sid,
            "spooler_running_since": self.started,
            "state": status,
            "version": answers.VERSION,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "http_port": self.opts.port,
            "tcp_port": self.opts.port,
            "db": re.sub(r"://[^@/]*@", "://", self.opts.db_url),
        }
        return answers.state(attrs, children)

    async def _jobs(self, name: str | None, with_tasks: bool) -> ET.Element:
        rows = await self._db(lambda c: store.list_jobs(c, self.sid), "SCHEDULER_JOBS")
        if name is not None:
            rows = [r for r in rows if r["name"] == name]
            if not rows:
                raise xc("SCHEDULER-161", "Job", answers.path(name))
        jobs = ET.Element("jobs")
        running = self._running()
        for r in rows:
            jobs.append(answers.job(r, running, with_tasks=with_tasks))
        return jobs

    async def show_jobs(self, e: ET.Element) -> ET.Element:
        return await self._jobs(None, "tasks" in self._what(e))

    async def show_job(self, e: ET.Element) -> ET.Element:
        jobs = await self._jobs(_name(e.get("job"), "Job"), "tasks" in self._what(e))
        return jobs[0]

    @staticmethod
    def _max_history(e: ET.Element, flags: set[str]) -> int | None:
        """How many order history rows to show: ``max_order_history`` or 20
        for ``what="order_history"`` (spooler_command.cxx:336, :370)."""
        if e.get("max_order_history") not in (None, "0"):
            return int(e.get("max_order_history", "0"))
        return 20 if "order_history" in flags else None

    async def _chains(self, name: str | None, limit: int | None) -> ET.Element:
        sid = self.sid

        def read(c: store.Conn) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
            chains = [ch for ch in store.list_job_chains(c, sid) if name in (None, ch["name"])]
            if name is not None and not chains:
                raise xc("SCHEDULER-161", "Job_chain", answers.path(name))
            orders = store.chain_orders(c, sid, name)
            runs = {
                ch["name"]: store.order_runs(c, sid, ch["name"], None, limit)
                for ch in chains
                if limit is not None
            }
            return chains, {"orders": orders, "runs": runs}, store.now_ms(c)

        chains, more, now = await self._db(read, "SCHEDULER_ORDERS")
        out = ET.Element("job_chains")
        running = self._running_orders()
        for ch in chains:
            orders = [o for o in more["orders"] if o["job_chain"] == ch["name"]]
            history = more["runs"].get(ch["name"]) if limit is not None else None
            out.append(answers.job_chain(ch, orders, self.me, running, history, now))
        return out

    async def show_job_chains(self, e: ET.Element) -> ET.Element:
        return await self._chains(None, self._max_history(e, self._what(e)))

    async def show_job_chain(self, e: ET.Element) -> ET.Element:
        name = _name(e.get("job_chain"), "Job_chain")
        chains = await self._chains(name, self._max_history(e, self._what(e)))
        return chains[0]

    async def show_order(self, e: ET.Element) -> ET.Element:
        """The order in its job chain, else its last run from the order
        history (spooler_command.cxx:1199-1283), else SCHEDULER-162."""
        chain = _name(e.get("job_chain"), "Job_chain")
        oid = e.get("order")
        hid = e.get("history_id")
        sid = self.sid

        def read(c: store.Conn) -> tuple[Any, Any, Any, int]:
            chains = [ch for ch in store.list_job_chains(c, sid) if ch["name"] == chain]
            if not chains and hid is None:
                raise xc("SCHEDULER-161", "Job_chain", answers.path(chain))
            current = [o for o in store.chain_orders(c, sid, chain) if o["id"] == oid]
            runs = store.order_runs(c, sid, chain, oid, 10_000 if hid else 1)
            if hid is not None:
                runs = [r for r in runs if str(r["history_id"]) == hid]
            return chains, current, runs, store.now_ms(c)

        chains, current, runs, now = await self._db(read, "SCHEDULER_ORDERS")
        if hid is None and current:
            return answers.order(current[0], chains[0], self.me, self._running_orders(), now)
        if runs:
            return answers.finished_order(runs[0])
        raise xc("SCHEDULER-162", oid or "", answers.path(chain))

    async def show_history(self, e: ET.Element) -> ET.Element:
        """``<history>`` of one job (``execute_show_history``,
        spooler_command.cxx:758-771; ``get_id_and_next`` :709-724)."""
        job = _name(e.get("job"), "Job")
        task_id = int(e.attrib["id"]) if "id" in e.attrib else None
        default = -10 if task_id is None else 0
        step = -int(e.attrib["prev"]) if "prev" in e.attrib else default
        if "next" in e.attrib:
            step = int(e.attrib["next"])
        if abs(step) > 1000:
            log.warning("SCHEDULER-285  Max. 1000 history records are being read")
            step = 1000 if step > 0 else -1000
        sid = self.sid

        def read(c: store.Conn) -> list[dict[str, Any]]:
            if not any(r["name"] == job for r in store.list_jobs(c, sid)):
                raise xc("SCHEDULER-161", "Job", answers.path(job))
            return store.job_tasks(c, sid, job, task_id, step)

        rows = await self._db(read, "SCHEDULER_HISTORY")
        history = ET.Element("history")
        for r in rows:
            history.append(answers.history_entry(r, sid))
        return history

    async def show_task(self, e: ET.Element) -> ET.Element:
        task_id = int(e.attrib["id"])
        if task_id in self.engine.running_steps:
            return answers.task({"id": task_id, **self.engine.running_steps[task_id]})
        row = await self._db(lambda c: store.task(c, self.sid, task_id), "SCHEDULER_HISTORY")
        if row is None:
            raise xc("SCHEDULER-207", task_id)
        return answers.stored_task(row)

    # -- orders --------------------------------------------------------------

    async def add_order(self, e: ET.Element) -> ET.Element:
        """``execute_add_order`` (spooler_command.cxx:1287-1317): ``<ok>`` with
        the order; ``replace`` (default yes) replaces a waiting order of the
        same id, ``replace="no"`` refuses it (SCHEDULER-186)."""
        for child in e:
            if child.tag != "run_time":
                raise unsupported(f"{e.tag} <{child.tag}>")
        for attr in ("priority", "title", "end_state", "web_service"):
            if attr in e.attrib:
                raise unsupported(f"{e.tag} {attr}")
        chain = _name(e.get("job_chain"), "Job_chain")
        oid = e.get("id")
        if not oid:
            raise xc("SCHEDULER-231", e.tag, "id")
        rt = run_time(e.find("run_time"), e.get("at"))
        state, suspended = e.get("state"), yes(e.get("suspended"))
        replace = yes(e.get("replace"), default=True)
        sid, me = self.sid, self.me

        def tx(c: store.Conn) -> tuple[dict[str, Any], dict[str, Any], int]:
            ch = self._chain_or_161(c, chain)
            if state is not None:
                self._job_node_or_149(ch, state)
            try:
                store.add_order(c, sid, chain, oid, rt, state, suspended, me, replace)
            except store.Conflict:
                raise xc("SCHEDULER-186", f"Order {chain}:{oid}", answers.path(chain)) from None
            (row,) = [o for o in store.chain_orders(c, sid, chain) if o["id"] == oid]
            return ch, row, store.now_ms(c)

        ch, row, now = await self._db(tx, "SCHEDULER_ORDERS")
        self.engine.wake()
        ok = ET.Element("ok")
        ok.append(answers.order(row, ch, me, self._running_orders(), now))
        return ok

    async def _change(self, tx: Callable[[store.Conn], None], table: str) -> ET.Element:
        """Run a command's writes (one transaction), wake the engine: ``<ok/>``."""
        await self._db(tx, table)
        self.engine.wake()
        return ET.Element("ok")

    def _chain_or_161(self, c: store.Conn, name: str) -> dict[str, Any]:
        """The job chain, or the engine's ``file_based()`` error (folder.h:710-715)."""
        for ch in store.list_job_chains(c, self.sid):
            if ch["name"] == name:
                return ch
        raise xc("SCHEDULER-161", "Job_chain", answers.path(name))

    @staticmethod
    def _job_node_or_149(chain: dict[str, Any], state: str) -> dict[str, Any]:
        """A job node of the chain (``node_from_state``, spooler_order.cxx:2976)."""
        for n in chain["nodes"]:
            if n["state"] == state and n["job"] is not None:
                return dict(n)
        raise xc("SCHEDULER-149", answers.path(chain["name"]), state)

    async def modify_order(self, e: ET.Element) -> ET.Element:
        """``execute_modify_order`` (spooler_command.cxx:1321-1407): the
        reference changes ``suspended``, ``state`` (not while a task runs the
        order) and ``at``."""
        for attr in ("priority", "title", "setback", "end_state", "action"):
            if attr in e.attrib:
                raise unsupported(f"modify_order {attr}")
        if len(e):
            raise unsupported(f"modify_order <{e[0].tag}>")
        chain = _name(e.get("job_chain"), "Job_chain")
        oid = e.attrib["order"]
        state, at = e.get("state"), e.get("at")
        suspended = None if "suspended" not in e.attrib else yes(e.get("suspended"))
        due = None if at is None else run_time(None, at)
        sid = self.sid

        def tx(c: store.Conn) -> None:
            ch = self._chain_or_161(c, chain)
            current = [o for o in store.chain_orders(c, sid, chain) if o["id"] == oid]
            if not current:
                raise xc("SCHEDULER-162", oid, answers.path(chain))
            if state is not None:
                self._job_node_or_149(ch, state)
                if current[0]["occupying_cluster_member_id"] is not None:
                    raise xc("SCHEDULER-391", "state", state, "(not while a task processes it)")
            store.modify_order(c, sid, chain, oid, suspended, state, at is not None, due)

        return await self._change(tx, "SCHEDULER_ORDERS")

    # -- jobs and job chains ---------------------------------------------------

    async def modify_job(self, e: ET.Element) -> ET.Element:
        """``execute_modify_job`` (spooler_command.cxx:912-934): the reference
        executes ``stop`` and ``unstop``."""
        job = _name(e.get("job"), "Job")
        cmd = e.get("cmd")
        if len(e):
            raise unsupported(f"modify_job <{e[0].tag}>")
        if cmd not in (None, "stop", "unstop"):
            raise unsupported(f'modify_job cmd="{cmd}"')
        sid = self.sid

        def tx(c: store.Conn) -> None:
            if not any(r["name"] == job for r in store.list_jobs(c, sid)):
                raise xc("SCHEDULER-161", "Job", answers.path(job))
            if cmd is not None:
                store.set_job_stopped(c, sid, job, cmd == "stop")

        return await self._change(tx, "SCHEDULER_JOBS")

    async def modify_job_chain(self, e: ET.Element) -> ET.Element:
        """``<job_chain.modify state="running|stopped">`` (spooler_order.cxx:2272-2296)."""
        chain = _name(e.get("job_chain"), "Job_chain")
        new = e.get("state")
        sid = self.sid

        def tx(c: store.Conn) -> None:
            self._chain_or_161(c, chain)
            if new is not None:
                store.set_chain_stopped(c, sid, chain, new == "stopped")

        return await self._change(tx, "SCHEDULER_JOB_CHAINS")

    async def modify_node(self, e: ET.Element) -> ET.Element:
        """``<job_chain_node.modify action>`` (``Node::execute_xml``,
        spooler_order.cxx:1273-1287; ``process`` is no action)."""
        chain = _name(e.get("job_chain"), "Job_chain")
        state = e.attrib["state"]
        action = e.get("action")
        sid = self.sid

        def tx(c: store.Conn) -> None:
            ch = self._chain_or_161(c, chain)
            if not any(n["state"] == state for n in ch["nodes"]):
                raise xc("SCHEDULER-149", answers.path(chain), state)
            if action:
                stored = None if action == "process" else action
                if stored == "next_state" and _circular(ch, state):
                    raise xc("SCHEDULER-403", state)
                store.set_node_action(c, sid, chain, state, stored)

        return await self._change(tx, "SCHEDULER_JOB_CHAIN_NODES")

    async def job(self, e: ET.Element) -> ET.Element:
        """``<job>`` (``execute_job``, spooler_command.cxx:1138-1146): an order
        job (``order="yes"``) with a shell ``<script>``; ``tasks`` is how many
        of its tasks a member runs at once. A job of that name is replaced."""
        name, command, tasks = self._job_definition(e)
        return await self._change(
            lambda c: store.put_job(c, self.sid, name, command, None, False, tasks),
            "SCHEDULER_JOBS",
        )

    async def add_jobs(self, e: ET.Element) -> ET.Element:
        """``<add_jobs>`` (spooler_command.cxx:1127-1135): its jobs, all or none."""
        jobs = [self._job_definition(j) for j in e]

        def tx(c: store.Conn) -> None:
            for name, command, tasks in jobs:
                store.put_job(c, self.sid, name, command, None, False, tasks)

        return await self._change(tx, "SCHEDULER_JOBS")

    @staticmethod
    def _job_definition(e: ET.Element) -> tuple[str, str, int]:
        if not e.get("name"):
            raise xc("SCHEDULER-231", "job", "name")
        name = _name(e.get("name"), "Job")
        if not yes(e.get("order")):
            raise xc("SCHEDULER-391", "order", e.get("order", "no"), "yes")
        supported = {"name", "order", "tasks", "title", "stop_on_error", "replace", "visible"}
        for attr in e.attrib:
            if attr not in supported:
                raise unsupported(f"job {attr}")
        for child in e:
            if child.tag != "script":
                raise unsupported(f"job <{child.tag}>")
        script = e.find("script")
        if script is None:
            raise EngineError("SCHEDULER-107", "Missing script")
        language = script.get("language", "")
        if language != "shell":
            raise xc("SCHEDULER-391", "script language", language, "shell")
        if len(script) or set(script.attrib) - {"language"}:
            raise unsupported("script other than its text")
        command = (script.text or "").strip()
        if not command:
            raise EngineError("SCHEDULER-107", "Missing script")
        return name, command, int(e.get("tasks", "1"))

    async def job_chain(self, e: ET.Element) -> ET.Element:
        """``<job_chain>`` (``execute_job_chain``, spooler_command.cxx:1149-1167;
        ``Job_chain::set_dom``, spooler_order.cxx:2160-2257): job nodes
        (``<job_chain_node job>``) and end nodes (``<job_chain_node>`` without
        job, ``<job_chain_node.end>``); a job node without ``next_state`` goes
        on to the next node, the last one to the end state ``<END_STATE>``
        (``fill_holes``, spooler_order.cxx:2614-2644). A chain of that name is
        replaced."""
        name = _name(e.get("name"), "Job_chain") if e.get("name") else None
        if name is None:
            raise xc("SCHEDULER-231", "job_chain", "name")
        for attr in e.attrib:
            if attr not in ("name", "distributed", "orders_recoverable", "title", "replace"):
                raise unsupported(f"job_chain {attr}")
        distributed = yes(e.get("distributed"))
        if distributed and not yes(e.get("orders_recoverable"), default=True):
            raise xc("SCHEDULER-380", answers.path(name))
        nodes = self._nodes(e, name)
        sid = self.sid

        def tx(c: store.Conn) -> None:
            jobs = {r["name"] for r in store.list_jobs(c, sid)}
            for n in nodes:
                if n["job"] is not None and n["job"] not in jobs:
                    raise xc("SCHEDULER-161", "Job", answers.path(n["job"]))
            store.put_job_chain(c, sid, name, distributed, nodes)

        return await self._change(tx, "SCHEDULER_JOB_CHAINS")

    @staticmethod
    def _nodes(e: ET.Element, chain: str) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = []
        for child in e:
            if child.tag not in ("job_chain_node", "job_chain_node.end"):
                raise unsupported(f"job_chain <{child.tag}>")
            extra = set(child.attrib) - {"state", "job", "next_state", "error_state"}
            if extra or len(child):
                raise unsupported(f"{child.tag} {' '.join(sorted(extra)) or 'children'}")
            state = child.get("state", "")
            if not state:
                raise xc("SCHEDULER-231", child.tag, "state")
            if any(n["state"] == state for n in nodes):
                raise xc("SCHEDULER-150", state, answers.path(chain))
            job = child.get("job") if child.tag == "job_chain_node" else None
            node: dict[str, Any] = {"state": state, "job": _name(job, "Job") if job else None}
            for key in ("next_state", "error_state"):
                if child.get(key):
                    node[key] = child.get(key)
            nodes.append(node)
        if nodes and nodes[-1]["job"] is not None and "next_state" not in nodes[-1]:
            nodes.append({"state": "<END_STATE>", "job": None})
        states = {n["state"] for n in nodes}
        for n in nodes:
            for key in ("next_state", "error_state"):
                if n.get(key) is not None and n[key] not in states:
                    raise xc("SCHEDULER-149", answers.path(chain), n[key])
        return nodes


def _circular(chain: dict[str, Any], state: str) -> bool:
    """Whether skipping ``state`` would skip in a circle (``check_job_chain_node``,
    spooler_order.cxx:2652-2670)."""
    by_state = {n["state"]: n for n in chain["nodes"]}
    seen = {state}
    nxt = by_state[state].get("next_state")
    while nxt is not None and nxt in by_state:
        if nxt in seen:
            return True
        seen.add(nxt)
        n = by_state[nxt]
        if n["action"] != "next_state":
            return False
        nxt = n.get("next_state")
    return False


def read_only(xml: str) -> bool:
    """Whether a command may come by GET: ``<show_…>`` and ``<s>`` only
    (spooler_command.cxx:1765-1769)."""
    return xml.startswith(("<show_", "<s ", "<s/"))
