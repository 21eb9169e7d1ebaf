"""The coupling handshake's one-time tokens (JS7's ``OneTimeTokenProvider``).

The passive sends ``ClusterPrepareCoupling`` and ``ClusterCouple`` with a
fresh token; the active, before it journals anything, sends the token back to
the passive it knows from its setting (``ClusterConfirmCoupling``). Only the
node that issued the token — while the command carrying it is in flight —
confirms it, so a stale or foreign node's request cannot couple the cluster
(ActiveClusterNode.scala ``checkCouplingToken``, PassiveClusterNode.scala
``confirmCoupling``).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

# States a passive may ask to leave by coupling (JS7's ``IsDecoupled``, less
# ``ActiveShutDown``: the reference's restarted active journals
# ``ClusterActiveNodeRestarted`` first, which makes it ``PassiveLost``).
DECOUPLED = ("NodesAppointed", "PassiveLost", "FailedOver", "SwitchedOver")


class CouplingTokens:
    """The tokens of this (passive) node's coupling commands in flight."""

    def __init__(self) -> None:
        self._valid: set[str] = set()

    @contextlib.contextmanager
    def issue(self) -> Iterator[str]:
        """A token, valid until the ``with`` block ends."""
        token = secrets.token_urlsafe(16)
        self._valid.add(token)
        try:
            yield token
        finally:
            self._valid.discard(token)

    def confirms(self, token: str) -> bool:
        return token in self._valid
