"""Link cuts as iptables rules inside the nodes' own network namespaces (the
Docker backend's default way to partition).

Every link ``<from>--<to>`` is a TCP path from the source node to a port of
its own on the link proxy (``netproxy:<port>``), so one link is one
(proxy address, port) pair *as seen from the source container*, and a cut of
it is a rule there, in the source node's kernel:

* ``upstream`` (what the source sends is lost):
  ``OUTPUT -d <proxy> --dport <port> -j DROP``;
* ``downstream`` (what the target answers is lost):
  ``INPUT -s <proxy> --sport <port> -j DROP``;
* ``both``: the two together; ``refuse``: ``OUTPUT … -j REJECT --reject-with
  tcp-reset`` (new connections are refused, a live one is reset at its next
  send).

Unlike the proxy's cuts, these act on packets: a cut upstream also stops the
TCP handshake, retransmissions and keep-alives run their real course, and a
component sees what its kernel makes of the loss.

The rules live in two chains of our own, ``JS7HA-IN`` and ``JS7HA-OUT``,
hooked first into ``INPUT`` and ``OUTPUT``. A node's whole rule set is one
``iptables-restore --noflush`` file (declaring a chain flushes it, so one
restore replaces the set atomically). The file sits in the node's data dir
and the container's entry applies it *before* the component starts: a node
restarted during a partition (a container restart gets a fresh namespace)
never gets a moment of unpartitioned network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.backends.base import CutMode, Direction
from harness.errors import ConfigError

CHAIN_IN = "JS7HA-IN"
CHAIN_OUT = "JS7HA-OUT"

# Run by a node container's shell before it execs the component:
# "$JS7HA_NETFILTER" is the rules file inside the container. Exit 97 names
# the cause in the node's start error (its log shows iptables' message).
ENTRY = (
    f"iptables -N {CHAIN_IN} && iptables -N {CHAIN_OUT}"
    f" && iptables -I INPUT 1 -j {CHAIN_IN} && iptables -I OUTPUT 1 -j {CHAIN_OUT}"
    ' && iptables-restore --noflush "$JS7HA_NETFILTER" || exit 97'
)


@dataclass(frozen=True)
class Cut:
    direction: Direction
    mode: CutMode

    def __post_init__(self) -> None:
        if self.direction not in ("both", "upstream", "downstream"):
            raise ConfigError(f"unknown direction {self.direction!r}")
        if self.mode not in ("drop", "refuse"):
            raise ConfigError(f"unknown cut mode {self.mode!r}")
        if self.mode == "refuse" and self.direction != "both":
            raise ConfigError(f"a 'refuse' cut cannot be one-way ({self.direction!r})")


def rules(cuts: Mapping[int, Cut], proxy_ip: str) -> list[str]:
    """The rules for one node: ``cuts`` maps the proxy port of each of the
    node's cut links to how it is cut."""
    out: list[str] = []
    for port, cut in sorted(cuts.items()):
        to_link = f"-d {proxy_ip}/32 -p tcp -m tcp --dport {port}"
        from_link = f"-s {proxy_ip}/32 -p tcp -m tcp --sport {port}"
        if cut.mode == "refuse":
            out.append(f"-A {CHAIN_OUT} {to_link} -j REJECT --reject-with tcp-reset")
            continue
        if cut.direction in ("both", "upstream"):
            out.append(f"-A {CHAIN_OUT} {to_link} -j DROP")
        if cut.direction in ("both", "downstream"):
            out.append(f"-A {CHAIN_IN} {from_link} -j DROP")
    return out


def restore_file(cuts: Mapping[int, Cut], proxy_ip: str) -> str:
    """The ``iptables-restore --noflush`` input that makes the node's rule set
    exactly ``rules(cuts, proxy_ip)`` (no cuts: both chains empty)."""
    lines = ["*filter", f":{CHAIN_IN} - [0:0]", f":{CHAIN_OUT} - [0:0]"]
    lines += rules(cuts, proxy_ip)
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"
