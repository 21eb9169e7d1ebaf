import json
import random
from pathlib import Path
from typing import Any

import pytest

from harness.checkers import no_loss
from harness.history import History
from tests.checkers.histories import HistoryBuilder, Outcome


def adds(*outcomes: tuple[Outcome | None, Any]) -> HistoryBuilder:
    b = HistoryBuilder()
    for outcome, element in outcomes:
        b.tick(0.1).op(outcome, "add", element)
    return b


def test_happy_path() -> None:
    b = adds(("ok", 1), ("ok", 2), ("ok", 3))
    r = no_loss(b.tick(1).ok("read", None, result=[3, 1, 2]).records())
    assert r.valid is True, r.explain()
    assert r.name == "no-loss"
    assert r.details["ok"] == [1, 2, 3]
    assert r.details["attempt-count"] == 3
    assert r.details["acknowledged-count"] == 3
    for key in ("lost", "unexpected", "failed-but-present", "recovered", "unsettled"):
        assert r.details[key] == []
    assert r.details["duplicated"] == {}
    json.dumps(r.to_json())


def test_lost_order() -> None:
    b = adds(("ok", "order-1"), ("ok", "order-2"), ("ok", "order-3"))
    r = no_loss(b.ok("read", None, result=["order-1", "order-3"]).records())
    assert r.valid is False
    assert r.details["lost"] == ["order-2"]
    assert r.details["lost-count"] == 1
    assert r.details["ok"] == ["order-1", "order-3"]


def test_unexpected_element() -> None:
    b = adds(("ok", 1), ("ok", 2))
    r = no_loss(b.ok("read", None, result=[1, 2, 99]).records())
    assert r.valid is False
    assert r.details["unexpected"] == [99]
    assert r.details["lost"] == []


def test_duplicate_in_read() -> None:
    b = adds(("ok", 1), ("ok", 2))
    records = b.ok("read", None, result=[1, 2, 2, 1, 2]).records()
    r = no_loss(records)
    assert r.valid is False
    assert r.details["duplicated"] == {1: 2, 2: 3}
    assert r.details["duplicated-count"] == 2
    assert r.details["read-count"] == 5
    allowed = no_loss(records, allow_duplicates=True)
    assert allowed.valid is True
    assert allowed.details["duplicated"] == {1: 2, 2: 3}, "still reported"


def test_failed_add_present_is_a_violation() -> None:
    b = adds(("ok", 1), ("fail", 2))
    r = no_loss(b.ok("read", None, result=[1, 2]).records())
    assert r.valid is False
    assert r.details["failed-but-present"] == [2]
    assert r.details["unexpected"] == []
    assert r.details["recovered"] == []


def test_failed_add_absent_is_fine() -> None:
    b = adds(("ok", 1), ("fail", 2))
    r = no_loss(b.ok("read", None, result=[1]).records())
    assert r.valid is True, r.explain()
    assert r.details["failed-count"] == 1


def test_info_add_recovered_is_fine() -> None:
    b = adds(("ok", 1), ("info", 2), ("info", 3), (None, 4))
    r = no_loss(b.ok("read", None, result=[1, 2, 4]).records())
    assert r.valid is True, r.explain()
    assert r.details["recovered"] == [2, 4]
    assert r.details["indeterminate-count"] == 3
    assert r.details["acknowledged-count"] == 1


def test_no_final_read_is_unknown() -> None:
    b = adds(("ok", 1)).fail("read").info("read")
    r = no_loss(b.records())
    assert r.valid == "unknown"
    assert not r
    assert "final read" in r.details["reason"]
    assert r.details["attempt-count"] == 1


def test_final_read_value_not_a_list_is_unknown() -> None:
    r = no_loss(adds(("ok", 1)).ok("read", None, result={"ids": [1]}).records())
    assert r.valid == "unknown"


def test_the_last_ok_read_is_the_final_one() -> None:
    b = adds(("ok", 1), ("ok", 2)).ok("read", None, result=[1, 2])
    b.ok("read", None, result=[1]).fail("read", None, result=[1, 2])
    r = no_loss(b.records())
    assert r.valid is False
    assert r.details["lost"] == [2]


