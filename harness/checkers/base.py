"""Checker results and how they compose.

A checker is a pure function of a history (plus parameters) returning a
``CheckResult``; it never raises for a broken guarantee. ``valid`` is
``True``, ``False`` or ``"unknown"`` (not enough evidence, e.g. a final read
never succeeded). Composition follows Jepsen: false beats unknown beats true.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Validity = bool | Literal["unknown"]


@dataclass(frozen=True)
class CheckResult:
    valid: Validity
    details: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def __bool__(self) -> bool:
        # Deliberately only True when the guarantee *held*: ``assert result``
        # fails on unknown as well as on False.
        return self.valid is True

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "valid": self.valid, "details": self.details}

    def explain(self) -> str:
        """A human-readable one-paragraph account, used in assertion messages."""
        lines = [f"{self.name or 'check'}: valid={self.valid}"]
        for k, v in self.details.items():
            if isinstance(v, CheckResult):
                lines.append(f"  {k}: " + v.explain().replace("\n", "\n  "))
            else:
                text = repr(v)
                lines.append(f"  {k}: {text[:500]}{'...' if len(text) > 500 else ''}")
        return "\n".join(lines)


def merge_validity(values: Iterable[Validity]) -> Validity:
    result: Validity = True
    for v in values:
        if v is False:
            return False
        if v == "unknown":
            result = "unknown"
    return result


def compose(*results: CheckResult, name: str = "composed") -> CheckResult:
    """One result of several: false beats unknown beats true. The parts are
    kept in ``details`` by name (or position when unnamed)."""
    details: dict[str, Any] = {}
    for i, r in enumerate(results):
        key = r.name or f"check-{i}"
        n = 2
        while key in details:  # two checks of one name: keep both, never drop one
            key = f"{r.name or 'check'}#{n}"
            n += 1
        details[key] = r
    return CheckResult(merge_validity(r.valid for r in results), details, name)
