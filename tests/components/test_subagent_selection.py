"""The Director's Subagent selection (components/agent/selection.py) against
JS7's Prioritized / MutableRoundRobin."""

import pytest

from components.agent.selection import RoundRobin, Selector, group_by_priority
from components.common.subagent_items import BadPriority, parse_priority


def test_groups_by_descending_priority_as_prioritized_test():
    # PrioritizedTest.scala L12-21
    groups = group_by_priority({"1-1": 1, "10-2": 2, "B-1": 1, "B-2": 2, "A-0": 0})
    assert groups == [["10-2", "B-2"], ["1-1", "B-1"], ["A-0"]]


def test_round_robin_starts_anew_when_the_group_changes():
    rr = RoundRobin()
    assert [rr.next(["a", "b", "c"]) for _ in range(4)] == ["a", "b", "c", "a"]
    assert rr.next(["a", "c"]) == "a"
    assert rr.next(["a", "c"]) == "c"


def select_n(priorities, available, n, counts=None):
    sel = Selector()
    exprs = {s: parse_priority(p) for s, p in priorities.items()}
    return [
        sel.select("B", exprs, lambda s: s in available, lambda s: (counts or {}).get(s, 0))
        for _ in range(n)
    ]


def test_equal_priorities_take_turns():
    assert select_n({"a": 1, "b": 1, "c": 1}, {"a", "b", "c"}, 6) == ["a", "b", "c"] * 2


def test_the_highest_available_priority_wins_and_negative_numbers_count():
    assert select_n({"a": 3, "b": 2, "c": -1}, {"a", "b", "c"}, 2) == ["a", "a"]
    assert select_n({"a": 3, "b": 2, "c": -1}, {"b", "c"}, 2) == ["b", "b"]
    assert select_n({"a": 3, "b": 2, "c": -1}, {"c"}, 1) == ["c"]
    assert select_n({"a": 3}, set(), 1) == [None]


def test_as_js7s_subagent_bundle_test_c_and_d_share_the_top():
    # js7-tests SubagentBundleTest.scala L92-97: A=1, B=2, C=3, D=3 → C, D, C
    assert select_n({"A": 1, "B": 2, "C": 3, "D": 3}, {"A", "B", "C", "D"}, 3) == ["C", "D", "C"]


def test_a_process_count_expression_prefers_the_least_busy():
    counts = {"a": 5, "b": 1, "c": 3}
    picked = select_n({s: "-$js7SubagentProcessCount" for s in "abc"}, set("abc"), 1, counts)
    assert picked == ["b"]


def test_a_priority_that_cannot_be_evaluated_leaves_the_subagent_out():
    # A string priority evaluates to no number: excluded, as JS7 excludes errors.
    assert select_n({"a": "'high'", "b": 1}, {"a", "b"}, 2) == ["b", "b"]


@pytest.mark.parametrize("bad", [True, None, "", "1 +", "$cpuLoad", "if true then 1 else 2", [1]])
def test_bad_priorities_are_refused(bad):
    with pytest.raises(BadPriority):
        parse_priority(bad)
