"""One Controller journal transaction, and the journal's state kinds."""

from __future__ import annotations

from typing import Any

from components.common.journal import Event, StateChange

ORDER = "order"
WORKFLOW = "workflow"
SIGNED = "signed"  # workflow key -> its SignedString, as the Agents get it
TERMINAL = ("finished", "failed", "cancelled")


class Tx:
    """The events and state changes of one journal transaction."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.changes: list[StateChange] = []
        self.meta: dict[str, Any] = {}
        self.after: list[tuple[str, str]] = []  # (driver action, order id) once committed
        self.wakes: list[tuple[str, int | None]] = []  # (order id, epoch ms) to move on then
        self.notices: list[tuple[str, str, int]] = []  # (board, key, end of life) posted
