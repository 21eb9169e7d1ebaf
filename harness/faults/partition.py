"""``partition``: cut links — one way or both.

Links are directed (``a--b`` is the path ``a`` uses to reach ``b``) and each
carries two streams: *upstream* (what ``a`` sends) and *downstream* (what
``b`` answers). "Messages from X to Y are lost" therefore means: upstream of
every link X→Y and downstream of every link Y→X. The shapes:

* ``isolate(node)`` — every link touching the node, both ways;
* ``split(a_side, b_side)`` — every link between the two sides, both ways;
* ``bridge(a_side, middle, b_side)`` — like split, but ``middle`` still talks
  to both sides (Jepsen's bridge);
* ``one_way(src, dst)`` — what ``src`` sends to ``dst`` is lost, the reverse
  still flows;
* ``partition(links=[...])`` — exactly the named links.

The database counts as a node named ``postgres``. The default ``mode="drop"``
swallows data (like packet loss: connections hang); ``mode="refuse"`` closes
the listener (connection refused) and only exists for whole links.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.backends.base import CutMode, Direction
from harness.deployment import Deployment
from harness.errors import ConfigError
from harness.faults.base import Fault
from harness.topology import DATABASE_NODE


class Partition(Fault):
    name = "partition"

    def __init__(
        self,
        dep: Deployment,
        cuts: Iterable[tuple[str, Direction]],
        *,
        shape: str = "links",
        mode: CutMode = "drop",
        pre_check: bool = True,
        post_check: bool = True,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(dep, pre_check=pre_check, post_check=post_check)
        merged: dict[str, set[str]] = {}
        for link, direction in cuts:
            streams = {"upstream", "downstream"} if direction == "both" else {direction}
            merged.setdefault(link, set()).update(streams)
        self.cuts: dict[str, Direction] = {}
        for lk, streams in merged.items():
            if streams == {"upstream", "downstream"}:
                self.cuts[lk] = "both"
            else:
                self.cuts[lk] = "upstream" if "upstream" in streams else "downstream"
        self.shape = shape
        self.mode = mode
        self.detail = detail or {}
        if mode == "refuse" and any(d != "both" for d in self.cuts.values()):
            raise ConfigError("mode 'refuse' can only cut whole links (direction 'both')")

    def available(self) -> str:
        known = {lk.name for lk in self.dep.topology.all_links}
        unknown = sorted(set(self.cuts) - known)
        if unknown:
            return f"unknown links {unknown}"
        if not self.cuts:
            return "the partition cuts no link"
        return ""

    def describe(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "mode": self.mode,
            **self.detail,
            "links": {lk: d for lk, d in sorted(self.cuts.items())},
        }

    async def inject(self) -> None:
        by_dir: dict[Direction, list[str]] = {}
        for lk, d in self.cuts.items():
            by_dir.setdefault(d, []).append(lk)
        for d, links in by_dir.items():
            await self.dep.backend.cut(links, d, self.mode)

    async def _heal(self) -> None:
        await self.dep.backend.heal(list(self.cuts))


def _groups_cuts(
    dep: Deployment, src: set[str], dst: set[str], both: bool
) -> list[tuple[str, Direction]]:
    cuts: list[tuple[str, Direction]] = []
    for lk in dep.topology.all_links:
        if lk.source in src and lk.target in dst:
            cuts.append((lk.name, "both" if both else "upstream"))
        elif lk.source in dst and lk.target in src:
            cuts.append((lk.name, "both" if both else "downstream"))
    return cuts


def _known(dep: Deployment, nodes: Iterable[str]) -> set[str]:
    names = set(nodes)
    unknown = names - set(dep.nodes) - {DATABASE_NODE}
    if unknown:
        raise ConfigError(f"unknown nodes {sorted(unknown)}")
    return names


def partition(
    dep: Deployment,
    links: Iterable[str],
    direction: Direction = "both",
    mode: CutMode = "drop",
    pre_check: bool = True,
    post_check: bool = True,
) -> Partition:
    return Partition(
        dep,
        [(lk, direction) for lk in links],
        shape="links",
        mode=mode,
        pre_check=pre_check,
        post_check=post_check,
    )


def isolate(
    dep: Deployment,
    node: str,
    *,
    mode: CutMode = "drop",
    pre_check: bool = True,
    post_check: bool = True,
) -> Partition:
    _known(dep, [node])
    cuts: list[tuple[str, Direction]] = [
        (lk.name, "both") for lk in dep.topology.links_touching(node)
    ]
    return Partition(
        dep,
        cuts,
        shape="isolate",
        mode=mode,
        pre_check=pre_check,
        post_check=post_check,
        detail={"node": node},
    )


def split(
    dep: Deployment,
    a_side: Iterable[str],
    b_side: Iterable[str],
    *,
    mode: CutMode = "drop",
    pre_check: bool = True,
    post_check: bool = True,
) -> Partition:
    a, b = _known(dep, a_side), _known(dep, b_side)
    if a & b:
        raise ConfigError(f"nodes on both sides of a split: {sorted(a & b)}")
    return Partition(
        dep,
        _groups_cuts(dep, a, b, both=True),
        shape="split",
        mode=mode,
        pre_check=pre_check,
        post_check=post_check,
        detail={"sides": [sorted(a), sorted(b)]},
    )


def bridge(
    dep: Deployment,
    a_side: Iterable[str],
    middle: str,
    b_side: Iterable[str],
    *,
    mode: CutMode = "drop",
    pre_check: bool = True,
    post_check: bool = True,
) -> Partition:
    a, b = _known(dep, a_side), _known(dep, b_side)
    if middle in a | b:
        raise ConfigError(f"the bridge node {middle!r} must not be on either side")
    return Partition(
        dep,
        _groups_cuts(dep, a, b, both=True),
        shape="bridge",
        mode=mode,
        pre_check=pre_check,
        post_check=post_check,
        detail={"sides": [sorted(a), sorted(b)], "bridge": middle},
    )


def one_way(
    dep: Deployment,
    src: Iterable[str],
    dst: Iterable[str],
    *,
    pre_check: bool = True,
    post_check: bool = True,
) -> Partition:
    s, d = _known(dep, src), _known(dep, dst)
    return Partition(
        dep,
        _groups_cuts(dep, s, d, both=False),
        shape="one-way",
        pre_check=pre_check,
        post_check=post_check,
        detail={"from": sorted(s), "to": sorted(d)},
    )
