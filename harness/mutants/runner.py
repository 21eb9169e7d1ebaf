"""Runs a pytest selection in a copy of the project, mutated or not.

The copy is imported instead of the installed project: pytest runs with the
copy as working directory and ``PYTHONPATH``, which every component process
inherits (the local backend starts them with ``python -m``), and each run
first asks the copy's Python where ``components`` comes from — a mutant
that is not the code under test would prove nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.mutants import apply as patch
from harness.mutants import junit
from harness.mutants.catalog import CatalogError, Mutant


class RunError(Exception):
    """A copy could not be made, patched or run (not a test outcome)."""


@dataclass
class Run:
    """One pytest run in one copy: its tests, or why there are none."""

    label: str
    cases: list[junit.TestCase] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int | None = None
    problem: str = ""  # set when the run gave nothing to judge by
    log: str = ""


@dataclass(frozen=True)
class Settings:
    root: Path  # the project to copy
    out: Path  # where JUnit files and logs go
    python: str = sys.executable
    timeout: float = 3600.0  # wall clock for one pytest run
    extra: tuple[str, ...] = ()  # more pytest arguments (e.g. --seed=1)


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JS7HA_DOCKER")}
    env["PYTHONPATH"] = str(tree)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _check_imports_from(tree: Path, python: str) -> None:
    probe = "import components, harness; print(components.__file__); print(harness.__file__)"
    done = subprocess.run(
        [python, "-c", probe], cwd=tree, env=_env(tree), capture_output=True, text=True, timeout=60
    )
    files = done.stdout.split()
    if done.returncode != 0 or len(files) != 2 or not all(f.startswith(str(tree)) for f in files):
        raise RunError(
            f"the copy at {tree} does not import its own code: {done.stdout}{done.stderr}".strip()
        )


def _pytest(tree: Path, selection: Sequence[str], junit_path: Path, log: Path, s: Settings) -> int:
    argv = [
        s.python,
        "-m",
        "pytest",
        *selection,
        "-p",
        "no:cacheprovider",
        "-q",
        f"--rootdir={tree}",
        "--backend=local",
        f"--junitxml={junit_path}",
        *s.extra,
    ]
    with log.open("wb") as out:
        # Its own session, so a run that outlives its deadline is stopped with
        # every node it started (they sit in their own groups and also die
        # with their owner through the reaper).
        proc = subprocess.Popen(
            argv,
            cwd=tree,
            env=_env(tree),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=s.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            raise


def run(label: str, selection: Sequence[str], s: Settings, mutant: Mutant | None = None) -> Run:
    """Copy the project, apply ``mutant`` (none: the baseline), run ``selection``."""
    result = Run(label)
    s.out.mkdir(parents=True, exist_ok=True)
    junit_path, log = s.out / f"{label}.junit.xml", s.out / f"{label}.log"
    result.log = str(log)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"js7ha-mutant-{label}-") as tmp:
        tree = patch.copy_tree(s.root, Path(tmp) / "tree")
        try:
            if mutant is not None:
                patch.apply(mutant, tree)
            _check_imports_from(tree, s.python)
            result.exit_code = _pytest(tree, selection, junit_path, log, s)
        except subprocess.TimeoutExpired:
            result.problem = f"the run took longer than {s.timeout:.0f} s"
        except (RunError, CatalogError, OSError, ValueError) as exc:
            result.problem = str(exc)
    result.seconds = time.monotonic() - started
    if not result.problem:
        try:
            result.cases = junit.read(junit_path)
        except ValueError as exc:
            result.problem = f"pytest exited {result.exit_code} without a report ({exc})"
    return result
