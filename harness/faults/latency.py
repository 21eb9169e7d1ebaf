"""``latency`` / ``jitter``: slow links down (a ``latency`` toxic on each
chosen stream). Healing removes exactly the toxics this fault added."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from harness.deployment import Deployment
from harness.errors import NetworkError
from harness.faults.base import Fault


class Latency(Fault):
    name = "latency"

    def __init__(
        self,
        dep: Deployment,
        links: Iterable[str],
        latency_ms: int,
        jitter_ms: int = 0,
        *,
        streams: Iterable[str] = ("upstream", "downstream"),
        pre_check: bool = True,
        post_check: bool = True,
    ) -> None:
        super().__init__(dep, pre_check=pre_check, post_check=post_check)
        self.links = list(links)
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.streams = list(streams)
        self._added: list[tuple[str, str]] = []

    def available(self) -> str:
        known = {lk.name for lk in self.dep.topology.all_links}
        unknown = sorted(set(self.links) - known)
        return f"unknown links {unknown}" if unknown else ""

    def describe(self) -> dict[str, Any]:
        return {
            "links": self.links,
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "streams": self.streams,
        }

    async def inject(self) -> None:
        for lk in self.links:
            for stream in self.streams:
                name = await self.dep.backend.add_toxic(
                    lk,
                    "latency",
                    stream=stream,
                    toxic_name=f"js7ha-latency-{stream}",
                    attributes={"latency": self.latency_ms, "jitter": self.jitter_ms},
                )
                self._added.append((lk, name))

    async def _heal(self) -> None:
        for lk, name in reversed(self._added):
            with contextlib.suppress(NetworkError):
                await self.dep.backend.remove_toxic(lk, name)
        self._added.clear()


def latency(
    dep: Deployment,
    links: Iterable[str],
    ms: int,
    *,
    streams: Iterable[str] = ("upstream", "downstream"),
    pre_check: bool = True,
    post_check: bool = True,
) -> Latency:
    return Latency(dep, links, ms, 0, streams=streams, pre_check=pre_check, post_check=post_check)


def jitter(
    dep: Deployment,
    links: Iterable[str],
    ms: int,
    jitter_ms: int,
    *,
    pre_check: bool = True,
    post_check: bool = True,
) -> Latency:
    f = Latency(dep, links, ms, jitter_ms, pre_check=pre_check, post_check=post_check)
    return f