def test_the_last_completion_wins_over_the_last_invocation() -> None:
    b = adds(("ok", 1), ("ok", 2))
    early = b.invoke("read")
    late = b.invoke("read")
    b.complete(late, "ok", [1, 2]).complete(early, "ok", [1])
    assert no_loss(b.records()).details["lost"] == [2]


def test_retries_fold_per_element() -> None:
    # A failed attempt and an acknowledged retry: acknowledged. Fail then
    # info: indeterminate, so present is fine. Fail, fail: failed.
    b = adds(("fail", 1), ("ok", 1), ("fail", 2), ("info", 2), ("fail", 3), ("fail", 3))
    r = no_loss(b.ok("read", None, result=[2]).records())
    assert r.valid is False
    assert r.details["lost"] == [1]
    assert r.details["recovered"] == [2]
    assert r.details["attempt-count"] == 6
    r = no_loss(adds(("fail", 3), ("fail", 3)).ok("read", None, result=[3]).records())
    assert r.details["failed-but-present"] == [3]


def test_add_acknowledged_after_the_read_began_is_not_lost() -> None:
    b = adds(("ok", 1))
    slow_add = b.invoke("add", 2)
    read = b.invoke("read")
    b.complete(slow_add, "ok").complete(read, "ok", [1])
    r = no_loss(b.records())
    assert r.valid is True, r.explain()
    assert r.details["unsettled"] == [2]
    assert r.details["lost"] == []


def test_custom_operation_names_and_other_ops_ignored() -> None:
    b = HistoryBuilder().ok("submit", "a").ok("cancel", "b").ok("history", None, result=["a"])
    start = b.start_fault("kill")
    b.stop_fault(start)
    assert no_loss(b.records(), add_f="submit", read_f="history").valid is True
    assert no_loss(b.records()).valid == "unknown"


def test_history_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    h = History(path)
    h.invoke(0, "add", 7).ok()
    h.invoke(1, "add", 8).info("timeout")
    h.invoke(0, "read").ok([7, 8, 8])
    h.close()
    r = no_loss(History.load(path))
    assert r.valid is False
    assert r.details["duplicated"] == {8: 2}
    assert r.details["recovered"] == [8]


@pytest.mark.parametrize("seed", range(40))
def test_random_histories_against_ground_truth(seed: int) -> None:
    """Random ground truth: each element's outcome and whether it really took
    effect; then a read built from the truth plus injected faults. The verdict
    must name exactly the injected faults."""
    rng = random.Random(seed)
    b = HistoryBuilder()
    expect: dict[str, set[int]] = {
        k: set() for k in ("lost", "unexpected", "failed-but-present", "recovered")
    }
    read: list[int] = []
    for e in range(rng.randint(0, 60)):
        outcome: Outcome | None = rng.choice(["ok", "ok", "ok", "fail", "info", None])
        b.tick(rng.random()).op(outcome, "add", e)
        if outcome == "ok":
            if rng.random() < 0.1:
                expect["lost"].add(e)
            else:
                read.append(e)
        elif outcome == "fail":
            if rng.random() < 0.1:
                expect["failed-but-present"].add(e)
                read.append(e)
        elif rng.random() < 0.5:
            expect["recovered"].add(e)
            read.append(e)
    for _ in range(rng.choice([0, 0, 1, 2])):
        stranger = rng.randint(1000, 1010)
        expect["unexpected"].add(stranger)
        read.append(stranger)
    dups = {x: 0 for x in read}
    for x in read:
        dups[x] += 1
    if read and rng.random() < 0.3:
        extra = rng.choice(read)
        read.append(extra)
        dups[extra] += 1
    rng.shuffle(read)
    r = no_loss(b.tick(1).ok("read", None, result=read).records())
    for key, want in expect.items():
        assert r.details[key] == sorted(want), key
    want_dups = {x: c for x, c in dups.items() if c > 1}
    assert r.details["duplicated"] == dict(sorted(want_dups.items()))
    broken = expect["lost"] or expect["unexpected"] or expect["failed-but-present"] or want_dups
    assert r.valid is (not broken)
    json.dumps(r.to_json())
