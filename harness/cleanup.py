"""The session's finalizers: what must be undone when the run ends, also on
Ctrl-C (pytest's finalizers may not get their turn then).

Finalizers run last-in-first-out and every error is collected instead of
stopping at the first, as pytest's own do; then the owner's temp root, its
processes and its port reservations go.
"""

from __future__ import annotations

import atexit

from harness import ports, procs

_cleanups: list[tuple[str, object]] = []


def register(name: str, fn: object) -> None:
    """Register a callable run by ``run_all()`` in reverse order of registration."""
    _cleanups.append((name, fn))


def unregister(fn: object) -> None:
    for i in range(len(_cleanups) - 1, -1, -1):
        if _cleanups[i][1] is fn:
            del _cleanups[i]
            return


def run_all() -> list[str]:
    """Run every registered finalizer, last first, collecting errors; then
    remove the temp root and release this owner's ports. Safe to call twice."""
    errors: list[str] = []
    while _cleanups:
        name, fn = _cleanups.pop()
        try:
            fn()  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001 - every finalizer must get its turn
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
    if procs.remove_temp_root():
        ports.release_owned_by(procs.owner().label)
    return errors


# Also at a normal interpreter exit that skipped the explicit call.
atexit.register(run_all)
