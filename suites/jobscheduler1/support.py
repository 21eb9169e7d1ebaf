"""What the JS1-* suites share: topologies, the status observer that feeds
``single_active``/``failover_time``, the steps the jobs record, the cluster
events the members log, and the step check over the engine's task history.

Everything read here is what a real JobScheduler 1.x cluster offers too: its
XML commands (``harness.clients.jobscheduler1``), the engine's message codes
in each member's log, and the side effect of the jobs — each records the
step it runs (the engine's ``SCHEDULER_*`` environment) in its member's data
directory, which the harness reads on every backend.

Timing comes from the profile: ``js1.heartbeat_period`` (P) and
``js1.heartbeat_timeout`` (T); the documented take-over bound is T + P.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

import aiohttp

from harness.checkers import CheckResult
from harness.clients.jobscheduler1 import CommandError, Js1
from harness.deployment import Deployment
from harness.history import History
from harness.profiles import Profile
from harness.topology import Database, Node, Topology

ROLE = "jobscheduler1"
STEP_LOG = "js7ha-steps"
# The engine's messages a watcher of a member's log reads the cluster from
# (scheduler_messages.cxx:215, :232, :431): it became exclusive, it aborted
# because its heartbeat was late or it lost its exclusivity.
BECOMES_EXCLUSIVE = "SCHEDULER-835"
ABORTS = ("SCHEDULER-386", "SCHEDULER-367")
_LOG_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)[.,](\d{3})(\S*)\s.*?\b(SCHEDULER-\d{3})\b"
)


def period(profile: Profile) -> float:
    return float(profile.components["js1.heartbeat_period"])


def timeout(profile: Profile) -> float:
    return float(profile.components["js1.heartbeat_timeout"])


def takeover_bound(profile: Profile) -> float:
    """JS1-TAKEOVER: a backup is active within heartbeat timeout + one period."""
    return timeout(profile) + period(profile)


def work_deadline(profile: Profile, step_runs: int, slots: int) -> float:
    """How long ``step_runs`` steps of one heartbeat period each may take on
    ``slots`` task slots once a lost member's steps are free again (T + P):
    the steps' own time, round by round, plus the heal deadline for
    everything around them (a member noticing a due step, starting a task).
    The steps' time grows with the profile: a fixed deadline that covers it
    against the reference timing cuts a correct run off against JS7's."""
    return (
        takeover_bound(profile)
        + math.ceil(step_runs / slots) * period(profile)
        + (profile.heal_deadline)
    )


def passive_cluster(
    precedences: Sequence[int | None] = (None,), *, sid: str = "js1", max_tasks: int = 4
) -> Topology:
    """``primary`` (-exclusive) plus one backup per entry of ``precedences``
    (``backup-1``, ``backup-2``…; None: the default precedence)."""
    nodes = [Node("primary", ROLE, {"id": sid, "exclusive": True, "max_tasks": max_tasks})]
    for i, prec in enumerate(precedences, 1):
        cfg: dict[str, Any] = {"id": sid, "exclusive": True, "backup": True, "max_tasks": max_tasks}
        if prec is not None:
            cfg["precedence"] = prec
        nodes.append(Node(f"backup-{i}", ROLE, cfg))
    return Topology.build(nodes, database=Database(clients=tuple(n.name for n in nodes)))


def active_cluster(n: int, *, sid: str = "js1", max_tasks: int = 2) -> Topology:
    nodes = [
        Node(f"member-{i}", ROLE, {"id": sid, "distributed": True, "max_tasks": max_tasks})
        for i in range(1, n + 1)
    ]
    return Topology.build(nodes, database=Database(clients=tuple(n.name for n in nodes)))


