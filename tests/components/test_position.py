"""JS7's positions (components/common/position.py), against JS7's own tests:
js7-data/shared/src/test/scala/js7/data/workflow/position/
PositionOrLabelTest.scala (PLT) and BranchIdTest.scala (BIT)."""

import pytest

from components.common.position import (
    Position,
    catch_branch,
    catch_index,
    then_branch,
    try_branch,
    try_index,
)
from components.common.web import Problem


def pos(*parts):
    return Position.parse(list(parts))


@pytest.mark.parametrize(
    "js7",
    [
        [1],  # PLT:20
        [1, "BRANCH", 2],  # PLT:22
        [0, "then", 0],
        [2, "try+0", 1],
        [2, "catch+0", 0],
        [1, "A", 2, "B", 3],
    ],
)
def test_a_position_is_js7s_json_array(js7):
    assert Position.parse(js7).to_json() == js7


@pytest.mark.parametrize(
    "bad",
    [
        [],  # PLT:25
        [1, 2],  # PLT:26: even length
        [1, "BRANCH"],
        [-1],
        [1, 2, 3],  # a branch id must be a string
        ["X"],
        [True],
        "1",
        None,
    ],
)
def test_what_js7_cannot_decode_is_an_invalid_position(bad):
    with pytest.raises(Problem) as err:
        Position.parse(bad)
    assert err.value.code == "InvalidPosition"


def test_text_form_parent_and_moves():
    assert str(pos(0)) == "0"  # PLT:74
    assert str(pos(0, "BRANCH", 1)) == "0/BRANCH:1"  # PLT:75
    assert str(pos(1, "A", 2, "B", 3)) == "1/A:2/B:3"
    assert pos(1).parent is None  # PLT:51
    assert pos(1, "A", 2).parent == pos(1)  # PLT:52
    assert pos(1, "A", 2, "B", 3).parent == pos(1, "A", 2)  # PLT:53
    assert pos(1, "A", 2).increment() == pos(1, "A", 3)
    assert pos(1).child("then") == pos(1, "then", 0)


def test_branch_ids_as_js7_writes_them():
    assert then_branch(1) == "then" and then_branch(2) == "then+2"  # BranchId.scala:77-81
    assert try_branch(0) == "try+0" and try_branch(1) == "try+1"  # BIT:23-26
    assert catch_branch(0) == "catch+0" and catch_branch(1) == "catch+1"  # BIT:28-31
    assert [try_index(b) for b in ("try", "try+0", "try+12", "catch+1", "then")] == [
        0,
        0,
        12,
        None,
        None,
    ]
    assert [catch_index(b) for b in ("catch", "catch+3", "try+3")] == [0, 3, None]


def test_try_count_and_the_next_retry_position():
    # PLT:104-112
    assert pos(0).try_count == 0
    assert pos(1, "try+0", 0).try_count == 1
    assert pos(1, "try+2", 0).try_count == 3
    assert pos(1, "catch+1", 0).try_count == 2
    assert pos(1, "catch+0", 0, "then", 1).try_count == 1  # looks through then/else
    # PLT:124-133
    assert pos(0).next_retry_position() is None
    assert pos(1, "try+0", 0).next_retry_position() is None
    assert pos(1, "catch+0", 0).next_retry_position() == pos(1, "try+1", 0)
    assert pos(1, "catch+2", 0).next_retry_position() == pos(1, "try+3", 0)
    assert pos(1, "catch+2", 0, "then", 1, "else", 2).next_retry_position() == pos(1, "try+3", 0)
    # A Retry in a try block nested in a catch block retries the outer Try.
    assert pos(1, "catch+0", 0, "try+0", 2).next_retry_position() == pos(1, "try+1", 0)
    # Anything else is a barrier (JS7: a Fork).
    assert pos(1, "catch+0", 0, "fork+A", 2).next_retry_position() is None
