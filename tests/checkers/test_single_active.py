import json
import random
from typing import Any

import pytest

from harness.checkers import single_active
from tests.checkers.histories import HistoryBuilder

ROLE = "controller"


def sample(b: HistoryBuilder, t: float, node: str, active: bool, *, took: float = 0.0) -> None:
    """One observation of ``node`` invoked at ``t``, answered ``took`` later."""
    value = {"role": ROLE, "node": node}
    b.at(t).ok("observe-active", value, result={**value, "active": active}, took=took)


def samples(b: HistoryBuilder, node: str, spec: str, times: list[float]) -> HistoryBuilder:
    """``spec`` is one letter per time: A active, P passive, X unreachable (info)."""
    for t, c in zip(times, spec, strict=True):
        if c == "X":
            b.at(t).info("observe-active", {"role": ROLE, "node": node})
        else:
            sample(b, t, node, c == "A")
    return b


def reported(b: HistoryBuilder, node: str, t0: float, t1: float | None) -> HistoryBuilder:
    value = {"role": ROLE, "node": node, "active_from": t0, "active_until": t1}
    return b.ok("observe-active", value)


def interleave(*series: tuple[str, str, list[float]]) -> HistoryBuilder:
    """Samples of several nodes merged in time order."""
    events = sorted(
        (t, node, c) for node, spec, times in series for t, c in zip(times, spec, strict=True)
    )
    b = HistoryBuilder()
    for t, node, c in events:
        samples(b, node, c, [t])
    return b


def test_happy_path_handover() -> None:
    b = interleave(("c1", "AAAP", [1, 2, 3, 4]), ("c2", "PPAA", [1.5, 2.5, 3.5, 4.5]))
    r = single_active(b.records(), role=ROLE)
    assert r.valid is True, r.explain()
    assert r.name == "single-active[controller]"
    assert r.details["samples"] == 8
    assert r.details["intervals"] == {
        "c1": [{"source": "samples", "from": 1, "until": 3, "samples": 3}],
        "c2": [{"source": "samples", "from": 3.5, "until": 4.5, "samples": 2}],
    }
    assert r.details["overlaps"] == []
    json.dumps(r.to_json())


def test_two_actives_from_samples() -> None:
    b = interleave(("c1", "AAAA", [1, 2, 3, 4]), ("c2", "PAP", [1.5, 2.5, 3.5]))
    r = single_active(b.records(), role=ROLE)
    assert r.valid is False
    assert r.details["overlaps"] == [
        {"nodes": ["c1", "c2"], "from": 2.5, "to": 2.5, "sources": ["samples", "samples"]}
    ]
    assert r.details["overlap-count"] == 1


def test_two_actives_from_self_reported_intervals() -> None:
    b = reported(HistoryBuilder(), "c2", 5.0, None).at(12.0)
    reported(b, "c1", 0.0, 10.0)
    r = single_active(b.records(), role=ROLE)
    assert r.valid is False
    assert r.details["overlaps"] == [
        {"nodes": ["c1", "c2"], "from": 5.0, "to": 10.0, "sources": ["reported", "reported"]}
    ]
    assert r.details["intervals"]["c2"] == [{"source": "reported", "from": 5.0, "until": None}]
    assert r.details["samples"] == 0
    assert r.details["reported"] == 2


def test_still_active_runs_to_the_end_of_the_history() -> None:
    b = reported(HistoryBuilder(), "c1", 1.0, None)
    samples(b, "c2", "A", [20.0])
    r = single_active(b.records(), role=ROLE)
    assert r.valid is False
    assert r.details["overlaps"][0]["from"] == 20.0


def test_mixed_evidence() -> None:
    b = samples(HistoryBuilder(), "c2", "PAAP", [1, 3, 3.5, 6])
    reported(b, "c1", 0.0, 3.2)
    r = single_active(b.records(), role=ROLE)
    assert r.valid is False
    assert r.details["overlaps"] == [
        {"nodes": ["c1", "c2"], "from": 3, "to": 3.2, "sources": ["reported", "samples"]}
    ]
    b = samples(HistoryBuilder(), "c2", "PAAP", [1, 3, 3.5, 6])
    assert single_active(reported(b, "c1", 0.0, 2.9).records(), role=ROLE).valid is True


