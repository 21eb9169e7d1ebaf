"""The History view checkers fed broken observations: each says broken (or
unknown), with the evidence; and held on a good one."""

from suites.history_views.checks import (
    export_after_failover,
    export_matches,
    live_latency,
    standby_not_pushed,
    views_answer,
)


def test_views_answer():
    want = {"orders@active": {"a", "b"}, "orders@standby": {"a", "b"}}
    assert views_answer(want, {"orders@active": ["b", "a"], "orders@standby": ["a", "b"]})
    bad = views_answer(want, {"orders@active": ["a", "a", "c"]})
    assert bad.valid is False
    wrong = bad.details["wrong"]
    assert wrong["orders@active"] == {"missing": ["b"], "extra": ["c"], "twice": ["a"]}
    assert wrong["orders@standby"] == "not asked"


def test_live_latency():
    finished = {"a": 1_000_000_000, "b": 1_000_000_000}  # µs: t = 1000 s
    ok = live_latency(finished, {"a": 1_000_200.0, "b": 1_000_900.0}, ["a", "b"], 1.0)
    assert ok and abs(ok.details["p99"] - 0.9) < 1e-9
    slow = live_latency(finished, {"a": 1_000_200.0, "b": 1_002_000.0}, ["a", "b"], 1.0)
    assert slow.valid is False and slow.details["p99"] == 2.0
    unseen = live_latency(finished, {"a": 1_000_200.0}, ["a", "b"], 1.0)
    assert unseen.valid is False and unseen.details["not-shown"] == ["b"]
    assert live_latency(finished, {}, [], 1.0).valid == "unknown"
    assert live_latency(finished, {}, ["a"], 1.0).valid is False


def test_standby_not_pushed():
    assert standby_not_pushed(["old"], ["old", "n1"], ["n1"], [])
    pushed = standby_not_pushed(["old", "n1"], ["old", "n1"], ["n1"], [])
    assert pushed.valid is False and pushed.details["pushed-before-refresh"] == ["n1"]
    assert standby_not_pushed([], [], ["n1"], []).details["missing-after-refresh"] == ["n1"]
    assert standby_not_pushed([], ["n1"], ["n1"], ["http://x/events/history"]).valid is False


def test_export_matches():
    header = ["Order ID", "Workflow"]
    rows = [("a", "w"), ("b", "w")]
    assert export_matches(header, rows, header, ["a", "b"], "Order ID")
    assert export_matches(["Workflow", "Order ID"], rows, header, ["a", "b"], "Order ID").details[
        "header"
    ]
    lost = export_matches(header, rows[:1], header, ["a", "b"], "Order ID")
    assert lost.valid is False and lost.details["lost"] == ["b"]
    added = export_matches(header, [*rows, ("c", "w")], header, ["a", "b"], "Order ID")
    assert added.valid is False and added.details["added"] == ["c"]
    moved = export_matches(header, rows[::-1], header, ["a", "b"], "Order ID")
    assert moved.valid is False and moved.details["first-difference-at-row"] == 0


def test_export_after_failover():
    assert export_after_failover(["a"], ["a", "n"], ["n"])
    assert export_after_failover(["a", "b"], ["a", "n"], ["n"]).details["lost"] == ["b"]
    assert export_after_failover(["a"], ["a"], ["n"]).details["new-missing"] == ["n"]
    assert (
        export_after_failover([], ["n"], ["n"]).valid is False
    )  # an empty first file proves nothing
