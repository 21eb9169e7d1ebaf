"""How a Director selects a Subagent of a ``SubagentBundle`` — JS7's one
algorithm for fixed-priority and active-active clusters.

js7-subagent/.../director/priority/Prioritized.scala L19-68 and
MutableRoundRobin.scala L24-35: Subagents are grouped by priority, highest
first (negative numbers too); the first group with an *available* Subagent
wins; inside it the Subagents take turns, and the turn starts anew when the
group's available members change. Equal priorities thus spread jobs
(active-active), different ones fail over in order (fixed priority).

A priority is an expression: a number, or a string over the Director's
``$js7SubagentProcessCount`` (the processes it runs on that Subagent). A
non-constant priority is evaluated at every selection; a Subagent whose
priority cannot be evaluated is left out (DirectorState.scala L177-206).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from components.common import expression
from components.common.subagent_items import PRIORITY_VARIABLES  # noqa: F401


def evaluate_priority(expr: expression.Expr, variables: Mapping[str, Any]) -> float | None:
    """The priority's number, or None: this Subagent is left out."""
    try:
        value = expression.evaluate(expr, variables)
    except expression.ExpressionError:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def group_by_priority(priorities: Mapping[str, float]) -> list[list[str]]:
    """Groups of equal priority, highest first; inside a group in the
    bundle's order (PrioritizedTest.scala L12-21)."""
    groups: dict[float, list[str]] = {}
    for sid, prio in priorities.items():
        groups.setdefault(prio, []).append(sid)
    return [groups[p] for p in sorted(groups, reverse=True)]


@dataclass
class RoundRobin:
    """MutableRoundRobin: the turn inside the chosen group; it starts anew
    when the group (its available members) changes."""

    group: tuple[str, ...] = ()
    index: int = -1

    def next(self, group: list[str]) -> str:
        if tuple(group) != self.group:
            self.group, self.index = tuple(group), -1
        self.index = (self.index + 1) % len(group)
        return group[self.index]


@dataclass
class Selector:
    """One bundle's selection state: the round-robin survives between calls."""

    turns: dict[str, RoundRobin] = field(default_factory=dict)

    def select(
        self,
        bundle: str,
        priorities: Mapping[str, expression.Expr],
        available: Callable[[str], bool],
        process_count: Callable[[str], int],
    ) -> str | None:
        evaluated: dict[str, float] = {}
        cluster = sum(process_count(sid) for sid in priorities)
        for sid, expr in priorities.items():
            if not available(sid):
                continue
            scope = {
                "js7SubagentProcessCount": process_count(sid),
                "js7ClusterProcessCount": cluster,
            }
            prio = evaluate_priority(expr, scope)
            if prio is not None:
                evaluated[sid] = prio
        groups = group_by_priority(evaluated)
        if not groups:
            return None
        return self.turns.setdefault(bundle, RoundRobin()).next(groups[0])
