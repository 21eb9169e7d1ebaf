"""The sub-views' filters read as JOC reads them, and refused naming the field."""

import datetime as dt

import pytest

from components.common.web import Problem
from components.joc.views import filters as f

NOW = dt.datetime(2026, 3, 15, 13, 45, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("0d", False, dt.datetime(2026, 3, 15, tzinfo=dt.UTC)),
        ("0d", True, dt.datetime(2026, 3, 16, tzinfo=dt.UTC)),
        ("0", False, dt.datetime(2026, 3, 15, tzinfo=dt.UTC)),
        ("-1d", False, dt.datetime(2026, 3, 14, tzinfo=dt.UTC)),
        ("1d", False, dt.datetime(2026, 3, 14, tzinfo=dt.UTC)),  # unsigned: the past
        ("+1d", False, dt.datetime(2026, 3, 16, tzinfo=dt.UTC)),
        ("-2h", False, dt.datetime(2026, 3, 15, 11, 45, 10, tzinfo=dt.UTC)),
        ("-1h30m", False, dt.datetime(2026, 3, 15, 12, 15, 10, tzinfo=dt.UTC)),
        ("-1M", False, dt.datetime(2026, 2, 15, tzinfo=dt.UTC)),
        ("-1y", False, dt.datetime(2025, 3, 15, tzinfo=dt.UTC)),
        ("-1w", False, dt.datetime(2026, 3, 8, tzinfo=dt.UTC)),
        ("2026-01-02T03:04:05Z", False, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        (
            "2026-01-02 03:04:05.123+01:00",
            False,
            dt.datetime(2026, 1, 2, 2, 4, 5, 123000, tzinfo=dt.UTC),
        ),
    ],
)
def test_dates_relative_and_iso(value, end, expected):
    assert f.date({"d": value}, "d", end=end, now=NOW) == expected


def test_day_granular_dates_start_at_midnight_in_the_time_zone():
    t = f.date({"d": "0d", "timeZone": "Europe/Berlin"}, "d", now=NOW)
    assert t == dt.datetime(2026, 3, 14, 23, tzinfo=dt.UTC)
    naive = f.date({"d": "2026-01-02T00:00:00", "timeZone": "Europe/Berlin"}, "d", now=NOW)
    assert naive == dt.datetime(2026, 1, 1, 23, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("body", "call", "field"),
    [
        ({"dateFrom": "yesterday"}, lambda b: f.date(b, "dateFrom"), "dateFrom"),
        ({"dateFrom": "-1x"}, lambda b: f.date(b, "dateFrom"), "dateFrom"),
        ({"dateTo": 5}, lambda b: f.date(b, "dateTo"), "dateTo"),
        ({"dateTo": "2026-13-45T00:00:00Z"}, lambda b: f.date(b, "dateTo"), "dateTo"),
        (
            {"dateFrom": "-1d", "timeZone": "Mars/Olympus"},
            lambda b: f.date(b, "dateFrom"),
            "timeZone",
        ),
        ({"limit": -2}, lambda b: f.limit(b, 10), "limit"),
        ({"limit": 0}, lambda b: f.limit(b, 10), "limit"),
        ({"limit": "10"}, lambda b: f.limit(b, 10), "limit"),
        (
            {"historyStates": ["GREAT"]},
            lambda b: f.strings(b, "historyStates", f.HISTORY_STATES),
            "historyStates",
        ),
        ({"folders": [{"folder": "x"}]}, f.folders, "folders"),
        ({"date": "-2h"}, lambda b: f.day(b, "date"), "date"),
    ],
)
def test_malformed_filters_are_refused_naming_the_field(body, call, field):
    with pytest.raises(Problem) as e:
        call(body)
    assert e.value.status == 400 and e.value.code == "InvalidField"
    assert f"'{field}'" in e.value.message


def test_limit_defaults_and_unlimited():
    assert f.limit({}, 5000) == 5000
    assert f.limit({"limit": -1}, 5000) is None
    assert f.limit({"limit": 7}, 5000) == 7


def test_globs_become_like_patterns_with_literals_escaped():
    assert f.like("ord*-?") == "ord%-_"
    assert f.like("50%_x") == "50\\%\\_x"


def test_folder_clauses():
    w = f.Where()
    w.folders("F", [("/a", True), ("/b", False), ("/", True)])
    assert w.sql() == "((F = %s OR F LIKE %s) OR F = %s OR TRUE)"
    assert w.params == ["/a", "/a/%", "/b"]
