"""Link cuts as iptables rules in the source node's network namespace: the
Docker backend's default way to partition (the rules themselves are
``netfilter``'s).

What holds: a node's rule set always matches the cuts of the links it is
the source of. Its rule file in its data dir is rewritten at every change
(atomically: a node starting now reads all or nothing, and its container's
entry applies the file before the component runs); a running node gets the
rules now through ``docker exec``; a paused one (a frozen container cannot
``exec``) through a throwaway container joined to its network namespace; a
stopped one at its next start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends.base import CutMode, Direction
from harness.backends.docker import netfilter
from harness.backends.docker.containers import Containers, exec_run
from harness.errors import BackendError

NETFILTER_FILE = Path(".js7ha") / "netfilter.rules"  # in a node's data dir


def link_source(link: str) -> str:
    return link.split("--", 1)[0]


@dataclass
class LinkCuts:
    """The cut links of a deployment. ``ports``: each link's proxy port;
    ``proxy_ip``: the proxy's address on the deployment network (both known
    once the link proxy runs)."""

    ports: dict[str, int] = field(default_factory=dict)
    proxy_ip: str = ""
    cuts: dict[str, netfilter.Cut] = field(default_factory=dict)

    def cut(self, links: Sequence[str], direction: Direction, mode: CutMode) -> set[str]:
        """Cut ``links``; the nodes whose rules change."""
        cut = netfilter.Cut(direction, mode)
        for lk in links:
            self.cuts[lk] = cut
        return {link_source(lk) for lk in links}

    def heal(self, links: Sequence[str]) -> set[str]:
        """Heal ``links``; the nodes whose rules change."""
        for lk in links:
            self.cuts.pop(lk, None)
        return {link_source(lk) for lk in links}

    def write(self, node: str, data_dir: Path) -> None:
        """The node's rule file, in its data dir on this host."""
        ports_cut = {self.ports[lk]: c for lk, c in self.cuts.items() if link_source(lk) == node}
        path = data_dir / NETFILTER_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(netfilter.restore_file(ports_cut, self.proxy_ip))
        tmp.replace(path)  # the entry of a node starting now reads all or nothing


def apply(
    engine: Containers,
    container: Any,
    *,
    running: bool,
    data_dir: Path,
    inner_dir: Path,
    node: str,
) -> None:
    """Load the node's rule file (``data_dir`` on this host, ``inner_dir``
    in its container) into its kernel: in the container when ``running``,
    else (paused) from a throwaway container in its network namespace."""
    argv = ["iptables-restore", "--noflush", str(inner_dir / NETFILTER_FILE)]
    if running:
        code, text = exec_run(container, argv)
    else:
        volumes: Mapping[str, Mapping[str, str]] = {
            str(data_dir.resolve()): {"bind": str(inner_dir), "mode": "ro"}
        }
        code, text = engine.run_once(
            "netfilter",
            argv,
            network_mode=f"container:{container.id}",
            volumes=volumes,
            cap_add=["NET_ADMIN"],
        )
    if code != 0:
        raise BackendError(f"iptables rules for {node} not applied ({code}): {text}")
