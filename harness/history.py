"""The history: the only contract between running a test and checking it.

An append-only JSON-lines file of records, in the order they happened. Two
kinds share one stream, as in Jepsen:

* ``kind="op"`` — a client operation. Each operation is an ``invoke`` record
  followed by exactly one completion: ``ok`` (it happened), ``fail`` (it
  certainly did not happen) or ``info`` (unknown: e.g. a request that timed out
  after it was sent — it may or may not have taken effect, so it is never
  ``fail``). Completions name their invocation in ``op``.
* ``kind="fault"`` — a fault window: ``start`` when its injection began,
  ``in-effect`` when the injection completed (every rule in place, every
  signal delivered: on containers that can be a few hundred ms later),
  ``heal`` when its healing began and ``stop`` when the healing completed,
  linked by ``fault``. As Jepsen shades a nemesis window, "during the fault"
  means from ``in-effect`` to ``heal``: once healing has begun the system may
  legitimately recover (a database restarted inside the heal serves again
  before the heal returns), so nothing after ``heal`` counts as "during".

Every record has ``index`` (0, 1, 2, ... in file order), ``time`` (seconds on
the monotonic clock since the history began — never goes back) and ``wall``
(Unix epoch seconds, for correlating with node logs). Optional fields:
``node`` (which node served the operation), ``error`` (why it failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import aiohttp

Record = dict[str, Any]
OpType = Literal["invoke", "ok", "fail", "info"]


class OpFailed(Exception):
    """Raised inside ``History.op`` when the operation certainly did not take
    effect (e.g. the server answered with a problem). Recorded as ``fail``."""

    def __init__(self, error: str, value: Any = None) -> None:
        super().__init__(error)
        self.error = error
        self.value = value


def describe_error(exc: BaseException) -> str:
    """``Type: message`` for the history; never raises (some client exceptions
    fail in ``__str__`` when built without their connection details)."""
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not lose the outcome
        text = repr(exc.args)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def classify(exc: BaseException) -> Literal["fail", "info"] | None:
    """How a client exception maps onto an operation's outcome.

    ``fail`` only when the request provably never reached the server; anything
    after the request may have been sent is ``info``. ``None``: not a client
    error at all (a bug in the test), which must propagate.
    """
    if isinstance(exc, OpFailed):
        return "fail"
    outcome = getattr(exc, "outcome", None)
    if outcome in ("fail", "info"):
        # An API's error answer: the clients' one table decided
        # (harness/clients/outcomes.py).
        return cast(Literal["fail", "info"], outcome)
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        return "fail"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | aiohttp.ClientError | OSError):
        return "info"
    return None


@dataclass
class Op:
    """Handle for one invoked operation; set ``value``/``node`` before the block ends."""

    history: History
    index: int
    process: Any
    f: str
    value: Any = None
    node: str | None = None
    done: bool = False

    def _complete(self, type_: OpType, value: Any, error: str | None) -> Record:
        if self.done:
            raise RuntimeError(f"operation {self.index} completed twice")
        self.done = True
        rec: Record = {
            "kind": "op",
            "type": type_,
            "process": self.process,
            "f": self.f,
            "value": value,
            "op": self.index,
        }
        if self.node is not None:
            rec["node"] = self.node
        if error is not None:
            rec["error"] = error
        return self.history.append(rec)

    def ok(self, value: Any = None, node: str | None = None) -> Record:
        if node is not None:
            self.node = node
        return self._complete("ok", self.value if value is None else value, None)

    def fail(self, error: str, value: Any = None) -> Record:
        return self._complete("fail", self.value if value is None else value, error)

    def info(self, error: str, value: Any = None) -> Record:
        return self._complete("info", self.value if value is None else value, error)


class History:
    """Thread-safe, append-only; each record is flushed as it is written, so a
    history survives a crash of the test process up to its last line."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._records: list[Record] = []
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._fault_ids = 0
        self._fh = path.open("a", encoding="utf-8") if path is not None else None

    # -- writing ---------------------------------------------------------

    def now(self) -> float:
        """Seconds since this history began, on the monotonic clock."""
        return time.monotonic() - self._t0

    def append(self, record: Record) -> Record:
        with self._lock:
            rec = dict(record)
            rec["index"] = len(self._records)
            rec["time"] = round(self.now(), 6)
            rec["wall"] = round(time.time(), 6)
            self._records.append(rec)
            if self._fh is not None:
                self._fh.write(json.dumps(rec, default=str, separators=(",", ":")) + "\n")
                self._fh.flush()
            return rec

    def invoke(self, process: Any, f: str, value: Any = None) -> Op:
        rec = self.append(
            {"kind": "op", "type": "invoke", "process": process, "f": f, "value": value}
        )
        return Op(self, rec["index"], process, f, value)

    @contextlib.asynccontextmanager
    async def op(self, process: Any, f: str, value: Any = None) -> AsyncIterator[Op]:
        """Record one operation around a block.

        Normal exit records ``ok`` (unless the block completed it itself);
        ``OpFailed`` or a refused connection records ``fail``; a timeout or
        any other client error records ``info``. Those are swallowed — they
        are outcomes, not bugs. Anything else is recorded ``info`` and
        re-raised.
        """
        op = self.invoke(process, f, value)
        try:
            yield op
        except BaseException as exc:
            kind = classify(exc)
            if not op.done:
                err = describe_error(exc)
                if kind == "fail":
                    op.fail(err, getattr(exc, "value", None))
                else:
                    op.info(err)
            if kind is None:
                raise
        else:
            if not op.done:
                op.ok()

    def fault_start(self, name: str, value: Any = None) -> int:
        with self._lock:
            self._fault_ids += 1
            fid = self._fault_ids
        self.append({"kind": "fault", "type": "start", "f": name, "value": value, "fault": fid})
        return fid

    def fault_in_effect(self, fault_id: int, name: str) -> None:
        self.append({"kind": "fault", "type": "in-effect", "f": name, "fault": fault_id})

    def fault_heal(self, fault_id: int, name: str) -> None:
        self.append({"kind": "fault", "type": "heal", "f": name, "fault": fault_id})

    def fault_stop(self, fault_id: int, name: str, value: Any = None) -> None:
        self.append({"kind": "fault", "type": "stop", "f": name, "value": value, "fault": fault_id})

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    # -- reading ---------------------------------------------------------

    @property
    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self._records)

    @staticmethod
    def load(path: Path) -> list[Record]:
        """Read a history file. A torn last line (the writer was killed
        mid-write) is dropped; a torn line anywhere else is an error."""
        lines = path.read_text(encoding="utf-8").splitlines()
        out: list[Record] = []
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                if i == len(lines) - 1:
                    break
                raise
        return out


