import itertools
import json

import pytest

from harness import checkers
from harness.checkers import CheckResult, compose, merge_validity, no_loss, single_active
from harness.checkers.base import Validity
from tests.checkers.histories import HistoryBuilder

T = CheckResult(True, {"n": 1}, "t")
U = CheckResult("unknown", {"reason": "no final read"}, "u")
F = CheckResult(False, {"lost": [3]}, "f")


@pytest.mark.parametrize(
    ("parts", "want"),
    [
        ((), True),
        ((T,), True),
        ((T, T), True),
        ((T, U), "unknown"),
        ((U, T), "unknown"),
        ((T, F), False),
        ((U, F), False),
        ((F, U), False),
        ((F, U, T), False),
    ],
)
def test_false_beats_unknown_beats_true(parts: tuple[CheckResult, ...], want: Validity) -> None:
    assert compose(*parts).valid == want


def test_every_order_agrees() -> None:
    for n in range(4):
        values: list[Validity] = [True, "unknown", False]
        for combo in itertools.product(values, repeat=n):
            for order in itertools.permutations(combo):
                want = False if False in combo else "unknown" if "unknown" in combo else True
                assert merge_validity(order) == want


def test_only_true_is_truthy() -> None:
    assert T
    assert not U
    assert not F
    assert not compose(T, U)


def test_nested_explain_and_json() -> None:
    inner = compose(T, U, name="inner")
    outer = compose(inner, F, name="outer")
    assert outer.valid is False
    assert list(outer.details) == ["inner", "f"]
    text = outer.explain()
    assert text.splitlines()[0] == "outer: valid=False"
    assert "  inner: inner: valid=unknown" in text
    assert "    t: t: valid=True" in text
    assert "      reason: 'no final read'" in text
    assert "    lost: [3]" in text
    # Nested results are kept as CheckResults; the serialised form flattens them.
    blob = json.dumps(outer.to_json(), default=lambda r: r.to_json())
    assert json.loads(blob)["details"]["inner"]["details"]["u"]["valid"] == "unknown"


def test_unnamed_parts_are_named_by_position() -> None:
    assert list(compose(CheckResult(True), CheckResult(False)).details) == ["check-0", "check-1"]


def test_composing_real_checkers() -> None:
    b = HistoryBuilder().ok("add", 1).ok("add", 2).ok("read", None, result=[1])
    b.ok("observe-active", {"role": "joc", "node": "j1", "active": True})
    loss, split = no_loss(b.records()), single_active(b.records(), role="controller")
    assert (loss.valid, split.valid) == (False, "unknown")
    result = compose(loss, split, name="run")
    assert result.valid is False
    assert "lost: [2]" in result.explain()
    assert "single-active[controller]: valid=unknown" in result.explain()


def test_public_surface() -> None:
    for name in ("no_loss", "exactly_once", "single_active", "failover_time", "failover_times"):
        assert name in checkers.__all__
        assert callable(getattr(checkers, name))
    assert {"CheckResult", "Validity", "compose", "merge_validity"} <= set(checkers.__all__)


def test_compose_keeps_both_results_of_the_same_name():
    from harness.checkers import CheckResult, compose

    a = CheckResult(True, {}, "no-loss")
    b = CheckResult(False, {"lost": [1]}, "no-loss")
    result = compose(a, b)
    assert result.valid is False
    assert set(result.details) == {"no-loss", "no-loss#2"}
    assert result.details["no-loss#2"] is b
