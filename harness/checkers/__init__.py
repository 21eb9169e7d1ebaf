"""Checkers: pure functions from a history to a ``CheckResult``."""

from harness.checkers.base import CheckResult, Validity, compose, merge_validity
from harness.checkers.exactly_once import exactly_once
from harness.checkers.failover_time import failover_time, failover_times, percentile
from harness.checkers.no_loss import no_loss
from harness.checkers.no_takeover import no_takeover
from harness.checkers.single_active import single_active
from harness.checkers.started_on import started_matches_runs
from harness.checkers.subagent_selection import highest_available, subagent_share

__all__ = [
    "CheckResult",
    "Validity",
    "compose",
    "exactly_once",
    "failover_time",
    "failover_times",
    "highest_available",
    "merge_validity",
    "no_loss",
    "no_takeover",
    "percentile",
    "single_active",
    "started_matches_runs",
    "subagent_share",
]
