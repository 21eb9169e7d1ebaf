"""Processes the harness starts, and how nothing it starts outlives it.

Every process the harness starts carries two environment labels, inherited by
all its descendants (a PostgreSQL backend, a job's shell):

* ``JS7HA_SESSION`` — the test session (shared by the xdist controller and its
  workers, so one run can be recognised as a whole);
* ``JS7HA_OWNER`` — ``<pid>:<start-time>`` of the harness process that owns it
  (the start time makes the label immune to pid reuse).

Three layers make sure they die with their owner, from the politest to the
most certain:

1. the owner's own teardown (fixture finalizers, ``atexit``) stops them in
   reverse order of start;
2. direct children get ``PR_SET_PDEATHSIG=SIGKILL``, so the kernel kills them
   if the owner dies without cleaning up;
3. a *reaper* process (``python -m harness.reaper``, one per owner, in its own
   session so a Ctrl-C to the terminal does not hit it) waits on the owner's
   pidfd and, once the owner is gone, stops PostgreSQL clusters under the
   owner's temp root, SIGKILLs every process still carrying the owner's label,
   and removes the temp root. ``reaper.sweep()`` at the next session start does the
   same for any owner that is dead, in case even the reaper was killed
(``harness.reaper``; the finalizers of layer 1 are ``harness.cleanup``).

PostgreSQL rewrites its own environment block to show process titles, so its
processes cannot be found by label; they are found through the
``postmaster.pid`` of every data dir under the owner's temp root instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SESSION_ENV = "JS7HA_SESSION"
OWNER_ENV = "JS7HA_OWNER"
BASE_DIR_ENV = "JS7HA_TMP"

_PR_SET_PDEATHSIG = 1
_prctl: Callable[..., int] | None
try:
    _prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except OSError:  # not glibc Linux: layer 2 is unavailable, layers 1 and 3 remain
    _prctl = None


def _set_pdeathsig() -> None:
    # Runs in the child between fork and exec: only an already-resolved C call.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def proc_state(pid: int) -> str | None:
    """The one-letter state in /proc/<pid>/stat (R, S, T, Z, ...), None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2]


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it (from the host's /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command may contain spaces and parentheses: split after the last ')'.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` in clock ticks (field 22 of
    /proc/pid/stat), or None if the process does not exist or is a zombie
    (dead, only waiting to be reaped — where PID 1 does not reap, forever)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


@dataclass(frozen=True)
class Owner:
    session: str
    pid: int
    start_time: int

    @property
    def label(self) -> str:
        return f"{self.pid}:{self.start_time}"

    @staticmethod
    def parse_label(label: str) -> tuple[int, int]:
        pid, _, start = label.partition(":")
        return int(pid), int(start)

    def is_alive(self) -> bool:
        return label_alive(self.label)


def label_alive(label: str) -> bool:
    try:
        pid, start = Owner.parse_label(label)
    except ValueError:
        return False
    return process_start_time(pid) == start


_owner: Owner | None = None
_owner_lock = threading.Lock()


def base_dir() -> Path:
    """Where every owner's temp root lives (shared by all sessions on the machine)."""
    root = Path(os.environ.get(BASE_DIR_ENV) or Path(tempfile.gettempdir()) / "js7ha")
    root.mkdir(parents=True, exist_ok=True)
    return root


_session_created_here = False


def session_id() -> str:
    """The session id, created once and exported so xdist workers inherit it."""
    global _session_created_here
    sid = os.environ.get(SESSION_ENV)
    if not sid:
        sid = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        os.environ[SESSION_ENV] = sid
        _session_created_here = True
    return sid


def owns_session() -> bool:
    """Did this process create the session (rather than inherit it)? Only
    that one may remove what the whole session holds: an inner run (a
    pytester run in the same process, a subprocess) shares the id with
    everything else of the session that is still running."""
    return _session_created_here


def owner() -> Owner:
    global _owner
    with _owner_lock:
        if _owner is None or _owner.pid != os.getpid():
            pid = os.getpid()
            start = process_start_time(pid)
            assert start is not None
            _owner = Owner(session_id(), pid, start)
        return _owner


def labels() -> dict[str, str]:
    me = owner()
    return {SESSION_ENV: me.session, OWNER_ENV: me.label}


_root: Path | None = None
_reaper: subprocess.Popen[bytes] | None = None


