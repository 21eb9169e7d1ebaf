"""The journal: what a returned persist() guarantees, what read() answers, and
what survives SIGKILL and a torn WAL tail. Real files, real processes."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from components.common.journal import (
    EventSeqTorn,
    Journal,
    JournalBroken,
    JournalClosed,
    JournalError,
    JournalWriteFailed,
    UnknownEventId,
)
from components.common.journal import writer as jm

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("journal_writer.py")


class SteppingClock:
    """Advances one millisecond per call, so consecutive ids are 1000 apart
    and ``id + 1`` is a gap that never was an event id."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def ev(key: str, type_: str = "OrderAdded", **fields: Any) -> dict[str, Any]:
    return {"TYPE": type_, "Key": key, **fields}


def ids_of(lines: list[str]) -> list[int]:
    return [json.loads(line)["eventId"] for line in lines]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


@pytest.fixture
async def journal(path: Path):
    j = await Journal.open(path, clock=SteppingClock())
    yield j
    await j.close()


class WriteLock:
    """Holds SQLite's write lock from a second connection, so the writer
    thread blocks inside its next transaction until ``release()``."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


async def writer_holds_one_request(j: Journal) -> None:
    """Wait until the writer thread took the only queued request off its
    queue: with the write lock held it then blocks in that transaction, and
    everything queued from now on forms the next group."""
    await asyncio.sleep(0)  # one loop turn: the request's task has queued it
    deadline = time.monotonic() + 10
    while not j._queue.empty():
        assert time.monotonic() < deadline, "writer thread never took its request"
        await asyncio.sleep(0.001)


# --- basics ------------------------------------------------------------------


async def test_persist_stamps_commits_and_reopens(path: Path):
    j = await Journal.open(path, clock=SteppingClock())
    assert (j.last_event_id, j.torn_event_id, j.read(0)) == (0, 0, [])
    stamped = await j.persist(
        [ev("order-1", x=1), ev("order-1", "OrderStarted")],
        [("order", "order-1", {"state": "started"})],
        {"agentRunId": "run-1"},
    )
    assert [list(s)[:3] for s in stamped] == [["eventId", "timestamp", "TYPE"]] * 2
    lines = j.read(0)
    assert [json.loads(line) for line in lines] == stamped
    assert lines[0].startswith(f'{{"eventId":{stamped[0]["eventId"]},"timestamp":')
    assert " " not in lines[0]  # compact, as the NDJSON API serves it
    assert j.last_event_id == stamped[1]["eventId"] > stamped[0]["eventId"]
    assert j.get("order", "order-1") == {"state": "started"}
    assert j.get("order", "nope") is None and j.get("nokind", "x") is None
    assert dict(j.state("order")) == {"order-1": {"state": "started"}}
    assert j.meta("agentRunId") == "run-1"
    assert j.meta("missing", 7) == 7
    assert j.meta("last_event_id") == j.last_event_id
    assert j.stats["transactions"] == 1 and j.stats["commits"] == 1 and j.stats["events"] == 2
    await j.close()

    again = await Journal.open(path)
    try:
        assert again.read(0) == lines
        assert again.last_event_id == stamped[1]["eventId"]
        assert again.get("order", "order-1") == {"state": "started"}
        assert again.meta("agentRunId") == "run-1"
        assert again.meta("schema_version") == 1
    finally:
        await again.close()


async def test_a_cancelled_persist_returns_only_once_its_commit_landed(path: Path):
    """A reader journals events with how far it read; cancelled mid-commit,
    its reconnection reads "how far" at once — it must see the commit, or it
    journals the same events again (AGT-DIRECTOR-FAILOVER[pause])."""
    j = await Journal.open(path, clock=SteppingClock())
    try:
        lock = WriteLock(path)
        task = asyncio.create_task(j.persist([ev("o", "OrderProcessingStarted")], meta={"at": 7}))
        await writer_holds_one_request(j)
        task.cancel()
        await asyncio.sleep(0.05)
        assert not task.done(), "the cancelled caller returned with its commit still queued"
        lock.release()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert j.meta("at") == 7 and len(j.read(0)) == 1
    finally:
        await j.close()


async def test_persist_with_only_changes_consumes_no_event_id(path: Path):
    j = await Journal.open(path)
    await j.persist([ev("a")])
    last = j.last_event_id
    assert await j.persist([], [("order", "a", 1)], {"m": [1, 2]}) == []
    assert j.last_event_id == last
    assert j.get("order", "a") == 1 and j.meta("m") == [1, 2]
    assert [c["position"] for c in j.commits_after(0)] == [last]  # no commits row
    await j.close()
    j = await Journal.open(path)
    assert (j.last_event_id, j.get("order", "a"), j.meta("m")) == (last, 1, [1, 2])
    await j.close()


async def test_state_changes_apply_in_order_and_none_deletes(journal: Journal):
    await journal.persist([], [("k", "a", 1), ("k", "b", 2)], {"x": 1, "y": 2})
    view = journal.state("k")
    # Within one call and across calls of one group, the later change wins.
    await asyncio.gather(
        journal.persist(
            [ev("e")], [("k", "a", None), ("k", "b", 3), ("k", "b", None)], {"x": None}
        ),
        journal.persist([], [("k", "b", 4), ("k", "c", {"n": [1]})]),
    )
    assert dict(view) == {"b": 4, "c": {"n": [1]}}  # a live view
    assert journal.meta("x") is None and journal.meta("y") == 2
    with pytest.raises(TypeError):
        view["z"] = 1  # type: ignore[index]
    await journal.close()
    j = await Journal.open(journal.path)
    assert dict(j.state("k")) == {"b": 4, "c": {"n": [1]}}
    assert j.meta("x", "gone") == "gone" and j.meta("y") == 2
    await j.close()


async def test_memory_holds_a_copy_not_the_callers_object(journal: Journal):
    value = {"list": [1]}
    event = ev("a", payload=[1])
    await journal.persist([event], [("k", "a", value)])
    value["list"].append(2)
    event["payload"].append(2)
    assert journal.get("k", "a") == {"list": [1]}
    assert json.loads(journal.read(0)[0])["payload"] == [1]


async def test_concurrent_persists_are_group_committed_in_call_order(journal: Journal):
    lock = WriteLock(journal.path)
    first = asyncio.ensure_future(journal.persist([ev("first")]))
    await writer_holds_one_request(journal)
    before = dict(journal.stats)
    tasks = [
        asyncio.ensure_future(journal.persist([ev(f"o{i}"), ev(f"o{i}")], [("k", f"o{i}", i)]))
        for i in range(100)
    ]
    await asyncio.sleep(0)  # one loop turn: every task has queued its request
    lock.release()
    results = [await t for t in tasks]
    await first
    assert journal.stats["transactions"] - before["transactions"] == 2  # `first`, then all 100
    assert journal.stats["max_group"] == 100
    ids = [s["eventId"] for r in results for s in r]
    assert ids == sorted(ids) and len(set(ids)) == 200  # call order
    assert ids_of(journal.read(0))[1:] == ids
    assert len(journal.state("k")) == 100


async def test_a_value_that_is_not_json_fails_its_caller_only(journal: Journal):
    bad_calls = [
        journal.persist([ev("a", obj=object())]),
        journal.persist([ev("a", x=math.nan)]),
        journal.persist([ev("a")], [("k", "a", {1, 2})]),
        journal.persist([ev("a")], meta={"m": math.inf}),
        journal.persist([ev("a", s="\ud800")]),  # a lone surrogate is no UTF-8
        journal.persist([{"eventId": 5, "TYPE": "X"}]),
        journal.persist([ev("a")], meta={"last_event_id": 1}),
        journal.persist([ev("a")], [("k", 1, 1)]),  # type: ignore[list-item]
    ]
    results = await asyncio.gather(
        journal.persist([ev("good")], [("k", "good", 1)]),
        *bad_calls,
        journal.persist([ev("good2")]),
        return_exceptions=True,
    )
    assert all(isinstance(r, TypeError | ValueError) for r in results[1:-1]), results
    assert not isinstance(results[0], BaseException) and not isinstance(results[-1], BaseException)
    assert [json.loads(line)["Key"] for line in journal.read(0)] == ["good", "good2"]
    assert dict(journal.state("k")) == {"good": 1}
    assert journal.stats["failed_transactions"] == 0


async def test_a_failing_transaction_fails_its_whole_group_and_leaves_nothing(path: Path):
    j = await Journal.open(path)
    await j.persist([ev("before")], [("k", "before", 1)], {"m": 1})
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute(
        "CREATE TRIGGER poison BEFORE INSERT ON state WHEN NEW.kind = 'poison'"
        " BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    )
    setup.close()
    last, meta = j.last_event_id, j.meta("m")
    lock = WriteLock(path)
    first = asyncio.ensure_future(j.persist([ev("alone")], [("k", "alone", 1)]))
    await writer_holds_one_request(j)
    group = [
        asyncio.ensure_future(j.persist([ev(f"g{i}")], [("k", f"g{i}", i)], {"m": i}))
        for i in range(3)
    ]
    group.append(asyncio.ensure_future(j.persist([ev("p")], [("poison", "p", 1)])))
    group.append(asyncio.ensure_future(j.persist([], [("k", "only-change", 1)])))
    await asyncio.sleep(0)  # one loop turn: the whole group is queued
    lock.release()
    await first
    outcomes = await asyncio.gather(*group, return_exceptions=True)
    assert all(isinstance(o, JournalWriteFailed) for o in outcomes), outcomes
    assert "injected failure" in str(outcomes[0].__cause__)  # type: ignore[union-attr]
    # Nothing of the group is visible in memory...
    assert ids_of(j.read(0))[-1] == j.last_event_id
    assert [json.loads(line)["Key"] for line in j.read(0)] == ["before", "alone"]
    assert set(j.state("k")) == {"before", "alone"} and j.meta("m") == meta
    assert j.stats["failed_transactions"] == 1
    # ...and the journal keeps working: ids still increase.
    stamped = await j.persist([ev("after")], [("k", "after", 1)])
    assert stamped[0]["eventId"] > last
    await j.close()
    # ...nor on disk.
    j = await Journal.open(path)
    assert [json.loads(line)["Key"] for line in j.read(0)] == ["before", "alone", "after"]
    assert set(j.state("k")) == {"before", "alone", "after"} and j.meta("m") == meta
    await j.close()


async def test_a_failed_commit_breaks_the_journal_until_reopened(path: Path, monkeypatch):
    """COMMIT failing leaves the outcome unknown (its frames may be in the
    WAL): the callers and every later write get JournalBroken; reads of what
    is known still work; reopening shows what is on disk."""
    j = await Journal.open(path)
    await j.persist([ev("before")])

    def commit_fails(self: Journal, conn: sqlite3.Connection) -> None:
        try:
            raise sqlite3.OperationalError("disk I/O error (injected)")
        except sqlite3.Error as exc:
            raise jm._CommitFailed from exc

    monkeypatch.setattr(Journal, "_w_commit", commit_fails)
    outcomes = await asyncio.gather(
        j.persist([ev("a")]), j.persist([ev("b")]), return_exceptions=True
    )
    assert all(isinstance(o, JournalBroken) for o in outcomes), outcomes
    assert "injected" in str(outcomes[0].__cause__)  # type: ignore[union-attr]
    with pytest.raises(JournalBroken):
        await j.persist([ev("c")])
    with pytest.raises(JournalBroken):
        await j.wait_for_event(j.last_event_id, 1)
    assert [json.loads(line)["Key"] for line in j.read(0)] == ["before"]
    await j.close()
    monkeypatch.undo()
    j = await Journal.open(path)
    assert [json.loads(line)["Key"] for line in j.read(0)] == ["before"]  # rolled back here
    assert await j.persist([ev("again")])
    await j.close()


async def test_close_is_idempotent_and_then_everything_refuses(path: Path):
    j = await Journal.open(path)
    pending = asyncio.ensure_future(j.persist([ev("last")]))
    await asyncio.sleep(0)  # queued before close: close drains it
    await asyncio.gather(j.close(), j.close())
    assert len(await pending) == 1
    await j.close()
    for call in (
        lambda: j.persist([ev("x")]),
        lambda: j.release(1),
        lambda: j.wait_for_event(0, 1),
        lambda: j.apply_replicated([]),
    ):
        with pytest.raises(JournalClosed):
            await call()
    for sync_call in (lambda: j.read(0), lambda: j.state("k"), lambda: j.commits_after(0)):
        with pytest.raises(JournalClosed):
            sync_call()
    j = await Journal.open(path)
    assert len(j.read(0)) == 1
    await j.close()


async def test_a_second_opener_is_refused(journal: Journal):
    with pytest.raises(JournalError, match="already open"):
        await Journal.open(journal.path)
    assert await journal.persist([ev("still-fine")])


# --- read ----------------------------------------------------------------------


async def test_read_answers_exactly_the_documented_afters(journal: Journal):
    for i in range(6):
        await journal.persist([ev(f"o{i}")])
    ids = ids_of(journal.read(0))
    last = journal.last_event_id
    assert journal.read(last) == []
    assert ids_of(journal.read(ids[2])) == ids[3:]
    assert ids_of(journal.read(0, limit=2)) == ids[:2]
    assert ids_of(journal.read(ids[0], limit=100)) == ids[1:]
    with pytest.raises(ValueError):
        journal.read(0, limit=0)
    for unknown in (last + 1, ids[2] + 1, ids[0] - 1, -1):  # future, gap, gap before first, <0
        with pytest.raises(UnknownEventId) as info:
            journal.read(unknown)
        assert info.value.after == unknown
        assert f"after={unknown}" in str(info.value)

    assert await journal.release(ids[2]) == 3
    assert journal.torn_event_id == ids[2]
    assert ids_of(journal.read(ids[2])) == ids[3:]  # after == torn is fine
    for torn_after in (0, ids[0], ids[1], ids[2] - 1):
        with pytest.raises(EventSeqTorn) as torn:
            journal.read(torn_after)
        assert (torn.value.after, torn.value.oldest) == (torn_after, ids[2])
        assert str(torn.value) == (
            f"Requested EventId after={torn_after} is not available."
            f" Oldest available EventId is {ids[2]}"
        )
    assert await journal.release(last) == 3
    assert journal.read(last) == []  # everything released: after == torn == last


async def test_reads_from_cache_and_from_disk_agree(path: Path):
    clock = SteppingClock()
    j = await Journal.open(path, clock=clock, tail_cache=3)
    stamped = []
    for i in range(12):
        stamped += await j.persist([ev(f"o{i}", n=i) for _ in range(i % 3 + 1)])
    await j.release(stamped[4]["eventId"])
    stamped += await j.persist([ev("late")])

    def answers(jj: Journal) -> list[Any]:
        out: list[Any] = []
        afters = [0, jj.torn_event_id, jj.torn_event_id - 1, jj.last_event_id + 1]
        afters += [s["eventId"] + d for s in stamped for d in (0, 1)]
        for after in afters:
            for limit in (None, 1, 4):
                try:
                    out.append(jj.read(after, limit))
                except (EventSeqTorn, UnknownEventId) as exc:
                    out.append((type(exc).__name__, str(exc)))
        return out

    tiny = answers(j)
    assert j.read(j.torn_event_id) == [_line(s) for s in stamped[5:]]
    await j.close()
    big = await Journal.open(path, tail_cache=1000)
    assert answers(big) == tiny
    await big.close()
    none = await Journal.open(path, tail_cache=0)
    assert answers(none) == tiny
    await none.close()


def _line(stamped: dict[str, Any]) -> str:
    return json.dumps(stamped, separators=(",", ":"), ensure_ascii=False)


# --- wait_for_event ------------------------------------------------------------


async def test_wait_for_event_wakes_on_persist(journal: Journal):
    await journal.persist([ev("a")])
    after = journal.last_event_id
    assert await journal.wait_for_event(after - 1, timeout=0)  # already there
    waiter = asyncio.ensure_future(journal.wait_for_event(after, timeout=30))
    await asyncio.sleep(0)
    assert not waiter.done()
    started = time.monotonic()
    await journal.persist([], [("k", "a", 1)])  # no event: no wake-up reason
    await journal.persist([ev("b")])
    assert await waiter is True
    assert time.monotonic() - started < 10  # woken by the persist, not by the timeout


async def test_wait_for_event_times_out(journal: Journal):
    started = time.monotonic()
    assert await journal.wait_for_event(0, timeout=0.2) is False
    assert 0.19 <= time.monotonic() - started < 5


# --- release -------------------------------------------------------------------


async def test_release_deletes_and_torn_survives_reopen(path: Path):
    j = await Journal.open(path)
    stamped = []
    for i in range(10):
        stamped += await j.persist([ev(f"o{i}"), ev(f"o{i}")], [("k", f"o{i}", i)])
    cut = stamped[5]["eventId"]  # the end of the third commit
    assert await j.release(cut) == 6
    assert await j.release(cut) == 0  # the same or lower: no-op
    assert await j.release(stamped[1]["eventId"]) == 0
    assert j.torn_event_id == cut and j.meta("torn_event_id") == cut
    assert j.commits_after(cut)[0]["position"] == stamped[7]["eventId"]
    with pytest.raises(EventSeqTorn):
        j.commits_after(stamped[3]["eventId"])
    last = j.last_event_id
    await j.close()

    j = await Journal.open(path)
    assert (j.torn_event_id, j.last_event_id) == (cut, last)
    assert j.read(cut) == [_line(s) for s in stamped[6:]]
    with pytest.raises(EventSeqTorn):
        j.read(0)
    assert len(j.state("k")) == 10  # state is not released, only events
    assert await j.release(10**15 * 9) == 14  # beyond last: clamped to last
    assert j.torn_event_id == j.last_event_id == last
    await j.close()
    j = await Journal.open(path)
    assert (j.torn_event_id, j.last_event_id, j.read(last)) == (last, last, [])
    stamped = await j.persist([ev("new")])
    assert stamped[0]["eventId"] > last  # last_event_id never decreases
    await j.close()


async def test_large_release_runs_in_chunks_on_commit_boundaries(path: Path, monkeypatch):
    monkeypatch.setattr(Journal, "release_chunk", 5)
    j = await Journal.open(path)
    ends = []
    for i in range(20):
        stamped = await j.persist([ev(f"o{i}") for _ in range(3)])
        ends.append(stamped[-1]["eventId"])
    release = asyncio.ensure_future(j.release(ends[-3]))
    await asyncio.sleep(0)  # one loop turn: the release is queued
    late = await j.persist([ev("late")])  # accepted while the release runs
    assert await release == 18 * 3
    assert j.stats["release_transactions"] >= 9
    assert j.torn_event_id == ends[-3]
    assert late[0]["eventId"] > ends[-1]
    await j.close()


def _files_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


async def test_file_size_stays_bounded_over_persist_release_cycles(journal: Journal):
    payload = "x" * 300
    sizes = []
    for cycle in range(12):
        for batch in range(10):
            events = [ev(f"c{cycle}-{batch}-{i}", payload=payload) for i in range(100)]
            await journal.persist(events, [("k", f"c{cycle}-{batch}", cycle)])
        await journal.release(journal.last_event_id)
        sizes.append(_files_size(journal.path))
        assert Path(f"{journal.path}-wal").stat().st_size == 0  # checkpointed and truncated
    # 1000 events of ~380 bytes are written per cycle (~5 MB in all): what
    # stays is the state and a few pages, not the history.
    assert max(sizes[4:]) <= max(sizes[:2]) * 1.5, sizes
    assert max(sizes) < 1_000_000, sizes


# --- replication -----------------------------------------------------------------


async def test_a_passive_fed_commits_after_ends_identical(tmp_path: Path):
    active = await Journal.open(tmp_path / "active.sqlite")
    passive = await Journal.open(tmp_path / "passive.sqlite", tail_cache=2)
    for i in range(7):
        await active.persist(
            [ev(f"o{i}"), ev(f"o{i}", "OrderStarted")],
            [("order", f"o{i}", {"n": i}), ("order", f"o{i - 2}", None)],
            {"agentEventId": i * 10, "gone": None if i % 2 else i},
        )
    await active.persist([], [("x", "y", 1)])  # event-less: no commit, not replicated
    position = 0
    while batch := active.commits_after(position, limit=3):
        await passive.apply_replicated(batch)
        position = batch[-1]["position"]
    assert passive.read(0) == active.read(0)
    assert passive.last_event_id == active.last_event_id
    assert dict(passive.state("order")) == dict(active.state("order"))
    for key in ("agentEventId", "gone", "last_event_id"):
        assert passive.meta(key) == active.meta(key)
    assert passive.commits_after(0, 100) == active.commits_after(0, 100)
    # Idempotent: applying everything again changes nothing and writes nothing.
    before = dict(passive.stats)
    await passive.apply_replicated(active.commits_after(0, 100))
    assert passive.stats == before
    # The passive's own ids continue above the replicated ones.
    own = await passive.persist([ev("own")])
    assert own[0]["eventId"] > active.last_event_id
    # A commit whose ids reach into the passive's own is refused whole.
    own_id = own[0]["eventId"]
    overlapping = {
        "position": own_id + 5,
        "events": [_line({"eventId": i, "TYPE": "X"}) for i in (own_id, own_id + 5)],
        "changes": {"state": [["order", "zzz", 1]], "meta": {}},
    }
    with pytest.raises(JournalWriteFailed):
        await passive.apply_replicated([overlapping])
    assert passive.last_event_id == own_id and passive.get("order", "zzz") is None
    await passive.close()
    passive = await Journal.open(tmp_path / "passive.sqlite")
    assert passive.read(0)[:-1] == active.read(0)
    assert dict(passive.state("order")) == dict(active.state("order"))
    await passive.close()
    await active.close()


async def test_commits_after_refuses_positions_that_are_not_commit_ends(journal: Journal):
    stamped = await journal.persist([ev("a"), ev("a")])
    with pytest.raises(UnknownEventId):
        journal.commits_after(stamped[0]["eventId"])  # inside a commit
    with pytest.raises(UnknownEventId):
        journal.commits_after(journal.last_event_id + 1)
    assert journal.commits_after(journal.last_event_id) == []
    with pytest.raises(ValueError):
        await journal.apply_replicated([{"position": 1, "events": ["{}"], "changes": {}}])


# --- crashes: real processes, real SIGKILL ------------------------------------------


def start_writer(path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(path), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def kill(proc: subprocess.Popen[str], head: list[str]) -> list[str]:
    """SIGKILL, reap, and return every complete line the victim wrote."""
    proc.send_signal(signal.SIGKILL)
    assert proc.stdout is not None
    rest = proc.stdout.read()
    proc.wait()
    proc.stdin.close()  # type: ignore[union-attr]
    proc.stdout.close()
    text = "".join(head) + rest
    complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
    return complete.splitlines()


def parse(lines: list[str]) -> tuple[dict[str, list[int]], list[int]]:
    commits: dict[str, list[int]] = {}
    releases: list[int] = []
    for line in lines:
        tag, *rest = line.split()
        if tag in ("C", "F"):
            commits[rest[0]] = [int(x) for x in rest[1:]]
        elif tag == "R":
            releases.append(int(rest[0]))
    return commits, releases


async def check_recovered(path: Path, printed: dict[str, list[int]], releases: list[int]) -> None:
    """Every commit whose persist() returned is there (or was released on
    purpose), ids increase, and no commit is half-present."""
    j = await Journal.open(path)
    torn = j.torn_event_id
    assert torn == 0 or torn <= max(releases), (torn, releases)
    events = [json.loads(line) for line in j.read(torn)]
    ids = [e["eventId"] for e in events]
    assert all(a < b for a, b in itertools.pairwise(ids))
    assert all(i > torn for i in ids)
    present = set(ids)
    for key, commit_ids in printed.items():
        if max(commit_ids) <= torn:
            continue  # released on purpose, after it was printed
        assert set(commit_ids) <= present, f"lost returned commit {key} {commit_ids}"
    assert j.last_event_id >= max((i for c in printed.values() for i in c), default=0)
    # All-or-nothing per commit: events against state.
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_key[e["Key"]].append(e)
    commits = j.state("commit")
    for key, evs in by_key.items():
        assert key in commits, f"events of {key} without its state change"
        assert [e["part"] for e in evs] == list(range(commits[key]["parts"])), key
    for key in commits:
        if key not in by_key:  # only released commits may lack events
            assert key in printed and max(printed[key]) <= torn, f"state of {key} without events"
    # Commit boundaries as stored agree with the commits rows.
    ends = {evs[-1]["eventId"] for evs in by_key.values()}
    assert {c["position"] for c in j.commits_after(torn, limit=1_000_000)} == ends
    # New ids are above everything the killed process handed out.
    old_max = max([j.last_event_id, *(i for c in printed.values() for i in c)])
    stamped = await j.persist([ev("after-restart")])
    assert stamped[0]["eventId"] > old_max
    await j.close()
    with sqlite3.connect(path) as db:
        flags = db.execute("SELECT event_id, commit_end FROM events ORDER BY event_id").fetchall()
    for evs in by_key.values():
        expected = [(e["eventId"], int(e is evs[-1])) for e in evs]
        assert [f for f in flags if f[0] in {e["eventId"] for e in evs}] == expected


@pytest.mark.parametrize("seed", range(18))
async def test_sigkill_at_a_random_instant_loses_no_returned_commit(tmp_path: Path, seed: int):
    rng = random.Random(seed)
    path = tmp_path / "journal.sqlite"
    args = ["--seed", str(seed), "--tasks", str(rng.randint(2, 6))]
    args += ["--autocheckpoint", str(rng.choice([1000, 20]))]
    proc = start_writer(path, *args)
    head: list[str] = []
    try:
        assert proc.stdout is not None
        # 0: after any line; 1: a few lines after "R" (persists go on between
        # the chunks of a release, so this is mostly mid-release); 2: right
        # after a release returned.
        trigger = seed % 3
        marker = {0: "", 1: "R ", 2: "r "}[trigger]
        target = rng.randint(1, 400) if trigger == 0 else rng.randint(1, 3)
        extra = rng.randint(0, 6) if trigger == 1 else 0
        seen = 0
        while seen < target or extra > 0:
            line = proc.stdout.readline()
            assert line, f"writer died early: {head[-3:]}"
            head.append(line)
            if seen >= target:
                extra -= 1
            seen += line.startswith(marker)
    finally:
        lines = kill(proc, head)
    commits, releases = parse(lines)
    assert commits, "nothing was committed before the kill"
    await check_recovered(path, commits, releases)


def wal_commit_frames(wal: Path) -> tuple[int, list[int]]:
    """Frame size and the indexes of the commit frames of the WAL's current
    generation (frames carry the header's salt; a commit frame records the
    database size)."""
    data = wal.read_bytes()
    _magic, _version, page_size, _seq, salt1, salt2 = struct.unpack(">6I", data[:24])
    frame = 24 + page_size
    commit_frames = []
    n = 0
    while 32 + (n + 1) * frame <= len(data):
        _pgno, db_size, s1, s2 = struct.unpack(">4I", data[32 + n * frame : 32 + n * frame + 16])
        if (s1, s2) != (salt1, salt2):
            break
        if db_size:
            commit_frames.append(n)
        n += 1
    return frame, commit_frames


TORN_CASES = [("none", 0)] + [(d, s) for d in ("truncate", "scribble") for s in range(4)]


@pytest.mark.parametrize(("damage", "seed"), TORN_CASES)
async def test_a_torn_wal_tail_loses_only_the_last_transaction(
    tmp_path: Path, damage: str, seed: int
):
    """A WAL whose last transaction is cut short or scribbled on (SIGKILLed
    writer, never checkpointed) reopens to exactly the transactions before
    it; ``none`` is the control: undamaged, the last commit is there."""
    rng = random.Random(seed)
    path = tmp_path / "journal.sqlite"
    proc = start_writer(path, "--mode", "torn", "--seed", str(seed), "--max-commits", "40")
    head: list[str] = []
    try:
        assert proc.stdout is not None
        while not head or head[-1] != "DONE\n":
            line = proc.stdout.readline()
            assert line, f"writer died early: {head[-3:]}"
            head.append(line)
    finally:
        lines = kill(proc, head)
    commits, _ = parse(lines)
    final = next(line.split()[1] for line in lines if line.startswith("F "))
    wal = Path(f"{path}-wal")
    frame, commit_frames = wal_commit_frames(wal)
    # Never checkpointed: the database file holds only the header page written
    # when WAL mode was switched on; every transaction is a run of WAL frames.
    assert path.stat().st_size <= frame - 24 and len(commit_frames) >= 3
    last, previous = commit_frames[-1], commit_frames[-2]
    start, end = 32 + (previous + 1) * frame, 32 + (last + 1) * frame
    if damage == "truncate":
        os.truncate(wal, rng.randrange(start + 1, end))
    elif damage == "scribble":
        data = bytearray(wal.read_bytes())
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(end - frame, end)] ^= rng.randrange(1, 256)
        wal.write_bytes(bytes(data))

    j = await Journal.open(path)
    lost = set() if damage == "none" else {final}
    survivors = {e["eventId"] for e in map(json.loads, j.read(0))}
    expected = {i for key, ids in commits.items() if key not in lost for i in ids}
    assert survivors == expected  # exactly the commits before the damaged one
    assert set(j.state("commit")) == set(commits) - lost
    assert j.last_event_id == max(expected)
    stamped = await j.persist(
        [ev("after", part=0), ev("after", part=1)], [("commit", "after", {"parts": 2})]
    )
    await j.close()
    printed = {key: ids for key, ids in commits.items() if key not in lost}
    printed["after"] = [s["eventId"] for s in stamped]
    await check_recovered(path, printed, [])
