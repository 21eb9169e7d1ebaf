"""``DockerBackend``: every node is a container of the project image.

Mirrors ``harness.backends.local`` operation for operation, so faults and
suites cannot tell the two apart:

* one Docker network per deployment; each node is a container on it with the
  node's name as network alias, running ``python -m <module> --data-dir
  /data/<node>`` (under ``docker-init``) with the JS7-like data dir
  ``/data/<node>/{config,state,logs}`` bind-mounted from the test's work
  folder. The role's ``write_config`` writes the config files on the host
  before every start, with ``NodeContext.host`` = ``0.0.0.0`` and the peers
  being link proxy addresses. stdout/stderr go to ``logs/<role>.log`` in the
  data dir, so logs read the same as with the local backend and outlive the
  container.
* every link ``<from>--<to>`` is a proxy on a Toxiproxy-compatible server
  (``python -m harness.netproxy``) in its own container, alias ``netproxy``,
  listening on a port of its own; peers are configured as
  ``netproxy:<port>``. The harness drives the server through its API port,
  published on 127.0.0.1, with ``LinkControl``.
* PostgreSQL runs in its own container of the same image (alias
  ``postgres``, ``js7ha-pg-start``); clients reach it through their
  ``<node>--postgres`` links; the harness creates the test's database
  through a published port.
* The harness's own clients reach each node through a port published on
  127.0.0.1 (reserved with ``harness.ports``, so it stays the same across
  restarts): outside every partition.

Containers are started through testcontainers' ``DockerContainer`` (Ryuk
off: it cannot be pulled here; ``containers``), the rest is docker-py.

Faults: ``kill`` is ``docker kill --signal`` (docker-init forwards the
signal to the component; SIGKILL ends the container, and with it every
process of the node), except SIGSTOP/SIGCONT, which go to every process of
the container but its init (``signals``); ``pause`` is ``docker pause`` (the cgroup
freezer: the sockets stay open, nothing runs); ``stop`` is SIGTERM, the
profile's stop deadline, then SIGKILL; ``wipe_state`` empties the
bind-mounted ``state/`` while the container is stopped. Links are cut by
iptables rules in the source node's network namespace (``iptables``; the
nodes run with NET_ADMIN), or with ``cuts="proxy"`` in the link proxy;
``disconnect`` takes a node off the network. Database outages: ``stop``
sends SIGQUIT (immediate shutdown) to the PostgreSQL container, ``hang``
pauses it, ``cut`` cuts every client link.

Clean-up (``labels``): every container and network carries the labels
``js7ha.session`` (``harness.procs.session_id()``), ``js7ha.owner`` (the
owning harness process, ``<pid>:<start time>``) and ``js7ha.deployment``.
``teardown`` removes what carries its deployment's label; ``sweep`` (run at
every deploy) removes what belongs to an owner that is dead;
``remove_session`` removes a whole session (for the session's end).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from harness import ports, procs
from harness.backends.base import CutMode, CutsVia, Direction, NodeState
from harness.backends.docker import connections, containers, iptables, linkproxy, netfilter
from harness.backends.docker import signals as node_signals
from harness.backends.docker.containers import HOST, Containers
from harness.backends.docker.database import PG_PORT, PG_USER, PostgresContainer, start_postgres
from harness.backends.docker.iptables import NETFILTER_FILE, LinkCuts
from harness.backends.docker.labels import (
    DEPLOYMENT_LABEL,
    _docker,
    _labels,
    remove_labelled,
    sweep,
)
from harness.backends.docker.linkproxy import NODE_PORT
from harness.backends.nodes import NodeBackend, NodeRecord
from harness.backends.outages import DatabaseOutages
from harness.components import NodeContext, component
from harness.errors import BackendError, ConfigError, NodeStateError
from harness.netproxy.control import LinkControl
from harness.profiles import Profile
from harness.topology import DATABASE_NODE, Node, Topology

log = logging.getLogger(__name__)

DATA_ROOT = Path("/data")
KILL_WAIT = 10.0  # seconds a SIGKILLed container may take to end


@dataclass
class _Node(NodeRecord):
    host_port: int = 0
    container: Any = None
    disconnected: bool = False
    paused_by: str = ""  # "freezer" (pause) or "sigstop" (kill with SIGSTOP)

    @property
    def inner_dir(self) -> Path:
        return DATA_ROOT / self.ctx.node.name


class DockerBackend(DatabaseOutages, NodeBackend[_Node]):
    name = "docker"

    def __init__(
        self,
        topology: Topology,
        profile: Profile,
        workdir: Path,
        image: str | None = None,
        cuts: CutsVia = "iptables",
    ) -> None:
        if cuts not in ("iptables", "proxy"):
            raise ConfigError(f"cuts: {cuts!r} is neither 'iptables' nor 'proxy'")
        self.topology = topology
        self.cuts_via: CutsVia = cuts
        self.profile = profile
        self.workdir = workdir
        self.image = image
        self.deployment = uuid.uuid4().hex[:12]
        self.network_name = f"js7ha-{self.deployment}"
        self.links: LinkControl | None = None
        self.dbname: str | None = None
        self._client: Any = None
        self._engine: Containers | None = None
        self._network: Any = None
        self._proxy: Any = None
        self._pg: PostgresContainer | None = None
        self._nodes: dict[str, _Node] = {}
        self._link_listen: dict[str, str] = {}
        self._cuts = LinkCuts()
        self._ports: list[int] = []
        self._http: aiohttp.ClientSession | None = None
        self._torn_down = False

    # -- helpers ---------------------------------------------------------

    def _docker(self) -> Any:
        if self._client is None:
            self._client = _docker()
        return self._client

    def _containers(self) -> Containers:
        if self._engine is None:
            raise BackendError("the deployment has no network (deploy first)")
        return self._engine

    def _link_control(self) -> LinkControl:
        if self.links is None:
            raise BackendError("the deployment has no link proxy (deploy first)")
        return self.links

    def _infra_deadline(self, floor: float) -> float:
        """How long the proxy or the database may take to come up: the
        profile's start-up deadline, but never less than ``floor`` (an image
        starting cold on a loaded machine)."""
        return max(floor, self.profile.startup_deadline)

    # -- setup -----------------------------------------------------------

    async def deploy(self) -> None:
        from harness import images

        topo = self.topology
        swept = await asyncio.to_thread(sweep)
        if swept:
            log.info("swept leftovers of dead owners: %s", ", ".join(swept))
        if self.image is None:
            self.image = await asyncio.to_thread(images.ensure_image)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Tells this process's reaper to remove our containers if we die.
        (procs.temp_root() / procs.DOCKER_MARKER).touch()
        has_db = topo.database is not None
        self._ports = ports.reserve(len(topo.nodes) + 1 + int(has_db))
        node_ports = self._ports[: len(topo.nodes)]
        api_port = self._ports[len(topo.nodes)]
        labels = _labels(self.deployment, "network")
        self._network = await asyncio.to_thread(
            self._docker().networks.create, self.network_name, driver="bridge", labels=labels
        )
        self._engine = Containers(
            self._docker(), self.image or "", self.deployment, self.network_name
        )
        # The link proxy server and the database come up side by side.
        await asyncio.gather(self._start_proxy(api_port), self._start_database(has_db))
        self._cuts.ports = await linkproxy.create_links(self._link_control(), topo.all_links)
        for lk, port in self._cuts.ports.items():
            self._link_listen[lk] = linkproxy.address(port)
        for node, host_port in zip(topo.nodes, node_ports, strict=True):
            self._prepare(node, host_port)
        await asyncio.gather(*(self.start(n.name) for n in topo.nodes))

    async def _start_proxy(self, api_port: int) -> None:
        proxy = await linkproxy.start_link_proxy(
            self._containers(), api_port, self._http_session(), self._infra_deadline(30.0)
        )
        self._proxy, self.links, self._cuts.proxy_ip = proxy.container, proxy.control, proxy.ip

    async def _start_database(self, has_db: bool) -> None:
        if not has_db:
            return
        self._pg = await start_postgres(
            self._containers(), self._ports[-1], self._infra_deadline(60.0)
        )
        self.dbname = f"t_{uuid.uuid4().hex[:12]}"
        await asyncio.to_thread(self._pg.create_database, self.dbname)

    def _prepare(self, node: Node, host_port: int) -> None:
        topo = self.topology
        spec = component(node.role)
        data_dir = self.workdir / node.name
        for sub in ("config", "state", "logs"):
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
        (data_dir / NETFILTER_FILE).parent.mkdir(exist_ok=True)
        peers = {
            lk.target: self._link_listen[lk.name]
            for lk in topo.outgoing(node.name)
            if lk.target != DATABASE_NODE
        }
        db_url = None
        if topo.database is not None and node.name in topo.database.clients:
            assert self.dbname is not None
            db_url = (
                f"postgresql://{PG_USER}@{self._link_listen[f'{node.name}--{DATABASE_NODE}']}"
                f"/{self.dbname}?application_name=js7ha"
            )
        ctx = NodeContext(
            node=node,
            topology=topo,
            profile=self.profile,
            data_dir=data_dir,
            host="0.0.0.0",
            port=NODE_PORT,
            peers=peers,
            database_url=db_url,
        )
        self._nodes[node.name] = _Node(
            spec, ctx, log_path=data_dir / "logs" / spec.log_file, host_port=host_port
        )
        self._cuts.write(node.name, data_dir)

    # -- node life cycle -------------------------------------------------

    async def start(self, node: str) -> None:
        if self._node(node).disconnected:
            # Its health could not be checked, nor could it reach anything.
            raise NodeStateError(f"cannot start {node} while it is off the network")
        n = self._begin_start(node)
        if n.container is None:
            inner = dataclasses.replace(n.ctx, data_dir=n.inner_dir)
            argv = n.spec.argv("python", inner)
            log_file = n.inner_dir / "logs" / n.spec.log_file
            # With iptables cuts the entry installs the node's rules (the
            # current cuts, from its data dir) before the component runs.
            entry = 'exec >>"$JS7HA_LOG" 2>&1; '
            if self.cuts_via == "iptables":
                entry += netfilter.ENTRY + "; "
            n.container = await self._containers().run(
                node,
                ["/bin/sh", "-c", entry + 'exec "$@"', "js7ha-node", *argv],
                alias=node,
                published={NODE_PORT: n.host_port},
                binds={str(n.ctx.data_dir.resolve()): str(n.inner_dir)},
                cap_add=["NET_ADMIN"] if self.cuts_via == "iptables" else (),
                env={
                    "JS7HA_NETFILTER": str(n.inner_dir / NETFILTER_FILE),
                    "JS7HA_LOG": str(log_file),
                    "PYTHONUNBUFFERED": "1",
                    procs.NODE_ENV: str(n.inner_dir),
                    procs.SESSION_ENV: procs.session_id(),
                },
            )
        else:
            await asyncio.to_thread(n.container.start)
        container = n.container

        async def exited() -> str | None:
            await asyncio.to_thread(container.reload)
            if container.status not in ("exited", "dead"):
                return None
            return f"container exited with status {container.attrs['State'].get('ExitCode')}"

        await self._await_ready(node, exited)

    async def _wait_stopped(self, n: _Node, timeout: float) -> int | None:
        gone, code = await containers.wait_exit(n.container, timeout)
        if not gone:
            return None
        n.state = NodeState.STOPPED
        return code

    async def _wait_killed(self, n: _Node) -> int | None:
        """After SIGKILL: a crash takes the whole container, every process of
        the node; it must end promptly."""
        code = await self._wait_stopped(n, KILL_WAIT)
        if n.state is not NodeState.STOPPED:
            raise BackendError(f"{n.ctx.node.name} survived SIGKILL for {KILL_WAIT:g} s")
        return code

    async def stop(self, node: str) -> int | None:
        n = self._node(node)
        if self.state(node) is NodeState.STOPPED or n.container is None:
            return None
        if n.state is NodeState.PAUSED:
            await self.resume(node)
        await asyncio.to_thread(n.container.kill, "SIGTERM")
        code = await self._wait_stopped(n, self.profile.stop_deadline)
        if n.state is not NodeState.STOPPED:
            log.warning("%s did not stop within %ss, killing it", node, self.profile.stop_deadline)
            with contextlib.suppress(Exception):  # it may have ended meanwhile
                await asyncio.to_thread(n.container.kill, "SIGKILL")
            code = await self._wait_killed(n)
        return code

    async def kill(self, node: str, sig: int = signal.SIGKILL) -> None:
        n = self._node(node)
        if self.state(node) is NodeState.STOPPED or n.container is None:
            raise NodeStateError(f"cannot signal {node}: it is stopped")
        if sig == signal.SIGSTOP:
            if n.state is NodeState.PAUSED:
                return
            await node_signals.stop_all(n.container, node)
            n.state, n.paused_by = NodeState.PAUSED, "sigstop"
            return
        if sig == signal.SIGCONT:
            if n.state is NodeState.PAUSED:
                await self.resume(node)
            return
        if n.state is NodeState.PAUSED and sig != signal.SIGKILL:
            raise NodeStateError(f"cannot deliver {signal.Signals(sig).name} to paused {node}")
        await asyncio.to_thread(n.container.kill, signal.Signals(sig).name)
        if sig == signal.SIGKILL:
            await self._wait_killed(n)

    async def pause(self, node: str) -> None:
        """The cgroup freezer (``docker pause``): returns once the whole
        container is frozen; sockets stay open, nothing runs."""
        n = self._node(node)
        st = self.state(node)
        if st is not NodeState.RUNNING:
            raise NodeStateError(f"cannot pause {node}: it is {st.value}")
        await asyncio.to_thread(n.container.pause)
        n.state, n.paused_by = NodeState.PAUSED, "freezer"

    async def resume(self, node: str) -> None:
        n = self._node(node)
        st = self.state(node)
        if st is not NodeState.PAUSED:
            raise NodeStateError(f"cannot resume {node}: it is {st.value}")
        if n.paused_by == "freezer":
            await asyncio.to_thread(n.container.unpause)
        else:
            await node_signals.continue_all(n.container, node)
        n.state, n.paused_by = NodeState.RUNNING, ""

    def state(self, node: str) -> NodeState:
        n = self._node(node)
        if n.state is not NodeState.STOPPED and n.container is not None:
            try:
                n.container.reload()
            except Exception:  # noqa: BLE001 - the container is gone
                n.state = NodeState.STOPPED
                return n.state
            if n.container.status in containers.GONE:
                n.state = NodeState.STOPPED  # it died on its own
        return n.state

    def container_id(self, node: str) -> str | None:
        c = self._node(node).container
        return str(c.id) if c is not None else None

    def database_address(self) -> str:
        if self._pg is None:
            raise ConfigError("this topology has no database")
        return f"{DATABASE_NODE}:{PG_PORT}"

    def url(self, node: str) -> str:
        return f"http://{HOST}:{self._node(node).host_port}"

    def infra_logs(self) -> dict[str, str]:
        """The proxy server's and PostgreSQL's container logs."""
        out: dict[str, str] = {}
        pg = self._pg.container if self._pg is not None else None
        for name, c in (("netproxy", self._proxy), (DATABASE_NODE, pg)):
            if c is not None:
                with contextlib.suppress(Exception):
                    out[name] = containers.logs(c)
        return out

    async def _current_state(self, node: str) -> NodeState:
        return await asyncio.to_thread(self.state, node)  # reloads the container

    # -- network ---------------------------------------------------------

    async def outbound_connections(self, node: str) -> list[str]:
        """TCP connections the node's processes (its jobs included) opened."""
        n = self._node(node)
        if self.state(node) is not NodeState.RUNNING or n.container is None:
            return []
        return await connections.outbound(
            n.container, node, lambda: self.state(node) is NodeState.RUNNING
        )

    # -- whole-node disconnection ------------------------------------------

    async def disconnect(self, node: str) -> None:
        """Take the node's container off the deployment's network: no peer,
        and not the harness either, reaches it (its published port goes with
        the network); it reaches nothing."""
        n = self._node(node)
        if self.state(node) is NodeState.STOPPED or n.container is None:
            raise NodeStateError(f"cannot disconnect {node}: it is stopped")
        if n.disconnected:
            return
        await asyncio.to_thread(self._network.disconnect, n.container)
        n.disconnected = True

    async def reconnect(self, node: str) -> None:
        """Connect it again under its name (the published port comes back)."""
        n = self._node(node)
        if not n.disconnected:
            return
        await asyncio.to_thread(self._network.connect, n.container, aliases=[node])
        n.disconnected = False

    # -- link cuts -------------------------------------------------------

    async def cut(
        self, links: Sequence[str], direction: Direction = "both", mode: CutMode = "drop"
    ) -> None:
        if self.cuts_via == "proxy":
            await super().cut(links, direction, mode)
            return
        self._check_links(links)
        await self._apply_cuts(self._cuts.cut(links, direction, mode))

    async def heal(self, links: Sequence[str]) -> None:
        if self.cuts_via == "proxy":
            await super().heal(links)
            return
        self._check_links(links)
        await self._apply_cuts(self._cuts.heal(links))

    async def _apply_cuts(self, nodes: set[str]) -> None:
        """Make each node's rule set match the cuts: the file always (a
        stopped node applies it at its start), the kernel now if it runs."""

        def apply(node: str) -> None:
            n = self._nodes[node]
            self._cuts.write(node, n.ctx.data_dir)
            st = self.state(node)
            if st is NodeState.STOPPED or n.container is None:
                return
            iptables.apply(
                self._containers(),
                n.container,
                running=st is NodeState.RUNNING,
                data_dir=n.ctx.data_dir,
                inner_dir=n.inner_dir,
                node=node,
            )

        await asyncio.gather(*(asyncio.to_thread(apply, n) for n in sorted(nodes)))

    # -- database outages ----------------------------------------------------

    def _outage_database(self) -> PostgresContainer | None:
        return self._pg

    # -- teardown --------------------------------------------------------

    async def teardown(self) -> None:
        if self._torn_down:
            return
        self._torn_down = True
        errors: list[str] = []
        for name in reversed(list(self._nodes)):
            n = self._nodes[name]
            if n.container is not None:
                try:
                    await asyncio.to_thread(n.container.remove, force=True, v=True)
                except Exception as exc:  # noqa: BLE001 - every resource gets its turn
                    if "No such container" not in str(exc):
                        errors.append(f"node {name}: {exc}")
            n.state = NodeState.STOPPED
        infra = self.workdir / "_infra"
        with contextlib.suppress(OSError):
            for name, text in self.infra_logs().items():
                infra.mkdir(parents=True, exist_ok=True)
                (infra / f"{name}.log").write_text(text)
        try:
            # Whatever else carries the deployment's label, then its network.
            await asyncio.to_thread(
                remove_labelled, DEPLOYMENT_LABEL, self.deployment, self._client
            )
        except Exception as exc:  # noqa: BLE001
            errors.append(f"deployment {self.deployment}: {exc}")
        if self._http is not None:
            await self._http.close()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
        ports.release(self._ports)
        if errors:
            raise BackendError("teardown incomplete: " + "; ".join(errors))

    def env_info(self) -> dict[str, str]:
        return {
            "backend": self.name,
            "image": self.image or "",
            "python": sys.version.split()[0],
            "network": self.network_name,
        }
