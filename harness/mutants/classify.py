"""One mutant's outcome from its tests' outcomes.

* ``caught`` — at least one test failed on a checker's verdict;
* ``caught-by-error`` — tests failed, but only by a harness error, a
  deadline or a crash: the bug was noticed, yet a report would name the
  wrong cause (not good enough, shown apart);
* ``survived`` — every test that ran passed;
* ``unknown`` — nothing to judge by: no test ran, the run did not finish,
  or the baseline (the same tests on unmutated code) did not pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from harness.mutants.junit import TestCase

Outcome = Literal["caught", "caught-by-error", "survived", "unknown"]
OUTCOMES: tuple[Outcome, ...] = ("caught", "caught-by-error", "survived", "unknown")


def classify(cases: Sequence[TestCase]) -> Outcome:
    kinds = {c.kind for c in cases}
    if "verdict" in kinds:
        return "caught"
    if "error" in kinds:
        return "caught-by-error"
    if "passed" in kinds:
        return "survived"
    return "unknown"


def baseline_ok(cases: Sequence[TestCase]) -> bool:
    """The unmutated run passed: some test ran and none failed or errored."""
    kinds = {c.kind for c in cases}
    return "passed" in kinds and not kinds & {"verdict", "error"}
