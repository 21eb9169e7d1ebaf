"""Checkers of the History view's guarantees: pure functions of what the
suites observed, each a ``CheckResult`` (never an exception)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from harness.checkers import CheckResult, percentile


def views_answer(expected: dict[str, set[str]], answered: dict[str, list[str]]) -> CheckResult:
    """HIS-VIEWS: each (sub-view, filter, instance) question answered exactly
    the items expected — none missing, none extra, none twice."""
    wrong: dict[str, Any] = {}
    for question, want in expected.items():
        got = answered.get(question)
        if got is None:
            wrong[question] = "not asked"
            continue
        missing, extra = sorted(want - set(got)), sorted(set(got) - want)
        twice = sorted({x for x in got if got.count(x) > 1})
        if missing or extra or twice:
            wrong[question] = {"missing": missing[:20], "extra": extra[:20], "twice": twice[:20]}
    return CheckResult(not wrong, {"questions": len(expected), "wrong": wrong}, "sub-views")


def live_latency(
    finished_us: dict[str, int], seen_ms: dict[str, float], ids: Sequence[str], bound: float
) -> CheckResult:
    """HIS-LIVE on the active: every order shown finished in the page without
    a user action; from ``OrderFinished`` (its eventId, epoch µs) to the
    page listing it (browser clock, epoch ms; same host) p99 ≤ ``bound``."""
    lat = {
        i: (seen_ms[i] / 1000 - finished_us[i] / 1_000_000)
        for i in ids
        if i in seen_ms and i in finished_us
    }
    values = list(lat.values())
    unseen = sorted(set(ids) - set(lat))
    p99 = percentile(values, 99) if values else None
    ok: bool | str = not unseen and p99 is not None and p99 <= bound
    if not values:
        ok = "unknown" if not ids else False
    return CheckResult(
        ok,
        {
            "count": len(values),
            "p50": percentile(values, 50) if values else None,
            "p99": p99,
            "max": max(values, default=None),
            "bound": bound,
            "not-shown": unseen[:20],
        },
        "live-latency",
    )


def standby_not_pushed(
    before_refresh: Iterable[str],
    after_refresh: Iterable[str],
    ids: Sequence[str],
    live_updates: list[str],
) -> CheckResult:
    """HIS-LIVE on a standby: no new item appeared before the user refreshed
    or navigated, and nothing announced new items (``live_updates``: the
    History snapshots of its events, the live feed its page opened); after
    the refresh, all of them."""
    early = sorted(set(before_refresh) & set(ids))
    missing = sorted(set(ids) - set(after_refresh))
    return CheckResult(
        not early and not missing and not live_updates,
        {
            "pushed-before-refresh": early[:20],
            "missing-after-refresh": missing[:20],
            "live-updates": live_updates[:5],
        },
        "standby-no-push",
    )


def export_matches(
    header: Sequence[Any],
    rows: Sequence[Sequence[Any]],
    expected_header: Sequence[str],
    expected_keys: Sequence[str],
    key_column: str,
) -> CheckResult:
    """HIS-EXPORT: JOC's header, and the file's key column equal, row by row
    and in order, to the view's items (none lost, none added, none moved)."""
    problems: dict[str, Any] = {}
    if list(header) != list(expected_header):
        problems["header"] = {"got": list(header), "want": list(expected_header)}
        return CheckResult(False, problems, "export-matches")
    col = list(header).index(key_column)
    got = [r[col] for r in rows]
    if got != list(expected_keys):
        problems["lost"] = sorted(set(expected_keys) - set(got))[:20]
        problems["added"] = sorted(set(got) - set(expected_keys))[:20]
        first = next(
            (i for i, (a, b) in enumerate(zip(got, expected_keys, strict=False)) if a != b), None
        )
        problems["first-difference-at-row"] = first
    return CheckResult(
        not problems,
        {"rows": len(got), "expected": len(expected_keys), **problems},
        "export-matches",
    )


def export_after_failover(
    first: Iterable[str], second: Iterable[str], new: Iterable[str]
) -> CheckResult:
    """HIS-EXPORT across a JOC fail-over: the new active's file holds every
    item of the first file plus the new ones."""
    one, two, added = set(first), set(second), set(new)
    lost, missing_new = sorted(one - two), sorted(added - two)
    return CheckResult(
        not lost and not missing_new and bool(one),
        {"first": len(one), "second": len(two), "lost": lost[:20], "new-missing": missing_new[:20]},
        "export-after-failover",
    )
