"""Which TCP connections a set of processes holds, read from /proc.

Used to prove a negative ("the Agent never connects to anybody"): a socket a
process *opened* has a local port other than the ports it listens on; one it
*accepted* has its listening port as local port.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


@dataclass(frozen=True)
class Conn:
    pid: int
    local_port: int
    remote: str
    state: str

    def __str__(self) -> str:
        return f"pid {self.pid}: :{self.local_port} -> {self.remote} ({self.state})"


def _addr(hexaddr: str) -> tuple[str, int]:
    ip, port = hexaddr.split(":")
    # IPv4 is four little-endian bytes in hex; IPv6 is left as hex (only
    # used for display).
    host = ".".join(str(int(ip[i : i + 2], 16)) for i in (6, 4, 2, 0)) if len(ip) == 8 else ip
    return host, int(port, 16)


def _table(netns_of: int | None = None) -> dict[str, tuple[int, str, str]]:
    """socket inode -> (local port, remote host:port, state), in our network
    namespace or in that of process ``netns_of`` (a container's, say)."""
    out: dict[str, tuple[int, str, str]] = {}
    base = Path("/proc/net") if netns_of is None else Path(f"/proc/{netns_of}/net")
    for name in ("tcp", "tcp6"):
        try:
            lines = (base / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            _, lport = _addr(f[1])
            rhost, rport = _addr(f[2])
            out[f[9]] = (lport, f"{rhost}:{rport}", _STATES.get(f[3], f[3]))
    return out


def connections(pids: Iterable[int], netns_of: int | None = None) -> list[Conn]:
    pids = list(pids)
    table = _table(netns_of)
    found = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = target[8:-1]
                if inode in table:
                    lport, remote, state = table[inode]
                    found.append(Conn(pid, lport, remote, state))
    return found


def outbound(pids: Iterable[int], netns_of: int | None = None) -> list[Conn]:
    """Connections these processes opened themselves (not accepted ones)."""
    conns = connections(pids, netns_of)
    listening = {c.local_port for c in conns if c.state == "LISTEN"}
    return [c for c in conns if c.state != "LISTEN" and c.local_port not in listening]
