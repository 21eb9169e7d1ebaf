"""The Docker backend: every node is a container of the project image.

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
off: it cannot be pulled here), the rest is docker-py.

Faults: ``kill`` is ``docker kill --signal`` (docker-init forwards the
signal to the component; SIGKILL ends the container, and with it every
process of the node), except SIGSTOP/SIGCONT, which go to every process of
the container but its init; ``pause`` is ``docker pause`` (the cgroup
freezer: the sockets stay open, nothing runs); ``stop`` is SIGTERM, the
profile's stop deadline, then SIGKILL; ``wipe_state`` empties the
bind-mounted ``state/`` while the container is stopped. Links are cut by
iptables rules in the source node's network namespace (``netfilter``; the
nodes run with NET_ADMIN), or with ``cuts="proxy"`` in the link proxy;
``disconnect`` takes a node off the network. Database outages: ``stop``
sends SIGQUIT (immediate shutdown) to the PostgreSQL container, ``hang``
pauses it, ``cut`` cuts every client link.

Clean-up: every container and network carries the labels
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
import os
import signal
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from harness import ports, procs
from harness.backends import netfilter
from harness.backends.base import CutMode, CutsVia, DbOutageMode, Direction, NodeState
from harness.backends.docker_labels import (
    DEPLOYMENT_LABEL,
    _docker,
    _labels,
    remove_labelled,
    sweep,
)
from harness.backends.nodes import NodeBackend, NodeRecord
from harness.components import NodeContext, component
from harness.errors import (
    BackendError,
    ConfigError,
    NodeStateError,
    PostgresError,
)
from harness.netproxy.control import LinkControl, ProxyServer
from harness.profiles import Profile
from harness.topology import DATABASE_NODE, Node, Topology

log = logging.getLogger(__name__)

# testcontainers' Ryuk cannot be pulled where no registry is reachable (this
# project's machines); our labels, teardown, reaper and sweeps do its job. An
# explicit setting (a machine with a registry) is left as it is.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

HOST = "127.0.0.1"
NODE_PORT = 4444
PROXY_ALIAS = "netproxy"
PROXY_API_PORT = 8474
LINK_PORT_BASE = 20000
PG_PORT = 5432
PG_USER = "js7ha"
DATA_ROOT = Path("/data")
NETFILTER_FILE = Path(".js7ha") / "netfilter.rules"  # in a node's data dir

_OUTBOUND_SNIPPET = (
    "import os\n"
    "from harness import sockets\n"
    "me = os.getpid()\n"
    "pids = [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != me]\n"
    "for c in sockets.outbound(pids): print(c)\n"
)


def _host_init_pid(container: Any) -> int | None:
    """The host pid of the container's init, when this host's /proc shows
    it (the engine runs here); None when the engine runs elsewhere and the
    pid means nothing, or something else, here."""
    pid = int(container.attrs["State"].get("Pid") or 0)
    try:
        if pid and str(container.id) in Path(f"/proc/{pid}/cgroup").read_text():
            return pid
    except OSError:
        pass
    return None


@dataclass
class _Node(NodeRecord):
    host_port: int = 0
    container: Any = None
    disconnected: bool = False
    paused_by: str = ""  # "freezer" (pause) or "sigstop" (kill with SIGSTOP)

    @property
    def inner_dir(self) -> Path:
        return DATA_ROOT / self.ctx.node.name


class DockerBackend(NodeBackend[_Node]):
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
        self._network: Any = None
        self._proxy: Any = None
        self._pg: Any = None
        self._pg_port = 0
        self._pg_paused = False
        self._nodes: dict[str, _Node] = {}
        self._link_listen: dict[str, str] = {}
        self._link_port: dict[str, int] = {}
        self._proxy_ip = ""
        self._cuts: dict[str, netfilter.Cut] = {}
        self._ports: list[int] = []
        self._http: aiohttp.ClientSession | None = None
        self._torn_down = False

    # -- helpers ---------------------------------------------------------

    def _docker(self) -> Any:
        if self._client is None:
            self._client = _docker()
        return self._client

    def _link_control(self) -> LinkControl:
        if self.links is None:
            raise BackendError("the deployment has no link proxy (deploy first)")
        return self.links

    async def _run_container(
        self,
        role: str,
        command: list[str],
        *,
        alias: str,
        published: Mapping[int, int],
        binds: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        cap_add: Sequence[str] = (),
    ) -> Any:
        """Start a labelled container on the deployment's network, reachable
        there as ``alias``; ``published`` maps container ports to ports on
        127.0.0.1. Through testcontainers' ``DockerContainer`` (with Ryuk
        disabled: our labels, teardown, reaper and sweeps do its job); the
        docker-py container it wraps is returned for the rest."""
        from docker.types import EndpointConfig
        from testcontainers.core.container import DockerContainer

        tc = (
            DockerContainer(self.image or "")
            .with_command(command)
            .with_name(f"js7ha-{self.deployment}-{alias}")
            .with_envs(**dict(env or {}))
            .with_kwargs(
                hostname=alias,
                labels=_labels(self.deployment, role),
                init=True,
                cap_add=list(cap_add) or None,
                network=self.network_name,
                networking_config={
                    self.network_name: EndpointConfig(
                        self._docker().api.api_version, aliases=[alias]
                    )
                },
            )
        )
        for port, host_port in published.items():
            # Published on loopback only. with_bind_ports takes no host
            # address; its port map goes to docker-py as is, which does.
            tc.ports[f"{port}/tcp"] = (HOST, host_port)  # type: ignore[assignment]
        for src, dst in (binds or {}).items():
            tc.with_volume_mapping(src, dst, "rw")

        def run() -> Any:
            return tc.start().get_wrapped_container()

        return await asyncio.to_thread(run)

    async def _wait_http(self, url: str, what: str, container: Any) -> None:
        deadline = time.monotonic() + max(30.0, self.profile.startup_deadline)
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                async with self._http_session().get(url) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            await asyncio.to_thread(container.reload)
            if container.status == "exited":
                last = "its container exited"
                break
            await asyncio.sleep(0.05)
        logs = (await asyncio.to_thread(container.logs, tail=40)).decode(errors="replace")
        raise BackendError(f"{what} not ready at {url}: {last}\n{logs}")

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
        # The link proxy server and the database come up side by side.
        await asyncio.gather(self._start_proxy(api_port), self._start_database(has_db))
        # One proxy per link, each on a port of its own.
        for i, lk in enumerate(topo.all_links):
            port = LINK_PORT_BASE + i
            upstream = f"{DATABASE_NODE}:{PG_PORT}" if lk.target == DATABASE_NODE else None
            await self._link_control().create(
                lk.name, upstream=upstream or f"{lk.target}:{NODE_PORT}", listen=f"0.0.0.0:{port}"
            )
            self._link_listen[lk.name] = f"{PROXY_ALIAS}:{port}"
            self._link_port[lk.name] = port
        for node, host_port in zip(topo.nodes, node_ports, strict=True):
            self._prepare(node, host_port)
        await asyncio.gather(*(self.start(n.name) for n in topo.nodes))

    async def _start_proxy(self, api_port: int) -> None:
        self._proxy = await self._run_container(
            "netproxy",
            [
                "python",
                "-m",
                "harness.netproxy",
                "--host",
                "0.0.0.0",
                "--port",
                str(PROXY_API_PORT),
            ],
            alias=PROXY_ALIAS,
            published={PROXY_API_PORT: api_port},
        )
        await self._wait_http(f"http://{HOST}:{api_port}/version", "the link proxy", self._proxy)
        self.links = LinkControl(ProxyServer(url=f"http://{HOST}:{api_port}"))
        await asyncio.to_thread(self._proxy.reload)
        networks = self._proxy.attrs["NetworkSettings"]["Networks"]
        self._proxy_ip = networks[self.network_name]["IPAddress"]

    async def _start_database(self, has_db: bool) -> None:
        if not has_db:
            return
        self._pg_port = self._ports[-1]
        self._pg = await self._run_container(
            "postgres",
            ["js7ha-pg-start"],
            alias=DATABASE_NODE,
            published={PG_PORT: self._pg_port},
        )
        self.dbname = f"t_{uuid.uuid4().hex[:12]}"
        await asyncio.to_thread(self._pg_wait_ready)
        await asyncio.to_thread(self._pg_create_database, self.dbname)

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
        self._write_netfilter(node.name)

    # -- database --------------------------------------------------------

    def _pg_admin_url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@{HOST}:{self._pg_port}/{dbname}?application_name=js7ha"

    def _pg_wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + max(60.0, self.profile.startup_deadline)
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self._pg_admin_url(), connect_timeout=2, autocommit=True) as c:
                    c.execute("SELECT 1")
                return
            except psycopg.Error as exc:
                last = exc
            self._pg.reload()
            if self._pg.status == "exited":
                break
            time.sleep(0.1)
        logs = self._pg.logs(tail=30).decode(errors="replace")
        raise PostgresError(f"postgres container not ready: {last}\n{logs}")

    def _pg_create_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self._pg_admin_url(), autocommit=True, connect_timeout=10) as c:
            c.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))

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
            n.container = await self._run_container(
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
        def wait() -> int | None:
            try:
                return int(n.container.wait(timeout=timeout)["StatusCode"])
            except Exception:  # noqa: BLE001 - requests' timeout, or the engine's
                return None

        code = await asyncio.to_thread(wait)
        await asyncio.to_thread(n.container.reload)
        if n.container.status not in ("exited", "dead", "created"):
            return None
        n.state = NodeState.STOPPED
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
            with contextlib.suppress(Exception):
                await asyncio.to_thread(n.container.kill, "SIGKILL")
            code = await self._wait_stopped(n, 10)
            if self._node(node).state is not NodeState.STOPPED:
                raise BackendError(f"{node} survived SIGKILL for 10 s")
        return code

    async def kill(self, node: str, sig: int = signal.SIGKILL) -> None:
        n = self._node(node)
        if self.state(node) is NodeState.STOPPED or n.container is None:
            raise NodeStateError(f"cannot signal {node}: it is stopped")
        if sig == signal.SIGSTOP:
            # A real SIGSTOP to every process of the node but the container's
            # init (kill(-1) spares the caller and pid 1): unlike the freezer,
            # the processes' parents and /proc see them stopped.
            if n.state is NodeState.PAUSED:
                return
            await self._exec_checked(node, ["sh", "-c", "kill -STOP -1"])
            await self._wait_all_stopped(n)
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
            # A crash takes the whole container: every process of the node.
            await self._wait_stopped(n, 10)
            if n.state is not NodeState.STOPPED:
                raise BackendError(f"{node} survived SIGKILL for 10 s")

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
            await self._exec_checked(node, ["sh", "-c", "kill -CONT -1"])
        n.state, n.paused_by = NodeState.RUNNING, ""

    async def _exec_checked(self, node: str, argv: list[str]) -> str:
        n = self._node(node)
        code, out = await asyncio.to_thread(n.container.exec_run, argv)
        text = out.decode(errors="replace") if isinstance(out, bytes) else str(out)
        if code != 0:
            raise BackendError(f"{' '.join(argv)} in {node} failed ({code}): {text[-300:]}")
        return text

    async def _wait_all_stopped(self, n: _Node) -> None:
        """Signals are delivered asynchronously: wait until the kernel shows
        every process of the container but init stopped (read from the
        host's /proc when the engine is local; else trust the signal)."""
        init_pid = _host_init_pid(n.container)
        if init_pid is None:
            return
        end = time.monotonic() + 5
        while True:
            states = [procs.proc_state(p) for p in procs.descendants(init_pid) if p != init_pid]
            if all(st in ("T", "t", None) for st in states):
                return
            if time.monotonic() > end:
                raise BackendError(f"{n.ctx.node.name} did not stop on SIGSTOP within 5 s")
            await asyncio.sleep(0.005)

    def state(self, node: str) -> NodeState:
        n = self._node(node)
        if n.state is not NodeState.STOPPED and n.container is not None:
            try:
                n.container.reload()
            except Exception:  # noqa: BLE001 - the container is gone
                n.state = NodeState.STOPPED
                return n.state
            if n.container.status in ("exited", "dead", "created"):
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
        for name, c in (("netproxy", self._proxy), (DATABASE_NODE, self._pg)):
            if c is not None:
                with contextlib.suppress(Exception):
                    out[name] = c.logs().decode(errors="replace")
        return out

    async def _current_state(self, node: str) -> NodeState:
        return await asyncio.to_thread(self.state, node)  # reloads the container

    # -- network ---------------------------------------------------------

    async def outbound_connections(self, node: str) -> list[str]:
        """TCP connections the node's processes (its jobs included) opened.
        With the engine on this host (the usual case) read straight from
        the host's /proc: the container's processes and, through
        ``/proc/<pid>/net``, its network namespace — fast enough to sample
        often. Else from /proc inside the container (``docker exec``)."""
        n = self._node(node)
        if self.state(node) is not NodeState.RUNNING or n.container is None:
            return []
        init_pid = _host_init_pid(n.container)
        if init_pid is not None:
            from harness import sockets

            pids = await asyncio.to_thread(procs.descendants, init_pid)
            conns = await asyncio.to_thread(sockets.outbound, pids, init_pid)
            if self.state(node) is NodeState.RUNNING:  # not a restarted one's leftovers
                return [str(c) for c in conns]
            return []
        code, out = await asyncio.to_thread(
            n.container.exec_run, ["python", "-c", _OUTBOUND_SNIPPET]
        )
        text = out.decode(errors="replace") if isinstance(out, bytes) else str(out)
        if code != 0:
            raise BackendError(f"reading {node}'s connections failed ({code}): {text[-500:]}")
        return [line for line in text.splitlines() if line.strip()]

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

    # -- link cuts by iptables -------------------------------------------

    async def cut(
        self, links: Sequence[str], direction: Direction = "both", mode: CutMode = "drop"
    ) -> None:
        if self.cuts_via == "proxy":
            await super().cut(links, direction, mode)
            return
        self._check_links(links)
        cut = netfilter.Cut(direction, mode)
        for lk in links:
            self._cuts[lk] = cut
        await self._apply_netfilter({self._link_source(lk) for lk in links})

    async def heal(self, links: Sequence[str]) -> None:
        if self.cuts_via == "proxy":
            await super().heal(links)
            return
        self._check_links(links)
        for lk in links:
            self._cuts.pop(lk, None)
        await self._apply_netfilter({self._link_source(lk) for lk in links})

    def _link_source(self, link: str) -> str:
        return link.split("--", 1)[0]

    def _write_netfilter(self, node: str) -> Path:
        n = self._node(node)
        ports_cut = {
            self._link_port[lk]: c for lk, c in self._cuts.items() if self._link_source(lk) == node
        }
        path = n.ctx.data_dir / NETFILTER_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(netfilter.restore_file(ports_cut, self._proxy_ip))
        tmp.replace(path)  # the entry of a node starting now reads all or nothing
        return n.inner_dir / NETFILTER_FILE

    async def _apply_netfilter(self, nodes: set[str]) -> None:
        """Make each node's rule set match ``self._cuts``: the file always
        (a stopped node applies it at its start), the kernel now if it runs.
        A paused container cannot ``exec``; a throwaway container joined to
        its network namespace changes the rules there instead."""

        def apply(node: str) -> None:
            inner = self._write_netfilter(node)
            n = self._nodes[node]
            st = self.state(node)
            if st is NodeState.STOPPED or n.container is None:
                return
            argv = ["iptables-restore", "--noflush", str(inner)]
            if st is NodeState.RUNNING:
                code, out = n.container.exec_run(argv)
                text = out.decode(errors="replace") if isinstance(out, bytes) else str(out)
            else:
                code, text = 0, ""
                try:
                    self._docker().containers.run(
                        self.image,
                        argv,
                        remove=True,
                        network_mode=f"container:{n.container.id}",
                        cap_add=["NET_ADMIN"],
                        volumes={
                            str(n.ctx.data_dir.resolve()): {"bind": str(n.inner_dir), "mode": "ro"}
                        },
                        labels=_labels(self.deployment, "netfilter"),
                    )
                except Exception as exc:  # noqa: BLE001 - docker's ContainerError and kin
                    code, text = 1, str(exc)
            if code != 0:
                raise BackendError(f"iptables rules for {node} not applied ({code}): {text}")

        await asyncio.gather(*(asyncio.to_thread(apply, n) for n in sorted(nodes)))

    # -- database outages ----------------------------------------------------

    async def db_outage_begin(self, mode: DbOutageMode) -> None:
        if self._pg is None:
            raise ConfigError("this topology has no database")
        if mode == "stop":
            await asyncio.to_thread(self._pg.kill, "SIGQUIT")  # immediate shutdown
            await asyncio.to_thread(self._pg.wait, timeout=30)
        elif mode == "hang":
            await asyncio.to_thread(self._pg.pause)
            self._pg_paused = True
        elif mode == "cut":
            await self.cut(self._db_links(), "both", "drop")
        else:
            raise ConfigError(f"unknown db outage mode {mode!r}")

    async def db_outage_end(self, mode: DbOutageMode) -> None:
        if self._pg is None:
            return
        if mode == "stop":
            await asyncio.to_thread(self._pg.start)
            await asyncio.to_thread(self._pg_wait_ready)
        elif mode == "hang":
            await asyncio.to_thread(self._pg.unpause)
            self._pg_paused = False
        elif mode == "cut":
            await self.heal(self._db_links())

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
