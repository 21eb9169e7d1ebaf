"""The reaper: outlives its owner just long enough to clean up after it.

``python -m harness.reaper --owner PID:START --root DIR``. Started by
``harness.procs.temp_root()`` in its own session; waits on the owner's pidfd
(no polling), then runs ``harness.procs.reap_owner``. The testcontainers
equivalent is Ryuk, which cannot be pulled on this project's machines.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
import time
from pathlib import Path

from harness import procs


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
    procs.reap_owner(args.owner, args.root)
    print(f"reaped {args.owner} in {time.monotonic() - t0:.3f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
