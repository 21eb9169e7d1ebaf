"""Locks on the wire: the ``Lock`` item (``AddOrChangeSimple``), the
``LockDemand`` of the instruction and its events, and the ``LockState`` of
the snapshot.

Sources (sos-berlin/js7, js7-data/shared/src/test/scala/js7/data/):
lock/LockTest.scala, lock/LockStateTest.scala, controller/ControllerStateTest.scala
("LockState"), order/OrderEventTest.scala:752-886; js7-data/shared/src/main/
scala/js7/data/lock/Acquired.scala.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType


class Lock(msgspec.Struct, tag_field="TYPE", tag="Lock", kw_only=True, forbid_unknown_fields=True):
    """``limit``: how many counts the Lock gives at once (Lock.scala: >= 0, default 1)."""

    path: str
    limit: int = 1
    itemRevision: int | UnsetType = UNSET


class LockDemand(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """``count`` absent: the Lock exclusively."""

    lockPath: str
    count: int | UnsetType = UNSET


class Available(msgspec.Struct, tag_field="TYPE", tag="Available"):
    pass


class Exclusive(msgspec.Struct, tag_field="TYPE", tag="Exclusive", kw_only=True):
    orderId: str


class NonExclusive(msgspec.Struct, tag_field="TYPE", tag="NonExclusive", kw_only=True):
    orderToCount: dict[str, int]


class LockInState(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The Lock as LockState nests it: without its TYPE (LockStateTest.scala:16-20)."""

    path: str
    limit: int = 1
    itemRevision: int | UnsetType = UNSET


class LockState(msgspec.Struct, tag_field="TYPE", tag="LockState", kw_only=True):
    """A Lock with who holds it and who waits, in the Controller's snapshot
    (ControllerStateTest.scala:248-257)."""

    lock: LockInState
    acquired: Available | Exclusive | NonExclusive
    queue: list[str]
