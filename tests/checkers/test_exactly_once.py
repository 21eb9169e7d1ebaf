import json
import random

import pytest

from harness.checkers import exactly_once
from tests.checkers.histories import HistoryBuilder, Outcome


def submitted(*ids: int, outcome: Outcome = "ok") -> HistoryBuilder:
    b = HistoryBuilder()
    for i in ids:
        b.tick(0.1).op(outcome, "add", i)
    return b


def test_happy_path_plain_and_dict_values() -> None:
    b = submitted(1, 2, 3)
    b.tick(5).ok("run", 1).ok("run", {"id": 2, "agent": "a1"}).ok("run", None, result=3)
    r = exactly_once(b.records())
    assert r.valid is True, r.explain()
    assert r.name == "exactly-once"
    assert r.details["run-count"] == 3
    assert r.details["acknowledged-count"] == 3
    for key in ("missing", "unexpected", "failed-but-ran"):
        assert r.details[key] == []
    assert r.details["duplicated"] == {}
    json.dumps(r.to_json())


def test_missing_run() -> None:
    b = submitted(1, 2, 3).ok("run", 1).ok("run", 3)
    r = exactly_once(b.records())
    assert r.valid is False
    assert r.details["missing"] == [2]
    assert r.details["missing-count"] == 1


def test_missing_allowed_without_require_all() -> None:
    records = submitted(1, 2).ok("run", 1).records()
    r = exactly_once(records, require_all=False)
    assert r.valid is True, r.explain()
    assert r.details["missing"] == [2], "still reported"
    assert r.details["require-all"] is False


def test_double_run() -> None:
    b = submitted(1, 2).ok("run", 1).ok("run", {"id": 2}).ok("run", 2)
    r = exactly_once(b.records())
    assert r.valid is False
    assert r.details["duplicated"] == {2: 2}
    assert r.details["missing"] == []
    # At most once does not excuse a double run.
    assert exactly_once(b.records(), require_all=False).valid is False


def test_unexpected_run() -> None:
    b = submitted(1).ok("run", 1).ok("run", 42)
    r = exactly_once(b.records())
    assert r.valid is False
    assert r.details["unexpected"] == [42]


def test_failed_submission_that_ran() -> None:
    b = submitted(1).fail("add", 2).ok("run", 1).ok("run", 2)
    r = exactly_once(b.records())
    assert r.valid is False
    assert r.details["failed-but-ran"] == [2]
    assert r.details["unexpected"] == []


def test_indeterminate_submissions_are_fine_either_way() -> None:
    b = submitted(1).info("add", 2).pending("add", 3).info("add", 4)
    b.ok("run", 1).ok("run", 2).ok("run", 3)
    r = exactly_once(b.records())
    assert r.valid is True, r.explain()
    assert r.details["indeterminate-ran"] == [2, 3]
    assert r.details["indeterminate-not-ran"] == [4]


def test_indeterminate_submission_run_twice_is_a_duplicate() -> None:
    r = exactly_once(HistoryBuilder().info("add", 5).ok("run", 5).ok("run", 5).records())
    assert r.valid is False
    assert r.details["duplicated"] == {5: 2}
    assert r.details["indeterminate-ran"] == []


def test_failed_and_info_observations_are_not_runs() -> None:
    b = submitted(1).ok("run", 1).fail("run", 1).info("run", 1).pending("run", 1)
    assert exactly_once(b.records()).valid is True


def test_unreadable_run_is_unknown() -> None:
    b = submitted(1).ok("run", 1).ok("run", {"order": 1})
    r = exactly_once(b.records())
    assert r.valid == "unknown"
    assert r.details["unreadable-run-count"] == 1


def test_empty_history_is_unknown() -> None:
    assert exactly_once([]).valid == "unknown"


def test_custom_names() -> None:
    b = HistoryBuilder().ok("submit", "o1").ok("executed", {"id": "o1"}).ok("run", "o9")
    assert exactly_once(b.records(), submit_f="submit", run_f="executed").valid is True


@pytest.mark.parametrize("seed", range(40))
def test_random_histories_against_ground_truth(seed: int) -> None:
    rng = random.Random(seed)
    b = HistoryBuilder()
    runs: list[int] = []
    want: dict[str, set[int]] = {
        k: set() for k in ("missing", "unexpected", "failed-but-ran", "indeterminate-ran")
    }
    want_dups: dict[int, int] = {}
    for i in range(rng.randint(1, 50)):
        outcome: Outcome = rng.choice(["ok", "ok", "ok", "fail", "info"])
        b.tick(rng.random()).op(outcome, "add", i)
        n = {"ok": 1, "fail": 0, "info": rng.choice([0, 1])}[outcome]
        if rng.random() < 0.08:
            n = rng.choice([0, 2, 3]) if outcome == "ok" else rng.choice([1, 2])
        runs.extend([i] * n)
        if n > 1:
            want_dups[i] = n
        if outcome == "ok" and n == 0:
            want["missing"].add(i)
        if outcome == "fail" and n > 0:
            want["failed-but-ran"].add(i)
        if outcome == "info" and n == 1:
            want["indeterminate-ran"].add(i)
    if rng.random() < 0.2:
        want["unexpected"].add(500)
        runs.append(500)
    rng.shuffle(runs)
    for i in runs:
        b.tick(0.01).ok("run", {"id": i} if rng.random() < 0.5 else i)
    r = exactly_once(b.records())
    for key, ids in want.items():
        assert r.details[key] == sorted(ids), key
    assert r.details["duplicated"] == dict(sorted(want_dups.items()))
    broken = want["missing"] or want["unexpected"] or want["failed-but-ran"] or want_dups
    assert r.valid is (not broken)
