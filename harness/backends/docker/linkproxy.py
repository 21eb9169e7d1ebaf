"""The link proxies of a deployment: a Toxiproxy-compatible server
(``python -m harness.netproxy``) in a container of its own, alias
``netproxy``, with one proxy per link ``<from>--<to>`` listening on a port of
its own. Nodes are configured with ``netproxy:<port>`` as their peers'
addresses; the harness drives the server through its API port, published on
127.0.0.1, with ``LinkControl``.

What holds: a link's port is fixed for the deployment's life (the iptables
cuts name links by it), and the proxy's address on the deployment network is
known once it runs (the cuts' rules name it too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from harness.backends.docker import containers
from harness.backends.docker.containers import HOST, Containers
from harness.backends.docker.database import PG_PORT
from harness.netproxy.control import LinkControl, ProxyServer
from harness.topology import DATABASE_NODE, Link

PROXY_ALIAS = "netproxy"
PROXY_API_PORT = 8474
LINK_PORT_BASE = 20000
NODE_PORT = 4444  # where every node container listens


@dataclass
class LinkProxy:
    container: Any
    control: LinkControl
    ip: str  # the server's address on the deployment's network


async def start_link_proxy(
    engine: Containers, api_port: int, http: aiohttp.ClientSession, ready_deadline: float
) -> LinkProxy:
    """Start the proxy server, its API published on ``api_port``, and wait
    until it answers."""
    container = await engine.run(
        "netproxy",
        ["python", "-m", "harness.netproxy", "--host", "0.0.0.0", "--port", str(PROXY_API_PORT)],
        alias=PROXY_ALIAS,
        published={PROXY_API_PORT: api_port},
    )
    url = f"http://{HOST}:{api_port}"
    await containers.wait_http(http, f"{url}/version", "the link proxy", container, ready_deadline)
    await asyncio.to_thread(container.reload)
    ip = container.attrs["NetworkSettings"]["Networks"][engine.network]["IPAddress"]
    return LinkProxy(container, LinkControl(ProxyServer(url=url)), ip)


async def create_links(control: LinkControl, links: Sequence[Link]) -> dict[str, int]:
    """One proxy per link, each on a port of its own: link name → port."""
    ports: dict[str, int] = {}
    for i, lk in enumerate(links):
        port = LINK_PORT_BASE + i
        upstream = f"{DATABASE_NODE}:{PG_PORT}" if lk.target == DATABASE_NODE else None
        await control.create(
            lk.name, upstream=upstream or f"{lk.target}:{NODE_PORT}", listen=f"0.0.0.0:{port}"
        )
        ports[lk.name] = port
    return ports


def address(port: int) -> str:
    """A link's address as the nodes see it."""
    return f"{PROXY_ALIAS}:{port}"