def fault_windows(records: Iterable[Record]) -> list[tuple[Record, Record | None]]:
    """Pairs of (start, stop) fault records; ``stop`` is None for a fault that
    was never healed within the history."""
    starts: dict[int, Record] = {}
    pairs: list[tuple[Record, Record | None]] = []
    for rec in records:
        if rec.get("kind") != "fault":
            continue
        if rec["type"] == "start":
            starts[rec["fault"]] = rec
        elif rec["type"] == "stop" and rec["fault"] in starts:
            pairs.append((starts.pop(rec["fault"]), rec))
    pairs.extend((s, None) for s in starts.values())
    pairs.sort(key=lambda p: p[0]["index"])
    return pairs


def in_effect_times(records: Iterable[Record]) -> dict[int, float]:
    """fault id -> the ``time`` its injection completed (for the faults whose
    history records it)."""
    return {
        r["fault"]: r["time"]
        for r in records
        if r.get("kind") == "fault" and r.get("type") == "in-effect"
    }


@dataclass(frozen=True)
class FaultSpan:
    """One fault window's instants on the history's clock.

    ``in_effect`` falls back to ``start`` and ``heal`` to ``stop`` for
    histories written before those records existed; ``heal``/``stop`` are
    None for a fault never healed within the history."""

    fault: int
    name: str
    start: float
    in_effect: float
    heal: float | None
    stop: float | None

    def during(self, t0: float, t1: float | None = None) -> bool:
        """Whether ``[t0, t1]`` (an instant when ``t1`` is None) lies wholly
        inside the fault's effect: at or after ``in_effect``, before ``heal``."""
        end = t0 if t1 is None else t1
        return self.in_effect <= t0 and (self.heal is None or end < self.heal)


def fault_spans(records: Iterable[Record]) -> list[FaultSpan]:
    """Every fault window with its ``start``/``in-effect``/``heal``/``stop``
    instants, in start order."""
    records = list(records)
    marks: dict[tuple[int, str], float] = {
        (r["fault"], r["type"]): r["time"]
        for r in records
        if r.get("kind") == "fault" and r.get("type") in ("in-effect", "heal")
    }
    spans = []
    for start, stop in fault_windows(records):
        fid = start["fault"]
        began: float = start["time"]
        stopped = None if stop is None else stop["time"]
        spans.append(
            FaultSpan(
                fault=fid,
                name=start.get("f", ""),
                start=began,
                in_effect=marks.get((fid, "in-effect"), began),
                heal=marks.get((fid, "heal"), stopped),
                stop=stopped,
            )
        )
    return spans


def completed_ops(records: Iterable[Record]) -> list[tuple[Record, Record | None]]:
    """Pairs of (invoke, completion) for every operation; completion is None
    when the history ended before the operation completed (counts as info)."""
    invokes: dict[int, Record] = {}
    pairs: list[tuple[Record, Record | None]] = []
    for rec in records:
        if rec.get("kind") != "op":
            continue
        if rec["type"] == "invoke":
            invokes[rec["index"]] = rec
        elif rec.get("op") in invokes:
            pairs.append((invokes.pop(rec["op"]), rec))
    pairs.extend((inv, None) for inv in invokes.values())
    pairs.sort(key=lambda p: p[0]["index"])
    return pairs
