"""A journal cluster node: an active and a passive node, and a Cluster Watch
(configuration: ``settings``).

Replication: the passive pulls ``GET <prefix>/journal?position=P``
(each pull returns at the latest after one heartbeat interval) and applies
the commits to its own journal. The position of each pull is what the
passive has durably applied: the pull *is* the acknowledgement. While
Coupled, a commit of the active completes (the client gets its answer, the
events become visible on the event API, Agents get commands) only after the
passive acknowledged it — so a fail-over loses nothing that was ever
acknowledged.

What must hold (never two actives):

* the passive fails over only from ``Coupled``, after hearing nothing from the
  active for the heartbeat timeout, and only with the Watch's consent;
* the active, while Coupled, counts as active only while its *lease* holds:
  a pull of the passive within the heartbeat timeout. The passive's silence
  timer starts at the last byte it got, which is after the last pull the
  active saw, so the lease has run out before the passive may even ask;
* a pull can be stale: sent before this node froze (SIGSTOP, a stalled event
  loop) and read only after it thawed, when the passive may have taken over
  long ago. A node that notices it was frozen longer than the timeout voids
  its lease and takes no pull as renewing it for one timeout (found by
  AGT-DIRECTOR-FAILOVER: a paused Director, thawed, acted on a stale pull and
  started a job the new active had already run). ``wait_sure_active`` is
  where a host waits before acting;
* an active that loses its passive needs the Watch's consent to go on alone
  (``ClusterPassiveLost``); refused, it halts. An active told by the Watch
  that another node is active halts.
* a node that restarts believing itself active first asks the other node
  (or the Watch); if it was replaced it rejoins as passive from a snapshot,
  dropping whatever it had journaled and never got acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
from aiohttp import web
from aiohttp.client_exceptions import ClientConnectionResetError

from components.common.auth import SESSION_HEADER
from components.common.client import NodeClient, ProblemError
from components.common.cluster import encoding, settings
from components.common.cluster.coupling import Coupling
from components.common.cluster.host import ClusterHost
from components.common.cluster.watch import AgentClusterWatch, Consent, Watch
from components.common.config import Config
from components.common.journal import EventSeqTorn, UnknownEventId
from components.common.ndjson import NdjsonReader
from components.common.node import Command, journal_problem, query_int
from components.common.web import Problem, read_json
from components.wire import cluster as wire
from components.wire import cluster_commands as cc
from components.wire.codec import convert, to_json

log = logging.getLogger("js7.cluster.Cluster")
common_log = logging.getLogger("js7.cluster.ClusterCommon")
META = "cluster"
NOT_ACTIVE = "ClusterNodeIsNotActive"


def _log_failure(task: asyncio.Task[Any]) -> None:
    """A cluster task must never end silently: its exception goes to the log
    (a passive whose replication died unseen stopped pulling for good and
    its active lost it, with nothing in either log to say why)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("cluster task %s failed", task.get_name(), exc_info=task.exception())


def halt(reason: str) -> None:
    """Stop at once: a node that may no longer be active must not act."""
    log.error("HALT: %s", reason)
    logging.shutdown()
    os._exit(99)


