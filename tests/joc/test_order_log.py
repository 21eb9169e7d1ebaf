"""JOC's order log built from History rows: JOC's OrderLog and orderLogEntry
fields (js7-api-schemas), JOC's log levels and times, JS7's position text."""

from __future__ import annotations

import datetime as dt

from components.joc.order_log import joc_time, order_log
from components.joc.views.subviews import position_string

T0 = dt.datetime(2021, 4, 16, 20, 12, 2, 2000, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_joc_times_and_js7_positions():
    assert joc_time(T0) == "2021-04-16 20:12:02.002+0000"
    assert position_string([0]) == "0"
    assert position_string([1, "then", 0]) == "1/then:0"
    assert position_string([2, "try+0", 1, "catch+0", 3]) == "2/try+0:1/catch+0:3"


def test_a_failed_order_with_two_steps():
    order = ("o-1", at(0), at(9), 1009, "FAILED", "[1]", "returnCode 3", 1000)
    steps = [
        (7, "[0]", "w:[0]", "agent-1", at(1), at(2), 0, "SUCCESSFUL", None, 1001, 1002),
        (8, "[1]", "w:[1]", "agent-1", at(3), at(8), 3, "FAILED", "returnCode 3", 1003, 1008),
    ]
    log = order_log(42, order, steps)
    assert (log["historyId"], log["complete"], log["eventId"]) == (42, True, 1009)
    events = [(e["logEvent"], e["logLevel"], e["position"]) for e in log["logEvents"]]
    assert events == [
        ("OrderStarted", "MAIN", "0"),
        ("OrderProcessingStarted", "MAIN", "0"),
        ("OrderProcessed", "SUCCESS", "0"),
        ("OrderProcessingStarted", "MAIN", "1"),
        ("OrderProcessed", "ERROR", "1"),
        ("OrderFailed", "ERROR", "1"),
    ]
    required = {"controllerDatetime", "orderId", "logLevel", "logEvent", "position"}
    assert all(required <= set(e) for e in log["logEvents"])
    failed_step = log["logEvents"][4]
    assert (failed_step["taskId"], failed_step["returnCode"], failed_step["job"]) == (8, 3, "w:[1]")
    assert failed_step["error"]["errorText"] == "returnCode 3"
    assert log["logEvents"][1]["agentId"] == "agent-1"


def test_a_running_order_is_incomplete():
    order = ("o-2", at(0), None, None, "RUNNING", "[0]", None, 2000)
    steps = [(9, "[0]", "w:[0]", None, at(1), None, None, "RUNNING", None, 2001, None)]
    log = order_log(43, order, steps)
    assert log["complete"] is False and log["eventId"] == 2001
    assert [e["logEvent"] for e in log["logEvents"]] == ["OrderStarted", "OrderProcessingStarted"]
    assert "agentId" not in log["logEvents"][1]
