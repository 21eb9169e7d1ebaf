"""The local backend: every node is an OS process on this machine.

Each node runs ``python -m <module> --data-dir DIR`` in its own process group,
with a JS7-like data dir ``DIR/{config,state,logs}`` under the test's work
folder and its stdout/stderr captured to ``DIR/logs/<role>.log``. Ports come
from ``harness.ports`` (race-free across xdist workers). Every link of the
topology is a proxy on the shared Toxiproxy-compatible server, and the
database is the worker's ``PostgresServer`` with a fresh database per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from harness import ports, procs
from harness.backends.base import NodeState
from harness.backends.nodes import NodeBackend, NodeRecord
from harness.backends.outages import DatabaseOutages
from harness.components import NodeContext, component
from harness.errors import BackendError, ConfigError, NodeStateError
from harness.netproxy.control import LinkControl
from harness.postgres import PostgresServer
from harness.profiles import Profile
from harness.topology import DATABASE_NODE, Topology

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


@dataclass
class _Node(NodeRecord):
    proc: subprocess.Popen[bytes] | None = None


class LocalBackend(DatabaseOutages, NodeBackend[_Node]):
    name = "local"

    def __init__(
        self,
        topology: Topology,
        profile: Profile,
        workdir: Path,
        links: LinkControl,
        postgres: PostgresServer | None = None,
    ) -> None:
        if topology.database is not None and postgres is None:
            raise ConfigError("the topology has a database but no PostgreSQL server was given")
        self.topology = topology
        self.profile = profile
        self.workdir = workdir
        self.links = links
        self.postgres = postgres
        self.dbname: str | None = None
        self._nodes: dict[str, _Node] = {}
        self._link_listen: dict[str, str] = {}
        self._ports: list[int] = []
        self._http: aiohttp.ClientSession | None = None
        self._torn_down = False

    # -- setup -----------------------------------------------------------

    async def deploy(self) -> None:
        topo = self.topology
        node_ports = ports.reserve(len(topo.nodes))
        link_ports = ports.reserve(len(topo.all_links)) if topo.all_links else []
        self._ports = node_ports + link_ports
        port_of = {n.name: p for n, p in zip(topo.nodes, node_ports, strict=True)}
        if topo.database is not None:
            assert self.postgres is not None
            self.dbname = f"t_{uuid.uuid4().hex[:12]}"
            await asyncio.to_thread(self.postgres.create_database, self.dbname)
            port_of[DATABASE_NODE] = self.postgres.port
        for link, lport in zip(topo.all_links, link_ports, strict=True):
            listen = await self.links.create(
                link.name, upstream=f"{HOST}:{port_of[link.target]}", listen=f"{HOST}:{lport}"
            )
            self._link_listen[link.name] = listen
        for node in topo.nodes:
            spec = component(node.role)
            data_dir = self.workdir / node.name
            for sub in ("config", "state", "logs"):
                (data_dir / sub).mkdir(parents=True, exist_ok=True)
            peers = {
                lk.target: self._link_listen[lk.name]
                for lk in topo.outgoing(node.name)
                if lk.target != DATABASE_NODE
            }
            db_url = None
            if topo.database is not None and node.name in topo.database.clients:
                assert self.postgres is not None and self.dbname is not None
                h, _, p = self._link_listen[f"{node.name}--{DATABASE_NODE}"].rpartition(":")
                db_url = self.postgres.url(self.dbname, host=h, port=int(p))
            ctx = NodeContext(
                node=node,
                topology=topo,
                profile=self.profile,
                data_dir=data_dir,
                host=HOST,
                port=port_of[node.name],
                peers=peers,
                database_url=db_url,
            )
            self._nodes[node.name] = _Node(spec, ctx, log_path=data_dir / "logs" / spec.log_file)
        await asyncio.gather(*(self.start(n.name) for n in topo.nodes))

    # -- node life cycle -------------------------------------------------

    async def start(self, node: str) -> None:
        n = self._begin_start(node)
        proc = n.proc = procs.spawn(
            n.spec.argv(sys.executable, n.ctx),
            log_path=n.log_path,
            cwd=n.ctx.data_dir,
            env={"PYTHONUNBUFFERED": "1", procs.NODE_ENV: self._node_label(node)},
        )

        async def exited() -> str | None:
            code = proc.poll()
            return None if code is None else f"process exited with status {code}"

        await self._await_ready(node, exited)

    async def _wait_exit(self, n: _Node, timeout: float) -> bool:
        assert n.proc is not None
        end = time.monotonic() + timeout
        while n.proc.poll() is None:
            if time.monotonic() >= end:
                return False
            await asyncio.sleep(min(0.01, self.profile.poll_interval))
        return True

    def _link_control(self) -> LinkControl:
        return self.links

    def _node_label(self, node: str) -> str:
        return str(self._node(node).ctx.data_dir)

    async def _reap(self, n: _Node) -> None:
        """After the leader exited, make sure nothing of the node lingers — its
        group, and processes that left the group but carry the node's label
        (a job in a session of its own) — then mark the node stopped."""
        assert n.proc is not None
        procs.signal_group(n.proc.pid, signal.SIGKILL)
        procs.kill_with(procs.NODE_ENV, str(n.ctx.data_dir))
        n.state = NodeState.STOPPED

    async def stop(self, node: str) -> int | None:
        n = self._node(node)
        if n.state is NodeState.STOPPED or n.proc is None:
            return None
        if n.state is NodeState.PAUSED:
            await self.resume(node)
        n.proc.send_signal(signal.SIGTERM)
        if not await self._wait_exit(n, self.profile.stop_deadline):
            log.warning("%s did not stop within %ss, killing it", node, self.profile.stop_deadline)
            procs.signal_group(n.proc.pid, signal.SIGKILL)
            await self._wait_exit(n, 10)
        await self._reap(n)
        return n.proc.returncode

    async def kill(self, node: str, sig: int = signal.SIGKILL) -> None:
        n = self._node(node)
        if n.state is NodeState.STOPPED or n.proc is None:
            raise NodeStateError(f"cannot signal {node}: it is stopped")
        procs.signal_group(n.proc.pid, sig)
        if sig == signal.SIGKILL:
            # A crash takes everything of the node, also what left its group.
            procs.kill_with(procs.NODE_ENV, self._node_label(node))
            if not await self._wait_exit(n, 10):
                raise BackendError(f"{node} survived SIGKILL for 10 s")
            await self._reap(n)
        elif sig == signal.SIGSTOP:
            # Signals are delivered asynchronously: return only once the
            # kernel reports the process stopped, so "paused" is true.
            end = time.monotonic() + 5
            while procs.proc_state(n.proc.pid) not in ("T", "t", None):
                if time.monotonic() > end:
                    raise BackendError(f"{node} did not stop on SIGSTOP within 5 s")
                await asyncio.sleep(0.005)
            n.state = NodeState.PAUSED
        elif sig == signal.SIGCONT:
            n.state = NodeState.RUNNING

    def state(self, node: str) -> NodeState:
        n = self._node(node)
        if n.state is not NodeState.STOPPED and n.proc is not None and n.proc.poll() is not None:
            n.state = NodeState.STOPPED  # it died on its own
        return n.state

    def pid(self, node: str) -> int | None:
        n = self._node(node)
        return n.proc.pid if n.proc is not None and n.proc.poll() is None else None

    def database_address(self) -> str:
        if self.postgres is None:
            raise ConfigError("this topology has no database")
        return f"{HOST}:{self.postgres.port}"

    def url(self, node: str) -> str:
        n = self._node(node)
        return f"http://{n.ctx.host}:{n.ctx.port}"

    # -- network ---------------------------------------------------------

    async def outbound_connections(self, node: str) -> list[str]:
        """TCP connections the node's processes (its jobs included) opened."""
        from harness import sockets

        pids = procs.processes_with(procs.NODE_ENV, self._node_label(node))
        return [str(c) for c in sockets.outbound(pids)]

    # -- database --------------------------------------------------------

    def _outage_database(self) -> PostgresServer | None:
        return self.postgres

    # -- teardown --------------------------------------------------------

    async def teardown(self) -> None:
        if self._torn_down:
            return
        self._torn_down = True
        errors: list[str] = []
        for name in reversed(list(self._nodes)):
            n = self._nodes[name]
            procs.kill_with(procs.NODE_ENV, str(n.ctx.data_dir))
            if n.proc is not None and n.proc.poll() is None:
                procs.signal_group(n.proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    await asyncio.to_thread(n.proc.wait, 10)
            n.state = NodeState.STOPPED
        for lk in reversed(list(self._link_listen)):
            try:
                await self.links.delete(lk)
            except Exception as exc:  # noqa: BLE001 - every resource gets its turn
                errors.append(f"link {lk}: {exc}")
        if self.postgres is not None and self.dbname is not None:
            try:
                if self.postgres.paused:
                    self.postgres.resume()
                if not self.postgres.running:
                    await asyncio.to_thread(self.postgres.start)
                await asyncio.to_thread(self.postgres.drop_database, self.dbname)
            except Exception as exc:  # noqa: BLE001
                errors.append(f"database {self.dbname}: {exc}")
        if self._http is not None:
            await self._http.close()
        ports.release(self._ports)
        if errors:
            raise BackendError("teardown incomplete: " + "; ".join(errors))

    def env_info(self) -> dict[str, str]:
        return {"backend": self.name, "python": sys.version.split()[0], "pid": str(os.getpid())}
