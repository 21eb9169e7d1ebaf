"""Link operations shared by every backend whose links are proxies on a
Toxiproxy-compatible server (one proxy per link, named ``<from>--<to>``).

A backend mixes this in, fills ``_link_listen`` (link name → the proxy's
listen address as the nodes see it) while deploying, and says where its
``LinkControl`` is. The operations check link names first, so a typo is a
``ConfigError`` and never a silently uncut link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from harness.backends.base import CutMode, Direction
from harness.errors import ConfigError
from harness.netproxy.control import LinkControl
from harness.topology import DATABASE_NODE


class ProxiedLinks:
    _link_listen: dict[str, str]

    def _link_control(self) -> LinkControl:
        raise NotImplementedError

    def link_address(self, link: str) -> str:
        return self._link_listen[link]

    def _check_links(self, links: Sequence[str]) -> None:
        unknown = [lk for lk in links if lk not in self._link_listen]
        if unknown:
            raise ConfigError(f"unknown links: {', '.join(unknown)}")

    def _db_links(self) -> list[str]:
        return [lk for lk in self._link_listen if lk.endswith(f"--{DATABASE_NODE}")]

    async def cut(
        self, links: Sequence[str], direction: Direction = "both", mode: CutMode = "drop"
    ) -> None:
        self._check_links(links)
        lc = self._link_control()
        await asyncio.gather(*(lc.cut(lk, direction, mode) for lk in links))

    async def heal(self, links: Sequence[str]) -> None:
        self._check_links(links)
        lc = self._link_control()
        await asyncio.gather(*(lc.heal(lk) for lk in links))

    async def add_toxic(
        self,
        link: str,
        type: str,
        *,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, object] | None = None,
        toxic_name: str | None = None,
    ) -> str:
        self._check_links([link])
        return await self._link_control().add_toxic(
            link,
            type,
            stream=stream,
            toxicity=toxicity,
            attributes=dict(attributes or {}),
            toxic_name=toxic_name,
        )

    async def remove_toxic(self, link: str, toxic_name: str) -> None:
        self._check_links([link])
        await self._link_control().remove_toxic(link, toxic_name)

    async def connection_counts(self) -> dict[str, int]:
        counts = await self._link_control().connection_counts()
        return {lk: counts.get(lk, 0) for lk in self._link_listen}
