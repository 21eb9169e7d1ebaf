"""What the Subagent-cluster suites share: defining the cluster through the
Controller, waiting for the Director's view of its Subagents, and turning
each Subagent's job side effects into ``run`` operations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.checkers import (
    CheckResult,
    compose,
    exactly_once,
    no_loss,
    no_takeover,
    single_active,
    started_matches_runs,
)
from harness.checkers.started_on import StepEvent
from harness.clients.js7 import controller_client
from harness.clients.snapshot import ControllerSnapshot, read_snapshot
from harness.deployment import Deployment
from harness.history import History
from harness.js7topo import backup_director, subagent_cluster_items
from harness.workload import JobRuns, read_all_events

AGENT = "agent-1"
BACKUP = backup_director(AGENT)
SUBAGENTS = ["subagent-1", "subagent-2", "subagent-3"]


async def define_cluster(
    dep: Deployment, priorities: dict[str, Any], *, backup: bool = False
) -> None:
    """Post the Subagent cluster's items to the Controller, each Subagent's
    URI being the Director's link to it (its proxy), and wait until the
    Director has every Subagent coupled. ``backup``: a Director pair, each
    Director's URI the Controller's link to it."""
    uris = {s: f"http://{dep.backend.link_address(f'{AGENT}--{s}')}" for s in priorities}
    director, backup_uri = dep.url(AGENT), None
    if backup:
        director = f"http://{dep.backend.link_address(f'controller--{AGENT}')}"
        backup_uri = f"http://{dep.backend.link_address(f'controller--{BACKUP}')}"
    ops = subagent_cluster_items(director, uris, priorities, agent=AGENT, backup_uri=backup_uri)
    await controller_client(dep, "controller").post_items(ops)
    await wait_subagents(dep, set(priorities))


async def wait_subagents(
    dep: Deployment, coupled: set[str], uncoupled: frozenset[str] = frozenset()
) -> None:
    """Until the Controller's snapshot (JS7's ``SubagentItemState``, from the
    Director's events) shows ``coupled`` coupled and ``uncoupled`` not."""
    ctl = controller_client(dep, "controller")

    def accept(snap: ControllerSnapshot) -> bool:
        return all(snap.subagent_coupled(s) for s in coupled) and not any(
            snap.subagent_coupled(s) for s in uncoupled
        )

    what = f"Subagents {sorted(coupled)} coupled, {sorted(uncoupled)} not"
    await dep.wait_for(what, lambda: read_snapshot(ctl), accept=accept)


def record_runs(dep: Deployment, history: History, subagents: list[str]) -> dict[str, list[str]]:
    """Each execution a Subagent's job recorded, as a ``run`` op naming it;
    order id → the Subagents that ran it."""
    ran: dict[str, list[str]] = {}
    for sub in subagents:
        for oid in JobRuns(dep, sub).read():
            history.invoke("jobs", "run", oid).ok({"id": oid, "subagent": sub})
            ran.setdefault(oid, []).append(sub)
    return ran


async def final_read(
    dep: Deployment, history: History, ended: tuple[str, ...] = ("OrderFinished",)
) -> dict[str, list[str]]:
    """The final read (ids whose ``ended`` event is in the Controller's
    journal), and each order's ``OrderProcessingStarted.subagentId``s — JS7
    records the chosen Subagent there."""
    return (await _final_events(dep, history, ended)).started


class _Steps:
    """What JS7 recorded of each order's job steps: where each started
    (``OrderProcessingStarted.subagentId``) and each outcome, in journal
    order (``steps``), and the same with eventIds for a verdict (``record``)."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.steps: dict[str, list[StepEvent]] = {}
        self.record: dict[str, list[str]] = {}
        for e in events:
            if e["TYPE"] == "OrderProcessingStarted":
                sub = e.get("subagentId", "(none)")
                self.steps.setdefault(e["Key"], []).append(("started", sub))
                self.record.setdefault(e["Key"], []).append(f"{e['eventId']} started on {sub}")
            elif e["TYPE"] == "OrderProcessed":
                outcome = e.get("outcome", {})
                what = outcome.get("TYPE", "?")
                self.steps.setdefault(e["Key"], []).append(("processed", what))
                if "reason" in outcome:
                    reason = outcome["reason"]
                    what += f"({reason.get('TYPE')}: {reason.get('problem', {}).get('code', '')})"
                self.record.setdefault(e["Key"], []).append(f"{e['eventId']} processed {what}")

    @property
    def started(self) -> dict[str, list[str]]:
        """Each order's ``OrderProcessingStarted.subagentId``s, in order."""
        return {
            oid: [sub for kind, sub in steps if kind == "started"]
            for oid, steps in self.steps.items()
            if any(kind == "started" for kind, _ in steps)
        }


async def _final_events(dep: Deployment, history: History, ended: tuple[str, ...]) -> _Steps:
    async with history.op("final", "read") as op:
        events = await read_all_events(controller_client(dep, "controller"))
        op.ok([e["Key"] for e in events if e["TYPE"] in ended])
    return _Steps(events)


async def judge(
    dep: Deployment, history: History, check: Callable[[list[Any]], CheckResult]
) -> CheckResult:
    """The final read, the Subagents' side effects, and the verdict: no order
    lost, each run once, ``check`` of where they ran, and JS7's record of the
    chosen Subagent agreeing with the side effects."""
    steps = await _final_events(dep, history, ("OrderFinished",))
    ran = record_runs(dep, history, SUBAGENTS)
    return compose(
        no_loss(history.records),
        exactly_once(history.records),
        check(history.records),
        started_matches_runs(steps.steps, ran, steps.record),
    )


def backup_held(fault: int | None, *more: CheckResult) -> Callable[[list[Any]], CheckResult]:
    """For ``judge``: never two active Directors, the Backup Director never
    active within ``fault``'s window, and ``more``."""

    def check(records: list[Any]) -> CheckResult:
        if fault is None:
            raise ValueError("the fault never started")
        return compose(
            single_active(records, role="director"),
            no_takeover(records, fault=fault, role="director", node=BACKUP),
            *more,
        )

    return check
