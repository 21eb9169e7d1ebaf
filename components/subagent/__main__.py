"""``python -m components.subagent --data-dir DIR``.

Config: ``DIR/config/subagent.conf`` (``js7.web.http.port``, optionally
``js7.web.http.host``, ``js7.journal.users-allowed-to-release-events``: the
Director's user) and ``DIR/config/private.conf`` (``js7.auth.users``).

A Subagent keeps its state in memory only (JS7's Subagent journals nothing to
disk): the event file of a previous run is removed before the start, so a
restarted Subagent is a new one, not dedicated, with a new run id.
"""

from pathlib import Path

from components.common.config import data_dir_args
from components.common.node import run_main
from components.subagent.subagent import JOURNAL, Subagent


def forget_previous_run(data_dir: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (data_dir / "state" / f"{JOURNAL}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    forget_previous_run(data_dir_args("python -m components.subagent").data_dir)
    run_main(Subagent, "subagent", JOURNAL)
