"""A harness that dies by SIGKILL leaves no container or network: its reaper
(the Ryuk we cannot pull) removes what carries its owner label."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker

from harness.backends.docker.labels import OWNER_LABEL

ROOT = Path(__file__).resolve().parents[2]


def test_containers_of_a_sigkilled_harness_are_removed(docker_image, profile):
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("killed_harness.py")), docker_image],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().split()
        assert line, proc.stderr.read().decode() if proc.stderr else "no output"
        owner = line[0]
        client = docker.from_env()
        flt = {"label": f"{OWNER_LABEL}={owner}"}
        # triangle(db=True): 3 nodes, the link proxy and PostgreSQL.
        assert len(client.api.containers(all=True, filters=flt)) == 5
        assert len(client.api.networks(filters=flt)) == 1
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + max(30.0, profile.startup_deadline)
    left = None
    while time.monotonic() < deadline:
        # The low-level API: the reaper removes while we list.
        left = [c["Names"][0] for c in client.api.containers(all=True, filters=flt)] + [
            n["Name"] for n in client.api.networks(filters=flt)
        ]
        if not left:
            break
        time.sleep(profile.poll_interval)
    assert not left, f"left after the harness died: {left}"
