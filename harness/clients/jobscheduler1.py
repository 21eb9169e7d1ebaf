"""The harness's own client of JobScheduler 1.x: the engine's XML command
interface, as JobScheduler 1.13 serves it (``sos-berlin/scheduler-engine``;
the shapes and their sources are listed in the README's JobScheduler 1.x
section and stated in ``tests/components/test_js1_xml_contract.py``).

Every call names the member it asks and posts one command document to
``/jobscheduler/engine/command`` (``SchedulerClientFactory.scala:20``). An
answer holding ``<ERROR code text>`` raises ``CommandError``, whose outcome
follows ``outcomes``: an error answer is the engine's refusal (``fail``),
except a database error during the command (SCHEDULER-360), after which it
may have acted (``info``); an HTTP error status is judged by its status.

Nothing here is the reference's own: a real JobScheduler 1.x cluster answers
every command the same way.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from harness.clients import outcomes
from harness.clients.outcomes import Outcome
from harness.deployment import Deployment
from harness.history import History

COMMAND_PATH = "/jobscheduler/engine/command"
# Error codes after which the command may still have taken effect: the
# engine failed on its database while acting (scheduler_messages.cxx:210).
OUTCOME_UNKNOWN = frozenset({"SCHEDULER-360"})
# The end node every job chain of ``Js1.chain`` ends in.
END_STATE = "end"


class CommandError(Exception):
    """The engine answered ``<ERROR>`` (HTTP 200), or an HTTP error status
    (``status``; then ``code`` is ``HTTP <status>``)."""

    def __init__(self, code: str, text: str, status: int = 200) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
        self.status = status

    @property
    def outcome(self) -> Outcome:
        """What this answer means for the operation (``outcomes``)."""
        if self.status != 200:
            return outcomes.http_answer(self.status)
        return "info" if self.code in OUTCOME_UNKNOWN else "fail"


def attrs(**values: Any) -> str:
    """XML attributes from keywords (``None`` left out, ``True`` as ``yes``)."""
    out = []
    for k, v in values.items():
        if v is None:
            continue
        v = "yes" if v is True else "no" if v is False else v
        out.append(f" {k.rstrip('_')}={quoteattr(str(v))}")
    return "".join(out)


def yes(e: ET.Element, name: str) -> bool:
    return e.get(name) in ("yes", "true", "1")


def seconds(value: float) -> str:
    """A Duration: whole seconds as the schema has them, else decimals."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Js1:
    """The suites' client of a cluster: every call names the member it asks."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep

    async def command(self, node: str, xml: str) -> ET.Element:
        """Post one command document; the ``<answer>`` element."""
        url = self.dep.url(node) + COMMAND_PATH
        headers = {"Content-Type": "text/xml; charset=UTF-8", "Accept": "text/xml"}
        async with self.dep.http.post(url, data=xml.encode(), headers=headers) as resp:
            body = await resp.read()
            if resp.status != 200:
                text = body.decode(errors="replace")[:500]
                raise CommandError(f"HTTP {resp.status}", text, resp.status)
        answer = ET.fromstring(body).find("answer")
        if answer is None:
            raise CommandError("NoAnswer", body.decode(errors="replace")[:500])
        error = answer.find("ERROR")
        if error is not None:
            raise CommandError(error.get("code", ""), error.get("text", ""))
        return answer

    # -- what a member says --------------------------------------------------

    async def status(self, node: str) -> dict[str, Any]:
        """``<show_state what="none,cluster"/>``: the member's state (``running``
        or ``waiting_for_activation``), its role (``active``, else ``backup``
        or ``passive``) and the cluster members it knows, without asking it
        for jobs (``none`` drops the default ``jobs,tasks``)."""
        answer = await self.command(node, '<show_state what="none,cluster"/>')
        state = _one(answer, "state")
        cluster = state.find("cluster")
        members = [] if cluster is None else cluster.findall("cluster_member")
        me = None if cluster is None else cluster.get("cluster_member_id")
        if state.get("state") == "running":
            role = "active"
        elif cluster is not None and yes(cluster, "backup"):
            role = "backup"
        else:
            role = "passive"
        rows = [
            {
                "member_id": m.get("cluster_member_id"),
                "active": yes(m, "active"),
                "exclusive": yes(m, "exclusive"),
                "dead": yes(m, "dead"),
                "backup": yes(m, "backup"),
                "precedence": m.get("backup_precedence"),
                "deactivating_member_id": m.get("deactivating_member_id"),
                "http_url": m.get("http_url"),
            }
            for m in members
        ]
        return {
            "state": state.get("state"),
            "role": role,
            "time_zone": state.get("time_zone"),
            "member_id": me,
            "registered": any(r["member_id"] == me for r in rows),
            "cluster": rows,
        }

    async def jobs(self, node: str) -> list[dict[str, Any]]:
        """``<show_jobs/>``: each job's name and state (``pending``,
        ``running``, ``stopped``)."""
        answer = await self.command(node, "<show_jobs/>")
        return [
            {"name": j.get("name"), "state": j.get("state"), "tasks": j.get("tasks")}
            for j in _one(answer, "jobs").findall("job")
        ]

    async def running_tasks(self, node: str, job: str) -> list[dict[str, Any]]:
        """``<show_job job what="tasks"/>``: the tasks of the job this member
        runs now, each with the order it processes."""
        answer = await self.command(node, f"<show_job{attrs(job=job, what='tasks')}/>")
        out = []
        for t in _one(answer, "job").iter("task"):
            order = t.find("order")
            out.append(
                {
                    "id": int(t.get("task", "0")),
                    "job_chain": None if order is None else _name(order.get("job_chain")),
                    "order_id": None if order is None else order.get("order"),
                    "state": None if order is None else order.get("state"),
                }
            )
        return out

    async def job_chains(self, node: str) -> list[dict[str, Any]]:
        """``<show_job_chains/>``: each chain's state, nodes (``action`` None
        for ``process``) and waiting or running orders."""
        answer = await self.command(node, "<show_job_chains/>")
        chains = []
        for c in _one(answer, "job_chains").findall("job_chain"):
            nodes, orders = [], []
            for n in c.findall("job_chain_node"):
                nodes.append(
                    {
                        "state": n.get("state"),
                        "job": _name(n.get("job")),
                        "next_state": n.get("next_state"),
                        "error_state": n.get("error_state"),
                        "action": n.get("action"),
                    }
                )
                orders += [_order(o) for o in n.iter("order")]
            chains.append(
                {"name": c.get("name"), "state": c.get("state"), "nodes": nodes, "orders": orders}
            )
        return chains

    async def order(self, node: str, chain: str, order_id: str) -> dict[str, Any]:
        """``<show_order>``: the order where it stands (``finished`` False), or
        its last run from the order history (``finished`` True)."""
        answer = await self.command(node, f"<show_order{attrs(job_chain=chain, order=order_id)}/>")
        o = _one(answer, "order")
        # From the order history the engine builds an order outside any job
        # chain: it has no job_chain (spooler_command.cxx:1258-1283).
        return _order(o, finished=o.get("job_chain") is None)

    async def orders(self, node: str, chain: str, history: int = 1000) -> list[dict[str, Any]]:
        """The chain's orders: those waiting or running (``finished`` False)
        and, from the last ``history`` runs of ``<order_history>``, those that
        are no longer in the chain (``finished`` True, their last run's end)."""
        cmd = f"<show_job_chain{attrs(job_chain=chain, max_order_history=history)}/>"
        c = _one(await self.command(node, cmd), "job_chain")
        current = [_order(o) for n in c.findall("job_chain_node") for o in n.iter("order")]
        here = {o["id"] for o in current}
        done: dict[str, dict[str, Any]] = {}
        for o in c.findall("order_history/order"):
            run = _order(o, finished=True)
            if run["id"] not in here and run["id"] not in done:
                done[run["id"]] = run  # newest first
        return current + list(done.values())

    async def task_history(self, node: str, job: str) -> list[dict[str, Any]]:
        """Every task of the job, oldest first, from ``<show_history>`` (read
        1000 at a time after the last id seen): its member, start, end (None:
        its member was lost before it ended), exit code and error."""
        tasks: list[dict[str, Any]] = []
        after = None  # without id: from the first task (get_id_and_next)
        while True:
            cmd = f"<show_history{attrs(job=job, id=after, next=1000)}/>"
            entries = _one(await self.command(node, cmd), "history").findall("history.entry")
            page = [_task(h) for h in entries]
            tasks += page
            if len(page) < 1000:
                return tasks
            after = page[-1]["id"]

    # -- what a member is told -------------------------------------------------

    async def job(
        self, node: str, name: str, command: str, *, tasks: int = 1, stopped: bool = False
    ) -> None:
        """An order job running ``command`` in the shell; ``tasks``: how many
        of its tasks a member runs at once; ``stopped``: then stopped."""
        script = f'<script language="shell">{escape(command)}</script>'
        await self.command(node, f"<job{attrs(name=name, order=True, tasks=tasks)}>{script}</job>")
        if stopped:
            await self.modify_job(node, name, "stop")

    async def chain(
        self, node: str, name: str, nodes: list[dict[str, Any]], distributed: bool = False
    ) -> None:
        """A job chain of job nodes ``{state, job, next_state?, error_state?,
        action?}``, each going on to the next, the last to the end node
        ``end``; ``action`` (``stop``, ``next_state``) is set afterwards with
        ``<job_chain_node.modify>`` as on a running engine."""
        parts = []
        for i, n in enumerate(nodes):
            nxt = n.get("next_state") or (nodes[i + 1]["state"] if i + 1 < len(nodes) else None)
            a = attrs(
                state=n["state"],
                job=n["job"],
                next_state=nxt or END_STATE,
                error_state=n.get("error_state") or END_STATE,
            )
            parts.append(f"<job_chain_node{a}/>")
        parts.append(f"<job_chain_node.end{attrs(state=END_STATE)}/>")
        a = attrs(name=name, distributed=distributed, orders_recoverable=True)
        await self.command(node, f"<job_chain{a}>{''.join(parts)}</job_chain>")
        for n in nodes:
            if n.get("action"):
                cmd = attrs(job_chain=name, state=n["state"], action=n["action"])
                await self.command(node, f"<job_chain_node.modify{cmd}/>")

    async def add_order(
        self,
        history: History,
        node: str,
        chain: str,
        order_id: str,
        *,
        state: str | None = None,
        suspended: bool = False,
        absolute_repeat: float | None = None,
    ) -> None:
        """Add an order (never replacing one: ``replace="no"``), recorded as
        an ``add`` operation (value: the order id). ``absolute_repeat``: it
        runs every so many seconds from the day's start (``<period>``)."""
        a = attrs(job_chain=chain, id=order_id, replace=False, state=state)
        if suspended:
            a += attrs(suspended=True)
        run_time = ""
        if absolute_repeat is not None:
            period = attrs(absolute_repeat=seconds(absolute_repeat))
            run_time = f"<run_time><period{period}/></run_time>"
        async with history.op(node, "add", order_id) as op:
            # An error answer is fail or info by the clients' one table.
            await self.command(node, f"<add_order{a}>{run_time}</add_order>")
            op.node = node

    async def modify_order(self, node: str, chain: str, order_id: str, **changes: Any) -> None:
        a = attrs(job_chain=chain, order=order_id, **changes)
        await self.command(node, f"<modify_order{a}/>")

    async def modify_job(self, node: str, job: str, cmd: str) -> None:
        await self.command(node, f"<modify_job{attrs(job=job, cmd=cmd)}/>")

    async def wait_role(
        self, node: str, role: str, deadline: float, what: str | None = None
    ) -> dict[str, Any]:
        return await self.dep.wait_for(
            what or f"{node} {role}",
            lambda: self.status(node),
            accept=lambda s: s["role"] == role,
            deadline=deadline,
        )


def _one(answer: ET.Element, tag: str) -> ET.Element:
    e = answer.find(tag)
    if e is None:
        raise CommandError("NoAnswer", f"no <{tag}> in {ET.tostring(answer)[:300]!r}")
    return e


def _name(path: str | None) -> str | None:
    """A root-folder object's name from its path."""
    return None if path is None else path.removeprefix("/")


def _order(o: ET.Element, finished: bool = False) -> dict[str, Any]:
    return {
        "job_chain": _name(o.get("job_chain")),
        "id": o.get("order") or o.get("id"),
        "state": o.get("state"),
        "suspended": yes(o, "suspended"),
        "task": o.get("task"),
        "occupied_by": o.get("occupied_by_cluster_member_id"),
        "history_id": o.get("history_id"),
        "at": o.get("at"),
        "start_time": o.get("start_time"),
        "end_time": o.get("end_time"),
        "finished": finished,
    }


def _task(h: ET.Element) -> dict[str, Any]:
    end = h.get("end_time")
    return {
        "id": int(h.get("task") or h.get("id") or 0),
        "job": h.get("job_name"),
        "cluster_member_id": h.get("cluster_member_id"),
        "start_time": h.get("start_time"),
        "end_time": end,
        "exit_code": None if h.get("exit_code") is None else int(h.get("exit_code", "0")),
        "error": h.get("error") == "1",
        "error_code": h.get("error_code"),
    }
