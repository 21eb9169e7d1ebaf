"""The Subagent: JS7's ``/subagent/api`` — session, command, event.

A Director dedicates the Subagent (``DedicateSubagent``), couples
(``CoupleDirector``), attaches the signed workflows and starts job processes
(``StartOrderProcess``); it reads what happens as NDJSON ``Stamped`` events
(``OrderStdoutWritten``, ``OrderStderrWritten``, ``OrderProcessed``) and
releases them (``ReleaseEvents``).

What must hold (js7-subagent/.../DedicatedSubagent.scala, Subagent.scala):

* dedicated to one Agent run only: a second ``DedicateSubagent`` is
  idempotent for the same subagentId / agentPath / agentRunId / controllerId
  and ``SubagentAlreadyDedicated`` otherwise;
* a repeated ``StartOrderProcess`` for an order that is running, or whose
  ``OrderProcessed`` has not been released yet, starts no second process;
* the Subagent keeps nothing across a restart (``__main__`` removes the last
  run's events): a restarted Subagent answers ``SubagentNotDedicated``, and
  the Director learns from it that the processes are lost;
* a shutdown (``ShutDown``, SIGTERM) kills the running processes, reports
  each as ``ProcessLost(ProcessKilledDueToSubagentShutdown)``, ends with
  ``SubagentShutdown`` and waits (up to ``js7.subagent.shutdown-wait``) for
  the Director to release those events, so the orders run again elsewhere;
* the Subagent never opens a connection: it has no client.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from components.agent.jobs import Step
from components.common import signatures
from components.common.auth import SESSION_HEADER
from components.common.config import Config
from components.common.eventid import new_journal_id
from components.common.instructions import process_lost
from components.common.journal import EventSeqTorn, Journal, UnknownEventId
from components.common.node import Runnable, journal_problem
from components.common.position import Position
from components.common.web import Problem
from components.common.workflow import Execute, Workflow
from components.wire import JS7_VERSION
from components.wire import subagent as sw
from components.wire.codec import convert, to_json

log = logging.getLogger("js7.subagent.Subagent")
JOURNAL = "subagent.journal.sqlite"


# The session a command came in on (each request is its own task).
_session: contextvars.ContextVar[str | None] = contextvars.ContextVar("session", default=None)


def not_dedicated() -> Problem:
    return Problem(400, "SubagentNotDedicated", "SubagentNotDedicated")


class Subagent(Runnable):
    prefix = "/subagent/api"
    command_union = sw.SubagentCommand
    command_name = "SubagentCommand"

    def __init__(self, data_dir: Path, cfg: Config, journal: Journal) -> None:
        super().__init__(data_dir, cfg, journal)
        self.dedication: sw.DedicateSubagent | None = None
        self.run_id: str | None = None
        self.workflows: dict[str, Workflow] = {}
        # Orders whose process runs, or whose OrderProcessed is not released
        # yet: order id -> (the StartOrderProcess as JSON, eventId of its
        # OrderProcessed or None while running).
        self.orders: dict[str, tuple[Any, int | None]] = {}
        self._coupled_session: str | None = None  # of the last CoupleDirector
        self._steps: dict[str, Step] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._shutting_down = False
        self._dont_wait = False
        self._released = asyncio.Event()
        self.shutdown_wait = cfg.seconds("js7.subagent.shutdown-wait", 3.0)
        self.shutdown_requested = asyncio.Event()
        self.work_dir = data_dir / "work"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.trusted_silly = signatures.trusted_silly(cfg, data_dir / "config")
        self.commands = {
            sw.DedicateSubagent: self._dedicate,
            sw.CoupleDirector: self._couple,
            sw.AttachSignedItem: self._attach_signed_item,
            sw.StartOrderProcess: self._start_order_process,
            sw.KillProcess: self._kill_process,
            sw.ReleaseEvents: self._release_events,
            sw.ShutDown: self._shutdown,
            sw.NoOperation: self.no_operation,
            sw.Batch: self._batch,
        }

    async def start(self) -> None:
        log.info("Subagent started (not dedicated)")

    async def before_shutdown(self) -> None:
        """Still serving HTTP: the Director reads what the shutdown did."""
        if self.dedication is None:
            return
        self._shutting_down = True
        # First, so the Director selects this Subagent no more before it
        # reads the lost processes (SubagentState.scala L75-82).
        await self.journal.persist([{"TYPE": "SubagentShutdownStarted"}])
        for step in list(self._steps.values()):
            step.kill()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.journal.persist([{"TYPE": "SubagentShutdown"}])
        last = self.journal.last_event_id
        if self._dont_wait:
            return
        try:
            await asyncio.wait_for(self._released_until(last), self.shutdown_wait)
        except TimeoutError:
            log.warning("the Director did not take the shutdown's events: stopping anyway")

    async def _released_until(self, event_id: int) -> None:
        while self.releasable() < event_id:
            self._released.clear()
            await self._released.wait()

    async def stop(self) -> None:
        self._stopping = True
        for step in list(self._steps.values()):
            step.kill()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.journal.close()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.prefix, self.overview)

    async def overview(self, request: web.Request) -> web.Response:
        self.sessions.user_of(request)
        return web.json_response(
            {
                "version": JS7_VERSION,
                "startedAt": int(self.started_at * 1000),
                "isTerminating": self._stopping,
                "subagentRunId": self.run_id,
                "pid": os.getpid(),
            }
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        """JS7's event route requires the ``subagentRunId`` of this run, so a
        Director never mistakes a restarted Subagent's events for the old ones."""
        self.sessions.user_of(request)
        if self.run_id is None:
            raise not_dedicated()
        if request.query.get("subagentRunId") != self.run_id:
            raise Problem(
                400,
                "SubagentRunIdMismatch",
                "the Subagent's run id differs: it was restarted",
                arguments={"subagentId": self._dedicated().subagentId},
            )
        return await super().events(request)

    async def command(self, request: web.Request) -> web.Response:
        """Only a Director may command a Subagent (JS7's AgentDirectorPermission)."""
        self.sessions.require(request, "AgentDirector")
        _session.set(request.headers.get(SESSION_HEADER))
        return await super().command(request)

    def _dedicated(self) -> sw.DedicateSubagent:
        if self.dedication is None:
            raise not_dedicated()
        return self.dedication

    # -- commands ------------------------------------------------------------

    def _not_shutting_down(self) -> None:
        if self._stopping or self._shutting_down or self.shutdown_requested.is_set():
            raise Problem(400, "SubagentIsShuttingDown", "SubagentIsShuttingDown")

    async def _dedicate(self, user: str, cmd: sw.DedicateSubagent) -> sw.DedicateSubagentResponse:
        self._not_shutting_down()
        known = self.dedication
        if known is None:
            self.dedication, self.run_id = cmd, new_journal_id()
            log.info("dedicated as %s to Agent %s", cmd.subagentId, cmd.agentPath)
        elif (known.subagentId, known.agentPath, known.agentRunId, known.controllerId) != (
            cmd.subagentId,
            cmd.agentPath,
            cmd.agentRunId,
            cmd.controllerId,
        ):
            raise Problem(
                400,
                "SubagentAlreadyDedicated",
                "Subagent has already been dedicated (maybe it should be restarted?) — "
                f"dedicated as {known.subagentId} to {known.agentPath} run {known.agentRunId}",
            )
        assert self.run_id is not None
        return sw.DedicateSubagentResponse(
            subagentRunId=self.run_id,
            subagentEventId=self.journal.last_event_id,
            version=JS7_VERSION,
        )

    async def _couple(self, user: str, cmd: sw.CoupleDirector) -> sw.CoupleDirectorResponse:
        self._not_shutting_down()
        known = self._dedicated()
        if cmd.subagentId != known.subagentId:
            raise Problem(
                400,
                "SubagentIdMismatch",
                f"{cmd.subagentId} is not this Subagent ({known.subagentId})",
            )
        if cmd.subagentRunId != self.run_id:
            raise Problem(
                400,
                "SubagentRunIdMismatch",
                "the Subagent's run id differs: it was restarted",
                arguments={"subagentId": known.subagentId},
            )
        try:
            self.journal.read(cmd.eventId, 1)
        except (EventSeqTorn, UnknownEventId) as exc:
            raise journal_problem(exc) from None
        self._coupled_session = _session.get()
        return sw.CoupleDirectorResponse(version=JS7_VERSION)

    async def _attach_signed_item(self, user: str, cmd: sw.AttachSignedItem) -> None:
        self._dedicated()
        signatures.verify(cmd.signed, self.trusted_silly)
        try:
            wf = Workflow.from_json(json.loads(cmd.signed.string))
        except ValueError as exc:
            raise Problem(400, "InvalidWorkflow", f"signed string is not JSON: {exc}") from None
        self.workflows.setdefault(wf.key, wf)

    async def _start_order_process(self, user: str, cmd: sw.StartOrderProcess) -> None:
        self._dedicated()
        self._not_shutting_down()
        order = cmd.order
        # A replaced Director's request can arrive long after it was sent (TCP
        # retransmits it once a partition heals): after the new active saw the
        # job end and released its OrderProcessed, when this Subagent no
        # longer knows the order and would run the job a second time.
        if self._coupled_session is not None and _session.get() != self._coupled_session:
            log.warning("StartOrderProcess %s on a superseded session: refused", order.id)
            raise Problem(
                400,
                sw.SESSION_SUPERSEDED,
                "a later CoupleDirector superseded this session: couple again (reference-only)",
            )
        raw = to_json(cmd.order)
        known = self.orders.get(order.id)
        if known is not None:
            if known[0] != raw:
                raise Problem(
                    400,
                    "DuplicateStartOrderProcess",
                    "Duplicate SubagentCommand.StartOrder with changed Order",
                )
            log.info(
                "StartOrderProcess %s from %s repeated: the process runs or ran", order.id, user
            )
            return  # the Director repeated itself (a retry): the process runs or ran
        wid = order.workflowPosition.workflowId
        wf = self.workflows.get(f"{wid.path}~{wid.versionId}")
        if wf is None:
            raise Problem(400, "UnknownItemPath", f"Workflow:{wid.path}~{wid.versionId} unknown")
        position = wf.check_position(Position.parse(order.workflowPosition.position))
        ins = wf.instruction(position)
        if not isinstance(ins, Execute):
            raise Problem(400, "InvalidCommand", f"{position} of {wf.path} is not a job")
        env = {
            "JS7_ORDER_ID": order.id,
            "JS7_WORKFLOW_PATH": wf.path,
            "JS7_WORKFLOW_POSITION": str(position),
            "JS7_AGENT_PATH": self._dedicated().agentPath,
            "JS7_SUBAGENT_ID": self._dedicated().subagentId,
            "JS7_AGENT_DATA": str(self.data_dir),
            "JS7_AGENT_WORK": str(self.work_dir),
        }
        step = Step(
            ins.job.executable,
            env,
            order.arguments or {},
            self._output(order.id),
            executables=self.data_dir / "config" / "executables",
            meaning=ins.job.return_code_meaning,
        )
        self.orders[order.id] = (raw, None)
        self._steps[order.id] = step
        log.info("StartOrderProcess %s from %s: process started", order.id, user)
        task = asyncio.create_task(self._run(order.id, raw, step), name=f"process:{order.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _output(self, oid: str) -> Any:
        async def on_output(stream: str, chunk: str) -> None:
            kind = "OrderStdoutWritten" if stream == "stdout" else "OrderStderrWritten"
            await self.journal.persist([{"Key": oid, "TYPE": kind, "chunk": chunk}])

        return on_output

    async def _run(self, oid: str, raw: Any, step: Step) -> None:
        try:
            outcome = await step.run()
        finally:
            self._steps.pop(oid, None)
        if self._stopping:
            return  # gone with this run: the Director learns it from SubagentNotDedicated
        if self._shutting_down:
            outcome = process_lost("ProcessKilledDueToSubagentShutdown")
        stamped = await self.journal.persist(
            [{"Key": oid, "TYPE": "OrderProcessed", "outcome": outcome}]
        )
        self.orders[oid] = (raw, stamped[-1]["eventId"])

    async def _kill_process(self, user: str, cmd: sw.KillProcess) -> None:
        self._dedicated()
        step = self._steps.get(cmd.orderId)
        if step is not None:
            step.kill()

    async def _release_events(self, user: str, cmd: sw.ReleaseEvents) -> None:
        self._dedicated()
        await self.release(user, cmd.untilEventId)
        self._released.set()
        # A released OrderProcessed releases its order id too: a later
        # StartOrderProcess for it is a new process (SubagentCommand.scala L150-155).
        released = [
            oid
            for oid, (_, processed) in self.orders.items()
            if processed is not None and processed <= cmd.untilEventId
        ]
        for oid in released:
            del self.orders[oid]
        if released:
            log.info("released until %d: %s", cmd.untilEventId, " ".join(released))

    async def _shutdown(self, user: str, cmd: sw.ShutDown) -> None:
        """``ShutDown``: ``before_shutdown`` kills the processes, whatever the
        ``processSignal`` (the reference waits for no job to end)."""
        self._dont_wait = cmd.dontWaitForDirector
        self.shutdown_requested.set()

    async def _batch(self, user: str, cmd: sw.Batch) -> dict[str, Any]:
        """JS7's Subagent ``Batch`` executes in order and stops at the first
        failure (SubagentCommandExecutor.scala L92-106)."""
        responses: list[Any] = []
        for sub in cmd.commands:
            try:
                one = convert(sub, self.command_union, self.command_name)
                if isinstance(one, sw.Batch):
                    raise Problem(400, "InvalidCommand", "a Batch must not contain a Batch")
                result = await self.commands[type(one)](user, one)
            except Problem as p:
                responses.append(p.to_json())
                break
            responses.append(to_json(result) if result is not None else {"TYPE": "Accepted"})
        return {"TYPE": "Batch.Response", "responses": responses}