@contextlib.asynccontextmanager
async def observe(dep: Deployment, history: History) -> AsyncIterator[None]:
    """Sample every running member's ``<show_state>`` each poll interval
    while the block runs. Per member an ``observe-active`` operation (for
    ``single_active``); per round one ``active`` operation that is ``ok``
    with ``node`` = the active member when exactly one member said it is
    active (for ``failover_time``), ``fail`` otherwise."""
    client = Js1(dep)
    stop = asyncio.Event()

    async def sample(node: str) -> str | None:
        async with history.op(node, "observe-active", {"role": ROLE, "node": node}) as op:
            st = await client.status(node)
            active = st["role"] == "active"
            op.ok({"role": ROLE, "node": node, "active": active, "as": st["role"]}, node=node)
            return node if active else None
        return None

    async def loop() -> None:
        while not stop.is_set():
            nodes = dep.expected_up()
            op = history.invoke("observer", "active")
            seen = await asyncio.gather(*(sample(n) for n in nodes))
            active = [n for n in seen if n]
            if len(active) == 1:
                op.ok(active[0], node=active[0])
            else:
                op.fail("no active member" if not active else f"several active: {active}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), dep.profile.poll_interval)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await task


async def watch(dep: Deployment, seconds: float) -> None:
    """Let an observation run for ``seconds`` (a window to watch, not a wait
    for a condition: the guarantee is about what does *not* happen in it)."""
    await asyncio.sleep(seconds)


# -- what the jobs record -----------------------------------------------------


def record_step() -> str:
    """A shell command that records the step its job runs — task id, job
    chain, order id, the run's order history id and the node's state, from
    the engine's environment (``spooler_module.cxx:681-701``) — as one line
    in its member's data directory (``$SCHEDULER_CONFIGURATION_DIRECTORY`` is
    its ``config/live``). Put it first in a job's script."""
    return (
        'echo "$SCHEDULER_TASK_ID $SCHEDULER_JOB_CHAIN $SCHEDULER_ORDER_ID'
        ' $SCHEDULER_ORDER_HISTORY_ID $SCHEDULER_ORDER_STATE"'
        f' >> "$SCHEDULER_CONFIGURATION_DIRECTORY/../../{STEP_LOG}"'
    )


def recorded_steps(dep: Deployment) -> dict[int, dict[str, Any]]:
    """Task id → the step its job recorded, with the member whose data
    directory holds the line."""
    steps: dict[int, dict[str, Any]] = {}
    for node in dep.nodes:
        try:
            text = (dep.backend.data_dir(node) / STEP_LOG).read_text()
        except FileNotFoundError:
            continue
        for line in text.splitlines():
            parts = line.split()
            if len(parts) != 5:
                continue  # a line torn by a kill mid-write
            task, chain, order, run, state = parts
            steps[int(task)] = {
                "member": node,
                "job_chain": chain,
                "order_id": order,
                "history_id": int(run) if run.isdigit() else None,
                "state": state,
            }
    return steps


def ms(xml_time: str | None) -> int | None:
    """Milliseconds since the epoch of an answer's time (``…Z``)."""
    if xml_time is None:
        return None
    return round(datetime.fromisoformat(xml_time).timestamp() * 1000)


def result_of(task: dict[str, Any]) -> str:
    """``ok``; ``failed``; ``killed`` (ended by a signal, SCHEDULER-279);
    ``disrupted`` (no end: its member was lost while it ran)."""
    if task["end_time"] is None:
        return "disrupted"
    if not task["error"] and task["exit_code"] in (0, None):
        return "ok"
    return "killed" if task["error_code"] == "SCHEDULER-279" else "failed"


async def tasks_of(
    client: Js1, dep: Deployment, node: str, jobs: Iterable[str]
) -> list[dict[str, Any]]:
    """Every task of ``jobs`` from the engine's task history (asked on
    ``node``), each with the step its job recorded: ``id``,
    ``cluster_member_id``, ``job``, ``job_chain``, ``order_id``, ``state``,
    ``run_no`` (the order's n-th run, from its order history ids),
    ``start_time``/``end_time`` (ms; no end: lost), ``exit_code``,
    ``result``. A task whose job recorded nothing has no step (None)."""
    steps = recorded_steps(dep)
    rows = []
    for job in jobs:
        for t in await client.task_history(node, job):
            step = steps.get(t["id"], {})
            rows.append(
                {
                    "id": t["id"],
                    "cluster_member_id": t["cluster_member_id"],
                    "job": job,
                    "job_chain": step.get("job_chain"),
                    "order_id": step.get("order_id"),
                    "state": step.get("state"),
                    "history_id": step.get("history_id"),
                    "start_time": ms(t["start_time"]),
                    "end_time": ms(t["end_time"]),
                    "exit_code": t["exit_code"],
                    "result": result_of(t),
                }
            )
    runs: dict[tuple[Any, Any], set[int]] = defaultdict(set)
    for r in rows:
        if r["history_id"] is not None:
            runs[(r["job_chain"], r["order_id"])].add(r["history_id"])
    for r in rows:
        ids = sorted(runs[(r["job_chain"], r["order_id"])])
        r["run_no"] = ids.index(r["history_id"]) + 1 if r["history_id"] in ids else None
    return sorted(rows, key=lambda r: r["id"])


# -- what the members log -------------------------------------------------------


def log_events(dep: Deployment, node: str, codes: Iterable[str]) -> list[tuple[int, str]]:
    """(ms, code) of each line of the member's log with one of the engine's
    message ``codes``, at the line's own time (local, or with its offset)."""
    wanted = set(codes)
    out = []
    for line in dep.backend.logs(node).splitlines():
        m = _LOG_LINE.match(line)
        if not m or m.group(5) not in wanted:
            continue
        day, clock, millis, zone = m.group(1), m.group(2), m.group(3), m.group(4)
        offset = zone if zone[:1] in ("+", "-", "Z") else ""
        stamp = datetime.fromisoformat(f"{day}T{clock}.{millis}{offset}")
        out.append((round(stamp.timestamp() * 1000), m.group(5)))
    return out


def activations(dep: Deployment, nodes: Iterable[str] | None = None) -> list[tuple[int, str]]:
    """(ms, member) of each time a member became exclusive (SCHEDULER-835),
    in time order."""
    found = [
        (t, node)
        for node in (dep.nodes if nodes is None else nodes)
        for t, _ in log_events(dep, node, [BECOMES_EXCLUSIVE])
    ]
    return sorted(found)


def aborted_at(dep: Deployment, node: str) -> int | None:
    """When the member aborted itself (SCHEDULER-386 or SCHEDULER-367), if it did."""
    found = log_events(dep, node, ABORTS)
    return found[0][0] if found else None


def fault_wall_ms(history: History, fault_id: int, kind: str = "start") -> int:
    r = next(
        r
        for r in history.records
        if r.get("kind") == "fault" and r.get("fault") == fault_id and r["type"] == kind
    )
    return round(r["wall"] * 1000)


# -- the step check -----------------------------------------------------------


def step_key(t: dict[str, Any]) -> str:
    return f"{t['job_chain']}/{t['order_id']}#{t['run_no']}/{t['state']}"


def check_steps(
    tasks: Iterable[dict[str, Any]],
    expected: Iterable[str],
    *,
    disrupted_members: Iterable[str] = (),
    name: str = "steps",
) -> CheckResult:
    """Every expected step ran and completed; each ran exactly once — except a
    step whose earlier runs were all *disrupted* (the task never ended, or
    ended killed) on a member in ``disrupted_members`` (one that was killed,
    fenced or stopped mid-step): such a step may run again, at least once,
    and must then complete once.

    Details: ``missing`` (never completed), ``duplicated`` (completed more
    than once), ``unexplained-reruns`` (a run before the last that was not a
    disruption on a disrupted member), ``rerun-after-disruption`` (the
    documented at-least-once cases), ``unexpected`` (steps nobody expected),
    ``unrecorded`` (tasks whose job recorded no step: only a disrupted one on
    a disrupted member is harmless — it was lost before its job began).
    """
    allowed = set(disrupted_members)
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    unrecorded = []
    for t in tasks:
        if t["order_id"] is None:
            unrecorded.append(t)
        else:
            runs[step_key(t)].append(t)
    expected_set = set(expected)
    completed = Counter(k for k, rs in runs.items() for r in rs if r["result"] == "ok")
    missing = sorted(k for k in expected_set if completed[k] == 0)
    duplicated = {k: c for k, c in completed.items() if c > 1}
    unexplained: dict[str, list[dict[str, Any]]] = {}
    reruns: dict[str, list[str]] = {}
    for k, rs in runs.items():
        if len(rs) < 2:
            continue
        rs = sorted(rs, key=lambda r: r["id"])
        bad = [r for r in rs[:-1] if not _disrupted_on(r, allowed)]
        if bad:
            unexplained[k] = [_brief(r) for r in rs]
        else:
            reruns[k] = [f"{r['cluster_member_id']}:{r['result']}" for r in rs]
    harmful = [_brief(t) for t in unrecorded if not _disrupted_on(t, allowed)]
    unexpected = sorted(set(runs) - expected_set)
    details: dict[str, Any] = {
        "expected-count": len(expected_set),
        "task-count": sum(len(rs) for rs in runs.values()) + len(unrecorded),
        "missing": missing,
        "duplicated": duplicated,
        "unexplained-reruns": unexplained,
        "rerun-after-disruption": reruns,
        "unexpected": unexpected,
        "unrecorded": [_brief(t) for t in unrecorded],
    }
    valid = not (missing or duplicated or unexplained or unexpected or harmful)
    return CheckResult(valid, details, name)


def _disrupted_on(r: dict[str, Any], members: set[str]) -> bool:
    return r["cluster_member_id"] in members and r["result"] in ("disrupted", "killed")


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("id", "cluster_member_id", "result", "start_time", "end_time")}


async def safe_status(client: Js1, node: str) -> dict[str, Any] | None:
    try:
        return await client.status(node)
    except (aiohttp.ClientError, TimeoutError, CommandError):
        return None
