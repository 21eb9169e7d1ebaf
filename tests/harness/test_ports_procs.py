"""Port reservations and process hygiene, on real processes."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from harness import ports, procs
from harness import reaper as reaper_mod


def _wait(cond, timeout=10.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def test_reserved_ports_are_distinct_bindable_and_below_the_ephemeral_range():
    got = ports.reserve(30)
    try:
        assert len(set(got)) == 30
        low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
        assert all(p < low for p in got)
        assert all(ports._bindable(p) for p in got)
    finally:
        ports.release(got)


def test_concurrent_processes_never_get_the_same_port(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        from harness import ports
        got = ports.reserve(40)
        print(" ".join(map(str, got)), flush=True)
        sys.stdin.read()
        """
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    try:
        seen = [set(map(int, c.stdout.readline().split())) for c in children]
    finally:
        for c in children:
            c.stdin.close()
            c.wait(10)
    assert all(len(s) == 40 for s in seen)
    union = set().union(*seen)
    assert len(union) == 160, "two processes were handed the same port"


def test_a_dead_owners_reservation_is_taken_over():
    port = ports.reserve_one()
    ports.release([port])
    # An owner that died without its atexit (SIGKILL) leaves its reservation:
    (procs.base_dir() / "ports" / str(port)).write_text("999999999:1")
    assert ports._try_reserve(port, procs.owner().label)
    ports.release([port])


def test_sweep_removes_reservations_of_dead_owners():
    path = procs.base_dir() / "ports" / "1"  # a port nobody would reserve
    path.write_text("999999999:1")  # a label no live process can have
    assert ports.sweep_dead() >= 1
    assert not path.exists()


def test_spawned_processes_carry_labels_and_their_own_group(tmp_path):
    p = procs.spawn(["sleep", "30"], log_path=tmp_path / "x.log")
    try:
        found = procs.labelled_processes(procs.session_id())
        assert found[p.pid] == (procs.session_id(), procs.owner().label)
        assert os.getpgid(p.pid) == p.pid
    finally:
        procs.signal_group(p.pid, signal.SIGKILL)
        p.wait(5)


OWNER = textwrap.dedent(
    """
    import sys, time
    from harness import procs, ports
    from harness.postgres import PostgresServer
    root = procs.temp_root()
    pg = PostgresServer.start_new(root / "pg", ports.reserve_one())
    procs.spawn(["sleep", "300"], log_path=None)
    procs.spawn(["bash", "-c", "sleep 300 & sleep 300"], log_path=None)
    print(root, pg.pid, flush=True)
    time.sleep(300)
    """
)


def test_sigkilled_owner_leaves_nothing_behind():
    """The reaper notices the owner's death and removes processes (including
    grandchildren and a PostgreSQL server) and the temp root."""
    env = {**os.environ, procs.SESSION_ENV: "reaper-test-" + os.urandom(3).hex()}
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        root, pg_pid = owner.stdout.readline().split()
        session = env[procs.SESSION_ENV]
        # sleep; bash + its background sleep. (PostgreSQL overwrites its own
        # environment block for its process titles, so it is found through
        # postmaster.pid under the temp root rather than by label.)
        assert len(procs.labelled_processes(session)) >= 3
        assert procs.process_start_time(int(pg_pid)) is not None
        owner.kill()
        owner.wait(5)
        assert _wait(lambda: not procs.labelled_processes(session), timeout=15), (
            procs.labelled_processes(session)
        )
        assert _wait(lambda: not os.path.exists(root), timeout=5)
        assert procs.process_start_time(int(pg_pid)) is None
    finally:
        if owner.poll() is None:
            owner.kill()


def test_sweep_cleans_up_after_an_owner_whose_reaper_also_died(tmp_path):
    env = {**os.environ, procs.SESSION_ENV: "sweep-test-" + os.urandom(3).hex()}
    script = (
        "import time; from harness import procs; r = procs.temp_root(); "
        "procs.spawn(['sleep', '300'], log_path=None); "
        "print(r, procs._reaper.pid, flush=True); time.sleep(300)"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    root, reaper = owner.stdout.readline().split()
    os.kill(int(reaper), signal.SIGKILL)  # take away layer 3 ...
    owner.kill()  # ... then kill the owner: its sleep survives (it is a grandchild of nobody)
    owner.wait(5)
    session = env[procs.SESSION_ENV]
    assert os.path.exists(root)
    swept = reaper_mod.sweep()
    assert f"{owner.pid}:" in " ".join(swept)
    assert _wait(lambda: not procs.labelled_processes(session), timeout=5)
    assert not os.path.exists(root)
