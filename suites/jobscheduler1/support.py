"""What the JS1-* suites share: topologies, the status
observer that feeds ``single_active``/``failover_time``, and the step check
over the engine's task history.

Timing comes from the profile: ``js1.heartbeat_period`` (P) and
``js1.heartbeat_timeout`` (T); the documented take-over bound is T + P.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import aiohttp

from harness.checkers import CheckResult
from harness.clients.jobscheduler1 import Js1, ProblemAnswer
from harness.deployment import Deployment
from harness.history import History
from harness.profiles import Profile
from harness.topology import Database, Node, Topology

ROLE = "jobscheduler1"


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
    """Sample every running member's ``/status`` each poll interval while the
    block runs. Per member an ``observe-active`` operation (for
    ``single_active``); per round one ``active`` operation that is ``ok`` with
    ``node`` = the active member when exactly one member said it is active
    (for ``failover_time``), ``fail`` otherwise."""
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
    step whose earlier runs were all *disrupted* (task row marked
    ``disrupted``/``killed`` or never ended) on a member in
    ``disrupted_members`` (one that was killed, fenced or stopped mid-step):
    such a step may run again, at least once, and must then complete once.

    Details: ``missing`` (never completed), ``duplicated`` (completed more
    than once), ``unexplained-reruns`` (a run before the last that was not a
    disruption on a disrupted member), ``rerun-after-disruption`` (the
    documented at-least-once cases), ``unexpected`` (steps nobody expected).
    """
    allowed = set(disrupted_members)
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in tasks:
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
        earlier = rs[:-1]
        bad = [
            r
            for r in earlier
            if not (
                r["cluster_member_id"] in allowed
                and (r["result"] in ("disrupted", "killed") or r["end_time"] is None)
            )
        ]
        if bad:
            unexplained[k] = [_brief(r) for r in rs]
        else:
            reruns[k] = [f"{r['cluster_member_id']}:{r['result']}" for r in rs]
    unexpected = sorted(set(runs) - expected_set)
    details: dict[str, Any] = {
        "expected-count": len(expected_set),
        "task-count": sum(len(rs) for rs in runs.values()),
        "missing": missing,
        "duplicated": duplicated,
        "unexplained-reruns": unexplained,
        "rerun-after-disruption": reruns,
        "unexpected": unexpected,
    }
    valid = not (missing or duplicated or unexplained or unexpected)
    return CheckResult(valid, details, name)


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("id", "cluster_member_id", "result", "start_time", "end_time")}


async def all_finished(client: Js1, node: str, ids: Iterable[str]) -> list[dict[str, Any]]:
    wanted = set(ids)
    return [o for o in await client.orders(node) if o["id"] in wanted and o["finished"]]


async def safe_status(client: Js1, node: str) -> dict[str, Any] | None:
    try:
        return await client.status(node)
    except (aiohttp.ClientError, TimeoutError, ProblemAnswer):
        return None