def test_touching_intervals_overlap() -> None:
    b = interleave(("c1", "AAP", [1, 2, 3]), ("c2", "AA", [2, 3]))
    r = single_active(b.records(), role=ROLE)
    assert r.valid is False
    assert r.details["overlaps"][0]["from"] == r.details["overlaps"][0]["to"] == 2
    b = reported(HistoryBuilder(), "c1", 0.0, 5.0)
    assert single_active(reported(b, "c2", 5.0, 9.0).records(), role=ROLE).valid is False
    b = reported(HistoryBuilder(), "c1", 0.0, 5.0)
    assert single_active(reported(b, "c2", 5.000001, 9.0).records(), role=ROLE).valid is True


def test_an_inactive_sample_breaks_the_run() -> None:
    b = interleave(("c1", "APA", [1, 2, 3]), ("c2", "PAP", [1.5, 2.5, 3.5]))
    r = single_active(b.records(), role=ROLE)
    assert r.valid is True, r.explain()
    assert [i["from"] for i in r.details["intervals"]["c1"]] == [1, 3]
    # Without the passive sample at 2, c1 would cover c2's 2.5.
    b = interleave(("c1", "AA", [1, 3]), ("c2", "PAP", [1.5, 2.5, 3.5]))
    assert single_active(b.records(), role=ROLE).valid is False


@pytest.mark.parametrize("how", ["info", "fail", "pending", "node-on-completion"])
def test_an_unreachable_node_breaks_the_run(how: str) -> None:
    b = HistoryBuilder()
    sample(b, 1, "c1", True)
    b.at(2)
    if how == "info":
        b.info("observe-active", {"role": ROLE, "node": "c1"})
    elif how == "fail":
        b.fail("observe-active", {"role": ROLE, "node": "c1"})
    elif how == "node-on-completion":
        b.info("observe-active", None, node="c1")
    sample(b, 2.5, "c2", True)
    sample(b, 2.6, "c2", False)
    if how == "pending":
        b.at(2.8).pending("observe-active", {"role": ROLE, "node": "c1"})
    sample(b, 3, "c1", True)
    r = single_active(b.records(), role=ROLE)
    assert r.valid is True, r.explain()
    assert r.details["breaks"] == 1
    assert len(r.details["intervals"]["c1"]) == 2


def test_a_failure_of_another_node_does_not_break_the_run() -> None:
    b = HistoryBuilder()
    sample(b, 1, "c1", True)
    b.at(2).info("observe-active", {"role": ROLE, "node": "c3"})
    sample(b, 2.5, "c2", True)
    sample(b, 2.6, "c2", False)
    sample(b, 3, "c1", True)
    assert single_active(b.records(), role=ROLE).valid is False


def test_a_failure_naming_no_node_breaks_every_run() -> None:
    b = HistoryBuilder()
    sample(b, 1, "c1", True)
    b.at(2).info("observe-active", {"role": ROLE})
    sample(b, 2.5, "c2", True)
    sample(b, 2.6, "c2", False)
    sample(b, 3, "c1", True)
    assert single_active(b.records(), role=ROLE).valid is True


