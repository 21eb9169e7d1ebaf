"""What the JOC and History suites check in addition where the target
offers it — the reference JOC's own accounts, which a real JOC does not
serve: each service's activity intervals with their fencing epochs
(``joc/cluster/activity``), an instance's fencing epoch and its History
Service's position and refused duplicates (``controller/components``).

Every reader here answers None where the target does not offer it, and every
check made from them then says "not checked" instead of failing: a suite's
verdict rests on JS7's public APIs and the harness's own observations, and
these checks only add to it. A suite module importing this one lists
"reference-only extra: …" in its catalog entry's ``extras``
(``reports/reference_only.py``), not in its ``needs``.
"""

from __future__ import annotations

from typing import Any

from harness.checkers import CheckResult, single_active
from harness.clients.joc import JocClient, JocProblem
from harness.history import History

NOT_OFFERED = {"not-checked": "the target does not offer it"}


async def service_intervals(client: JocClient) -> list[dict[str, Any]] | None:
    """The reference's ``joc/cluster/activity``: every service's activity
    intervals with their epochs, on the database's clock."""
    try:
        answer = await client.post("joc/cluster/activity", {})
    except JocProblem as exc:
        if exc.status in (404, 405):
            return None
        raise
    result = answer.get("activity") if isinstance(answer, dict) else None
    return result if isinstance(result, list) else None


async def instance_epoch(client: JocClient) -> int | None:
    """The fencing epoch an instance reports in ``controller/components``."""
    epoch = (await client.post("controller/components", {})).get("epoch")
    return epoch if isinstance(epoch, int) else None


async def history_status(client: JocClient) -> dict[str, Any] | None:
    """The reference JOC's account of its History Service (position, start
    position, duplicates refused by hash); None where the target does not
    offer it (a real JOC): the checks made from it are extras."""
    status = (await client.post("controller/components", {})).get("historyService")
    return status if isinstance(status, dict) else None


def history_epochs(acts: list[dict[str, Any]] | None) -> list[int] | None:
    """The epochs in which History wrote."""
    if acts is None:
        return None
    return sorted({a["epoch"] for a in acts if a["service"] == "history"})


def reported_history(history: History, activity: list[dict[str, Any]], service: str) -> None:
    """Append the self-reported intervals to the history itself, so they are
    kept with the test's artifacts and checked like any observation."""
    recs = history.records
    offset = recs[-1]["wall"] - recs[-1]["time"] if recs else 0.0
    for a in activity:
        if a["service"] != service:
            continue
        until = a.get("leaseUntil", a["activeUntil"])
        value = {
            "role": service,
            "node": a["memberId"],
            "active_from": round(a["activeFrom"] - offset, 6),
            "active_until": round(until - offset, 6),
            "epoch": a["epoch"],
        }
        history.invoke("db", "observe-active", value).ok(value, node=a["memberId"])


def single_active_reported(
    history: History, acts: list[dict[str, Any]] | None, role: str
) -> CheckResult:
    """Never two of ``role``'s reported intervals at once (``single_active``
    over them), or not checked."""
    if acts is None:
        return CheckResult(True, NOT_OFFERED, f"single-active[{role}, reported]")
    reported_history(history, acts, role)
    return single_active(history.records, role=role)


def handed_over(acts: list[dict[str, Any]] | None, epochs: list[int | None]) -> CheckResult:
    """Every old epoch ended by a hand-over (``ended``), not by expiry."""
    if acts is None or None in epochs:
        return CheckResult(True, NOT_OFFERED, "handed-over-not-expired")
    cluster = {a["epoch"]: a for a in acts if a["service"] == "cluster"}
    not_ended = [e for e in epochs if not cluster.get(e, {}).get("ended")]
    return CheckResult(
        not not_ended,
        {"epochs": epochs, "not-handed-over": not_ended},
        "handed-over-not-expired",
    )


def no_duplicates_attempted(statuses: dict[str, dict[str, Any] | None]) -> CheckResult:
    """History never tried to write an event twice (its unique hash never
    had to refuse a row) — an extra: not made where the target does not say
    (``no_loss`` sees a duplicate that got through in any case)."""
    offered = {n: s for n, s in statuses.items() if s is not None}
    if not offered:
        return CheckResult(True, NOT_OFFERED, "no-replay")
    skipped = {n: s.get("duplicatesSkipped") for n, s in offered.items()}
    return CheckResult(
        all(v == 0 for v in skipped.values()),
        {"duplicates-refused-by-hash": skipped},
        "no-replay",
    )
