"""The Controller's connection to one Agent.

The Controller connects to the Agent — never the other way round. One
coupling, while it lasts, runs three loops:

* *reader*: long-polls the Agent's events after the last Agent eventId the
  Controller has journaled, hands each batch to the Controller (which
  journals the mirrored events together with the new Agent eventId in one
  transaction), and only then lets the releaser acknowledge them;
* *sender*: sends the commands the Controller's state calls for
  (``AttachItem``, ``AttachOrder``, ``DetachOrder``, ``MarkOrder``) in batches;
* *releaser*: sends ``ReleaseEvents`` for what has been journaled.

What must hold: no Agent event is released before the Controller journaled
it; a status-changing command is never lost — the pending sets are derived
from the journaled order states again at every coupling, so a command sent
into an outage (or before a restart) is sent again; the connection is retried
with capped exponential backoff for as long as an outage lasts.

An Agent with two Directors (AgentRef.directors) is reached at its
Directors' URIs (their SubagentItems'): the driver tries one after the other
— the passive answers ``ClusterNodeIsNotActive`` — and so follows the active
after a fail-over; the Controller is the pair's Cluster Watch meanwhile
(``agent_cluster_watch``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from msgspec import UNSET

from components.common.client import NodeClient, ProblemError
from components.common.tasks import until_one_fails
from components.common.web import Problem
from components.controller import items
from components.controller.agent_cluster_watch import AgentClusterWatchService
from components.wire import events as wire_events
from components.wire import snapshot as snap

if TYPE_CHECKING:
    from components.controller.controller import Controller

log = logging.getLogger("js7.controller.AgentDriver")
BATCH = 500


@dataclass(frozen=True)
class DriverConfig:
    event_timeout: float
    heartbeat: float
    reconnect_max_delay: float
    release_delay: float


class CouplingLost(Exception):
    pass


class AgentDriver:
    def __init__(
        self, controller: Controller, path: str, uri: str, password: str, config: DriverConfig
    ) -> None:
        self.controller = controller
        self.path = path
        self.uri = uri
        self.password = password
        self.config = config
        self.coupled = False
        self.last_problem: str | None = None
        self.couplings = 0
        self.pending_attach: set[str] = set()
        self.pending_detach: set[str] = set()
        self.pending_mark: set[str] = set()
        # ResetSubagent commands to forward: SubagentId -> force. (Not
        # journaled: after a Controller restart the user resets again.)
        self.pending_reset: dict[str, bool] = {}
        self._items_sent: set[str] = set()
        self._work = asyncio.Event()
        self._journaled_event_id = 0
        self._released = 0
        self._task: asyncio.Task[None] | None = None
        self._client: NodeClient | None = None  # the coupled Director's
        # The last confirmation required.
        self._required: wire_events.ClusterNodeLossNotConfirmedProblem | None = None
        self.watch = AgentClusterWatchService(
            controller.journal,
            path,
            f"{controller.controller_id}/{path}",
            password,
            self._confirmation_required,
            config.reconnect_max_delay,
        )

    # -- what the Controller calls ----------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"agent-driver:{self.path}")
        self._watch_directors()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.watch.stop()

    def _watch_directors(self) -> None:
        """Be the Cluster Watch of a Director pair, once it is one."""
        if len(self.controller.directors(self.path)) >= 2:
            self.watch.watch(self.controller.director_uris(self.path))

    def _uris(self) -> list[str]:
        return list(dict.fromkeys([self.uri, *self.controller.director_uris(self.path)]))

    async def _confirmation_required(
        self, problem: wire_events.ClusterNodeLossNotConfirmedProblem | None
    ) -> None:
        """``problem``: a node loss the Watch could not judge; None: a user's
        confirmation of it let the Watch consent."""
        if problem != self._required:
            self._required = problem
            await self.controller.agent_cluster_watch_confirmation_required(self.path, problem)

    async def switch_over(self) -> None:
        """``ClusterSwitchOver{agentPath}``: to the active Director."""
        if self._client is None:
            raise Problem(503, "AgentNotCoupled", f"Agent {self.path} is not coupled")
        try:
            await self._client.command({"TYPE": "ClusterSwitchOver"})
        except ProblemError as exc:
            raise Problem(exc.status, exc.code, exc.message) from None

    def attach(self, oid: str) -> None:
        self.pending_attach.add(oid)
        self._work.set()

    def detach(self, oid: str) -> None:
        self.pending_detach.add(oid)
        self._work.set()

    def reset_subagent(self, sid: str, force: bool) -> None:
        self.pending_reset[sid] = force
        self._work.set()

    def items_changed(self) -> None:
        self._work.set()
        self._watch_directors()

    def mark(self, oid: str) -> None:
        self.pending_mark.add(oid)
        self._work.set()

    def js7_state(self) -> snap.AgentRefState:
        """JS7's ``AgentRefState`` snapshot object (js7-data/.../agent/
        AgentRefStateTest.scala): ``couplingState`` ``Reset(Fresh)`` until the
        Agent was first dedicated, ``Coupled`` after (JS7 journals it); the
        connection's health is its ``problem``, present while this driver is
        not coupled (JS7 sets it with ``AgentCouplingFailed``). ``eventId``:
        the Agent's last event the Controller has committed."""
        journal = self.controller.journal
        run_id = journal.meta(f"agent.{self.path}.runId")
        coupling: snap.DelegateCouplingState = (
            snap.DelegateCoupled() if run_id else snap.DelegateReset(reason=snap.ResetFresh())
        )
        directors = self.controller.directors(self.path)
        ref = (
            snap.AgentRef(
                path=self.path,
                directors=directors,
                requireFailoverConfirmation=False,
                itemRevision=0,
            )
            if directors
            else snap.AgentRef(path=self.path, uri=self.uri, itemRevision=0)
        )
        return snap.AgentRefState(
            agentRef=ref,
            agentRunId=run_id or UNSET,
            couplingState=coupling,
            eventId=int(journal.meta(f"agent.{self.path}.eventId", 0)),
            problem=(
                UNSET
                if self.coupled
                else snap.ProblemJson(message=self.last_problem or "not coupled yet")
            ),
        )

    # -- the connection loop ------------------------------------------------

    async def _run(self) -> None:
        delay = 0.05
        timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5)
        index = 0  # which Director URI
        failed = 0  # couplings failed in a row
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                uris = self._uris()
                uri = uris[index % len(uris)]
                client = NodeClient(http, uri, "/agent/api", "Controller", self.password)
                try:
                    await self._couple(client)
                    delay = 0.05
                    failed = 0
                    self._client = client
                    await self._coupled(client)
                except asyncio.CancelledError:
                    raise
                except (
                    aiohttp.ClientError,
                    OSError,
                    TimeoutError,
                    ProblemError,
                    CouplingLost,
                ) as exc:
                    self.last_problem = f"{type(exc).__name__}: {exc}"
                except Exception as exc:  # a bug must not end the retrying for good
                    log.exception("Agent %s: unexpected error", self.path)
                    self.last_problem = f"{type(exc).__name__}: {exc}"
                if self.coupled:
                    log.warning("Agent %s: coupling lost: %s", self.path, self.last_problem)
                self.coupled = False
                self._client = None
                index += 1
                failed += 1
                if failed % len(uris):
                    continue  # the other Director next, at once: it may be the active one
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_delay)

    async def _couple(self, client: NodeClient) -> None:
        if not self.controller.may_act():
            raise CouplingLost("this Controller node is not (surely) active")
        journal = self.controller.journal
        run_id = journal.meta(f"agent.{self.path}.runId")
        if run_id is None:
            resp = await client.command(
                {
                    "TYPE": "DedicateAgentDirector",
                    "agentPath": self.path,
                    "directors": self.controller.directors(self.path),
                    "controllerId": self.controller.controller_id,
                    "controllerRunId": self.controller.controller_run_id,
                }
            )
            run_id = resp["agentRunId"]
            await self.controller.agent_dedicated(self.path, run_id)
        event_id = int(journal.meta(f"agent.{self.path}.eventId", 0))
        resp = await client.command(
            {
                "TYPE": "CoupleController",
                "agentPath": self.path,
                "agentRunId": run_id,
                "controllerRunId": self.controller.controller_run_id,
                "eventId": event_id,
            }
        )
        self._journaled_event_id = event_id
        self._released = 0
        self._items_sent.clear()
        attached = set(resp.get("orderIds", []))
        self.pending_attach, self.pending_detach, self.pending_mark = (
            self.controller.pending_for_agent(self.path, attached)
        )
        self.coupled = True
        self.couplings += 1
        self.last_problem = None
        log.info(
            "Agent %s coupled (run %s, after eventId %d, %d orders there)",
            self.path,
            run_id,
            event_id,
            len(attached),
        )

    async def _coupled(self, client: NodeClient) -> None:
        self._work.set()
        await until_one_fails(self._reader(client), self._sender(client), self._releaser(client))

    async def _reader(self, client: NodeClient) -> None:
        after = self._journaled_event_id
        while True:
            batch: list[dict[str, Any]] = []
            async for event in client.events(
                after,
                timeout=self.config.event_timeout,
                limit=1000,
                heartbeat=self.config.heartbeat,
            ):
                batch.append(event)
            if not self.controller.may_act():
                raise CouplingLost("this Controller node is not (surely) active any more")
            if batch:
                await self.controller.agent_events(self.path, batch)
                after = batch[-1]["eventId"]
                self._journaled_event_id = after

    async def _releaser(self, client: NodeClient) -> None:
        while True:
            await asyncio.sleep(self.config.release_delay)
            until = self._journaled_event_id
            if until > self._released:
                await client.command({"TYPE": "ReleaseEvents", "untilEventId": until})
                self._released = until

    async def _sender(self, client: NodeClient) -> None:
        while True:
            await self._work.wait()
            self._work.clear()
            while True:
                commands, sent = self._next_batch()
                if not commands:
                    break
                resp = await client.command({"TYPE": "Batch", "commands": commands})
                self._settle(sent, resp.get("responses", []))

    def _next_batch(self) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        c = self.controller
        commands: list[dict[str, Any]] = []
        sent: list[tuple[str, str]] = []
        for key, cmd in items.simple_item_commands(c, self.path):
            if key not in self._items_sent:
                commands.append(cmd)
                sent.append(("item", key))
        for sid, force in list(self.pending_reset.items()):
            commands.append({"TYPE": "ResetSubagent", "subagentId": sid, "force": force})
            sent.append(("reset", sid))
        for oid in list(self.pending_attach)[:BATCH]:
            attach = c.attach_order_command(oid, self.path)
            if attach is None:
                self.pending_attach.discard(oid)
                continue
            wf_key, cmd = attach
            if wf_key not in self._items_sent:
                commands.append(items.attach_item_command(c, wf_key))
                sent.append(("item", wf_key))
            commands.append(cmd)
            sent.append(("attach", oid))
        for oid in list(self.pending_detach)[:BATCH]:
            commands.append({"TYPE": "DetachOrder", "orderId": oid})
            sent.append(("detach", oid))
        for oid in list(self.pending_mark)[:BATCH]:
            mark = c.mark_command(oid)
            if mark is None:
                self.pending_mark.discard(oid)
                continue
            commands.append(mark)
            sent.append(("mark", oid))
        return commands, sent

    def _settle(self, sent: list[tuple[str, str]], responses: list[Any]) -> None:
        for (kind, key), resp in zip(sent, responses, strict=False):
            problem = (
                resp.get("code")
                if isinstance(resp, dict) and resp.get("TYPE") == "Problem"
                else None
            )
            if kind == "item":
                if problem is not None and "=" in key:
                    # A simple item the Agent refuses is not sent again until it changes.
                    log.warning("Agent %s: item %s refused: %s", self.path, key, resp)
                    self.last_problem = f"item {key.partition('=')[0]}: {problem}"
                if problem is None or "=" in key:
                    self._items_sent.add(key)
                continue
            if kind == "reset":
                if problem is not None:
                    log.warning("Agent %s: ResetSubagent %s refused: %s", self.path, key, resp)
                self.pending_reset.pop(key, None)
                continue
            pending = {
                "attach": self.pending_attach,
                "detach": self.pending_detach,
                "mark": self.pending_mark,
            }[kind]
            if problem is None or problem in ("UnknownOrder", "OrderNotDetachable"):
                # Done — or overtaken by events the reader will bring (the order
                # was already detached, or is not detachable yet and will say so).
                pending.discard(key)
            else:
                log.warning("Agent %s: %s %s refused: %s", self.path, kind, key, resp)
                pending.discard(key)
                self.last_problem = f"{kind} {key}: {problem}"
