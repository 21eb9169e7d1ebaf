"""``js7ha repeat``'s tally and loop, on run folders made here (the runs
themselves are ``js7ha run``'s, tested with it)."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.repeat import command
from harness.repeat.tally import Tally, family

CTL = "suites/controller/test_failover.py::test_failover[kill]"
AGT = "suites/agent_cluster/test_director_failover.py::test_it[pause]"


def _run_folder(root: Path, name: str, verdicts: dict[str, dict[str, Any]]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    held = all(v["verdict"] == "held" for v in verdicts.values())
    doc = {"held": held, "verdicts": verdicts}
    (folder / "results.json").write_text(json.dumps(doc))
    return folder


HELD = {"verdict": "held", "reason": "passed", "checks": []}
SLOW = {
    "verdict": "broken",
    "reason": "the test's check failed",
    "artifacts": "artifacts/w0/test_it-pause",
    "checks": [
        {"name": "single-active", "valid": True, "summary": "one at a time"},
        {
            "name": "failover-time",
            "valid": False,
            "summary": "fail-over took 2.14 s, more than 2.0 s",
        },
    ],
}


def test_the_tally_counts_each_verdict_per_test_and_family_and_names_every_alarm(tmp_path):
    tally = Tally()
    tally.add_run(_run_folder(tmp_path, "r1", {CTL: HELD, AGT: HELD}), "docker", 400.0)
    tally.add_run(_run_folder(tmp_path, "r2", {CTL: HELD, AGT: SLOW}), "docker", 410.0)
    tally.add_run(_run_folder(tmp_path, "r3", {CTL: HELD}), "local", 300.0)

    assert tally.by_test[("docker", AGT)] == {"held": 1, "broken": 1}
    fams = tally.families()
    assert fams[("docker", "agent_cluster")] == {"held": 1, "broken": 1}
    assert fams[("docker", "controller")] == {"held": 2}
    assert tally.runs_per_family() == {
        ("docker", "controller"): 2,
        ("docker", "agent_cluster"): 2,
        ("local", "controller"): 1,
    }
    [alarm] = tally.alarms
    assert (alarm.run, alarm.backend, alarm.verdict) == ("r2", "docker", "broken")
    assert alarm.failed_checks == ("failover-time: fail-over took 2.14 s, more than 2.0 s",)
    assert alarm.artifacts == str(tmp_path / "r2" / "artifacts/w0/test_it-pause")
    assert "BROKEN" in alarm.line() and "2.14 s" in alarm.line()
    doc = tally.to_json()
    assert [r["held"] for r in doc["runs"]] == [True, False, True]
    assert {(f["family"], f["runs"], f["broken"]) for f in doc["families"]} >= {
        ("agent_cluster", 2, 1)
    }


def test_a_run_without_results_counts_as_a_run_that_did_not_hold(tmp_path):
    tally = Tally()
    (tmp_path / "dead").mkdir()
    tally.add_run(tmp_path / "dead", "local", 12.0)
    assert tally.runs == [
        {
            "run": "dead",
            "backend": "local",
            "seconds": 12.0,
            "tests": 0,
            "held": False,
            "problem": "no results.json",
        }
    ]


def test_family_is_the_suites_folder():
    assert family(CTL) == "controller"
    assert family("tests/x.py::t") == "tests"


def _args(tmp_path: Path, **kw: Any) -> argparse.Namespace:
    base = dict(
        times=2,
        backend=["local", "docker"],
        profile="reference",
        workers="2",
        system=["controller"],
        guarantee=[],
        select=None,
        seed=100,
        out=str(tmp_path / "out"),
    )
    return argparse.Namespace(**{**base, **kw})


def test_the_loop_runs_each_backend_each_time_with_a_seed_per_repetition(
    tmp_path, monkeypatch, capsys
):
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        out = Path(next(a for a in cmd if a.startswith("--out="))[6:])
        verdicts = {CTL: SLOW if len(calls) == 4 else HELD}
        _run_folder(out, "20261207-130000", verdicts)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    code = command.main(_args(tmp_path), tmp_path)

    assert code == 1

    def opt(cmd: list[str], name: str) -> str:
        return next(a for a in cmd if a.startswith(f"--{name}="))

    assert [(opt(c, "backend"), opt(c, "seed"), opt(c, "system")) for c in calls] == [
        ("--backend=local", "--seed=101", "--system=controller"),
        ("--backend=docker", "--seed=101", "--system=controller"),
        ("--backend=local", "--seed=102", "--system=controller"),
        ("--backend=docker", "--seed=102", "--system=controller"),
    ]
    doc = json.loads((tmp_path / "out" / "repeat.json").read_text())
    assert [r["held"] for r in doc["runs"]] == [True, True, True, False]
    printed = capsys.readouterr().out
    assert "run 2/2 on docker: NOT held" in printed
    assert "fail-over took 2.14 s" in printed


def test_every_run_held_exits_zero(tmp_path, monkeypatch):
    def fake_run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        out = Path(next(a for a in cmd if a.startswith("--out="))[6:])
        _run_folder(out, "20261207-130000", {CTL: HELD})
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert command.main(_args(tmp_path, times=1, backend=[]), tmp_path) == 0


@pytest.mark.parametrize("times", [0, -3])
def test_fewer_than_one_repetition_is_refused(tmp_path, times):
    assert command.main(_args(tmp_path, times=times), tmp_path) == 2
