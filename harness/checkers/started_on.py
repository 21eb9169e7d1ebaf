"""What JS7 recorded of each order's job steps against what the Subagents
ran (AGT-DIRECTOR-FAILOVER and the Subagent-cluster guarantees).

JS7 journals a step as ``OrderProcessingStarted{subagentId}`` and then its
``OrderProcessed{outcome}``. The Subagents' side effects say where each job
really ran. The two must agree, with one allowance JS7 itself makes: a step
whose outcome is ``Disrupted`` (``ProcessLost``: the Director or Subagent
went away before or while the process ran) may never have reached a
process, and the order is started again. So, per order and Subagent:

* every step that ended ``Succeeded``, ``Failed``, ``TimedOut`` or ``Killed``
  ran there
  (fewer runs: JS7 recorded an outcome of a job that never ran);
* there are no more runs than started steps (more: a job ran that JS7 never
  started there — or started a second time);
* a step is never started again before its outcome was journaled (two
  ``OrderProcessingStarted`` in a row: two Directors processing one order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from harness.checkers.base import CheckResult

# One entry of an order's step record, in journal order:
# ("started", subagentId) or ("processed", outcome TYPE).
StepEvent = tuple[Literal["started", "processed"], str]

# Outcomes that mean the process ran (JS7's OrderOutcome subtypes,
# js7-data OrderOutcome.scala); any other (Disrupted) may mean it never did.
RAN_OUTCOMES = frozenset({"Succeeded", "Failed", "TimedOut", "Killed"})


def _steps(events: Sequence[StepEvent]) -> tuple[list[tuple[str, str | None]], bool]:
    """(subagent, outcome or None) per step, and whether a step was started
    again before its outcome."""
    steps: list[tuple[str, str | None]] = []
    open_step = False
    restarted = False
    for kind, value in events:
        if kind == "started":
            restarted |= open_step
            steps.append((value, None))
            open_step = True
        elif open_step:
            steps[-1] = (steps[-1][0], value)
            open_step = False
    return steps, restarted


def started_matches_runs(
    journal: Mapping[str, Sequence[StepEvent]],
    ran: Mapping[str, Sequence[str]],
    record: Mapping[str, Sequence[str]] | None = None,
) -> CheckResult:
    """``journal``: order id → its step record as JS7 journaled it; ``ran``:
    order id → the Subagents whose side effect says the job ran there (one
    entry per run); ``record``: order id → a readable account with eventIds,
    put into the verdict for every order that differs.

    ``False`` when an order differs (``differ``, each with why); never
    ``"unknown"``: an order JS7 never started and nothing ran is no evidence
    either way, and lost orders are ``no_loss``'s verdict.
    """
    differ: dict[str, dict[str, Any]] = {}
    for oid in sorted(set(journal) | set(ran)):
        steps, restarted = _steps(journal.get(oid, ()))
        runs = Counter(ran.get(oid, ()))
        started = Counter(sub for sub, _ in steps)
        sure = Counter(sub for sub, outcome in steps if outcome in RAN_OUTCOMES)
        why = []
        if restarted:
            why.append("started again before the step's outcome")
        for sub in sorted(set(runs) | set(started)):
            if runs[sub] > started[sub]:
                why.append(f"ran {runs[sub]}x on {sub}, started there {started[sub]}x")
            elif runs[sub] < sure[sub]:
                why.append(f"JS7 ended {sure[sub]} step(s) on {sub}, ran there {runs[sub]}x")
        if why:
            differ[oid] = {
                "why": why,
                "started": [sub for sub, _ in steps],
                "ran": list(ran.get(oid, ())),
                "js7": list((record or {}).get(oid, ())),
            }
    return CheckResult(not differ, {"differ": differ}, "started-on-matches-side-effect")
