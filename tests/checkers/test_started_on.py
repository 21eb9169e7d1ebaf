import json

import pytest

from harness.checkers import started_matches_runs
from harness.checkers.started_on import StepEvent


def step(sub: str, outcome: str | None = "Succeeded") -> list[StepEvent]:
    events: list[StepEvent] = [("started", sub)]
    if outcome is not None:
        events.append(("processed", outcome))
    return events


def test_one_step_that_ran_where_it_was_started_holds() -> None:
    r = started_matches_runs({"o1": step("s1"), "o2": step("s2")}, {"o1": ["s1"], "o2": ["s2"]})
    assert r.valid is True, r.explain()
    assert r.name == "started-on-matches-side-effect"
    json.dumps(r.to_json())


def test_a_step_lost_before_it_ran_and_started_again_holds() -> None:
    # JS7: a Director gone between OrderProcessingStarted and the Subagent's
    # start: Disrupted(ProcessLost), and the order is started again.
    journal = {"o1": step("s2", "Disrupted") + step("s2")}
    r = started_matches_runs(journal, {"o1": ["s2"]})
    assert r.valid is True, r.explain()


def test_a_step_lost_while_it_ran_and_run_again_holds() -> None:
    journal = {"o1": step("s1", "Disrupted") + step("s2")}
    r = started_matches_runs(journal, {"o1": ["s1", "s2"]})
    assert r.valid is True, r.explain()


def test_a_job_that_ran_elsewhere_than_recorded_breaks_it() -> None:
    r = started_matches_runs({"o1": step("s1")}, {"o1": ["s2"]})
    assert r.valid is False
    why = r.details["differ"]["o1"]["why"]
    assert any("ran 1x on s2, started there 0x" in w for w in why)
    assert any("s1" in w and "ran there 0x" in w for w in why)


def test_a_job_run_twice_for_one_start_breaks_it() -> None:
    r = started_matches_runs({"o1": step("s1")}, {"o1": ["s1", "s1"]})
    assert r.valid is False
    assert r.details["differ"]["o1"]["why"] == ["ran 2x on s1, started there 1x"]


@pytest.mark.parametrize("outcome", ["Succeeded", "Failed", "TimedOut", "Killed"])
def test_an_outcome_for_a_job_that_never_ran_breaks_it(outcome: str) -> None:
    r = started_matches_runs({"o1": step("s1", outcome)}, {})
    assert r.valid is False
    assert r.details["differ"]["o1"]["ran"] == []


def test_two_starts_without_an_outcome_between_break_it_even_when_both_ran() -> None:
    journal: dict[str, list[StepEvent]] = {
        "o1": [("started", "s1"), ("started", "s2"), ("processed", "Succeeded")]
    }
    r = started_matches_runs(journal, {"o1": ["s1", "s2"]}, {"o1": ["1 started on s1"]})
    assert r.valid is False
    differ = r.details["differ"]["o1"]
    assert differ["why"] == ["started again before the step's outcome"]
    assert differ["js7"] == ["1 started on s1"]


def test_a_job_that_ran_without_any_start_breaks_it() -> None:
    r = started_matches_runs({}, {"o9": ["s3"]})
    assert r.valid is False
    assert r.details["differ"]["o9"]["started"] == []


def test_a_step_still_without_outcome_may_or_may_not_have_run() -> None:
    assert started_matches_runs({"o1": step("s1", None)}, {}).valid is True
    assert started_matches_runs({"o1": step("s1", None)}, {"o1": ["s1"]}).valid is True
