"""Acceptance: after ``pytest -n 2`` is interrupted with SIGINT mid-run, no
process, PostgreSQL server or temp dir of that run is left."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness import procs

ROOT = Path(__file__).resolve().parents[2]


def _wait(cond, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_sigint_to_an_xdist_run_leaves_nothing(tmp_path):
    session = "interrupt-" + os.urandom(4).hex()
    env = {**os.environ, procs.SESSION_ENV: session, "JS7HA_INTERRUPT_DIR": str(tmp_path)}
    env.pop("PYTEST_XDIST_WORKER", None)
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            "-q",
            "--artifacts-dir",
            str(tmp_path / "artifacts"),
            "tests/harness/interrupt_target.py",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # A run started in the background by a non-interactive shell inherits
        # SIGINT ignored (and Python then keeps ignoring it): the victim must
        # get it as a run started from a terminal does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        ready = _wait(lambda: len(list(tmp_path.glob("ready-*"))) >= 2, timeout=120)
        assert ready, "the victim run never got its topologies up"
        labelled = procs.labelled_processes(session)
        # 2 workers x (3 echo nodes) + proxy servers + postgres processes
        assert len(labelled) >= 8, labelled
        roots = [p for p in procs.base_dir().iterdir() if p.name.startswith(session + ".")]
        assert roots, "the victim run made no temp roots"
        run.send_signal(signal.SIGINT)
        try:
            run.wait(90)
            stopped = True
        except subprocess.TimeoutExpired:
            stopped = False
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(10)
    out = run.stdout.read().decode(errors="replace") if run.stdout else ""
    # (If SIGINT does not end the run, the victim's own output says where it was.)
    assert stopped, f"SIGINT did not end the run within 90 s; its output:\n{out[-4000:]}"
    assert run.returncode != 0, out
    assert _wait(lambda: not procs.labelled_processes(session), timeout=20), (
        f"left behind: {procs.labelled_processes(session)}\n{out}"
    )
    assert _wait(lambda: not any(p.exists() for p in roots), timeout=10), roots
    assert not [p for p in procs.base_dir().iterdir() if p.name.startswith(session + ".")]
