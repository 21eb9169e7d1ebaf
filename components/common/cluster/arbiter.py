"""The Cluster Watch's judgement: an Agent runs it for the Controller cluster
(the seeds' JS7 version), the Controller runs one per Agent cluster for its
Director pair (AGENT-CLUSTER.md A.4).

Both cluster nodes send it heartbeats carrying their view of the
cluster state; before a node emits ``ClusterFailedOver`` (the passive takes
over) or ``ClusterPassiveLost`` (the active goes on alone) it must obtain the
Watch's consent. What must hold:

* consent to a fail-over only if the Watch knows the cluster as ``Coupled``
  with the failed node active and the requester passive, and has not heard
  the active for the heartbeat timeout — else ``ClusterWatchActiveStillAlive``
  or ``ClusterWatchRequestDoesNotMatch``;
* consent to ``PassiveLost`` only to the node the Watch knows as active;
* every consent changes the Watch's known state at once (and is journaled),
  so of two nodes asking for conflicting consents only the first can win;
  a heartbeat with an older cluster state never undoes it;
* a Watch that has learnt nothing (fresh, its state wiped, or — kept in
  memory only — restarted) refuses with ``UntaughtClusterWatch`` until the
  active's heartbeat teaches it or a user sends ``ConfirmClusterNodeLoss``
  for the lost node.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from components.common.journal import Journal
from components.common.node import Command, body_str
from components.common.web import Problem

log = logging.getLogger("js7.cluster.watch.ClusterWatch")
META = "clusterWatch"


class ClusterWatch:
    def __init__(self, journal: Journal | None, meta: str = META) -> None:
        """``meta``: where the Watch journals its knowledge (one key per
        watched cluster). Without a ``journal`` it keeps it in memory, as
        JS7's ``ClusterWatch`` does (``_state = Untaught`` at each start):
        a restarted Watch has learnt nothing."""
        self.journal = journal
        self.meta = meta
        self._memory: dict[str, Any] | None = None
        self.heard: dict[str, float] = {}  # node id -> monotonic time of last heartbeat
        # The nodes whose loss the Watch, untaught, could not confirm: only
        # those a user may confirm (JS7's ``_nodeToLossRejected``; otherwise
        # ``ClusterNodeIsNotLost``), and only until the node is heard again.
        self.rejected: set[str] = set()
        self.confirmed_loss: set[str] = set()
        # One judgement at a time: journaling what it learnt awaits, and a
        # second request judged meanwhile would see the old state (found by
        # AGT-CLUSTER-NO-WATCH: the Controller, reading both Directors at
        # once, consented to the Primary's PassiveLost and to the Backup's
        # fail-over in the same millisecond — two actives).
        self._judging = asyncio.Lock()

    @property
    def known(self) -> dict[str, Any] | None:
        value = self._memory if self.journal is None else self.journal.meta(self.meta)
        return dict(value) if isinstance(value, dict) else None

    async def _learn(self, state: dict[str, Any]) -> None:
        old = self.known
        if old is None or (old.get("TYPE"), old.get("activeId")) != (
            state.get("TYPE"),
            state.get("activeId"),
        ):
            log.info(
                "ClusterWatch learnt %s, %s active (generation %s)",
                state.get("TYPE"),
                state.get("activeId"),
                state.get("generation"),
            )
        if self.journal is None:
            self._memory = dict(state)
            return
        # No event: JS7 has none for a Watch's knowledge, and the Agent's
        # journal is its own (nothing replicates it).
        await self.journal.persist([], meta={self.meta: state})

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "known": self.known,
            "heardSecondsAgo": {n: round(now - t, 3) for n, t in self.heard.items()},
        }

    async def heartbeat(self, cmd: Command) -> dict[str, Any]:
        async with self._judging:
            return await self._heartbeat(cmd)

    async def consent(self, cmd: Command) -> dict[str, Any]:
        async with self._judging:
            return await self._consent(cmd)

    async def _heartbeat(self, cmd: Command) -> dict[str, Any]:
        node = body_str(cmd, "from")
        state = cmd.get("clusterState")
        if not isinstance(state, dict) or not isinstance(state.get("activeId"), str):
            raise Problem(400, "MissingField", "ClusterWatchHeartbeat: clusterState is required")
        timeout = cmd.get("heartbeatTimeout", 10.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise Problem(400, "InvalidField", "heartbeatTimeout must be a positive number")
        generation = _generation(state)
        self.heard[node] = time.monotonic()
        known = self.known
        newer = known is None or generation > int(known.get("generation", 0))
        # Only the active's own view teaches the Watch; a passive's view is a copy.
        if node == state["activeId"] and newer:
            await self._learn({**state, "timeout": float(timeout)})
            known = self.known
            # Alive after all: a confirmation of its loss is void.
            self.rejected.discard(node)
            self.confirmed_loss.discard(node)
        return {
            "TYPE": "ClusterWatchHeartbeat.Response",
            "activeId": known.get("activeId") if known else None,
            "clusterStateType": known.get("TYPE") if known else None,
            "generation": known.get("generation", 0) if known else 0,
        }

    async def _consent(self, cmd: Command) -> dict[str, Any]:
        node = body_str(cmd, "from")
        event = cmd.get("event")
        if not isinstance(event, dict) or event.get("TYPE") not in (
            "ClusterFailedOver",
            "ClusterPassiveLost",
        ):
            raise Problem(
                400, "MissingField", "event must be ClusterFailedOver or ClusterPassiveLost"
            )
        known = self.known
        state = cmd.get("clusterState")
        if (
            isinstance(state, dict)
            and known is not None
            and _generation(state) > int(known.get("generation", 0))
        ):
            # The requester's state is newer than what the Watch heard: a copy
            # of the active's own journal (the passive replicates it), so it is
            # what the active decided. Learn it before judging the request.
            await self._learn({**known, **state, "timeout": known.get("timeout", 10.0)})
            known = self.known
        now = time.monotonic()
        manual = False  # a user's ConfirmClusterNodeLoss made the consent
        if event["TYPE"] == "ClusterFailedOver":
            failed = body_str(event, "failedActiveId")
            if known is None:
                if failed not in self.confirmed_loss:
                    self.rejected.add(failed)
                    raise Problem(
                        400,
                        "UntaughtClusterWatch",
                        "ClusterWatch has not yet been taught the cluster state: "
                        f"ConfirmClusterNodeLoss for '{failed}' is required",
                    )
                self.confirmed_loss.discard(failed)
                self.rejected.discard(failed)
                manual = True
            else:
                if (
                    known.get("TYPE") != "Coupled"
                    or known.get("activeId") != failed
                    or node == failed
                ):
                    raise Problem(
                        400,
                        "ClusterWatchRequestDoesNotMatch",
                        f"{node} asks to fail over from {failed}, but the ClusterWatch "
                        f"knows the cluster as {known.get('TYPE')} with "
                        f"{known.get('activeId')} active",
                    )
                timeout = float(known.get("timeout", 10.0))
                silent = now - self.heard.get(failed, 0.0)
                if silent < timeout and failed not in self.confirmed_loss:
                    raise Problem(
                        400,
                        "ClusterWatchActiveStillAlive",
                        f"ClusterWatch still hears the active node {failed} ({silent:.2f}s ago)",
                    )
                manual = failed in self.confirmed_loss
                self.confirmed_loss.discard(failed)
            # An untaught Watch (the user confirmed the loss) starts from the
            # requester's state, a copy of the failed active's: a count from
            # nothing would be older than the replaced node's generation, which
            # then would not learn from the Watch that it was replaced.
            base = known if known is not None else (state if isinstance(state, dict) else {})
            new = {
                **base,
                "TYPE": "FailedOver",
                "activeId": node,
                "generation": _generation(base) + 1,
                "consented": True,
            }
        else:
            if known is None:
                raise Problem(
                    400,
                    "UntaughtClusterWatch",
                    "ClusterWatch has not yet been taught the cluster state",
                )
            if known.get("activeId") != node or known.get("TYPE") != "Coupled":
                raise Problem(
                    400,
                    "ClusterWatchRequestDoesNotMatch",
                    f"{node} asks to lose its passive, but the ClusterWatch knows "
                    f"{known.get('activeId')} as active ({known.get('TYPE')})",
                )
            new = {
                **known,
                "TYPE": "PassiveLost",
                "generation": int(known.get("generation", 0)) + 1,
                "consented": True,
            }
        await self._learn(new)
        log.info("consent to %s for %s", event["TYPE"], node)
        return {
            "TYPE": "ClusterWatchConsent",
            "activeId": new["activeId"],
            "manuallyConfirmed": manual,
        }

    async def confirm_node_loss(self, lost: str) -> None:
        """A user's ``ConfirmClusterNodeLoss``: only for a node whose loss the
        Watch could not confirm (ClusterWatch.scala
        ``matchConfirmationWithRejection``)."""
        async with self._judging:
            if lost not in self.rejected:
                raise Problem(
                    400,
                    "ClusterNodeIsNotLost",
                    f"Cluster node {lost} is not lost: the ClusterWatch was asked to confirm "
                    "no loss of it",
                )
            self.confirmed_loss.add(lost)
        log.warning("a user confirmed the loss of cluster node %s", lost)

    async def handle(self, cmd: Command) -> dict[str, Any] | None:
        kind = cmd.get("TYPE")
        if kind == "ClusterWatchHeartbeat":
            return await self.heartbeat(cmd)
        if kind == "ClusterWatchConsent":
            return await self.consent(cmd)
        raise Problem(400, "UnknownCommand", f"Unknown ClusterWatch command TYPE: {kind}")


def _generation(state: dict[str, Any]) -> int:
    """A cluster state's ``generation``: a count, checked before anything is
    learnt from the state (a string once taught the Watch a state it could
    not compare)."""
    value = state.get("generation", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Problem(400, "InvalidField", "clusterState.generation must be a count (0, 1, …)")
    return value
