"""The edge's limits (components/common/limits.py), at their boundaries."""

from __future__ import annotations

import json

import pytest

from components.common.limits import LONG_MAX, LONG_MIN, MAX_DEPTH, LimitExceeded, parse


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "raw",
    [
        nested(MAX_DEPTH + 1),  # the outermost list is level 0
        json.dumps({"a": [1, {"b": str(LONG_MAX)}]}),
        json.dumps([LONG_MIN, LONG_MAX, -0.5, 1e308, True, None, "é\u2028"]),
        json.dumps({"🙂": "\ud83d\ude42"}),
    ],
)
def test_within_the_limits(raw):
    assert parse(raw) == json.loads(raw)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (nested(MAX_DEPTH + 2), "deeper than 64"),
        (nested(5000), "deeper than 64"),
        (json.dumps([LONG_MAX + 1]), "$[0]: 9223372036854775808 is beyond"),
        (json.dumps({"x": [LONG_MIN - 1]}), "$.x[0]"),
        ('{"x":' + "9" * 5000 + "}", "out of range"),
        ('{"x":1e400}', "out of range"),
        ('{"x":NaN}', "not valid JSON"),
        ('{"x":Infinity}', "not valid JSON"),
        ('["\\udc80"]', "not valid JSON"),
        (json.dumps({"id": "a\u0000b"}), "$.id: a NUL character"),
        (json.dumps({"a\u0000": 1}), "NUL character is not allowed in a key"),
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
    ],
)
def test_beyond_the_limits(raw, says):
    with pytest.raises(LimitExceeded) as refused:
        parse(raw)
    assert says in str(refused.value)
