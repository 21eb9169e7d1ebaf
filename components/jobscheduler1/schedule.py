"""Run times of orders: when each run of an order starts.

A run time is JSON, one of

* ``null`` — one run, started as soon as the order is added;
* ``{"repeat": R, "begin": T}`` — runs at ``T, T+R, T+2R, …`` (epoch seconds;
  ``begin`` defaults to when the order is added), without end;
* ``{"at": [T1, T2, …]}`` — one run at each listed time.

What must hold: ``next_start(rt, after)`` is the earliest scheduled start at or
after ``after`` — never one before it. Missed starts are therefore skipped,
not caught up: a run that starts late would be a second way to be wrong.
All times here are integer milliseconds since the epoch.
"""

from __future__ import annotations

import math
from typing import Any


class RunTimeError(ValueError):
    """A run time is malformed; the message says which part."""


def parse(run_time: Any, added_ms: int) -> dict[str, Any] | None:
    """Validate and normalise a run time (times become integer milliseconds)."""
    if run_time is None:
        return None
    if not isinstance(run_time, dict):
        raise RunTimeError(f"run_time must be an object or null, got {run_time!r}")
    keys = set(run_time)
    if "repeat" in keys:
        if not keys <= {"repeat", "begin"}:
            raise RunTimeError(f"unknown run_time fields {sorted(keys - {'repeat', 'begin'})}")
        repeat = run_time["repeat"]
        if not _number(repeat) or repeat <= 0:
            raise RunTimeError(f"run_time.repeat must be a positive number, got {repeat!r}")
        begin = run_time.get("begin")
        if begin is not None and not _number(begin):
            raise RunTimeError(f"run_time.begin must be epoch seconds, got {begin!r}")
        begin_ms = added_ms if begin is None else round(begin * 1000)
        repeat_ms = round(repeat * 1000)
        if repeat_ms < 1:
            raise RunTimeError("run_time.repeat must be at least 1 ms")
        return {"repeat_ms": repeat_ms, "begin_ms": begin_ms}
    if "at" in keys:
        if keys != {"at"}:
            raise RunTimeError(f"unknown run_time fields {sorted(keys - {'at'})}")
        at = run_time["at"]
        if not isinstance(at, list) or not at or not all(_number(t) for t in at):
            raise RunTimeError(f"run_time.at must be a non-empty list of epoch seconds, got {at!r}")
        return {"at_ms": sorted({round(t * 1000) for t in at})}
    raise RunTimeError(f"run_time needs 'repeat' or 'at', got {sorted(keys)}")


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def next_start(rt: dict[str, Any] | None, after_ms: int) -> int | None:
    """The earliest start of ``rt`` at or after ``after_ms``; None if none is left
    (and always None for the single immediate run of ``rt=None``)."""
    if rt is None:
        return None
    if "repeat_ms" in rt:
        begin, repeat = int(rt["begin_ms"]), int(rt["repeat_ms"])
        if after_ms <= begin:
            return begin
        k = -(-(after_ms - begin) // repeat)  # ceiling division on integers
        return begin + k * repeat
    for t in rt["at_ms"]:
        if t >= after_ms:
            return int(t)
    return None


def first_start(rt: dict[str, Any] | None, added_ms: int) -> int | None:
    """When the first run starts: ``added_ms`` for an immediate order, else the
    first scheduled start at or after it (starts already past when the
    order is added are skipped). None: nothing left to run."""
    if rt is None:
        return added_ms
    return next_start(rt, added_ms)


def to_json(rt: dict[str, Any] | None) -> dict[str, Any] | None:
    """The run time as the API shows it (epoch seconds)."""
    if rt is None:
        return None
    if "repeat_ms" in rt:
        return {"repeat": rt["repeat_ms"] / 1000, "begin": rt["begin_ms"] / 1000}
    return {"at": [t / 1000 for t in rt["at_ms"]]}
