"""The Director's Subagents: their items, the connection to each remote one,
and the job steps that run there.

The Director connects to its Subagents — never the other way round. Per
remote ``SubagentItem`` a ``RemoteSubagent`` dedicates it once
(``DedicateSubagent``, the run id journaled as ``SubagentDedicated``),
couples (``CoupleDirector`` after the last Subagent eventId the Director has
journaled), reads its events, journals them, and releases them.

What must hold (AGENT-CLUSTER.md A.3, A.6):

* a Subagent that cannot be reached is only ``SubagentCouplingFailed``: its
  processing orders stay processing, their commands are retried, nothing runs
  again elsewhere;
* a Subagent that answers ``SubagentNotDedicated`` (it restarted, its
  processes died with it) loses its orders: each gets ``ProcessLost``;
* a command is sent to the Subagent run it was meant for, never to a later
  run (which would start a process nobody waits for);
* a Subagent event is released only after the Director journaled it and,
  in a Director cluster, its passive has it (else a fail-over asks the
  Subagent for events it has forgotten).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from components.common import expression
from components.common.client import NodeClient, ProblemError
from components.common.instructions import disrupted, process_lost
from components.common.journal import Event
from components.common.subagent_items import decode_item, parse_priority
from components.common.tasks import until_one_fails
from components.common.web import Problem
from components.wire import subagent as sw
from components.wire.codec import to_json

from .selection import Selector

if TYPE_CHECKING:
    from components.agent.agent import Agent

log = logging.getLogger("js7.agent.SubagentKeeper")
SUBAGENT = "subagent"
BUNDLE = "bundle"
AGENT_REF = "agentRef"
SIGNED = "signed"
# js7.subagent-driver.reconnect-delays (agent.conf L20-25), also the back-off
# of an order waiting for an available Subagent.
RECONNECT_DELAYS = (0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 5.0, 10.0)
LOST_RESTART = "ProcessLostDueToRestart"
LOST = process_lost(LOST_RESTART)


class SubagentLost(Exception):
    """The Subagent run a command was meant for is gone."""


@dataclass
class Expected:
    """A step's process on a Subagent: its outcome once known, and
    ``settled`` once the Director journaled it (only then is the Subagent's
    event observed and released)."""

    outcome: asyncio.Future[dict[str, Any]]
    settled: asyncio.Event = field(default_factory=asyncio.Event)


class SubagentKeeper:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.journal = agent.journal
        self.items: dict[str, sw.SubagentItem] = {}
        self.bundles: dict[str, dict[str, expression.Expr]] = {}
        self.directors: list[str] = []
        self.remotes: dict[str, RemoteSubagent] = {}
        self.process_counts: Counter[str] = Counter()
        self.selector = Selector()
        self.on_available: Callable[[], None] = lambda: None
        self._http: aiohttp.ClientSession | None = None
        self._connecting = False
        # reference-only ``js7.subagent-driver.uris``: how *this* Director
        # reaches a Subagent where that differs from its item's URI (each of
        # two Directors through its own proxy; cf. js7.journal.cluster.peer-uri).
        self.uri_overrides = agent.cfg.mapping("js7.subagent-driver.uris", {})

    # -- items ---------------------------------------------------------------

    async def load(self) -> None:
        """The items from the journal; no connection yet (``connect``)."""
        timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5)
        self._http = aiohttp.ClientSession(timeout=timeout)
        for raw in self.journal.state(AGENT_REF).values():
            self._apply(decode_item(raw))
        for raw in self.journal.state(SUBAGENT).values():
            self._apply(decode_item(raw))
        for raw in self.journal.state(BUNDLE).values():
            self._apply(decode_item(raw))

    async def stop(self) -> None:
        await asyncio.gather(*(r.stop() for r in self.remotes.values()))
        if self._http is not None:
            await self._http.close()

    async def attach(self, raw: dict[str, Any], agent_path: str) -> None:
        """``AttachItem``: the item journaled (``ItemAttachedToMe``), then used."""
        item = decode_item(raw)
        if isinstance(item, sw.SubagentItem | sw.AgentRef):
            path = item.agentPath if isinstance(item, sw.SubagentItem) else item.path
            if path != agent_path:
                raise Problem(
                    400, "AgentPathMismatch", f"{sw.item_key(item)} belongs to Agent {path}"
                )
        kind, key = (
            {
                sw.SubagentItem: SUBAGENT,
                sw.SubagentBundle: BUNDLE,
                sw.AgentRef: AGENT_REF,
            }[type(item)],
            sw.item_key(item),
        )
        canonical = to_json(item)
        if self.journal.get(kind, key) == canonical:
            return  # a repeated AttachItem (the Controller resent it)
        await self.journal.persist(
            [{"TYPE": "ItemAttachedToMe", "item": canonical}], [(kind, key, canonical)]
        )
        self._apply(item)

    def _apply(self, item: sw.SimpleItem) -> None:
        if isinstance(item, sw.AgentRef):
            self.directors = list(item.directors)
            for sid in self.directors:  # a Director's own Subagent is not remote
                remote = self.remotes.pop(sid, None)
                if remote is not None:
                    remote.cancel()
        elif isinstance(item, sw.SubagentBundle):
            self.bundles[item.id] = {
                sid: parse_priority(p) for sid, p in item.subagentToPriority.items()
            }
        else:
            old = self.items.get(item.id)
            self.items[item.id] = item
            remote = self.remotes.get(item.id)
            if remote is not None and old is not None and old.uri != item.uri:
                # JS7 would lose the processes (ProcessLostDueSubagentUriChange):
                # the reference reconnects to the new address only.
                remote.item = item
        for sid, item_ in self.items.items():
            if sid not in self.directors and sid not in self.remotes:
                self.remotes[sid] = RemoteSubagent(self, item_)
                if self._connecting:
                    self.remotes[sid].start()
        self.on_available()

    def connect(self) -> None:
        """Connect to the remote Subagents — once the steps recovered after a
        restart wait for their outcomes, so none is read before its step is
        there to take it (and then released: the Subagent would forget the
        order and start it anew)."""
        self._connecting = True
        for remote in self.remotes.values():
            remote.start()

    async def reset(self, sid: str, force: bool) -> None:
        """``ResetSubagent`` (SubagentKeeper.scala L445-458)."""
        if sid not in self.items:
            raise Problem(400, "UnknownItemPath", f"SubagentItem:{sid} is unknown")
        remote = self.remotes.get(sid)
        if remote is None:
            raise Problem(400, "InvalidCommand", f"{sid} is the Director's own Subagent")
        await remote.reset(force)

    def states(self) -> dict[str, dict[str, Any]]:
        """reference-only: each Subagent's coupling and processes, as the
        harness reads them (JS7 shows them as SubagentItemState)."""
        return {
            sid: {
                "coupled": self.available(sid),
                "local": self.is_local(sid),
                "disabled": item.disabled,
                "processes": self.process_counts[sid],
                "subagentRunId": None if sid not in self.remotes else self.remotes[sid].run_id,
            }
            for sid, item in self.items.items()
        }

    # -- selection -----------------------------------------------------------

    def is_local(self, sid: str) -> bool:
        return sid in self.directors

    def available(self, sid: str) -> bool:
        item = self.items.get(sid)
        if item is None or item.disabled:
            return False
        if self.is_local(sid):
            return True
        remote = self.remotes.get(sid)
        return remote is not None and remote.coupled

    def select(self, bundle: str) -> str | None:
        """The Subagent for a job of ``bundle`` (a SubagentBundleId, or a
        SubagentId when no bundle has that name: DirectorState.scala L100-104);
        None when none is available now."""
        priorities = self.bundles.get(bundle)
        if priorities is None:
            priorities = {bundle: expression.Const(0)}
        return self.selector.select(
            bundle, priorities, self.available, lambda sid: self.process_counts[sid]
        )

    def remote_step(
        self,
        sid: str,
        oid: str,
        wf_key: str,
        start: dict[str, Any],
        *,
        run_id: str | None,
        restartable: bool,
    ) -> RemoteStep:
        return RemoteStep(self, self.remotes[sid], oid, wf_key, start, run_id, restartable)

    def signed(self, wf_key: str) -> Any:
        return self.journal.get(SIGNED, wf_key)

    @property
    def director_user(self) -> str:
        """How the Director logs into its Subagents: as its own SubagentId
        (SubagentKeeper.scala L629-640)."""
        return self.directors[0] if self.directors else str(self.agent.agent_path)

    def password(self, sid: str) -> str:
        passwords = self.agent.cfg.mapping("js7.auth.subagents", {})
        pw = passwords.get(sid, passwords.get(self.director_user, ""))
        return str(pw).removeprefix("plain:")

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None
        return self._http

    async def persist(self, events: list[Event], meta: dict[str, Any] | None = None) -> None:
        await self.agent.persist_or_die(events, meta=meta)


class RemoteSubagent:
    """The Director's connection to one remote Subagent."""

    def __init__(self, keeper: SubagentKeeper, item: sw.SubagentItem) -> None:
        self.keeper = keeper
        self.item = item
        self.sid = item.id
        self.coupled = False
        self._coupled = asyncio.Event()
        self._client: NodeClient | None = None
        self._expected: dict[str, Expected] = {}
        # Orders whose OrderProcessed this Subagent run has not released yet
        # (-> its eventId): until it has, a StartOrderProcess for the order's
        # next step would be a duplicate with a changed order (JS7 sends
        # ReleaseEvents before it: SubagentEventListener.scala L126-134).
        self._unreleased: dict[str, int] = {}
        self._released_until = 0
        # How far this Director journaled the Subagent's events *and* its
        # passive has them: only so far may they be released. The journal's
        # meta says how far it committed locally; released from there, a
        # fail-over before the passive had them asked the Subagent for
        # events it had forgotten (EventSeqTorn: an order's OrderProcessed
        # lost, seen in AGT-DIRECTOR-FAILOVER[kill]).
        self._replicated_until = 0
        self._release_now = asyncio.Event()
        self._released = asyncio.Event()
        # Set when the Subagent said another session coupled after ours:
        # this connection is done, couple anew.
        self._superseded = asyncio.Event()
        self._sent_workflows: set[str] = set()
        self._failed_reported = False
        self._task: asyncio.Task[None] | None = None
        cfg = keeper.agent.cfg
        self.heartbeat = cfg.seconds("js7.subagent-driver.heartbeat", 3.0)
        self.heartbeat_timeout = cfg.seconds("js7.subagent-driver.heartbeat-timeout", 10.0)

    @property
    def run_id(self) -> str | None:
        value = self.keeper.journal.meta(f"subagent.{self.sid}.runId")
        return str(value) if value else None

    @property
    def event_id(self) -> int:
        return int(self.keeper.journal.meta(f"subagent.{self.sid}.eventId", 0))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"subagent:{self.sid}")

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- the connection loop ---------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            client = NodeClient(
                self.keeper.http,
                str(self.keeper.uri_overrides.get(self.sid, self.item.uri)),
                "/subagent/api",
                self.keeper.director_user,
                self.keeper.password(self.sid),
            )
            problem = ""
            try:
                await self._couple(client)
                attempt = 0
                await until_one_fails(
                    self._reader(client), self._releaser(client), self._until_superseded()
                )
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, OSError, TimeoutError, ProblemError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # a bug must not end the retrying for good
                log.exception("Subagent %s: unexpected error", self.sid)
                problem = f"{type(exc).__name__}: {exc}"
            await self._decouple(problem)
            await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            attempt += 1

    async def _decouple(self, problem: str) -> None:
        was = self.coupled
        self.coupled = False
        self._coupled.clear()
        if was or not self._failed_reported:
            # JS7's SubagentCouplingFailed: the Subagent is left out of the
            # selection; its processing orders stay as they are.
            self._failed_reported = True
            log.warning("Subagent %s: coupling failed: %s", self.sid, problem)
            failed = {"TYPE": "SubagentCouplingFailed", "problem": {"message": problem}}
            await self.keeper.persist([{"Key": self.sid, **failed}])

    async def _until_superseded(self) -> None:
        await self._superseded.wait()
        raise ProblemError(400, sw.SESSION_SUPERSEDED, "another session coupled", {})

    async def _couple(self, client: NodeClient) -> None:
        # A replaced Director must not couple: its CoupleDirector would
        # supersede the new active's session.
        await self.keeper.agent.cluster.until_sure_active()
        self._superseded.clear()
        run_id = self.run_id
        if run_id is not None:
            try:
                await client.command(self._couple_command(run_id), timeout=self.heartbeat_timeout)
            except ProblemError as exc:
                if exc.code not in ("SubagentNotDedicated", "SubagentRunIdMismatch"):
                    raise
                await self._restarted()
                run_id = None
        if run_id is None:
            agent = self.keeper.agent
            resp = await client.command(
                to_json(
                    sw.DedicateSubagent(
                        subagentId=self.sid,
                        agentPath=str(agent.agent_path),
                        agentRunId=str(agent.journal.meta("agentRunId")),
                        controllerId=str(agent.journal.meta("controllerId")),
                    )
                ),
                timeout=self.heartbeat_timeout,
            )
            run_id = str(resp["subagentRunId"])
            self._new_run()
            await self.keeper.persist(
                [{"Key": self.sid, "TYPE": "SubagentDedicated", "subagentRunId": run_id}],
                meta={
                    f"subagent.{self.sid}.runId": run_id,
                    f"subagent.{self.sid}.eventId": int(resp["subagentEventId"]),
                },
            )
            await client.command(self._couple_command(run_id), timeout=self.heartbeat_timeout)
        self._client = client
        self._sent_workflows.clear()
        await self.keeper.persist([{"Key": self.sid, "TYPE": "SubagentCoupled"}])
        self.coupled = True
        self._failed_reported = False
        self._coupled.set()
        log.info("Subagent %s coupled (run %s)", self.sid, run_id)
        self.keeper.on_available()

    def _couple_command(self, run_id: str) -> dict[str, Any]:
        return to_json(
            sw.CoupleDirector(
                subagentId=self.sid,
                subagentRunId=run_id,
                eventId=self.event_id,
                heartbeatTiming=sw.HeartbeatTiming(
                    heartbeat=self.heartbeat, heartbeatTimeout=self.heartbeat_timeout
                ),
            )
        )

    async def reset(self, force: bool) -> None:
        """The user vouches the Subagent runs nothing of ours any more: its
        processes are lost and run again elsewhere (ProcessLostDueToReset).
        It is told to shut down if it can be reached; the Director stops
        listening to that run first, so no late OrderProcessed can follow the
        ProcessLost (RemoteSubagentDriver.scala L114-128)."""
        await self.keeper.persist(
            [{"Key": self.sid, "TYPE": "SubagentResetStarted", "force": force}]
        )
        reachable, client, run_id = self.coupled, self._client, self.run_id
        await self.stop()
        self.coupled = False
        self._coupled.clear()
        if reachable and client is not None and run_id is not None:
            shutdown = {
                "TYPE": "ShutDown",
                "processSignal": "SIGKILL",
                "dontWaitForDirector": True,
                "restart": True,
            }
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, ProblemError):
                await client.command(shutdown, timeout=self.heartbeat_timeout)
        await self.keeper.persist(
            [{"Key": self.sid, "TYPE": "SubagentReset"}],
            meta={f"subagent.{self.sid}.runId": None, f"subagent.{self.sid}.eventId": 0},
        )
        self.lose_all("ProcessLostDueToReset")
        self.start()

    async def _shut_down(self) -> None:
        """The Subagent shut down in order: it takes no more jobs, and what
        it did not report processed is lost (SubagentEventListener.scala
        L175-181: ProcessLostDueToShutdown); the next coupling dedicates it anew."""
        await self.keeper.persist(
            [{"Key": self.sid, "TYPE": "SubagentShutdown2"}],
            meta={f"subagent.{self.sid}.runId": None},
        )
        self.lose_all("ProcessLostDueToShutdown")

    async def _restarted(self) -> None:
        """The Subagent forgot its dedication: it restarted, and the processes
        of the orders it ran died with it (SubagentRestarted + ProcessLost)."""
        log.warning("Subagent %s restarted: %d processes lost", self.sid, len(self._expected))
        await self.keeper.persist(
            [{"Key": self.sid, "TYPE": "SubagentRestarted"}],
            meta={f"subagent.{self.sid}.runId": None, f"subagent.{self.sid}.eventId": 0},
        )
        self.lose_all(LOST_RESTART)

    async def _reader(self, client: NodeClient) -> None:
        run_id = self.run_id
        while True:
            after = self.event_id
            batch = [
                e
                async for e in client.events(
                    after,
                    timeout=self.heartbeat_timeout,
                    heartbeat=self.heartbeat,
                    limit=1000,
                    params={"subagentRunId": str(run_id)},
                    read_timeout=self.heartbeat_timeout,
                )
            ]
            if batch:
                await self._journal_batch(batch)

    async def _journal_batch(self, batch: list[dict[str, Any]]) -> None:
        """Output is journaled as it comes; an ``OrderProcessed`` is handed to
        the waiting step, which journals it with the order's next moves — only
        then does the Director count the event as observed."""
        key = f"subagent.{self.sid}.eventId"
        outputs: list[Event] = []
        read_until = self.event_id
        for e in batch:
            kind, oid = e.get("TYPE"), e.get("Key")
            if kind in ("OrderStdoutWritten", "OrderStderrWritten") and oid in self._expected:
                outputs.append({"Key": oid, "TYPE": kind, "chunk": e.get("chunk", "")})
            elif kind == "OrderProcessed" and isinstance(oid, str):
                if outputs:
                    # With how far they go: a reconnection after a cut here
                    # does not journal them twice.
                    await self.keeper.persist(outputs, meta={key: read_until})
                    outputs = []
                outcome = e.get("outcome") or disrupted("no outcome")
                await self._processed(oid, outcome, e["eventId"])
            elif kind == "SubagentShutdownStarted":
                # Not coupled any more for the selection (SubagentDriver.isCoupled).
                self.coupled = False
                self._coupled.clear()
                await self.keeper.persist([{"Key": self.sid, "TYPE": "SubagentShutdownStarted"}])
            elif kind == "SubagentShutdown":
                await self._shut_down()
            read_until = e["eventId"]
        # JS7 journals how far it read the Subagent's events with them.
        observed = {"TYPE": "SubagentEventsObserved", "untilEventId": batch[-1]["eventId"]}
        outputs.append({"Key": self.sid, **observed})
        await self.keeper.persist(outputs, meta={key: batch[-1]["eventId"]})
        self._replicated_until = max(self._replicated_until, batch[-1]["eventId"])
        if self._unreleased:
            self._release_now.set()

    async def _processed(self, oid: str, outcome: dict[str, Any], event_id: int) -> None:
        expected = self._expected.get(oid)
        if expected is None:
            return  # nobody waits (lost or reset before): JS7 ignores it too
        # Before the step goes on: its order's next StartOrderProcess waits for this.
        self._unreleased[oid] = event_id
        if not expected.outcome.done():
            expected.outcome.set_result(outcome)
        await expected.settled.wait()

    async def _releaser(self, client: NodeClient) -> None:
        """Releases what the Director journaled and replicated: at once when
        a step waits for it, else every 0.2 s."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release_now.wait(), 0.2)
            self._release_now.clear()
            until = min(self._replicated_until, self.event_id)
            if until > self._released_until:
                await client.command({"TYPE": "ReleaseEvents", "untilEventId": until})
                self._released_until = until
                for oid, event_id in list(self._unreleased.items()):
                    if event_id <= until:
                        del self._unreleased[oid]
                self._released.set()

    async def _until_released(self, oid: str) -> None:
        while oid in self._unreleased:
            self._released.clear()
            self._release_now.set()
            await self._released.wait()

    def _new_run(self) -> None:
        """A new Subagent run: nothing of the old one is to be released."""
        self._unreleased.clear()
        self._released_until = 0
        self._replicated_until = 0
        self._released.set()

    # -- what the steps call ---------------------------------------------------

    async def run_id_when_coupled(self) -> str:
        await self._coupled.wait()
        assert self.run_id is not None
        return self.run_id

    def expect(self, oid: str) -> Expected:
        expected = Expected(asyncio.get_running_loop().create_future())
        self._expected[oid] = expected
        return expected

    def settle(self, oid: str, expected: Expected) -> None:
        """The step journaled its outcome. (The order's next step may already
        expect its own: that one stays.)"""
        expected.settled.set()
        if self._expected.get(oid) is expected:
            del self._expected[oid]

    def lose_all(self, code: str) -> None:
        """Every process expected here is lost (the Subagent restarted, shut
        down or was reset)."""
        for expected in list(self._expected.values()):
            if not expected.outcome.done():
                expected.outcome.set_result(process_lost(code))
        self._new_run()

    async def send(self, run_id: str, cmd: dict[str, Any]) -> Any:
        """Send ``cmd`` to Subagent run ``run_id``, retrying through outages;
        ``SubagentLost`` once that run is gone."""
        while True:
            await self._coupled.wait()
            # Only while sure to be the active Director: a replaced one's
            # retried StartOrderProcess could start a job the new active
            # already saw end and released (the Subagent forgot the order).
            # What it sent before, delivered late, the Subagent refuses
            # (sw.SESSION_SUPERSEDED).
            await self.keeper.agent.cluster.until_sure_active()
            if self.run_id != run_id:
                raise SubagentLost(self.sid)
            client = self._client
            assert client is not None
            try:
                return await client.command(cmd, timeout=self.heartbeat_timeout)
            except (aiohttp.ClientError, OSError, TimeoutError):
                # The connection loop notices too; retry once it coupled again
                # (JS7: "we repeat the command until we are being stopped").
                await asyncio.sleep(0.2)

    async def start_process(
        self, run_id: str, wf_key: str, signed: Any, start: dict[str, Any]
    ) -> Any:
        await self._until_released(start["order"]["id"])
        commands = []
        if wf_key not in self._sent_workflows:
            commands.append({"TYPE": "AttachSignedItem", "signed": signed})
        commands.append(start)
        while True:
            resp = await self.send(run_id, {"TYPE": "Batch", "commands": commands})
            problem = next(
                (
                    r
                    for r in resp.get("responses", [])
                    if isinstance(r, dict) and r.get("TYPE") == "Problem"
                ),
                None,
            )
            if problem is None or problem.get("code") != sw.SESSION_SUPERSEDED:
                break
            # Another session coupled after this one (this Director's own
            # newer connection, or a replaced Director's before it halted):
            # couple anew, then send again (send waits for the coupling).
            self.coupled = False
            self._coupled.clear()
            self._superseded.set()
        if problem is not None:
            return problem
        if self.run_id == run_id:
            self._sent_workflows.add(wf_key)
        return None


class RemoteStep:
    """A job step on a remote Subagent: the same face as ``jobs.Step``.
    ``run_id`` is the Subagent run the process belongs to (recorded with
    ``OrderProcessingStarted``): once that run is gone, so is the process."""

    def __init__(
        self,
        keeper: SubagentKeeper,
        remote: RemoteSubagent,
        oid: str,
        wf_key: str,
        start: dict[str, Any],
        run_id: str | None,
        restartable: bool,
    ) -> None:
        self.keeper = keeper
        self.remote = remote
        self.oid = oid
        self.wf_key = wf_key
        self.start = start
        self.run_id = run_id
        self.restartable = restartable
        self._kill: asyncio.Task[Any] | None = None
        # Expected from now on: an outcome read before run() is not lost.
        self._expected = remote.expect(oid)

    async def run(self) -> dict[str, Any]:
        self.keeper.process_counts[self.remote.sid] += 1
        fut = self._expected.outcome
        current = await self.remote.run_id_when_coupled()
        if self.run_id is None:
            self.run_id = current
        if current != self.run_id:
            problem = None  # the run restarted before it got the process
            if not fut.done():
                fut.set_result(LOST)
        else:
            try:
                problem = await self.remote.start_process(
                    current, self.wf_key, self.keeper.signed(self.wf_key), self.start
                )
            except SubagentLost:
                problem = None  # _restarted answered the future with ProcessLost
        if problem is not None and not fut.done():
            if problem.get("code") == "SubagentIsShuttingDown":
                fut.set_result(process_lost("SubagentShutDownBeforeProcessStart"))
            else:
                fut.set_result(disrupted(str(problem.get("message"))))
        outcome = await fut
        if outcome.get("reason", {}).get("TYPE") == "ProcessLost":
            code = outcome["reason"]["problem"]["code"]
            return process_lost(code, restartable=self.restartable)
        return outcome

    def kill(self) -> None:
        run_id = self.run_id
        if run_id is None:
            return
        cmd = {"TYPE": "KillProcess", "orderId": self.oid, "signal": "SIGKILL"}

        async def kill() -> None:
            with contextlib.suppress(SubagentLost, ProblemError):
                await self.remote.send(run_id, cmd)

        self._kill = asyncio.create_task(kill())

    def settled(self) -> None:
        self.keeper.process_counts[self.remote.sid] -= 1
        self.remote.settle(self.oid, self._expected)