def test_a_slow_answer_does_not_invent_an_overlap() -> None:
    # c1's third answer was sent at some instant in [2, 5]; c2 was active from
    # 3. Taking the answer's arrival time (5) would invent an overlap.
    b = HistoryBuilder()
    sample(b, 0, "c1", True, took=0.1)
    sample(b, 1, "c1", True, took=0.1)
    slow = b.at(2).invoke("observe-active", {"role": ROLE, "node": "c1"})
    sample(b, 3, "c2", True, took=0.1)
    b.at(5).complete(slow, "ok", {"role": ROLE, "node": "c1", "active": True})
    r = single_active(b.records(), role=ROLE)
    assert r.valid is True, r.explain()
    assert r.details["intervals"]["c1"] == [
        {"source": "samples", "from": 0.1, "until": 2, "samples": 3}
    ]
    # A one-sample blip whose whole window lies inside another node's certain
    # interval is an overlap however the answer is placed in its window.
    b = HistoryBuilder()
    sample(b, 0, "c1", True, took=0.1)
    sample(b, 1, "c2", True, took=0.2)
    sample(b, 2, "c1", True, took=0.1)
    r = single_active(b.records(), role=ROLE)
    assert r.valid is False
    assert r.details["intervals"]["c2"] == [
        {"source": "samples", "from": 1.2, "until": 1, "samples": 1}
    ]
    assert r.details["overlaps"][0] == {
        "nodes": ["c1", "c2"],
        "from": 1,
        "to": 1.2,
        "sources": ["samples", "samples"],
    }
    # ... but not when the window reaches outside it.
    b = HistoryBuilder()
    sample(b, 0, "c1", True, took=0.1)
    blip = b.at(0.5).invoke("observe-active", {"role": ROLE, "node": "c2"})
    sample(b, 2, "c1", True, took=0.1)
    b.at(2.5).complete(blip, "ok", {"role": ROLE, "node": "c2", "active": True})
    assert single_active(b.records(), role=ROLE).valid is True


def test_no_samples_is_unknown() -> None:
    assert single_active([], role=ROLE).valid == "unknown"
    b = HistoryBuilder().info("observe-active", {"role": ROLE, "node": "c1"})
    value = {"role": "joc", "node": "j1", "active": True}
    b.ok("observe-active", value).ok("other", {"role": ROLE, "node": "c1", "active": True})
    r = single_active(b.records(), role=ROLE)
    assert r.valid == "unknown"
    assert "no observation" in r.details["reason"]


def test_roles_are_separate() -> None:
    b = HistoryBuilder()
    for t, role, node in [(1, "joc", "j1"), (1, ROLE, "c1"), (2, "joc", "j1"), (2, ROLE, "c1")]:
        value = {"role": role, "node": node, "active": True}
        b.at(t).ok("observe-active", value)
    assert single_active(b.records(), role=ROLE).valid is True
    assert single_active(b.records(), role="joc").name == "single-active[joc]"


def test_malformed_observation_is_unknown() -> None:
    b = samples(HistoryBuilder(), "c1", "AA", [1, 2])
    b.ok("observe-active", {"role": ROLE, "node": "c2", "active": "yes"})
    r = single_active(b.records(), role=ROLE)
    assert r.valid == "unknown"
    assert r.details["malformed"] == 1


def test_custom_operation_name() -> None:
    b = HistoryBuilder()
    for t, node in [(1, "c1"), (1, "c2")]:
        b.at(t).ok("cluster-state", {"role": ROLE, "node": node, "active": True})
    assert single_active(b.records(), role=ROLE, f="cluster-state").valid is False
    assert single_active(b.records(), role=ROLE).valid == "unknown"


# -- property tests ---------------------------------------------------------

Truth = dict[str, list[tuple[int, int]]]  # node -> closed active intervals, in ms


def active_at(truth: Truth, node: str, t: int) -> bool:
    return any(s <= t <= e for s, e in truth[node])


def random_truth(rng: random.Random, nodes: list[str], overlapping: bool, gap: int) -> Truth:
    """Active intervals per node. Without ``overlapping``, intervals of
    different nodes never share an instant; a node's own intervals are at
    least ``gap`` apart, so some sample always sees it passive in between."""
    truth: Truth = {n: [] for n in nodes}
    t = rng.randint(0, 2000)
    while t < 60_000:
        node = rng.choice(nodes)
        end = t + rng.randint(0, 8000)
        last = truth[node][-1][1] if truth[node] else -(10**9)
        if t - last >= gap:
            truth[node].append((t, end))
        # Handovers are often tight: a gap of a few ms is where a checker
        # that ignores request latency invents overlaps.
        step = rng.choice([rng.randint(1, 30), rng.randint(1, 3000)])
        t = end + (rng.randint(-3000, 3000) if overlapping else step)
        t = max(t, end - 3000, 0)
    return truth


