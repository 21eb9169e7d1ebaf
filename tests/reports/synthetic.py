"""A small synthetic run folder, shaped exactly like ``js7ha run`` leaves one.

Five selected guarantees, each with a known verdict:

* AGT-AUTONOMY — held: adds survive a kill, the read has all of them;
* EVT-RELEASE — broken: the test failed, its no-loss check lost ``o-3``;
* AGT-CROSS-AGENT — broken only on re-check: the run said passed and
  recorded a no-loss ``True``, but its history shows ``x-2`` lost;
* AGT-SCHEDULED — unknown: skipped;
* CTL-JOC-INDEPENDENT — unknown: not yet checked by any suite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.checkers import no_loss
from harness.history import History

BROKEN = {"EVT-RELEASE", "AGT-CROSS-AGENT"}
HELD = {"AGT-AUTONOMY"}
UNKNOWN = {"AGT-SCHEDULED", "CTL-JOC-INDEPENDENT"}


def _history(path: Path, ids: list[str], read: list[str], fault: str | None) -> History:
    h = History(path)
    h.invoke("c", "observe-active", {"role": "controller", "node": "primary"}).ok(
        {"role": "controller", "node": "primary", "active": True}, node="primary"
    )
    for i, oid in enumerate(ids):
        if fault and i == len(ids) // 2:
            fid = h.fault_start(fault, {"node": "primary"})
            h.invoke("c", "add", oid).info("timeout")
            h.invoke("c", "observe-active", {"role": "controller", "node": "backup"}).ok(
                {"role": "controller", "node": "backup", "active": True}, node="backup"
            )
            h.fault_stop(fid, fault)
        h.invoke("c", "add", oid).ok(node="backup" if fault and i >= len(ids) // 2 else "primary")
    h.invoke("c", "read").ok(read)
    h.close()
    return h


def _test(
    run: Path,
    slug: str,
    nodeid: str,
    guarantees: list[str],
    outcome: str,
    *,
    ids: list[str] | None = None,
    read: list[str] | None = None,
    recorded_valid: Any = None,
    fault: str | None = None,
    longrepr: str = "",
) -> dict[str, Any]:
    folder = run / "artifacts" / "sess" / slug
    folder.mkdir(parents=True)
    if ids is not None:
        h = _history(folder / "history.jsonl", ids, read or [], fault)
        check = no_loss(h.records).to_json()
        if recorded_valid is not None:
            check["valid"] = recorded_valid  # what a (buggy) older checker said
            check["details"]["lost"] = []
        (folder / "results.json").write_text(
            json.dumps(
                {"guarantees": guarantees, "checks": [check], "measurements": {"orders": len(ids)}}
            )
        )
        (folder / "logs").mkdir()
        (folder / "logs" / "controller.log").write_text(
            "\n".join(f"line {i}" for i in range(100)) + "\nLAST LINE of the controller\n"
        )
    return {
        "nodeid": nodeid,
        "outcome": outcome,
        "phase": "call" if outcome != "passed" else None,
        "duration": 1.5,
        "longrepr": longrepr,
        "guarantees": guarantees,
        "artifacts": f"artifacts/sess/{slug}",
    }


def make_run(run: Path) -> dict[str, Any]:
    """Write the run folder's artifacts and return its raw record (what the
    plugin would hand to ``write_report``)."""
    run.mkdir(parents=True, exist_ok=True)
    tests = [
        _test(
            run,
            "autonomy",
            "suites/agents/test_autonomy.py::test_autonomy[kill]",
            ["AGT-AUTONOMY"],
            "passed",
            ids=[f"a-{i}" for i in range(6)],
            read=[f"a-{i}" for i in range(6)],
            fault="kill",
        ),
        _test(
            run,
            "release",
            "suites/events/test_hold_and_release.py::test_release",
            ["EVT-RELEASE"],
            "failed",
            ids=["o-1", "o-2", "o-3"],
            read=["o-1", "o-2"],
            fault="pause",
            longrepr="AssertionError: no-loss: valid=False\n  lost: ['o-3']",
        ),
        _test(
            run,
            "cross",
            "suites/agents/test_autonomy.py::test_cross_agent",
            ["AGT-CROSS-AGENT"],
            "passed",
            ids=["x-1", "x-2"],
            read=["x-1"],
            recorded_valid=True,
        ),
        _test(
            run,
            "scheduled",
            "suites/agents/test_autonomy.py::test_scheduled",
            ["AGT-SCHEDULED"],
            "skipped",
            longrepr="no clock here",
        ),
    ]
    return {
        "schema": 1,
        "run_id": run.name,
        "started": "2025-01-01 12:00:00",
        "finished": "2025-01-01 12:01:00",
        "exit_status": 1,
        "options": {
            "backend": "local",
            "profile": "reference",
            "profile_bounds": {"CTL-FAILOVER": 2.0},
            "seed": 7,
            "selection": {
                "guarantees": sorted(BROKEN | HELD | UNKNOWN),
                "systems": [],
                "keyword": None,
                "args": [],
            },
        },
        "environment": {"machine": "synthetic", "cores": 2},
        "tests": tests,
    }
