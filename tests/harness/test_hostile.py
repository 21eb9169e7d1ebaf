"""The hostile stream (harness/hostile.py): reproducible, hostile where it
says, never naming what it must not, and a judge of answers that bites."""

from __future__ import annotations

import json

import pytest

from harness.hostile import HostileRequests, Seed, classify, near_misses

SEEDS = [
    Seed("js7", "n", "POST", "/c", {"TYPE": "AddOrder", "order": {"id": "hostile-o", "n": 1}}),
    Seed("js7", "n", "POST", "/i", [{"TYPE": "AddVersion", "versionId": "v"}, {"a": [1]}], True),
    Seed("js7", "n", "GET", "/e", query={"after": "0", "timeout": "0"}),
    Seed("joc", "j", "POST", "/h", {"dateFrom": "-1d", "limit": 10}),
]


def stream(seed: int, n: int = 400) -> list:
    s = HostileRequests(SEEDS, seed)
    return [s.next() for _ in range(n)]


def test_the_same_seed_gives_the_same_stream_and_another_a_different_one():
    assert stream(7) == stream(7)
    assert stream(7) != stream(8)


def test_every_request_is_hostile_somewhere_and_names_nothing_outside_its_seeds():
    for r in stream(1, 2000):
        assert r.mutation
        assert b"load-" not in (r.body or b"") and "load-" not in r.path
        if r.seed.body is not None and r.body and r.body.startswith(b"{"):
            original = json.dumps(r.seed.body).encode()
            assert r.body != original, r.mutation


def test_raw_values_reach_the_wire_verbatim():
    bodies = b"\n".join(r.body or b"" for r in stream(3, 3000))
    for raw in ("1e400", "NaN", '"\\udc80"', "18446744073709551616", '"-99999999d"'):
        assert raw.encode() in bodies, raw


def test_near_misses_keep_a_values_kind():
    assert '"-99999999d"' in near_misses("-1d")
    assert str(2**63) in near_misses(10)
    assert '"2024-02-30T00:00:00Z"' in near_misses("2024-05-01T00:00:00Z")
    assert near_misses([1])[0] == "[]"


@pytest.mark.parametrize(
    ("api", "status", "text", "outcome"),
    [
        ("js7", 200, "{}", "accepted"),
        ("js7", 400, '{"TYPE":"Problem","code":"InvalidJson","message":"m"}', "refused"),
        ("js7", 403, '{"TYPE":"Problem","message":"m"}', "refused"),
        ("js7", 503, '{"TYPE":"Problem","code":"ClusterNodeIsNotActive","message":"m"}', "refused"),
        ("js7", 503, '{"TYPE":"Problem","code":"Other","message":"m"}', "server-error"),
        ("js7", 500, '{"TYPE":"Problem","message":"RecursionError"}', "server-error"),
        ("js7", 400, "400: Bad Request", "unframed"),
        ("js7", 400, '{"message":"no TYPE"}', "unframed"),
        ("joc", 420, '{"error":{"code":"InvalidField","message":"m"}}', "refused"),
        ("joc", 420, '{"error":{"code":"InternalError","message":"m"}}', "server-error"),
        ("joc", 401, '{"isAuthenticated":false}', "refused"),
        ("joc", 404, '{"error":{"code":"x"}}', "unframed"),
        ("joc", 500, "<html>", "unframed"),
        ("joc", 502, "{}", "server-error"),
    ],
)
def test_classify(api, status, text, outcome):
    assert classify(api, status, text) == outcome
