"""The node life cycle that every backend shares: the bookkeeping of a node,
the start-up wait on its health endpoint, pause/resume/restart on top of the
backend's own signals, reconfiguration, wiped state, logs.

A backend subclasses ``NodeBackend``, keeps its nodes (subclasses of
``NodeRecord``) in ``_nodes`` and provides what differs: how a node's
process or container is started (``start``, ending in ``_await_ready``), how
it is signalled (``kill``, ``stop``), and how its state is read (``state``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiohttp

from harness.backends.base import NodeState
from harness.backends.links import ProxiedLinks
from harness.components import ComponentSpec, NodeContext
from harness.errors import ConfigError, NodeStartError, NodeStateError
from harness.profiles import Profile
from harness.topology import Node, Topology


@dataclass
class NodeRecord:
    spec: ComponentSpec
    ctx: NodeContext  # the harness's view: data_dir is a folder on this host
    state: NodeState = NodeState.STOPPED
    starts: int = 0
    log_path: Path = field(default_factory=Path)
    ready_at: float | None = None  # time.monotonic() when the last start ended


R = TypeVar("R", bound=NodeRecord)


class NodeBackend(ProxiedLinks, Generic[R]):
    topology: Topology
    profile: Profile
    _nodes: dict[str, R]
    _http: aiohttp.ClientSession | None

    # -- what each backend provides ---------------------------------------

    def state(self, node: str) -> NodeState:
        raise NotImplementedError

    def url(self, node: str) -> str:
        raise NotImplementedError

    async def kill(self, node: str, sig: int = signal.SIGKILL) -> None:
        raise NotImplementedError

    async def start(self, node: str) -> None:
        raise NotImplementedError

    async def stop(self, node: str) -> int | None:
        raise NotImplementedError

    async def _current_state(self, node: str) -> NodeState:
        """``state`` for async callers (a backend whose ``state`` blocks runs
        it in a thread)."""
        return self.state(node)

    # -- shared ------------------------------------------------------------

    def _http_session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            timeout = aiohttp.ClientTimeout(total=min(2.0, self.profile.op_timeout))
            self._http = aiohttp.ClientSession(timeout=timeout)
        return self._http

    def _node(self, name: str) -> R:
        try:
            return self._nodes[name]
        except KeyError:
            raise ConfigError(f"no node {name!r} in this deployment") from None

    def _begin_start(self, node: str) -> R:
        """Checks and bookkeeping before a start: the node must be stopped;
        its config is (re)written, and its log marks the start."""
        n = self._node(node)
        if self.state(node) is not NodeState.STOPPED:
            raise NodeStateError(f"cannot start {node}: it is {n.state.value}")
        n.spec.write_config(n.ctx)
        n.ctx.state_dir.mkdir(parents=True, exist_ok=True)
        n.starts += 1
        with n.log_path.open("ab") as f:
            f.write(f"--- js7ha: start #{n.starts} of {node} at {time.time():.3f} ---\n".encode())
        return n

    async def _await_ready(self, node: str, exited: Callable[[], Awaitable[str | None]]) -> None:
        """Wait for the health endpoint within the start-up deadline.
        ``exited()`` says why the node is gone ("process exited with status
        1"), or None while it runs; either ends the wait in ``NodeStartError``
        with the tail of the node's log."""
        n = self._node(node)
        n.state = NodeState.RUNNING
        deadline = time.monotonic() + self.profile.startup_deadline
        why = "not probed yet"
        while time.monotonic() < deadline:
            gone = await exited()
            if gone is not None:
                n.state = NodeState.STOPPED
                raise NodeStartError(node, gone, self.logs(node, tail=40))
            why = await self.healthy(node)
            if not why:
                n.ready_at = time.monotonic()
                return
            await asyncio.sleep(self.profile.poll_interval)
        raise NodeStartError(
            node,
            f"health endpoint did not answer within {self.profile.startup_deadline}s (last: {why})",
            self.logs(node, tail=40),
        )

    async def healthy(self, node: str) -> str:
        n = self._node(node)
        st = await self._current_state(node)
        if st is not NodeState.RUNNING:
            return st.value
        try:
            async with self._http_session().get(self.url(node) + n.spec.health_path) as resp:
                if resp.status == 200:
                    return ""
                return f"health answered HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"{type(exc).__name__}: {exc}".strip(": ")

    async def pause(self, node: str) -> None:
        st = self.state(node)
        if st is not NodeState.RUNNING:
            raise NodeStateError(f"cannot pause {node}: it is {st.value}")
        await self.kill(node, signal.SIGSTOP)

    async def resume(self, node: str) -> None:
        st = self.state(node)
        if st is not NodeState.PAUSED:
            raise NodeStateError(f"cannot resume {node}: it is {st.value}")
        await self.kill(node, signal.SIGCONT)

    async def restart(self, node: str) -> None:
        await self.stop(node)
        await self.start(node)

    def reconfigure(self, node: str, config: Mapping[str, Any]) -> None:
        """Give a stopped node new node config (an operator editing its config
        files); it takes effect at the next start."""
        n = self._node(node)
        st = self.state(node)
        if st is not NodeState.STOPPED:
            raise NodeStateError(f"cannot reconfigure {node} while it is {st.value}")
        n.ctx = dataclasses.replace(n.ctx, node=Node(n.ctx.node.name, n.ctx.node.role, config))

    async def wipe_state(self, node: str) -> None:
        n = self._node(node)
        st = self.state(node)
        if st is not NodeState.STOPPED:
            raise NodeStateError(f"cannot wipe {node}'s state while it is {st.value}")
        state = n.ctx.state_dir
        if state.exists():
            for entry in state.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()

    def data_dir(self, node: str) -> Path:
        return self._node(node).ctx.data_dir

    def ready_at(self, node: str) -> float | None:
        return self._node(node).ready_at

    def logs(self, node: str, tail: int | None = None) -> str:
        if node not in self._nodes:
            self.topology.node(node)  # ConfigError for a name outside the topology
            return ""  # deploy failed before preparing this node: it never ran
        try:
            text = self._nodes[node].log_path.read_text(errors="replace")
        except OSError:
            return ""
        if tail is None:
            return text
        return "\n".join(text.splitlines()[-tail:])
