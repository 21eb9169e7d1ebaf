"""The reaper: outlives its owner just long enough to clean up after it.

``python -m harness.reaper --owner PID:START --root DIR``. Started by
``harness.procs.temp_root()`` in its own session; waits on the owner's pidfd
(no polling), then runs ``reap_owner``. The testcontainers equivalent is Ryuk,
which cannot be pulled on this project's machines. ``sweep()`` does the same
for every dead owner on the machine (a reaper that was itself killed).
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import signal
import sys
import time
from pathlib import Path

from harness import ports, procs


def _remove_containers_of(label: str) -> None:
    try:
        # Imported here: only owners that made containers need the Docker SDK.
        from harness.backends.docker.labels import OWNER_LABEL, remove_labelled

        removed = remove_labelled(OWNER_LABEL, label)
    except Exception as exc:  # noqa: BLE001 - the rest of the reaping must go on
        print(f"removing {label}'s containers failed: {exc}", file=sys.stderr)
    else:
        if removed:
            print(f"removed {', '.join(removed)}", file=sys.stderr)


def reap_owner(label: str, root: Path | None) -> None:
    """Everything the reaper does once the owner ``label`` is gone."""
    if root is not None and root.exists():
        procs.stop_postgres_under(root)
        if (root / procs.DOCKER_MARKER).exists():
            _remove_containers_of(label)
    procs.kill_owned_by(label)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
    ports.release_owned_by(label)


def sweep() -> list[str]:
    """Clean up after every owner on this machine that died without doing so
    itself. Safe to run while other sessions are live: only dead owners'
    processes and folders are touched. Returns the labels swept."""
    dead: set[str] = set()
    for _, (_, lab) in procs.labelled_processes().items():
        if not procs.label_alive(lab):
            dead.add(lab)
    roots: dict[str, Path] = {}
    for root in procs.base_dir().iterdir():
        parts = root.name.rsplit(".", 2)
        if root.is_dir() and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            lab = f"{parts[1]}:{parts[2]}"
            if not procs.label_alive(lab):
                dead.add(lab)
                roots[lab] = root
    for lab in sorted(dead):
        reap_owner(lab, roots.get(lab))
    ports.sweep_dead()
    return sorted(dead)


def wait_for_exit(pid: int, start: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except (ProcessLookupError, OSError):
        return
    try:
        # The pid may have been reused between label creation and pidfd_open.
        if procs.process_start_time(pid) != start:
            return
        select.select([fd], [], [])
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.reaper")
    ap.add_argument("--owner", required=True, help="PID:START of the process to watch")
    ap.add_argument("--root", required=True, type=Path)
    args = ap.parse_args(argv)
    # A Ctrl-C or SIGTERM aimed at the run must not stop the cleaning.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pid, start = procs.Owner.parse_label(args.owner)
    wait_for_exit(pid, start)
    t0 = time.monotonic()
    reap_owner(args.owner, args.root)
    print(f"reaped {args.owner} in {time.monotonic() - t0:.3f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