def observe(rng: random.Random, truth: Truth, period: int, latency: int) -> HistoryBuilder:
    """Sequential observers, one per node; each answer reflects the truth at a
    random instant inside its request's window."""
    events: list[tuple[int, int, str, str, Any]] = []
    for k, node in enumerate(sorted(truth)):
        t = rng.randint(0, period)
        while t < 70_000:
            took = rng.randint(0, latency)
            read = t + rng.randint(0, took)
            outcome: Any = None if rng.random() < 0.05 else active_at(truth, node, read)
            events.append((t, 0, node, "invoke", k))
            events.append((t + took, 1, node, "complete", outcome))
            t += took + rng.randint(1, period)
    events.sort(key=lambda e: (e[0], e[1]))
    b = HistoryBuilder()
    pending: dict[str, Any] = {}
    for t, _, node, what, outcome in events:
        b.at(t / 1000)
        value = {"role": ROLE, "node": node}
        if what == "invoke":
            pending[node] = b.invoke("observe-active", value)
        elif outcome is None:
            b.complete(pending.pop(node), "info")
        else:
            b.complete(pending.pop(node), "ok", {**value, "active": outcome})
    return b


def truly_overlap(truth: Truth, a: str, b: str, lo: float, hi: float) -> bool:
    """Brute force: some instant of [lo, hi] (ms grid) has both a and b active."""
    return any(
        active_at(truth, a, t) and active_at(truth, b, t)
        for t in range(int(lo * 1000), int(hi * 1000) + 1)
    )


@pytest.mark.parametrize("seed", range(50))
def test_never_invents_an_overlap(seed: int) -> None:
    rng = random.Random(seed)
    period, latency = rng.choice([(200, 0), (500, 50), (1000, 400)])
    truth = random_truth(rng, ["c1", "c2", "c3"], False, gap=period + 2 * latency + 2)
    b = observe(rng, truth, period, latency)
    if rng.random() < 0.5:  # some nodes also report their intervals
        node = rng.choice(sorted(truth))
        for s, e in truth[node]:
            reported(b, node, s / 1000, e / 1000)
    r = single_active(b.records(), role=ROLE)
    assert r.valid is True, r.explain()


@pytest.mark.parametrize("seed", range(25))
def test_every_reported_overlap_is_real(seed: int) -> None:
    rng = random.Random(1000 + seed)
    period, latency = rng.choice([(200, 0), (500, 50), (1000, 400)])
    truth = random_truth(rng, ["c1", "c2", "c3"], True, gap=period + 2 * latency + 2)
    r = single_active(observe(rng, truth, period, latency).records(), role=ROLE)
    for o in r.details["overlaps"]:
        first, second = o["nodes"]
        assert truly_overlap(truth, first, second, o["from"], o["to"]), o


@pytest.mark.parametrize("seed", range(25))
def test_dense_instant_sampling_finds_every_overlap(seed: int) -> None:
    """Every node sampled at every second, answers instantaneous, truth on the
    same grid: the verdict is exactly the brute-force one."""
    rng = random.Random(2000 + seed)
    nodes = ["c1", "c2", "c3"]
    truth: Truth = {n: [] for n in nodes}
    for n in nodes:
        t = rng.randint(0, 10)
        while t < 40:
            e = t + rng.randint(0, 6)
            truth[n].append((t, e))
            t = e + rng.randint(2, 15)
    b = HistoryBuilder()
    for t in range(50):
        for n in nodes:
            sample(b, t, n, active_at(truth, n, t))
    r = single_active(b.records(), role=ROLE)
    pairs = {
        (x, y)
        for t in range(50)
        for x in nodes
        for y in nodes
        if x < y and active_at(truth, x, t) and active_at(truth, y, t)
    }
    assert r.valid is (not pairs)
    assert {tuple(o["nodes"]) for o in r.details["overlaps"]} == pairs
