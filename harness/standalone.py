"""A topology outside pytest: for benchmarks and for trying things by hand.

``async with standalone(topology) as dep:`` starts the proxy server (and
PostgreSQL when the topology has a database), deploys the topology on the
local backend and tears everything down afterwards — also on Ctrl-C, through
the same process hygiene as the test runs. ``backend="docker"`` deploys it
on containers instead (the Docker backend brings its own proxy and database).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from harness import cleanup, ports, procs, reaper
from harness.backends.local import LocalBackend
from harness.deployment import Deployment
from harness.errors import ConfigError
from harness.history import History
from harness.netproxy.control import LinkControl, ProxyServer
from harness.postgres import PostgresServer
from harness.profiles import REFERENCE, Profile
from harness.topology import Topology


@contextlib.asynccontextmanager
async def standalone(
    topology: Topology,
    profile: Profile = REFERENCE,
    history: History | None = None,
    backend: str = "local",
    image: str | None = None,
) -> AsyncIterator[Deployment]:
    """``backend``: ``local`` (processes, the default) or ``docker``
    (containers of ``image``, by default the project image, built first if
    needed)."""
    reaper.sweep()
    root = procs.temp_root()
    if backend == "docker":
        from harness import images
        from harness.backends.docker.backend import DockerBackend

        docker = DockerBackend(
            topology, profile, root / "nodes", image=image or images.ensure_image()
        )
        dep = Deployment(docker, history if history is not None else History())
        try:
            await docker.deploy()
            yield dep
        finally:
            await dep.aclose()
            cleanup.run_all()
        return
    if backend != "local":
        raise ConfigError(f"backend: {backend!r} is neither 'local' nor 'docker'")
    server = ProxyServer.start(log_path=root / "netproxy.log", port=ports.reserve_one())
    pg: PostgresServer | None = None
    try:
        if topology.database is not None:
            pg = PostgresServer.start_new(root / "postgres", ports.reserve_one())
        local = LocalBackend(topology, profile, Path(root / "nodes"), LinkControl(server), pg)
        dep = Deployment(local, history if history is not None else History())
        try:
            await local.deploy()
            yield dep
        finally:
            await dep.aclose()
    finally:
        if pg is not None:
            pg.close()
        server.close()
        cleanup.run_all()
