"""The ``Backend`` protocol: how a topology is brought to life.

A backend owns the nodes' processes (or containers), their data dirs, the
network links between them and the database. Everything a fault needs is an
operation here, so the faults — and the suites above them — never know which
backend they run on.

Node life cycle: ``STOPPED`` → ``start`` → ``RUNNING`` ⇄ ``pause``/``resume``
⇄ ``PAUSED``; ``stop`` (SIGTERM, graceful) and ``kill`` (a signal, SIGKILL by
default) lead back to ``STOPPED``.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from harness.profiles import Profile
from harness.topology import Topology

Direction = Literal["both", "upstream", "downstream"]
CutMode = Literal["drop", "refuse"]
DbOutageMode = Literal["stop", "hang", "cut"]
# How the Docker backend cuts links: iptables rules in the nodes' network
# namespaces, or the link proxy (the local backend always uses the proxy).
CutsVia = Literal["iptables", "proxy"]


class NodeState(enum.Enum):
    STOPPED = "stopped"
    RUNNING = "running"
    PAUSED = "paused"


@runtime_checkable
class Backend(Protocol):
    name: str
    profile: Profile
    topology: Topology

    async def deploy(self) -> None:
        """Prepare network links, database and data dirs, then start every
        node and wait until each is ready."""

    async def start(self, node: str) -> None:
        """Start a stopped node and wait until its health endpoint answers
        (within the profile's start-up deadline; else ``NodeStartError``
        carrying the tail of its log)."""

    async def stop(self, node: str) -> int | None:
        """Graceful stop: SIGTERM, wait up to the profile's stop deadline, then
        SIGKILL. Returns the exit status (None if it was not running)."""

    async def kill(self, node: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the node's whole process group. For SIGKILL, returns
        once the node is gone."""

    async def pause(self, node: str) -> None:
        """Freeze the node (SIGSTOP): its sockets stay open, it makes no progress."""

    async def resume(self, node: str) -> None: ...

    async def restart(self, node: str) -> None:
        """``stop`` then ``start``."""

    def reconfigure(self, node: str, config: Mapping[str, Any]) -> None:
        """New node config for a stopped node, used from its next start."""

    async def wipe_state(self, node: str) -> None:
        """Delete the contents of the node's ``state/`` (the node must be stopped)."""

    def state(self, node: str) -> NodeState: ...

    def url(self, node: str) -> str:
        """Base URL for the harness's own clients, outside every partition."""

    def database_address(self) -> str:
        """``host:port`` of the database server itself, as a node would reach
        it without its link (ConfigError if the topology has none)."""

    def data_dir(self, node: str) -> Path:
        """The node's JS7-like data dir (``config/``, ``state/``, ``logs/``,
        an Agent's ``work/``) as a folder the harness can read, whichever
        backend runs the node."""

    def logs(self, node: str, tail: int | None = None) -> str:
        """The node's captured stdout/stderr (the last ``tail`` lines)."""

    async def healthy(self, node: str) -> str:
        """'' if the node answers its health endpoint now, else why not."""

    def ready_at(self, node: str) -> float | None:
        """When (``time.monotonic()``) the node's last start ended: its health
        endpoint answered — what a bound on what the node does after it is
        up measures from, without the start-up itself. None if not started."""

    async def cut(
        self, links: Sequence[str], direction: Direction = "both", mode: CutMode = "drop"
    ) -> None:
        """Cut links by name (``<from>--<to>``). ``upstream`` drops what the
        link's client sends, ``downstream`` what it receives."""

    async def heal(self, links: Sequence[str]) -> None:
        """Undo ``cut`` on these links; harmless on links that are not cut."""

    async def add_toxic(
        self,
        link: str,
        type: str,
        *,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, object] | None = None,
        toxic_name: str | None = None,
    ) -> str: ...

    async def remove_toxic(self, link: str, toxic_name: str) -> None: ...

    async def connection_counts(self) -> dict[str, int]:
        """Client connections accepted so far per link (proves which paths
        were used)."""

    async def outbound_connections(self, node: str) -> list[str]:
        """TCP connections the node's processes opened themselves (not the
        ones they accepted), as readable strings; [] when none."""

    async def db_outage_begin(self, mode: DbOutageMode) -> None:
        """Take the database away: ``stop`` (immediate shutdown), ``hang``
        (freeze the server), ``cut`` (cut every client link to it)."""

    async def db_outage_end(self, mode: DbOutageMode) -> None: ...

    async def teardown(self) -> None:
        """Stop everything this backend started, in reverse order; collect
        errors rather than stopping at the first. Safe to call twice."""
