"""Run times: the next start is never before ``after``; missed starts are skipped."""

import pytest

from components.jobscheduler1 import schedule
from components.jobscheduler1.schedule import RunTimeError


def test_immediate_order_runs_once_at_once():
    assert schedule.first_start(None, 1000) == 1000
    assert schedule.next_start(None, 1000) is None


def test_repeat_from_begin():
    rt = schedule.parse({"repeat": 0.5, "begin": 10}, 0)
    assert schedule.first_start(rt, 0) == 10_000
    assert schedule.next_start(rt, 10_000) == 10_000
    assert schedule.next_start(rt, 10_001) == 10_500
    assert schedule.next_start(rt, 12_499) == 12_500


def test_repeat_begin_in_the_past_skips_to_the_next_start():
    rt = schedule.parse({"repeat": 1, "begin": 1}, 5_500)
    assert schedule.first_start(rt, 5_500) == 6_000


def test_repeat_defaults_to_begin_now():
    rt = schedule.parse({"repeat": 2}, 7_000)
    assert schedule.first_start(rt, 7_000) == 7_000
    assert schedule.next_start(rt, 7_001) == 9_000


def test_list_of_times():
    rt = schedule.parse({"at": [3, 1, 2, 2]}, 0)
    assert rt == {"at_ms": [1000, 2000, 3000]}
    assert schedule.next_start(rt, 1_500) == 2_000
    assert schedule.next_start(rt, 3_001) is None
    assert schedule.first_start(rt, 2_500) == 3_000
    assert schedule.to_json(rt) == {"at": [1.0, 2.0, 3.0]}


@pytest.mark.parametrize("after", range(0, 5_000, 37))
def test_next_start_is_the_earliest_start_at_or_after(after):
    rt = schedule.parse({"repeat": 0.3, "begin": 1}, 0)
    nxt = schedule.next_start(rt, after)
    assert nxt >= after and (nxt - 1000) % 300 == 0
    assert nxt - 300 < after or nxt == 1000


@pytest.mark.parametrize(
    "bad",
    [
        "daily",
        {"repeat": 0},
        {"repeat": -1},
        {"repeat": True},
        {"repeat": 1, "at": [1]},
        {"at": []},
        {"at": ["x"]},
        {"every": 1},
        {"repeat": float("nan")},
    ],
)
def test_malformed_run_times(bad):
    with pytest.raises(RunTimeError):
        schedule.parse(bad, 0)
