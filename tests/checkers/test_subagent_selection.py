import json

from harness.checkers import highest_available, subagent_share
from tests.checkers.histories import HistoryBuilder

SUBS = ["s1", "s2", "s3"]


def spread(counts: dict[str, int]) -> HistoryBuilder:
    b = HistoryBuilder()
    n = 0
    for sub, k in counts.items():
        for _ in range(k):
            b.tick(0.01).ok("run", {"id": f"o{n}", "subagent": sub})
            n += 1
    return b


def test_equal_shares_hold() -> None:
    r = subagent_share(spread({"s1": 100, "s2": 100, "s3": 100}).records(), subagents=SUBS)
    assert r.valid is True, r.explain()
    assert r.details["shares"] == {"s1": 100, "s2": 100, "s3": 100}
    json.dumps(r.to_json())


def test_within_ten_percent_holds() -> None:
    r = subagent_share(spread({"s1": 109, "s2": 91, "s3": 100}).records(), subagents=SUBS)
    assert r.valid is True, r.explain()


def test_a_skewed_share_breaks_it() -> None:
    r = subagent_share(spread({"s1": 150, "s2": 75, "s3": 75}).records(), subagents=SUBS)
    assert r.valid is False
    assert set(r.details["off-share"]) == {"s1", "s2", "s3"}


def test_a_subagent_that_got_nothing_breaks_it() -> None:
    r = subagent_share(spread({"s1": 150, "s2": 150}).records(), subagents=SUBS)
    assert r.valid is False
    assert r.details["off-share"]["s3"] == 0


def test_a_run_on_another_subagent_breaks_it() -> None:
    r = subagent_share(
        spread({"s1": 100, "s2": 100, "s3": 100, "director": 1}).records(), subagents=SUBS
    )
    assert r.valid is False
    assert r.details["unexpected-subagent"] == {"director": 1}


def test_nothing_ran_is_unknown() -> None:
    assert subagent_share([], subagents=SUBS).valid == "unknown"


def test_unreadable_runs_are_unknown_and_failed_observations_ignored() -> None:
    b = spread({"s1": 1, "s2": 1, "s3": 1}).ok("run", "o9").fail("run", {"id": "x"})
    r = subagent_share(b.records(), subagents=SUBS)
    assert r.valid == "unknown"
    assert r.details["unreadable"] == 1


def fixed() -> tuple[HistoryBuilder, dict[str, str]]:
    b = HistoryBuilder()
    b.ok("run", {"id": "a", "subagent": "s1"}).ok("run", {"id": "b", "subagent": "s2"})
    return b, {"a": "s1", "b": "s2"}


def test_highest_available_holds() -> None:
    b, expected = fixed()
    r = highest_available(b.records(), expected=expected)
    assert r.valid is True, r.explain()


def test_a_job_on_a_lower_priority_breaks_it() -> None:
    b, expected = fixed()
    b.ok("run", {"id": "c", "subagent": "s2"})
    r = highest_available(b.records(), expected={**expected, "c": "s1"})
    assert r.valid is False
    assert r.details["wrong-subagent"] == {"c": {"ran-on": ["s2"], "expected": "s1"}}


def test_a_double_execution_breaks_it() -> None:
    b, expected = fixed()
    b.ok("run", {"id": "a", "subagent": "s1"})
    r = highest_available(b.records(), expected=expected)
    assert r.valid is False
    assert r.details["duplicated"] == {"a": 2}


def test_a_lost_order_breaks_it() -> None:
    b, expected = fixed()
    r = highest_available(b.records(), expected={**expected, "c": "s1"})
    assert r.valid is False
    assert r.details["missing"] == ["c"]


def test_a_run_nobody_expected_breaks_it() -> None:
    b, expected = fixed()
    b.ok("run", {"id": "zz", "subagent": "s1"})
    assert highest_available(b.records(), expected=expected).valid is False


def test_nothing_expected_is_unknown() -> None:
    assert highest_available([], expected={}).valid == "unknown"
