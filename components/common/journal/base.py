"""What the journal's parts share: the shapes of events and state changes,
and the schema's constants."""

from __future__ import annotations

from typing import Any, TypeAlias

Event: TypeAlias = dict[str, Any]
"""An event before stamping: ``{"TYPE": "OrderAdded", "Key": "order-1", ...}``."""

StateChange: TypeAlias = tuple[str, str, Any | None]
"""``(kind, key, value)``: a JSON-able value, or None to delete the entry."""

SCHEMA_VERSION = 1
_RESERVED_META = frozenset({"schema_version", "last_event_id", "torn_event_id"})
# Meta key: the position an installed snapshot starts commits at.
REPLICATION_BASE = "journal.replicationBase"
