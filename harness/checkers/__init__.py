"""Checkers: pure functions from a history to a ``CheckResult``."""

from harness.checkers.base import CheckResult, Validity, compose, merge_validity

__all__ = ["CheckResult", "Validity", "compose", "merge_validity"]
