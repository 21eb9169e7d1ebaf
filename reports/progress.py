"""Live progress per guarantee in the terminal.

On a terminal (and not under CI): a rich live table, one row per guarantee
with its tests done/expected, passed/failed and the verdict so far. Anywhere
else (a pipe, a CI log, ``TERM=dumb``): plain lines, one per finished test and
one when a guarantee's last expected test finished — nothing that needs
cursor movement.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any


def use_rich(stream: IO[str]) -> bool:
    if os.environ.get("CI") or os.environ.get("TERM") == "dumb" or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


@dataclass
class _Row:
    expected: int = 0
    done: int = 0
    passed: int = 0
    failed: int = 0
    other: int = 0
    running: set[str] = field(default_factory=set)

    @property
    def state(self) -> str:
        if self.failed:
            return "broken"
        if self.expected and self.done >= self.expected:
            return "held" if self.passed == self.done else "unknown"
        return "running" if self.running else "waiting"


class Progress:
    """Fed from the controller's hooks: ``expect``, ``started``, ``finished``."""

    def __init__(self, stream: IO[str] | None = None, rich: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.rich = use_rich(self.stream) if rich is None else rich
        self.rows: dict[str, _Row] = {}
        self.unmarked = _Row()
        self._live: Any = None

    def expect(self, nodeid_ids: Iterable[tuple[str, list[str]]]) -> None:
        for _, ids in nodeid_ids:
            for gid in ids or ["(no guarantee)"]:
                self.rows.setdefault(gid, _Row()).expected += 1
        if self.rich and self._live is None:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                self._table(),
                console=Console(file=self.stream),
                auto_refresh=False,
                transient=False,
            )
            self._live.start()
        elif not self.rich:
            total = sum(r.expected for r in self.rows.values())
            self._line(f"js7ha: {len(self.rows)} guarantee(s), {total} test run(s) expected")

    def started(self, nodeid: str, ids: list[str]) -> None:
        for gid in ids or ["(no guarantee)"]:
            self.rows.setdefault(gid, _Row()).running.add(nodeid)
        self._refresh()

    def finished(self, nodeid: str, ids: list[str], outcome: str, duration: float) -> None:
        for gid in ids or ["(no guarantee)"]:
            row = self.rows.setdefault(gid, _Row())
            row.running.discard(nodeid)
            row.done += 1
            if outcome == "passed":
                row.passed += 1
            elif outcome == "failed":
                row.failed += 1
            else:
                row.other += 1
        if not self.rich:
            label = ",".join(ids) or "-"
            self._line(f"{outcome.upper():7} {label:28} {nodeid} ({duration:.1f}s)")
            for gid in ids:
                row = self.rows[gid]
                if row.expected and row.done == row.expected:
                    self._line(f"        {gid}: {row.state} ({row.passed}/{row.done} passed)")
        self._refresh()

    def note(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(text)
        else:
            self._line(text)

    def close(self) -> None:
        if self._live is not None:
            self._refresh()
            self._live.stop()
            self._live = None

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._table(), refresh=True)

    def _table(self) -> Any:
        from rich.table import Table

        t = Table(title="js7ha: guarantees", expand=False)
        for col in ("guarantee", "tests", "passed", "failed", "other", "state"):
            t.add_column(col)
        style = {"held": "green", "broken": "bold red", "unknown": "yellow", "running": "cyan"}
        for gid, r in sorted(self.rows.items()):
            st = r.state
            t.add_row(
                gid,
                f"{r.done}/{r.expected}",
                str(r.passed),
                str(r.failed),
                str(r.other),
                f"[{style.get(st, 'dim')}]{st}[/]",
            )
        return t
