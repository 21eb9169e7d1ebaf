"""The coupling handshake, JS7's (ActiveClusterNode.scala L188-315,
PassiveClusterNode.scala L192-262).

The passive, once it has replicated a decoupled state naming the other node
active, sends ``ClusterPrepareCoupling``; once it has replicated
``PreparedToBeCoupled``, ``ClusterCouple``. Each carries a fresh one-time
token (JS7's ``OneTimeTokenProvider``); the active, before it journals
anything, sends the token back to the passive its setting names
(``ClusterConfirmCoupling``). Only the node that issued the token — while the
command carrying it is in flight — confirms it, so a stale or foreign node's
request cannot couple the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import aiohttp

from components.common.client import NodeClient, ProblemError
from components.common.web import Problem
from components.wire import cluster_commands as cc
from components.wire.codec import convert, to_json

if TYPE_CHECKING:
    from components.common.cluster.node import Cluster

log = logging.getLogger("js7.cluster.Cluster")

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


class Coupling:
    """One node's part of the handshake: as the passive, asking and
    confirming its tokens; as the active, the commands' checks and events."""

    def __init__(self, node: Cluster) -> None:
        self.node = node
        self._tokens = CouplingTokens()  # the passive's, of its commands in flight
        self._lock = asyncio.Lock()  # the active's: one coupling command at a time
        self._prepared_at = 0  # the active's ClusterCouplingPrepared eventId
        # The passive's: the generation of the cluster state each command was
        # last sent for (each once per state; refused, again after the next pull).
        self._prepare_sent_for = -1
        self._couple_sent_for = 0

    # -- the passive -----------------------------------------------------

    async def ask(self, peer: NodeClient, state: dict[str, Any]) -> None:
        """After a replication round, in ``state`` naming the other node
        active: the command that state calls for, if any."""
        generation, kind = int(state.get("generation", 0)), state.get("TYPE")
        if kind in DECOUPLED:
            if generation > self._prepare_sent_for and await self._send(
                peer, cc.ClusterPrepareCoupling
            ):
                self._prepare_sent_for = generation
        elif (
            kind == "PreparedToBeCoupled"
            and generation > self._couple_sent_for
            and await self._send(peer, cc.ClusterCouple)
        ):
            self._couple_sent_for = generation

    async def _send(
        self, peer: NodeClient, kind: type[cc.ClusterPrepareCoupling] | type[cc.ClusterCouple]
    ) -> bool:
        """False when refused."""
        node = self.node
        with self._tokens.issue() as token:
            cmd = kind(activeId=node.peer_id, passiveId=node.own_id, token=token)
            try:
                await peer.command_path("/cluster/command", to_json(cmd))
                return True
            except ProblemError as exc:
                log.warning("%s refused: %s", type(cmd).__name__, exc)
                return False

    async def confirm(self, raw: dict[str, Any]) -> None:
        """``ClusterConfirmCoupling`` (active → passive): the token is one of
        this node's coupling commands in flight."""
        cmd = convert(raw, cc.ClusterConfirmCoupling, "ClusterCommand")
        if not self._tokens.confirms(cmd.token):
            raise Problem(
                400, "ClusterCouplingNotConfirmed", "Another passive cluster node wanted to couple"
            )

    # -- the active ------------------------------------------------------

    async def prepare(self, raw: dict[str, Any]) -> None:
        """``ClusterPrepareCoupling``: from a decoupled state,
        ``ClusterCouplingPrepared``; once prepared or coupled it is ignored,
        as JS7 does (ActiveClusterNode.scala L188-216)."""
        cmd = convert(raw, cc.ClusterPrepareCoupling, "ClusterCommand")
        node = self.node
        async with self._lock:
            await self._check(cmd)
            st = node.state
            if st.get("TYPE") in DECOUPLED:
                self._prepared_at = await node.journal_event(
                    {"TYPE": "ClusterCouplingPrepared", "activeId": node.own_id},
                    lambda now: {**now, "TYPE": "PreparedToBeCoupled", "activeId": node.own_id},
                )

    async def couple(self, raw: dict[str, Any]) -> None:
        """``ClusterCouple``: ``ClusterCoupled`` once the passive has
        replicated the preparation and a Watch answered (``Cluster.couple``)."""
        cmd = convert(raw, cc.ClusterCouple, "ClusterCommand")
        async with self._lock:
            await self._check(cmd)
            await self.node.couple(self._prepared_at)

    async def unsupported(self, raw: dict[str, Any]) -> None:
        cmd = convert(raw, cc.ClusterCommand, "ClusterCommand")
        raise Problem(
            400,
            "UnsupportedCommand",
            f"'{type(cmd).__name__}': the reference's nodes ask the Cluster Watch instead",
        )

    async def _check(self, cmd: cc.ClusterPrepareCoupling | cc.ClusterCouple) -> None:
        """A coupling command is for this node as the active one, from the
        passive its setting names, and that node confirms the token."""
        node = self.node
        node.require_active()
        st = node.state
        name = type(cmd).__name__
        if cmd.activeId != node.own_id:
            raise Problem(
                400,
                "ClusterCommandInapplicable",
                f"'{name}' command may only be directed to the active node",
            )
        # Right after a switch-over this node still serves pulls, but the
        # state names the other node active: no coupling with it as active.
        if st.get("TYPE", "Empty") == "Empty" or st.get("activeId", node.own_id) != node.own_id:
            raise Problem(
                400,
                "ClusterCommandInapplicable",
                f"'{name}' is inapplicable in cluster state {st.get('TYPE')}",
            )
        if cmd.passiveId != node.peer_id:
            raise Problem(
                400, "ClusterCommandInapplicable", f"{cmd.passiveId} is not this cluster's passive"
            )
        peer = node.peer_client()
        assert peer is not None
        try:
            await peer.command_path(
                "/cluster/command", to_json(cc.ClusterConfirmCoupling(token=cmd.token))
            )
        except ProblemError as exc:
            raise Problem(400, "ClusterCouplingNotConfirmed", exc.message) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise Problem(
                400,
                "ClusterCouplingNotConfirmed",
                f"A passive cluster node wanted to couple but {peer.base} does not respond: "
                f"{type(exc).__name__}",
            ) from None
