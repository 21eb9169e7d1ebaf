import json
import math
import random

import pytest

from harness.checkers import failover_time, failover_times, percentile
from tests.checkers.histories import HistoryBuilder


def kill_and_recover(
    b: HistoryBuilder, *, kill_at: float, back_at: float, old: str = "c1", new: str = "c2"
) -> int:
    """Steady ops on ``old``, a kill, failures, then an op served by ``new``."""
    b.at(kill_at - 0.5).ok("add", "before", node=old)
    fid = b.at(kill_at).start_fault("kill-active", {"node": old})
    b.tick(0.1).info("add", "x1")
    b.tick(0.1).fail("add", "x2")
    b.at(back_at).ok("add", "after", node=new)
    b.tick(0.5).stop_fault(fid)
    return fid


def test_measured_exactly_to_the_microsecond() -> None:
    b = HistoryBuilder()
    fid = kill_and_recover(b, kill_at=1.000001, back_at=12.345678)
    r = failover_time(b.records())
    assert r.valid is True, r.explain()
    assert r.name == "failover-time"
    d = r.details
    assert d["seconds"] == 11.345677
    assert (d["fault"], d["fault_name"]) == (fid, "kill-active")
    assert (d["from_node"], d["to_node"]) == ("c1", "c2")
    assert d["bound"] is None
    json.dumps(r.to_json())


def test_bound_exceeded() -> None:
    b = HistoryBuilder()
    kill_and_recover(b, kill_at=10.0, back_at=13.5)
    r = failover_time(b.records(), bound=3.0)
    assert r.valid is False
    assert r.details["seconds"] == 3.5
    assert r.details["bound"] == 3.0
    assert "more than 3.0 s" in r.details["reason"]
    assert failover_time(b.records(), bound=3.5).valid is True, "the bound itself is allowed"


def test_no_op_on_a_new_node_ever() -> None:
    b = HistoryBuilder().at(1).ok("add", 1, node="c1")
    fid = b.at(2).start_fault("kill-active")
    b.at(3).info("add", 2).at(4).ok("add", 3, node="c1").stop_fault(fid)
    b.at(5).ok("add", 4)  # served, but by an unnamed node: proves nothing
    r = failover_time(b.records(), bound=60)
    assert r.valid is False
    assert r.details["reason"] == "no successful operation on a new active after the fault"
    assert r.details["seconds"] is None
    assert r.details["to_node"] is None
    # Without the new-node requirement the old node's return counts.
    r = failover_time(b.records(), require_new_node=False)
    assert (r.valid, r.details["seconds"], r.details["to_node"]) == (True, 2, "c1")


def test_unknown_old_node_accepts_any_node() -> None:
    b = HistoryBuilder().at(1).ok("add", 1)
    b.at(2).start_fault("kill-active")
    b.at(3.25).ok("add", 2, node="c1")
    r = failover_time(b.records())
    assert (r.valid, r.details["seconds"], r.details["from_node"]) == (True, 1.25, None)


def test_an_op_in_flight_at_the_fault_does_not_count() -> None:
    b = HistoryBuilder().at(1).ok("add", 1, node="c1")
    early = b.at(1.5).invoke("add", 2)
    b.at(2).start_fault("kill-active")
    b.at(2.1).complete(early, "ok", node="c2")
    b.at(4).ok("add", 3, node="c2")
    assert failover_time(b.records()).details["seconds"] == 2


def test_op_filter() -> None:
    b = HistoryBuilder().at(1).ok("add", 1, node="c1").ok("read", None, node="c2")
    b.at(2).start_fault("kill-active")
    b.at(2.5).ok("read", None, node="c2")  # the standby always answered reads
    b.at(7).ok("add", 2, node="c2")
    # Unfiltered, the standby's read was the last op before the fault, so
    # "new" means "not c2", and nothing qualifies.
    unfiltered = failover_time(b.records())
    assert (unfiltered.valid, unfiltered.details["from_node"]) == (False, "c2")
    assert failover_time(b.records(), f="read", require_new_node=False).details["seconds"] == 0.5
    r = failover_time(b.records(), f="add")
    assert (r.details["seconds"], r.details["from_node"]) == (5, "c1")
    assert failover_time(b.records(), f={"add", "cancel"}).details["seconds"] == 5


def test_choose_the_window_by_fault_id() -> None:
    b = HistoryBuilder()
    kill_and_recover(b, kill_at=1, back_at=2)
    second = kill_and_recover(b, kill_at=10, back_at=17, old="c2", new="c1")
    assert failover_time(b.records()).details["seconds"] == 1
    r = failover_time(b.records(), fault=second)
    assert (r.details["seconds"], r.details["from_node"], r.details["to_node"]) == (7, "c2", "c1")
    missing = failover_time(b.records(), fault=99)
    assert missing.valid == "unknown"
    assert "99" in missing.details["reason"]


def test_no_fault_is_unknown() -> None:
    r = failover_time(HistoryBuilder().ok("add", 1, node="c1").records())
    assert r.valid == "unknown"
    assert failover_times([]).valid == "unknown"


def test_unhealed_fault_is_measured_too() -> None:
    b = HistoryBuilder().at(1).ok("add", 1, node="c1")
    b.at(2).start_fault("kill-active")
    b.at(3).ok("add", 2, node="c2")
    r = failover_time(b.records())
    assert (r.valid, r.details["seconds"], r.details["healed"]) == (True, 1, None)


