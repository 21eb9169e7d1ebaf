import asyncio
import json

import aiohttp
import pytest

from harness.history import History, OpFailed, completed_ops, fault_spans, fault_windows


async def test_op_outcomes_follow_jepsen_semantics(tmp_path):
    h = History(tmp_path / "h.jsonl")
    async with h.op(1, "add", "a"):
        pass
    async with h.op(1, "add", "b"):
        raise OpFailed("DuplicateOrder")
    async with h.op(1, "add", "c"):
        raise TimeoutError("read timed out")
    async with h.op(1, "add", "d"):
        raise aiohttp.ServerDisconnectedError()
    async with h.op(1, "add", "e"):
        raise aiohttp.ClientConnectorError(
            connection_key=None,
            os_error=ConnectionRefusedError(111, "refused"),  # type: ignore[arg-type]
        )
    with pytest.raises(ZeroDivisionError):
        async with h.op(2, "add", "f"):
            _ = 1 / 0
    h.close()
    outcomes = {inv["value"]: done["type"] for inv, done in completed_ops(History.load(h.path))}
    # A timeout or a dropped connection after sending is *info*, never fail;
    # only a provably unsent request (refused connection) or a definite problem is fail.
    assert outcomes == {"a": "ok", "b": "fail", "c": "info", "d": "info", "e": "fail", "f": "info"}


def test_records_have_monotonic_time_and_sequential_index(tmp_path):
    h = History(tmp_path / "h.jsonl")
    for i in range(50):
        h.invoke(0, "read").ok(i, node="n1")
    recs = History.load(tmp_path / "h.jsonl")
    assert [r["index"] for r in recs] == list(range(100))
    times = [r["time"] for r in recs]
    assert times == sorted(times)
    assert all(r["node"] == "n1" for r in recs if r["type"] == "ok")


def test_completing_twice_is_a_bug():
    op = History().invoke(0, "add", 1)
    op.ok()
    with pytest.raises(RuntimeError):
        op.fail("again")


def test_torn_last_line_is_dropped_but_torn_middle_line_is_an_error(tmp_path):
    p = tmp_path / "h.jsonl"
    good = json.dumps({"index": 0, "kind": "op", "type": "invoke"})
    p.write_text(good + "\n" + '{"index": 1, "ki')
    assert len(History.load(p)) == 1
    p.write_text('{"index": 1, "ki\n' + good + "\n")
    with pytest.raises(json.JSONDecodeError):
        History.load(p)


def test_fault_windows_pair_start_and_stop():
    h = History()
    a = h.fault_start("kill", {"nodes": ["x"]})
    b = h.fault_start("pause", {"nodes": ["y"]})
    h.fault_stop(a, "kill")
    windows = fault_windows(h.records)
    assert [(s["f"], e and e["f"]) for s, e in windows] == [("kill", "kill"), ("pause", None)]
    assert b == a + 1


def test_fault_spans_end_the_effect_where_healing_begins():
    h = History()
    a = h.fault_start("db_outage")
    h.fault_in_effect(a, "db_outage")
    h.fault_heal(a, "db_outage")
    h.fault_stop(a, "db_outage")
    b = h.fault_start("kill")  # never healed
    t = {(r["fault"], r["type"]): r["time"] for r in h.records}
    span, open_span = fault_spans(h.records)
    assert (span.fault, span.name) == (a, "db_outage")
    assert (span.start, span.in_effect, span.heal, span.stop) == (
        t[a, "start"],
        t[a, "in-effect"],
        t[a, "heal"],
        t[a, "stop"],
    )
    # An instant after the heal began is not "during", though before the stop.
    assert span.during(span.in_effect)
    assert not span.during(span.in_effect, span.heal)
    assert not span.during(span.start - 1)
    assert (open_span.fault, open_span.heal, open_span.stop) == (b, None, None)
    assert open_span.during(open_span.in_effect + 1e9)


def test_fault_spans_of_older_histories_fall_back_to_start_and_stop():
    records = [
        {"kind": "fault", "type": "start", "f": "kill", "fault": 1, "index": 0, "time": 1.0},
        {"kind": "fault", "type": "stop", "f": "kill", "fault": 1, "index": 1, "time": 2.0},
    ]
    (span,) = fault_spans(records)
    assert (span.in_effect, span.heal, span.stop) == (1.0, 2.0, 2.0)


async def test_history_is_safe_from_many_tasks():
    h = History()

    async def worker(p):
        for i in range(100):
            async with h.op(p, "add", (p, i)):
                await asyncio.sleep(0)

    await asyncio.gather(*(worker(p) for p in range(10)))
    pairs = completed_ops(h.records)
    assert len(pairs) == 1000
    assert all(done is not None and done["type"] == "ok" for _, done in pairs)
