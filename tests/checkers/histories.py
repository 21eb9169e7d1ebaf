"""Hand-made histories for checker tests.

Records are written through a real ``harness.history.History`` so they have
exactly the shape a test run produces; only their ``time`` field is replaced
afterwards by the builder's own clock, so tests control time to the
microsecond. The clock never goes back, like the real one.

    b = HistoryBuilder()
    b.at(1.0).ok("add", 1, node="a").info("add", 2)
    fid = b.at(2.0).start_fault("kill-active")
    b.at(3.5).ok("read", [1, 2], node="b").stop_fault(fid)
    records = b.records()
"""

from __future__ import annotations

from typing import Any, Literal

from harness.history import History, Op, Record

Outcome = Literal["ok", "fail", "info"]


class HistoryBuilder:
    def __init__(self) -> None:
        self.history = History(path=None)
        self.now = 0.0
        self._times: list[float] = []
        self._fault_names: dict[int, str] = {}

    # -- the clock -------------------------------------------------------

    def at(self, t: float) -> HistoryBuilder:
        """Set the clock; later records carry time ``t``."""
        if t < self.now:
            raise ValueError(f"the clock cannot go back from {self.now} to {t}")
        self.now = t
        return self

    def tick(self, dt: float) -> HistoryBuilder:
        return self.at(self.now + dt)

    def _stamp(self) -> None:
        """Give every record written since the last stamp the current time."""
        missing = len(self.history) - len(self._times)
        self._times.extend([round(self.now, 6)] * missing)

    # -- operations ------------------------------------------------------

    def invoke(self, f: str, value: Any = None, *, process: Any = 0) -> Op:
        """Invoke only; complete later with ``complete`` (for concurrent ops)."""
        op = self.history.invoke(process, f, value)
        self._stamp()
        return op

    def complete(
        self,
        op: Op,
        outcome: Outcome,
        value: Any = None,
        *,
        node: str | None = None,
        error: str | None = None,
    ) -> HistoryBuilder:
        if node is not None:
            op.node = node
        if outcome == "ok":
            op.ok(value)
        elif outcome == "fail":
            op.fail(error or "failed", value)
        else:
            op.info(error or "timed out", value)
        self._stamp()
        return self

    def op(
        self,
        outcome: Outcome | None,
        f: str,
        value: Any = None,
        *,
        result: Any = None,
        node: str | None = None,
        process: Any = 0,
        took: float = 0.0,
    ) -> HistoryBuilder:
        """One whole operation: invoked now, completed ``took`` seconds later
        with ``result`` (default: the invoked value). ``outcome=None`` leaves
        it uncompleted, as when the history ends mid-operation."""
        op = self.invoke(f, value, process=process)
        if outcome is not None:
            self.tick(took)
            self.complete(op, outcome, result, node=node)
        return self

    def ok(self, f: str, value: Any = None, **kw: Any) -> HistoryBuilder:
        return self.op("ok", f, value, **kw)

    def fail(self, f: str, value: Any = None, **kw: Any) -> HistoryBuilder:
        return self.op("fail", f, value, **kw)

    def info(self, f: str, value: Any = None, **kw: Any) -> HistoryBuilder:
        return self.op("info", f, value, **kw)

    def pending(self, f: str, value: Any = None, **kw: Any) -> HistoryBuilder:
        return self.op(None, f, value, **kw)

    # -- faults ----------------------------------------------------------

    def start_fault(self, name: str, value: Any = None) -> int:
        fid = self.history.fault_start(name, value)
        self._fault_names[fid] = name
        self._stamp()
        return fid

    def fault_in_effect(self, fid: int) -> HistoryBuilder:
        self.history.fault_in_effect(fid, self._fault_names[fid])
        self._stamp()
        return self

    def stop_fault(self, fid: int, value: Any = None) -> HistoryBuilder:
        self.history.fault_stop(fid, self._fault_names[fid], value)
        self._stamp()
        return self

    # -- result ----------------------------------------------------------

    def records(self) -> list[Record]:
        """Copies of the history's records with the builder's times."""
        self._stamp()
        return [{**r, "time": t} for r, t in zip(self.history.records, self._times, strict=True)]
