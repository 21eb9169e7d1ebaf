"""Free TCP ports without races, also across pytest-xdist workers.

Ports are taken from a band *below* the kernel's ephemeral range
(``/proc/sys/net/ipv4/ip_local_port_range``), so an outgoing connection can
never hold a port a node is about to bind. A port is reserved by creating
``<base>/ports/<port>`` with O_EXCL (atomic across processes) holding the
owner's label; a reservation whose owner is dead is taken over. Before
handing a port out we check that it can be bound right now.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import random
import socket
import threading
from pathlib import Path

from harness import procs
from harness.errors import BackendError

_lock = threading.Lock()
_mine: set[int] = set()
_atexit_registered = False


def _band() -> tuple[int, int]:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return 15000, max(15000 + 1000, low - 1)


def _dir() -> Path:
    d = procs.base_dir() / "ports"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _bindable(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _try_reserve(port: int, label: str) -> bool:
    path = _dir() / str(port)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            holder = path.read_text().strip()
        except OSError:
            return False
        if not holder or procs.label_alive(holder):
            return False
        # A dead owner's reservation: take it over atomically by rename.
        tmp = _dir() / f".{port}.{os.getpid()}"
        tmp.write_text(label)
        try:
            os.rename(tmp, path)
        except OSError:
            return False
        return path.read_text().strip() == label
    with os.fdopen(fd, "w") as f:
        f.write(label)
    return True


def reserve(count: int = 1) -> list[int]:
    """Reserve ``count`` distinct ports for this owner until ``release`` or its end."""
    global _atexit_registered
    label = procs.owner().label
    if not _atexit_registered:
        # Even an owner that never made a temp root gives its ports back.
        atexit.register(release_owned_by, label)
        _atexit_registered = True
    low, high = _band()
    rng = random.Random()
    got: list[int] = []
    with _lock:
        for _ in range(20000):
            if len(got) == count:
                break
            port = rng.randint(low, high)
            if port in _mine or port in got:
                continue
            if not _try_reserve(port, label):
                continue
            if not _bindable(port):
                with contextlib.suppress(FileNotFoundError):
                    (_dir() / str(port)).unlink()
                continue
            got.append(port)
        else:
            raise BackendError(errno.errorcode.get(errno.EADDRINUSE, "") + ": no free port")
        if len(got) < count:
            raise BackendError(f"could only reserve {len(got)} of {count} ports")
        _mine.update(got)
    return got


def reserve_one() -> int:
    return reserve(1)[0]


def release(ports: list[int]) -> None:
    label = procs.owner().label
    with _lock:
        for port in ports:
            path = _dir() / str(port)
            with contextlib.suppress(OSError):
                if path.read_text().strip() == label:
                    path.unlink()
            _mine.discard(port)


def sweep_dead() -> int:
    """Remove reservations whose owner is dead; returns how many."""
    removed = 0
    for path in _dir().iterdir():
        with contextlib.suppress(OSError):
            holder = path.read_text().strip()
            if not procs.label_alive(holder):
                path.unlink()
                removed += 1
    return removed


def release_owned_by(label: str) -> None:
    """Drop every reservation of owner ``label`` (used by cleanup and the reaper)."""
    d = _dir()
    for path in d.iterdir():
        if not path.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if path.read_text().strip() == label:
                path.unlink()
