"""No loss: Jepsen's set checker.

Clients add elements (``f=add_f``, value = the element id) and, once the
workload has drained, read the whole set back (``f=read_f``, value = a list of
ids). What must hold: every acknowledged add is in the final read, nothing is
in it that was never attempted or that certainly failed, and nothing is in it
twice.

An element's outcome is decided over all its attempts (a client may retry the
same id): ``ok`` if any attempt was acknowledged, ``fail`` only if every
attempt certainly failed, otherwise indeterminate (an ``info`` attempt, or one
the history ended before completing, may or may not have taken effect).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from typing import Any, Literal

from harness.checkers.base import CheckResult
from harness.history import Record, completed_ops

Outcome = Literal["ok", "fail", "info"]


def sorted_ids(ids: Iterable[Any]) -> list[Any]:
    """Ids as a sorted list for reporting; mixed types sort by type name first
    instead of raising."""
    items = list(ids)
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda x: (type(x).__name__, repr(x)))


def sorted_counts(counts: dict[Any, int]) -> dict[Any, int]:
    """A ``{id: count}`` mapping with its keys in sorted order."""
    return {k: counts[k] for k in sorted_ids(counts)}


def op_value(invoke: Record, completion: Record | None) -> Any:
    """The value an operation was about: the invocation's, else the completion's
    (for clients that learn the id only from the answer)."""
    if invoke.get("value") is not None:
        return invoke["value"]
    return None if completion is None else completion.get("value")


class Attempts:
    """The attempts of one operation name, folded per element id."""

    def __init__(self, records: Iterable[Record], f: str) -> None:
        #: per id, the combined outcome: ``ok`` beats indeterminate beats ``fail``
        self.outcomes: dict[Hashable, Outcome] = {}
        #: per acknowledged id, the record index of its first ``ok``
        self.first_ok: dict[Hashable, int] = {}
        self.count = 0
        #: attempts whose id is not hashable (a malformed history)
        self.malformed = 0
        rank = {"fail": 0, "info": 1, "ok": 2}
        for invoke, completion in completed_ops(records):
            if invoke.get("f") != f:
                continue
            self.count += 1
            element = op_value(invoke, completion)
            if not isinstance(element, Hashable):
                self.malformed += 1
                continue
            kind: Outcome = "info"
            if completion is not None and completion["type"] in ("ok", "fail"):
                kind = completion["type"]
            previous = self.outcomes.get(element)
            if previous is None or rank[kind] > rank[previous]:
                self.outcomes[element] = kind
            if kind == "ok" and completion is not None:
                first = self.first_ok.get(element, completion["index"])
                self.first_ok[element] = min(first, completion["index"])

    def having(self, outcome: Outcome) -> set[Hashable]:
        return {e for e, o in self.outcomes.items() if o == outcome}


def no_loss(
    records: Iterable[Record],
    *,
    add_f: str = "add",
    read_f: str = "read",
    allow_duplicates: bool = False,
) -> CheckResult:
    """Every acknowledged add is in the final read; nothing unexpected is.

    The final read is the ``ok`` completion of ``read_f`` that comes last in
    the history. Its value must be a list of ids (repeats allowed — they are
    what ``duplicated`` detects).

    ``valid`` is ``False`` when any of these is non-empty: ``lost``
    (acknowledged, missing from the read), ``unexpected`` (read, never
    attempted), ``failed-but-present`` (every attempt certainly failed, yet
    read: a definite failure that in fact happened), ``duplicated`` (read more
    than once, unless ``allow_duplicates``). ``recovered`` (indeterminate adds
    that did take effect) is fine. ``"unknown"`` when there is no ``ok`` final
    read, or its value is not a list.

    An add acknowledged only after the final read was invoked may legitimately
    be missing from it (the read may have been served first): such adds are
    reported as ``unsettled`` — present ones count as ``ok`` — and never as
    ``lost``. A correct workload drains before its final read, so this list is
    normally empty.
    """
    records = list(records)
    name = "no-loss"
    adds = Attempts(records, add_f)
    acknowledged = adds.having("ok")
    failed = adds.having("fail")
    indeterminate = adds.having("info")
    base: dict[str, Any] = {
        "attempt-count": adds.count,
        "acknowledged-count": len(acknowledged),
        "failed-count": len(failed),
        "indeterminate-count": len(indeterminate),
    }
    if adds.malformed:
        base["malformed-attempt-count"] = adds.malformed

    final_read: tuple[Record, Record] | None = None
    for invoke, completion in completed_ops(records):
        if invoke.get("f") != read_f or completion is None or completion["type"] != "ok":
            continue
        if final_read is None or completion["index"] > final_read[1]["index"]:
            final_read = (invoke, completion)
    if final_read is None:
        return CheckResult("unknown", {**base, "reason": "no successful final read"}, name)
    read_invoke, read_ok = final_read
    base["final-read"] = read_ok["index"]
    read_value = read_ok.get("value")
    if not isinstance(read_value, list):
        reason = f"final read value is not a list but {type(read_value).__name__}"
        return CheckResult("unknown", {**base, "reason": reason}, name)
    unreadable = [x for x in read_value if not isinstance(x, Hashable)]
    if unreadable:
        reason = f"final read holds {len(unreadable)} unhashable element(s)"
        return CheckResult("unknown", {**base, "reason": reason}, name)

    counts = Counter(read_value)
    present = set(counts)
    late = {e for e, i in adds.first_ok.items() if i > read_invoke["index"]}

    ok = acknowledged & present
    lost = acknowledged - present - late
    unsettled = late - present
    unexpected = present - set(adds.outcomes)
    recovered = indeterminate & present
    failed_present = failed & present
    duplicated = {e: c for e, c in counts.items() if c > 1}

    details: dict[str, Any] = {
        **base,
        "read-count": len(read_value),
        "ok-count": len(ok),
        "lost-count": len(lost),
        "unexpected-count": len(unexpected),
        "failed-but-present-count": len(failed_present),
        "duplicated-count": len(duplicated),
        "recovered-count": len(recovered),
        "unsettled-count": len(unsettled),
        "lost": sorted_ids(lost),
        "unexpected": sorted_ids(unexpected),
        "failed-but-present": sorted_ids(failed_present),
        "duplicated": sorted_counts(duplicated),
        "recovered": sorted_ids(recovered),
        "unsettled": sorted_ids(unsettled),
        "ok": sorted_ids(ok),
    }
    broken = bool(lost or unexpected or failed_present or (duplicated and not allow_duplicates))
    if broken:
        return CheckResult(False, details, name)
    if adds.malformed:
        details["reason"] = f"{adds.malformed} add(s) with an unhashable id could not be checked"
        return CheckResult("unknown", details, name)
    return CheckResult(True, details, name)
