"""Property tests of the Controller's and the Agent's edge (issue 13, item
6): whatever bytes arrive, decoding ends in a value within the limits or in
a 400 problem — never another exception — and what it lets through can be
journaled (strict JSON) and stored (no NUL).

Hypothesis generates the bodies: arbitrary JSON values (floats that are not
finite included, written as ``NaN``/``Infinity``), arbitrary bytes, and
valid commands with one value replaced by an arbitrary one."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.common.limits import LONG_MAX, LONG_MIN, MAX_DEPTH, LimitExceeded, parse
from components.common.web import Problem
from components.wire import agent_commands as ac
from components.wire import controller_commands as cc
from components.wire import items as it
from components.wire import session as ss
from components.wire.codec import decode

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    # the characters the edge cares about, more often than chance brings them
    | st.sampled_from(["\x00", "a\x00b", "\u2028", "🙂", "x" * 300])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)

VALID: list[tuple[Any, str, dict[str, Any]]] = [
    (
        cc.ControllerCommand,
        "ControllerCommand",
        {"TYPE": "AddOrder", "order": {"id": "o", "workflowPath": "w", "arguments": {"a": 1}}},
    ),
    (
        cc.ControllerCommand,
        "ControllerCommand",
        {"TYPE": "CancelOrders", "orderIds": ["o"], "mode": {"TYPE": "FreshOnly"}},
    ),
    (
        ac.AgentCommand,
        "AgentCommand",
        {
            "TYPE": "AttachOrder",
            "order": {
                "id": "o",
                "workflowPosition": {
                    "workflowId": {"path": "w", "versionId": "1"},
                    "position": [0],
                },
                "state": {"TYPE": "Fresh"},
                "arguments": {"a": 1},
            },
        },
    ),
    (
        ss.SessionCommand,
        "SessionCommand",
        {"TYPE": "Login", "userAndPassword": {"userId": "u", "password": "p"}},
    ),
    (it.ItemOperation, "ItemOperation", {"TYPE": "AddVersion", "versionId": "1"}),
]


def depth(v: Any) -> int:
    if isinstance(v, dict):
        return 1 + max((depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((depth(x) for x in v), default=0)
    return 0


def strings(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        return [s for k, x in v.items() for s in (k, *strings(x))]
    if isinstance(v, list):
        return [s for x in v for s in strings(x)]
    return []


def ints(v: Any) -> list[int]:
    if isinstance(v, bool):
        return []
    if isinstance(v, int):
        return [v]
    if isinstance(v, dict):
        return [i for x in v.values() for i in ints(x)]
    if isinstance(v, list):
        return [i for x in v for i in ints(x)]
    return []


def storable(v: Any) -> None:
    """What the journal and PostgreSQL need of an accepted value."""
    json.dumps(v, allow_nan=False).encode("utf-8")
    assert depth(v) <= MAX_DEPTH + 1
    assert not any("\x00" in s for s in strings(v))
    assert all(LONG_MIN <= i <= LONG_MAX for i in ints(v))


@SETTINGS
@given(json_values)
def test_any_json_value_is_refused_or_storable(value):
    raw = json.dumps(value, allow_nan=True)
    try:
        accepted = parse(raw)
    except LimitExceeded:
        return
    storable(accepted)


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_are_refused_or_storable(raw):
    try:
        accepted = parse(raw)
    except LimitExceeded:
        return
    storable(accepted)


def paths(v: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(v, dict):
        for k, x in v.items():
            out += paths(x, (*at, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += paths(x, (*at, i))
    return out


def replaced(v: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    copy = dict(v) if isinstance(v, dict) else list(v)
    copy[at[0]] = replaced(v[at[0]], at[1:], new)
    return copy


@SETTINGS
@given(st.data())
def test_a_command_with_any_value_replaced_decodes_or_is_a_400(data):
    into, what, valid = data.draw(st.sampled_from(VALID))
    at = data.draw(st.sampled_from(paths(valid)))
    body = json.dumps(replaced(valid, at, data.draw(json_values)), allow_nan=True)
    refused: Problem | None = None
    try:
        command = decode(body, into, what)
    except Problem as p:
        refused = p
    if refused is not None:
        assert (refused.status, bool(refused.code), bool(refused.message)) == (400, True, True)
        return
    storable(msgspec.to_builtins(command))