def temp_root() -> Path:
    """This owner's private temp folder, removed when the owner ends (by
    ``harness.cleanup.run_all()``, or by the reaper if the owner dies). Starting it also starts
    the reaper."""
    global _root, _reaper
    me = owner()
    with _owner_lock:
        if _root is not None and _root.exists():
            return _root
        _root = base_dir() / f"{me.session}.{me.pid}.{me.start_time}"
        _root.mkdir(parents=True, exist_ok=True)
        _reaper = subprocess.Popen(
            [sys.executable, "-m", "harness.reaper", "--owner", me.label, "--root", str(_root)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(_root / "reaper.log").open("ab"),
            start_new_session=True,
            env={**os.environ, SESSION_ENV: me.session},
        )
        # Removed at exit by harness.cleanup.run_all(), or by the reaper once
        # this process is gone, however it ended.
        return _root


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path | None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start a labelled child in its own process group (so a signal to the group
    reaches its descendants and a Ctrl-C to the terminal does not), with stdout
    and stderr appended to ``log_path``. ``user``: run as that account (the
    credentials change happens before the death signal is set, which the
    kernel would otherwise clear)."""
    temp_root()  # make sure the reaper watches before anything can leak
    full_env = {**os.environ, **(env or {}), **labels()}
    out = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
    # PDEATHSIG fires when the *thread* that forked exits, so only set it when
    # forking from the main thread, which lives as long as the process.
    main = threading.current_thread() is threading.main_thread()
    try:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=full_env,
            start_new_session=True,
            user=user,
            group=_primary_group(user) if user else None,
            preexec_fn=_set_pdeathsig if main else None,
        )
    finally:
        if log_path is not None:
            out.close()  # type: ignore[union-attr]


def _primary_group(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def signal_group(pid: int, sig: int) -> bool:
    """Send ``sig`` to the process group led by ``pid``; False if it is gone."""
    try:
        os.killpg(pid, sig)
        return True
    except ProcessLookupError:
        return False


NODE_ENV = "JS7HA_NODE"


def _environ(pid: str) -> dict[str, str] | None:
    try:
        raw = Path("/proc", pid, "environ").read_bytes()
    except OSError:
        return None
    return dict(
        item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item
    )


def processes_with(key: str, value: str) -> list[int]:
    """Live processes whose environment has ``key=value`` (inherited labels
    reach every descendant, also those that left the process group)."""
    needle = f"{key}={value}\0".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        if needle in raw + b"\0" and process_start_time(int(entry.name)) is not None:
            found.append(int(entry.name))
    return found


def kill_with(key: str, value: str) -> int:
    victims = processes_with(key, value)
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(victims)


def labelled_processes(session: str | None = None) -> dict[int, tuple[str, str]]:
    """{pid: (session, owner label)} of every live process carrying our labels."""
    found: dict[int, tuple[str, str]] = {}
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            raw = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        if OWNER_ENV.encode() not in raw:
            continue
        env = dict(
            item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item
        )
        sess, lab = env.get(SESSION_ENV, ""), env.get(OWNER_ENV, "")
        if lab and (session is None or sess == session):
            found[int(entry.name)] = (sess, lab)
    return found


def stop_postgres_under(root: Path) -> None:
    """Immediate shutdown (SIGQUIT) of every PostgreSQL cluster whose data dir
    lies under ``root``, so no postmaster, shared memory or socket is left."""
    for pidfile in root.glob("**/postmaster.pid"):
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and process_start_time(pid) is not None:
            time.sleep(0.05)


def kill_owned_by(label: str) -> int:
    """SIGKILL every process (and its group) labelled with owner ``label``."""
    victims = [pid for pid, (_, lab) in labelled_processes().items() if lab == label]
    for pid in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(victims)


# Left in an owner's temp root by the Docker backend once it created
# anything: the reaper then also removes the owner's containers and networks
# (Ryuk's job, which cannot be pulled here).
DOCKER_MARKER = "docker-resources"


def remove_temp_root() -> bool:
    """Stop the PostgreSQL servers under this owner's temp root, kill its
    labelled processes and delete the root. False when this process owns no
    root (a forked child, or nothing made yet). Safe to call twice."""
    global _root
    if _root is None or owner().pid != os.getpid():
        return False
    stop_postgres_under(_root)
    kill_owned_by(owner().label)
    shutil.rmtree(_root, ignore_errors=True)
    _root = None
    return True
