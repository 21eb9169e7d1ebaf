"""What a cluster node needs from the node that hosts it (a Controller today,
a Director Agent tomorrow): a small protocol instead of a back-pointer to
the whole host."""

from __future__ import annotations

from typing import Protocol

from components.common.auth import Sessions
from components.common.journal import Journal


class ClusterHost(Protocol):
    journal: Journal
    # Where the host's API lives (``/controller/api``); the other node's is
    # at the same path.
    prefix: str
    sessions: Sessions

    async def activate(self) -> None:
        """This node became active: start acting (timers, Agents, ...)."""
        ...

    async def deactivate(self) -> None:
        """This node stopped being active (after a switch-over)."""
        ...

    def schedule_compaction(self) -> None:
        """The journal may have been released on the active: compact here."""
        ...