def test_several_windows_percentiles() -> None:
    b = HistoryBuilder()
    durations = [0.5, 4.0, 1.0, 2.0, 3.0]
    t = 0.0
    nodes = ["c1", "c2"]
    for i, took in enumerate(durations):
        old, new = nodes[i % 2], nodes[1 - i % 2]
        kill_and_recover(b, kill_at=t + 1, back_at=t + 1 + took, old=old, new=new)
        t += 10
    b.at(t).start_fault("pause-active")  # another fault name, never recovered
    r = failover_times(b.records(), fault_name="kill-active", bound=3.5)
    assert r.name == "failover-times"
    assert r.valid is False
    d = r.details
    assert [w["seconds"] for w in d["windows"]] == durations
    assert [w["from_node"] for w in d["windows"]] == ["c1", "c2", "c1", "c2", "c1"]
    assert (d["count"], d["p50"], d["p99"], d["max"]) == (5, 2.0, 4.0, 4.0)
    assert d["percentile-method"] == "nearest-rank"
    assert d["exceeded"] == [2]
    assert d["unrecovered"] == []
    assert failover_times(b.records(), fault_name="kill-active", bound=4).valid is True
    json.dumps(r.to_json())

    everything = failover_times(b.records())
    assert everything.valid is False
    assert everything.details["unrecovered"] == [6]
    assert everything.details["count"] == 6
    assert everything.details["max"] == 4.0


def test_percentile_nearest_rank() -> None:
    assert percentile([3.0], 50) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([4.0, 3.0, 2.0, 1.0], 75) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([float(i) for i in range(1, 11)], 99) == 10.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 0)


@pytest.mark.parametrize("seed", range(30))
def test_percentile_against_its_definition(seed: int) -> None:
    """Nearest rank is the smallest measured value with at least p% of the
    values at or below it."""
    rng = random.Random(seed)
    values = [round(rng.uniform(0, 10), 3) for _ in range(rng.randint(1, 40))]
    for p in (1, 25, 50, 90, 99, 100, rng.uniform(0.1, 100)):
        want = min(v for v in values if sum(x <= v for x in values) >= p / 100 * len(values))
        assert percentile(values, p) == want


@pytest.mark.parametrize("seed", range(20))
def test_random_windows_against_ground_truth(seed: int) -> None:
    """Background traffic with stragglers on the old node; the measurement
    must equal the planted recovery time exactly."""
    rng = random.Random(seed)
    b = HistoryBuilder()
    active = "c1"
    planted: list[float] = []
    t = 0.0
    for _ in range(rng.randint(1, 8)):
        for _ in range(rng.randint(1, 4)):
            t += rng.randint(1, 500) / 1000
            b.at(t).ok("add", t, node=active, took=0.001)
        t += 0.01
        fid = b.at(t).start_fault("kill-active")
        start, new = t, rng.choice([n for n in ("c1", "c2", "c3") if n != active])
        for _ in range(rng.randint(0, 3)):
            t += rng.randint(1, 300) / 1000
            b.at(t).op(rng.choice(["fail", "info"]), "add", t)
            if rng.random() < 0.3:
                b.ok("add", t, node=active)  # the old node answering still
        t += rng.randint(1, 5000) / 1000
        b.at(t).ok("add", t, node=new, took=0.002)
        planted.append(round(t + 0.002 - start, 6))
        b.tick(0.1).stop_fault(fid)
        active = new
        t = b.now
    r = failover_times(b.records(), fault_name="kill-active")
    got = [w["seconds"] for w in r.details["windows"]]
    assert got == pytest.approx(planted, abs=1e-6)
    assert r.details["max"] == max(got)
    assert r.details["p50"] == sorted(got)[math.ceil(0.5 * len(got)) - 1]
    assert r.valid is True


def test_measured_from_the_fault_taking_effect_when_recorded() -> None:
    # Rules applied by docker exec can take effect hundreds of ms after the
    # injection began: the fail-over is measured from when the cut was real.
    b = HistoryBuilder()
    b.at(0.5).ok("add", "before", node="c1")
    fid = b.at(1.0).start_fault("partition", {"node": "c1"})
    b.at(1.4).fault_in_effect(fid)
    b.at(3.0).ok("add", "after", node="c2")
    b.tick(0.5).stop_fault(fid)
    r = failover_time(b.records(), bound=1.8)
    assert r.valid is True, r.explain()
    assert (r.details["seconds"], r.details["started"], r.details["in_effect"]) == (1.6, 1.0, 1.4)
    many = failover_times(b.records(), bound=1.5)
    assert many.valid is False and many.details["windows"][0]["seconds"] == 1.6


def test_an_op_served_between_start_and_effect_by_the_old_node_does_not_count() -> None:
    b = HistoryBuilder()
    b.at(0.5).ok("add", "before", node="c1")
    fid = b.at(1.0).start_fault("partition", {"node": "c1"})
    b.at(1.1).ok("add", "slipped-through", node="c1")
    b.at(1.4).fault_in_effect(fid)
    b.at(2.0).ok("add", "after", node="c2")
    r = failover_time(b.records())
    assert r.details["to_node"] == "c2" and r.details["seconds"] == 0.6