class Cluster:
    def __init__(self, host: ClusterHost, cfg: Config, watch: Watch | None = None) -> None:
        """``watch``: who arbitrates; by default the Agent named in
        ``js7.journal.cluster.watches`` (a Controller cluster)."""
        self.host = host
        self.journal = host.journal
        self.settings = s = settings.load(cfg)
        self.is_backup = s.is_backup
        self.own_id = s.own_id
        self.peer_id = s.peer_id
        self.nodes = s.nodes
        self.heartbeat = s.heartbeat
        self.timeout = s.timeout
        self.watch: Watch = watch or AgentClusterWatch(
            self.client, s.watches, s.watch_password, s.timeout
        )
        self.role = "inactive"  # active | passive | inactive
        self.problem: str | None = None
        self.acked = 0
        self.last_pull = time.monotonic()
        # The freeze detector: when the ticker last ran, and until when no
        # pull renews the lease (after a freeze).
        self._tick = time.monotonic()
        self._lease_void_until = 0.0
        # Set once the passive was silent for the timeout: from then on only
        # the Watch's verdict (PassiveLost consented, or "the other is
        # active": halt) or a new coupling restores the lease, never a pull.
        # A pull the passive sent before it failed over can arrive after a
        # partition heals; renewing the lease with it would let a replaced
        # active act again (a Director re-sending a StartOrderProcess the new
        # active had already seen end: the job ran twice).
        self._lease_lapsed = False
        self._ack_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._role_task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self.coupling = Coupling(self)
        self._event_lock = asyncio.Lock()  # cluster events one at a time
        # Whether a Cluster Watch has answered a heartbeat of this node since
        # it started (JS7: ClusterWatchRegistered); coupling waits for it.
        self.watch_registered = False
        self._registering: str | None = None  # a ClusterWatchRegistered being journaled
        self._stopping = False
        # ``POST <prefix>/cluster/command`` TYPEs; a host may add its own.
        self.commands: dict[str, Callable[[Command], Awaitable[Any]]] = {
            "ClusterStartBackupNode": self._start_backup_node,
            "ClusterPrepareCoupling": self.coupling.prepare,
            "ClusterCouple": self.coupling.couple,
            "ClusterConfirmCoupling": self.coupling.confirm,
            "ClusterRecouple": self.coupling.unsupported,
            "ClusterPassiveDown": self.coupling.unsupported,
            "ClusterInhibitActivation": self.coupling.unsupported,
        }

    # -- state -----------------------------------------------------------

    @property
    def configured(self) -> bool:
        return bool(self.nodes) or self.is_backup or META in self._meta_keys()

    def _meta_keys(self) -> set[str]:
        return {META} if self.journal.meta(META) is not None else set()

    @property
    def state(self) -> dict[str, Any]:
        value = self.journal.meta(META)
        return dict(value) if isinstance(value, dict) else {"TYPE": "Empty"}

    @property
    def coupled(self) -> bool:
        return self.state.get("TYPE") == "Coupled"

    def peer_uri(self) -> str | None:
        if self.settings.peer_uri:
            return self.settings.peer_uri
        uri = (self.state.get("idToUri") or self.nodes).get(self.peer_id)
        return str(uri) if uri else None

    def lease_valid(self) -> bool:
        return not self.coupled or time.monotonic() - self.last_pull < self.timeout

    @property
    def is_active(self) -> bool:
        """What this node says about itself: active, and sure of it. From
        ``ClusterSwitchedOver`` on the state names the other node: this node
        still serves its journal until the other took over, but it must not
        claim the active role any more (the other may claim it already)."""
        return (
            self.role == "active"
            and self.state.get("activeId", self.own_id) == self.own_id
            and self.lease_valid()
        )

    def require_active(self) -> None:
        """Commands need a node that is active *and* sure of it: an active
        whose lease ran out may already have been replaced."""
        if self.role != "active" or self.state.get("activeId", self.own_id) != self.own_id:
            raise Problem(503, NOT_ACTIVE, "This cluster node is not active")
        if not self.lease_valid():
            raise Problem(
                503,
                NOT_ACTIVE,
                "This cluster node has not heard its passive node: not sure to be active",
            )

    def require_serving(self) -> None:
        """The journal is served while this node holds the active role — also
        right after ``ClusterSwitchedOver``, when the state already names the
        other node: that node must still pull the switch event to take over."""
        if self.role != "active":
            raise Problem(503, NOT_ACTIVE, "This cluster node is not active")

    def visible_until(self) -> int:
        """Events after this are not acknowledged by the passive yet and must
        not be shown (a fail-over could lose them)."""
        if self.role == "active" and self.coupled:
            return self.acked
        return self.journal.last_event_id

    async def wait_visible(self, after: int, timeout: float) -> bool:
        """True as soon as an event after ``after`` is visible (acknowledged
        by the passive, where it must be): the hosts' event API waits here."""
        end = time.monotonic() + timeout
        while True:
            if self.visible_until() > after and self.journal.last_event_id > after:
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            if self.visible_until() < self.journal.last_event_id:
                await self.changed(left)  # waiting for the passive's ack
            else:
                await self.journal.wait_for_event(after, left)

    def releasable(self) -> int:
        if self.state.get("TYPE") in ("Coupled", "PreparedToBeCoupled"):
            return self.acked
        return self.journal.last_event_id

    def js7_state_setting(self) -> wire.ClusterSetting:
        """JS7's ``ClusterSetting`` of this (active) node's cluster."""
        st = self.state
        nodes = dict(st.get("idToUri") or self.nodes)
        return encoding.setting(self.settings, nodes, self.own_id, st.get("clusterWatchId"))

    def js7_state(self) -> wire.Empty | wire.HasNodes:
        """The cluster state as JS7 encodes it."""
        return encoding.cluster_state(self.settings, self.state)

    def js7_node_state(self) -> wire.ClusterNodeState:
        return encoding.node_state(self.settings, self.state)

    def info(self) -> dict[str, Any]:
        """reference-only: this node's own view — its role, whether it is
        sure to be active (its lease), the acknowledged eventId — served at
        ``GET <prefix>/js7ha/cluster-node`` for the other node (the
        reference's own peer protocol) and for diagnosis."""
        st = self.state
        return {
            "TYPE": st.get("TYPE", "Empty"),
            "setting": {"idToUri": st.get("idToUri", self.nodes), "activeId": st.get("activeId")},
            "activeId": st.get("activeId"),
            "nodeId": self.own_id,
            "role": self.role,
            "isActive": self.is_active,
            "isBackup": self.is_backup,
            "ackedEventId": self.acked,
            "lastEventId": self.journal.last_event_id,
            "problem": self.problem,
        }

    async def journal_event(
        self,
        event: dict[str, Any],
        new_state: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> int:
        """Journal a cluster event together with the new cluster state, whose
        ``generation`` counts cluster events (the Watch orders states by it).
        One at a time, ``new_state`` computed from the state current then, so
        a concurrent event is never overwritten (a CI run: a
        ``ClusterWatchRegistered`` computed from NodesAppointed while
        ``ClusterCouplingPrepared`` committed put the state back to
        NodesAppointed). Returns the event's id."""
        async with self._event_lock:
            current = self.state
            st = {**new_state(current), "generation": int(current.get("generation", 0)) + 1}
            stamped = await self.journal.persist([event], meta={META: st})
        log.info("%s -> %s (generation %d)", event["TYPE"], st["TYPE"], st["generation"])
        self._pulse()
        if self.role == "active" or st.get("activeId") == self.own_id:
            # Tell the Watch now, not at the next heartbeat: a Watch that does
            # not know the cluster is Coupled would refuse a fail-over.
            self._spawn(self._watch_heartbeat())
        return int(stamped[-1]["eventId"])

    # -- life cycle ------------------------------------------------------

    def client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=self.timeout,
                    sock_connect=self.timeout,
                    sock_read=self.timeout,
                )
            )
        return self._http

    def peer_client(self) -> NodeClient | None:
        uri = self.peer_uri()
        if uri is None:
            return None
        return NodeClient(self.client(), uri, self.host.prefix, "Cluster", self.settings.password)

    async def start(self) -> None:
        """Decide this node's role from its journal and, where needed, from
        the other node or the Watch."""
        self._spawn_ticker()
        st = self.state
        if not self.configured:
            await self.host.activate()  # a plain, unclustered node
            self.role = "active"
            return
        if self.is_backup and st.get("TYPE") == "Empty":
            if self.journal.meta("initiallyStartedAt") is not None:
                self.problem = (
                    "this node has its own journal and cannot become a backup "
                    "(delete its state directory)"
                )
                log.warning(self.problem)
            self.role = "passive"  # waits for ClusterStartBackupNode
            return
        if (
            st.get("activeId", self.own_id) == self.own_id
            and not self.is_backup
            and st.get("TYPE") == "Empty"
        ):
            await self._become_active(restarted=False)
            return
        if st.get("activeId") == self.own_id:
            self._role_task = asyncio.create_task(self._confirm_then_activate())
        else:
            self._become_passive()

    async def stop(self, graceful: bool) -> None:
        if self._stopping:
            return
        self._stopping = True
        if graceful and self.role == "active" and self.coupled:
            # A normal shutdown: the passive must know, so it does not fail over.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._shut_down_event(), self.timeout)
        for t in [*self._tasks, *([self._role_task] if self._role_task else [])]:
            t.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.watch.close()
        if self._http is not None:
            await self._http.close()

    async def _shut_down_event(self) -> None:
        await self.journal_event(
            {"TYPE": "ClusterActiveNodeShutDown"}, lambda st: {**st, "TYPE": "ActiveShutDown"}
        )
        await self.wait_replicated(self.journal.last_event_id)

    def _spawn_ticker(self) -> None:
        self._tick = time.monotonic()

        async def tick() -> None:
            while not self._stopping:
                await asyncio.sleep(self.heartbeat / 4)
                self._check_frozen()

        self._ticker = asyncio.create_task(tick())

    def _check_frozen(self) -> None:
        now = time.monotonic()
        if now - self._tick > self.timeout:
            log.warning(
                "this node was frozen for %.1fs: its lease is void for %.1fs",
                now - self._tick,
                self.timeout,
            )
            self.last_pull = now - self.timeout
            self._lease_void_until = now + self.timeout
        self._tick = now

    async def wait_sure_active(self) -> None:
        """Before acting: until this active node is sure of its role again
        (its lease holds) — or it is no longer the active one. An active
        replaced meanwhile hears so from the Watch and halts."""
        while self.role == "active" and not self.is_active and not self._stopping:
            await self.changed(self.heartbeat / 4)

    async def until_sure_active(self) -> None:
        """Until this node is active and sure of it — unlike
        ``wait_sure_active``, never returning for a node that is no longer
        active: a replaced node waits here until it halts. For acts that
        reach outside the journal (a Director's commands to its Subagents),
        which no replication check guards."""
        while not self.is_active:
            await self.changed(self.heartbeat / 4)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        task.add_done_callback(_log_failure)
        self._tasks.append(task)

    async def _confirm_then_activate(self) -> None:
        """Restarted believing itself active: make sure nobody replaced it."""
        delay = 0.05
        while True:
            peer = await self._ask_peer()
            if peer is not None:
                if peer.get("isActive") or (
                    peer.get("activeId") == self.peer_id and peer.get("role") == "active"
                ):
                    log.warning("the other node is active: rejoining as passive")
                    await self._rejoin()
                    return
                if await self._restart_consented():
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.heartbeat)
                continue
            if self.state.get("TYPE") != "Coupled":
                # Never coupled since: the other node cannot have taken over.
                await self._become_active(restarted=True)
                return
            watch = await self._watch_heartbeat()
            if (
                watch is not None
                and watch.get("activeId") == self.own_id
                and watch.get("clusterStateType") == "Coupled"
                and await self._restart_consented()
            ):
                return
            if watch is not None and watch.get("activeId") == self.peer_id:
                await self._rejoin()
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.heartbeat)

    async def _restart_consented(self) -> bool:
        """Restarted as the active of a coupled cluster, and the other node
        did not take over — when asked. It has not heard this node since the
        restart, though, and may fail over any moment: going on alone is a
        ``ClusterPassiveLost`` like any other and needs the Watch's consent
        (found by the Docker backend: both nodes active after a restart of
        both). Refused — the Watch let the other node take over meanwhile —
        this node rejoins as passive. True once decided either way; False
        while the Watch cannot be reached (ask again)."""
        if self.state.get("TYPE") != "Coupled" or not self.watch.configured:
            # Not coupled: the other node cannot have taken over. No Watch:
            # it cannot fail over without one either.
            await self._become_active(restarted=True)
            return True
        result = await self._ask_consent({"TYPE": "ClusterPassiveLost", "id": self.peer_id})
        if result is None:
            return False
        if result is True:
            await self._become_active(restarted=True)
            return True
        if isinstance(result, str) and "UntaughtClusterWatch" in result:
            # The Watch knows nothing (JS7's, and the Controller's for a
            # Director pair, forget at each restart), so it consented to no
            # fail-over either: the other node, passive when asked, can take
            # over only after a user's ConfirmClusterNodeLoss. JS7's restarted
            # active goes on here too, without the Watch (it inhibits the
            # other node's activation). Still passive when asked again: go on
            # — refused, both nodes would wait as passives for good.
            peer = await self._ask_peer()
            if peer is None or peer.get("isActive") or peer.get("role") == "active":
                return False
            log.warning("the ClusterWatch is untaught and the other node passive: going on")
            await self._become_active(restarted=True)
            return True
        log.warning("the ClusterWatch refused going on alone (%s): rejoining as passive", result)
        await self._rejoin()
        return True

    async def _ask_peer(self) -> dict[str, Any] | None:
        peer = self.peer_client()
        if peer is None:
            return None
        try:
            result: dict[str, Any] = await peer.get("/js7ha/cluster-node")
            return result
        except (aiohttp.ClientError, OSError, TimeoutError, ProblemError):
            return None

    async def _become_active(self, restarted: bool) -> None:
        self.role = "active"
        self.last_pull = time.monotonic()
        st = self.state
        if st.get("TYPE") == "Empty" and self.nodes:
            await self.journal_event(
                {
                    "TYPE": "ClusterNodesAppointed",
                    "setting": msgspec.to_builtins(
                        encoding.setting(self.settings, self.nodes, self.own_id)
                    ),
                },
                lambda _: {
                    "TYPE": "NodesAppointed",
                    "idToUri": self.nodes,
                    "activeId": self.own_id,
                },
            )
        elif restarted and st.get("TYPE") in ("ActiveShutDown", "Coupled", "PreparedToBeCoupled"):
            await self.journal_event(
                {"TYPE": "ClusterActiveNodeRestarted"},
                lambda now: {**now, "TYPE": "PassiveLost", "activeId": self.own_id},
            )
        await self.host.activate()
        self._spawn(self._appoint_backup())
        self._spawn(self._lease_monitor())
        self._spawn(self._watch_heartbeats())

    def _become_passive(self) -> None:
        self.role = "passive"
        self._spawn(self._replicate())
        self._spawn(self._watch_heartbeats())

    async def _rejoin(self) -> None:
        """Drop everything of our own and follow the active from its snapshot."""
        self.role = "passive"
        peer = self.peer_client()
        assert peer is not None
        snap = await peer.get("/journal/snapshot")
        await self.journal.install_snapshot(snap)
        log.info("installed the active node's snapshot at %d", snap["position"])
        self._become_passive()

    # -- active side -----------------------------------------------------

    async def _appoint_backup(self) -> None:
        """While NodesAppointed: ClusterStartBackupNode to the Backup, retried."""
        delay = 0.1
        while self.role == "active" and self.state.get("TYPE") == "NodesAppointed":
            peer = self.peer_client()
            if peer is None:
                return
            try:
                start = cc.ClusterStartBackupNode(
                    setting=self.js7_state_setting(),
                    fileEventId=self.journal.torn_event_id,
                    activeNodeName=self.own_id,
                    passiveNodeUserId="Cluster",  # the user the Backup pulls as
                )
                await peer.command_path("/cluster/command", to_json(start))
                return
            except ProblemError as exc:
                msg = (
                    f"'ClusterStartBackupNode' command failed with HTTP {exc.status} "
                    f"{_reason(exc.status)}: POST => {exc.code}: {exc.message}"
                )
                common_log.warning(msg)
                self.problem = msg
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.problem = f"'ClusterStartBackupNode' failed: {type(exc).__name__}: {exc}"
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    # States in which the passive node is meant to have every commit.
    _ACKED_STATES = ("Coupled", "SwitchedOver", "ActiveShutDown")

    async def wait_replicated(self, position: int) -> None:
        """Until the passive acknowledged ``position``, in every state where it
        is meant to have everything; only a consented ``PassiveLost`` lets a
        commit complete without it."""
        while self.acked < position and self.state.get("TYPE") in self._ACKED_STATES:
            await self.changed()

    def _pulse(self) -> None:
        """Wake every waiter: the acknowledged position or the state changed."""
        ev, self._ack_event = self._ack_event, asyncio.Event()
        ev.set()

    async def changed(self, timeout: float | None = None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ack_event.wait(), timeout)

    async def _lease_monitor(self) -> None:
        """Coupled and no pull for the timeout: the passive is lost — with the
        Watch's consent; refused, this node halts."""
        while self.role == "active":
            await asyncio.sleep(self.heartbeat / 2)
            if not self.coupled or time.monotonic() - self.last_pull < self.timeout:
                continue
            self._lease_lapsed = True
            log.warning(
                "passive node silent for %.1fs: asking the ClusterWatch",
                time.monotonic() - self.last_pull,
            )
            result = await self._ask_consent({"TYPE": "ClusterPassiveLost", "id": self.peer_id})
            if result is True:
                await self.journal_event(
                    {"TYPE": "ClusterPassiveLost", "id": self.peer_id},
                    lambda st: {**st, "TYPE": "PassiveLost"},
                )
                self._lease_lapsed = False
                self._pulse()
            elif isinstance(result, str):
                halt(f"ClusterWatch refused ClusterPassiveLost: {result}")

    async def pull(self, request: web.Request) -> web.StreamResponse:
        """``GET <prefix>/journal?position=P``: the passive's pull."""
        user = self.host.sessions.user_of(request)
        if user != "Cluster":
            raise Problem(403, "Forbidden", "only the cluster peer may read the journal")
        self.require_serving()
        position = query_int(request, "position", None, 0)
        if position is None:
            raise Problem(400, "MissingParameter", "query parameter 'position' is required")
        try:
            commits = self.journal.commits_after(position, 1000)
        except (EventSeqTorn, UnknownEventId) as exc:
            raise journal_problem(exc) from None
        self._check_frozen()  # (the ticker may not have run since the thaw)
        if time.monotonic() >= self._lease_void_until and not self._lease_lapsed:
            self.last_pull = time.monotonic()
        if position > self.acked:
            self.acked = position
            self._pulse()
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        if not commits and await self.journal.wait_for_event(position, self.heartbeat):
            with contextlib.suppress(EventSeqTorn, UnknownEventId):
                commits = self.journal.commits_after(position, 1000)
        # The passive may hang up meanwhile (it stopped, or gave up waiting):
        # nothing to answer then, and no error of this node's.
        with contextlib.suppress(ConnectionResetError, ClientConnectionResetError):
            if commits:
                await resp.write(
                    "".join(json.dumps(c, separators=(",", ":")) + "\n" for c in commits).encode()
                )
            await resp.write_eof()
        return resp

    async def snapshot(self, request: web.Request) -> web.Response:
        user = self.host.sessions.user_of(request)
        if user != "Cluster":
            raise Problem(403, "Forbidden", "only the cluster peer may read the snapshot")
        self.require_serving()
        return web.json_response(self.journal.snapshot())

    # -- passive side ----------------------------------------------------

    async def _replicate(self) -> None:
        last_heard = time.monotonic()
        delay = 0.05
        suspect = False  # silent for the timeout, and the Watch did not consent yet
        behind = False  # the active no longer has what comes next: its snapshot
        while self.role == "passive" and not self._stopping:
            peer = self.peer_client()
            if peer is None:
                await asyncio.sleep(self.heartbeat)  # backup before ClusterStartBackupNode
                continue
            try:
                if behind:
                    # Inside the try: a snapshot that fails to come (a timeout
                    # under load) is retried like a pull, not the end of the
                    # replication task.
                    await self._rejoin_from_snapshot(peer)
                    behind = False
                    continue
                if suspect:
                    got = await self._pull_while_suspect(self._pull_once(peer))
                    if got is None:
                        return  # failed over meanwhile
                    commits = got
                else:
                    commits = await self._pull_once(peer)
                last_heard = time.monotonic()
                delay = 0.05
                suspect = False
                self.problem = None
                if commits:
                    await self.journal.apply_replicated(commits)
                await self._after_replication(peer)
                continue
            except ProblemError as exc:
                last_heard = time.monotonic()  # the active answered: it is alive
                if exc.code in ("EventSeqTorn", "UnknownEventId"):
                    behind = True
                    continue
                self.problem = f"pull: {exc}"
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.problem = f"pull: {type(exc).__name__}: {exc}"
            except Exception as exc:  # one bad round must not end replication
                log.exception("replication round failed")
                self.problem = f"pull: {type(exc).__name__}: {exc}"
            silent = time.monotonic() - last_heard >= self.timeout
            if silent and self.coupled:
                if await self._fail_over():
                    return
                suspect = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.heartbeat)

    async def _pull_while_suspect(
        self, pull: Awaitable[list[dict[str, Any]]]
    ) -> list[dict[str, Any]] | None:
        """The active is suspect (silent for the timeout, the Watch did not
        consent yet): the pull, and meanwhile the Watch asked again every
        quarter heartbeat rather than after the pull's own timeout. None
        once failed over."""
        task = asyncio.ensure_future(pull)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.heartbeat / 4)
                if done:
                    return task.result()
                if await self._fail_over():
                    return None
        finally:
            task.cancel()

    async def _pull_once(self, peer: NodeClient) -> list[dict[str, Any]]:
        headers = {SESSION_HEADER: await peer.token()}
        url = peer.url(f"/journal?position={self.journal.last_event_id}")
        async with self.client().get(url, headers=headers) as resp:
            if resp.status == 401:
                peer.forget_token()
                raise ProblemError(401, "InvalidSessionToken", "log in again", {})
            if resp.status != 200:
                body = await resp.json(content_type=None)
                raise ProblemError(
                    resp.status, str(body.get("code")), str(body.get("message")), body
                )
            return [json.loads(line) async for line in NdjsonReader(resp.content) if line.strip()]

    async def _rejoin_from_snapshot(self, peer: NodeClient) -> None:
        snap = await peer.get("/journal/snapshot")
        await self.journal.install_snapshot(snap)
        log.info("behind the active's journal: installed its snapshot at %d", snap["position"])

    async def _after_replication(self, peer: NodeClient) -> None:
        self.host.schedule_compaction()  # what the consumers released on the active
        st = self.state
        if st.get("TYPE") == "SwitchedOver" and st.get("activeId") == self.own_id:
            log.info("switched over: this node is active now")
            await self._take_over()
            return
        if st.get("activeId") == self.peer_id:
            await self.coupling.ask(peer, st)

    async def _fail_over(self) -> bool:
        failed = self.state.get("activeId", self.peer_id)
        # JS7 names a journal file and a byte position; the reference's
        # journal has no files: the position is the last eventId replicated.
        failed_at = {
            "fileEventId": self.journal.torn_event_id,
            "position": self.journal.last_event_id,
        }
        event = {
            "TYPE": "ClusterFailedOver",
            "failedActiveId": failed,
            "activatedId": self.own_id,
            "failedAt": failed_at,
        }
        result = await self._ask_consent(event)
        if result is not True:
            log.warning("no fail-over: %s", result or "ClusterWatch unreachable")
            return False
        await self.journal_event(
            event,
            lambda st: {**st, "TYPE": "FailedOver", "activeId": self.own_id, "failedAt": failed_at},
        )
        log.warning("FAILED OVER from %s: this node is active now", failed)
        await self._take_over()
        return True

    async def _take_over(self) -> None:
        for t in self._tasks:
            if t is not asyncio.current_task():
                t.cancel()
        self._tasks = [t for t in self._tasks if t is asyncio.current_task()]
        self.role = "active"
        self.acked = 0
        self._lease_lapsed = False
        self.last_pull = time.monotonic()
        await self.host.activate()
        self._spawn(self._lease_monitor())
        self._spawn(self._watch_heartbeats())

    # -- the Watch ---------------------------------------------------------

    async def _watch_heartbeat(self) -> dict[str, Any] | None:
        reply = await self.watch.heartbeat(self.own_id, self.state)
        if reply is not None:
            self.watch_registered = True
            await self._register_watch(reply.get("clusterWatchId"))
        return reply

    async def _register_watch(self, watch_id: Any) -> None:
        """JS7's ``ClusterWatchRegistered``: the active node journals the id
        of a Watch that answered it and is not the one its cluster setting
        names (ActiveClusterNode.scala), so the setting says who watches."""
        st = self.state
        if (
            not isinstance(watch_id, str)
            or self.role != "active"
            or st.get("TYPE", "Empty") == "Empty"
            or st.get("clusterWatchId") == watch_id
            or self._registering == watch_id
        ):
            return
        self._registering = watch_id
        try:
            event = {"TYPE": "ClusterWatchRegistered", "clusterWatchId": watch_id}
            await self.journal_event(event, lambda st: {**st, "clusterWatchId": watch_id})
        finally:
            self._registering = None

    async def _watch_heartbeats(self) -> None:
        while not self._stopping:
            reply = await self._watch_heartbeat()
            if (
                reply is not None
                and self.role == "active"
                and reply.get("activeId") not in (None, self.own_id)
                and int(reply.get("generation", 0)) > int(self.state.get("generation", 0))
            ):
                halt(f"the ClusterWatch knows {reply.get('activeId')} as active")
            await asyncio.sleep(self.heartbeat)

    async def _ask_consent(self, event: dict[str, Any]) -> Consent:
        return await self.watch.consent(self.own_id, event, self.state)

    # -- commands ----------------------------------------------------------

    async def command(self, request: web.Request) -> web.Response:
        """``POST <prefix>/cluster/command``."""
        self.host.sessions.user_of(request)
        cmd = await read_json(request)
        if not isinstance(cmd, dict) or not isinstance(cmd.get("TYPE"), str):
            raise Problem(400, "InvalidCommand", 'a command is {"TYPE": ...}')
        handler = self.commands.get(cmd["TYPE"])
        if handler is None:
            raise Problem(400, "UnknownCommand", f"Unknown cluster command TYPE: {cmd['TYPE']}")
        result = await handler(cmd)
        return web.json_response(result or {"TYPE": "Accepted"})

    async def _start_backup_node(self, cmd: Command) -> None:
        if not self.is_backup:
            raise Problem(
                400,
                "ClusterNodeIsNotBackup",
                "The cluster node to be appointed is not configured as a backup node",
            )
        if (
            self.journal.meta("initiallyStartedAt") is not None
            and self.state.get("TYPE") == "Empty"
        ):
            raise Problem(
                400,
                "PrimaryClusterNodeMayNotBecomeBackup",
                "This cluster node has its own journal and may not become a backup node",
            )
        setting = convert(cmd, cc.ClusterStartBackupNode, "ClusterCommand").setting
        if self.role == "passive" and self.state.get("TYPE") == "Empty":
            # Learn the cluster setting; replication then brings the real state.
            await self.journal.persist(
                [],
                meta={
                    META: {
                        "TYPE": "NodesAppointed",
                        "idToUri": setting.idToUri,
                        "activeId": setting.activeId,
                        "generation": 0,
                    }
                },
            )
            if not any(t for t in self._tasks if not t.done()):
                self._become_passive()
            log.info("appointed as backup node of %s", setting.activeId)

    async def couple(self, prepared_at: int) -> None:
        """``ClusterCoupled``, for a ``ClusterCouple`` whose token the passive
        confirmed: once it has replicated the preparation (``prepared_at``)
        and a Watch answered this node."""
        st = self.state
        if st.get("TYPE") == "Coupled":
            return
        if st.get("TYPE") != "PreparedToBeCoupled":
            raise Problem(400, "ClusterCoupleNotPrepared", f"cluster is {st.get('TYPE')}")
        if self.acked < prepared_at:
            raise Problem(400, "ClusterCoupleNotPrepared", "passive has not replicated enough")
        if not self.watch_registered:
            # JS7 (ActiveClusterNode, ClusterCouple): "Passive cluster tries
            # again until ClusterWatch has been registered via background
            # ClusterWatch heartbeat". Coupled with a Watch that never heard
            # the active, a fail-over would be refused as untaught (seen in
            # CI: the standalone Watch's stream was not up yet, and the
            # Backup could not take over from a killed Primary for 30 s).
            raise Problem(400, "NoClusterWatch", "no ClusterWatch has answered this node yet")
        await self.journal_event(
            {"TYPE": "ClusterCoupled", "activeId": self.own_id},
            lambda now: {**now, "TYPE": "Coupled"},
        )
        self._lease_lapsed = False
        self.last_pull = time.monotonic()

    async def switch_over(self) -> None:
        """Hand the active role to the coupled passive. From the switch event
        on no command is accepted here; the passive applies everything up to
        it and takes over; once it says so, every earlier commit is known to
        be there (so the commits waiting for that complete), and this node
        follows it as the passive."""
        self.require_active()
        if not self.coupled:
            raise Problem(
                400,
                "ClusterSwitchOverButNotCoupled",
                "Switchover is possible only for an active node in a coupled cluster",
            )
        position = await self.journal_event(
            {"TYPE": "ClusterSwitchedOver", "activatedId": self.peer_id},
            lambda st: {**st, "TYPE": "SwitchedOver", "activeId": self.peer_id},
        )
        end = time.monotonic() + 4 * self.timeout
        while time.monotonic() < end:
            peer = await self._ask_peer()
            if peer is not None and peer.get("isActive"):
                self.acked = max(self.acked, position)
                self._pulse()
                break
            await asyncio.sleep(self.heartbeat / 4)
        else:
            log.error("the other node did not take over within %.1fs", 4 * self.timeout)
        self.role = "passive"
        for t in self._tasks:
            t.cancel()
        self._tasks = []
        await self.host.deactivate()
        self._become_passive()
        log.info("switched over to %s", self.peer_id)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
