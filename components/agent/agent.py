"""The Agent's core: attached orders, their journal, and their job steps.

What must hold:

* every transition of an order is journaled *before* anything acts on it
  (a step starts only after ``OrderProcessingStarted`` is committed);
* attached orders keep running — and fresh orders whose ``scheduledFor`` is
  due start — with no Controller connected: the Agent needs nobody;
* the Agent moves an order through ``If``, ``Try``, ``Retry``, ``Fail`` and
  ``Sleep`` itself (``components/common/instructions.py``); at another
  Agent's job, at an instruction only the Controller executes (``Finish``,
  ``Prompt``), at the end of the workflow and after an uncaught failure the
  order becomes ``OrderDetachable`` and waits for the Controller's
  ``DetachOrder``;
* after a restart, a step that was running is reported ``OrderProcessed``
  with outcome ``Disrupted(ProcessLost)`` and run again;
* the Agent never opens a connection to a Controller (it has no client);
* as one of two Director Agents (``js7.journal.cluster``) it replicates its
  journal through the shared cluster (``components/common/cluster``) with
  the Controller as the Cluster Watch (``PulledWatch``): only the active
  Director acts, and a transition is acted on only once the passive has it,
  so a fail-over never forgets a started process (no double execution).

Each order is driven by one task; transitions of one order are serialised by
its lock, so a command (mark, detach) and the driver never overwrite each
other's changes. A journal write that fails stops the Agent (fail-stop): it
never acts on state it could not persist.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from msgspec import UNSET

from components.agent.jobs import Step
from components.agent.subagents import RECONNECT_DELAYS, SIGNED, RemoteStep, SubagentKeeper
from components.common import expression, instructions, signatures
from components.common.cluster.arbiter import ClusterWatch
from components.common.cluster.hosting import ClusterHosting
from components.common.config import Config
from components.common.eventid import new_journal_id
from components.common.journal import Event, EventSeqTorn, Journal, UnknownEventId
from components.common.node import Runnable, journal_problem
from components.common.position import Position
from components.common.web import Problem, read_json
from components.common.workflow import Workflow
from components.wire import BUILD_ID, JS7_VERSION
from components.wire import agent_commands as ac
from components.wire import controller_commands as cc
from components.wire import overview as ov
from components.wire.codec import to_json

log = logging.getLogger("js7.agent.Agent")
ORDER = "order"
WORKFLOW = "workflow"


def now_ms() -> int:
    return int(time.time() * 1000)


class Agent(ClusterHosting, Runnable):
    prefix = "/agent/api"
    command_union = ac.AgentCommand
    command_name = "AgentCommand"
    batch_response = ac.BatchResponse
    concurrent_commands = frozenset({"AttachOrder", "DetachOrder", "MarkOrder"})

    def __init__(self, data_dir: Path, cfg: Config, journal: Journal) -> None:
        super().__init__(data_dir, cfg, journal)
        self.orders: dict[str, dict[str, Any]] = {}
        self.workflows: dict[str, Workflow] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._drivers: dict[str, asyncio.Task[None]] = {}
        self._steps: dict[str, Step | RemoteStep] = {}
        # Orders waiting for an available Subagent: order id -> attempts so far.
        self._selecting: dict[str, int] = {}
        # Steps on the Director's own Subagent, counted for $js7SubagentProcessCount.
        self._local_steps: dict[str, str] = {}
        self.subagents = SubagentKeeper(self)
        self.subagents.on_available = self._subagent_available
        self._stopping = False
        self.shutdown_requested = asyncio.Event()
        self.watch = ClusterWatch(journal)
        self.cluster = self.make_cluster(cfg)
        self.release_constraints.append(self.cluster.releasable)
        # JS7's Agent data dir has a work/ folder beside state/ and logs/; jobs
        # learn both through the environment (JS7_AGENT_DATA, JS7_AGENT_WORK).
        self.work_dir = data_dir / "work"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.trusted_silly = signatures.trusted_silly(cfg, data_dir / "config")
        self.commands = {
            ac.DedicateAgentDirector: self._dedicate,
            ac.CoupleController: self._couple,
            ac.AttachSignedItem: self._attach_signed_item,
            ac.AttachItem: self._attach_item,
            ac.ResetSubagent: self._reset_subagent,
            ac.DetachItem: self._detach_item,
            ac.AttachOrder: self._attach_order,
            ac.DetachOrder: self._detach_order,
            ac.MarkOrder: self._mark_order,
            ac.ReleaseEvents: self.release_events,
            ac.NoOperation: self.no_operation,
            ac.EmergencyStop: self._emergency_stop,
            ac.ShutDown: self._shutdown,
            ac.Batch: self.batch,
            ac.ClusterSwitchOver: self._switch_over,
            ac.ConfirmClusterNodeLoss: self._confirm_node_loss,
        }

    # -- life cycle --------------------------------------------------------

    @property
    def agent_path(self) -> str | None:
        path = self.journal.meta("agentPath")
        return str(path) if path else None

    async def start(self) -> None:
        await self.cluster.start()
        log.info("Director cluster node %s is %s", self.cluster.own_id, self.cluster.role)

    async def activate(self) -> None:
        """This Director became active (at start, or by fail-over or
        switch-over): take up the journaled orders and Subagents."""
        self._stopping = False
        self.subagents = SubagentKeeper(self)
        self.subagents.on_available = self._subagent_available
        for key, raw in self.journal.state(WORKFLOW).items():
            self.workflows[key] = Workflow.from_json(raw)
        self.orders = {k: dict(v) for k, v in self.journal.state(ORDER).items()}
        await self.subagents.load()
        resumed = await self._recover_processing()
        self.subagents.connect()
        for oid in self.orders:
            self._ensure_driver(oid, resumed.get(oid))
        log.info(
            "Agent %s started with %d orders, %d workflows, last eventId %d",
            self.agent_path or "(not dedicated)",
            len(self.orders),
            len(self.workflows),
            self.journal.last_event_id,
        )

    async def _recover_processing(self) -> dict[str, RemoteStep]:
        """Orders that were processing when the Agent stopped. A step of the
        Director's own Subagent died with it: ``ProcessLost``, and it runs
        again (failed, if the job is not restartable). A step on a remote
        Subagent may still run there: it is attached again (an idempotent
        StartOrderProcess), never started twice (SubagentKeeper.recoverOrderProcessing)."""
        resumed: dict[str, RemoteStep] = {}
        lost = []
        for oid, o in self.orders.items():
            if o["state"] != "processing":
                continue
            wf = self.workflows[o["workflowKey"]]
            sid = o.get("subagentId")
            if sid and sid in self.subagents.remotes:
                resumed[oid] = self._remote_step(oid, wf, o, sid)
                self._steps[oid] = resumed[oid]
                continue
            job = wf.job_at(Position.parse(o["position"]))
            restartable = job is None or not job.is_not_restartable
            lost_event: Event = {
                "TYPE": "OrderProcessed",
                "outcome": instructions.process_lost(
                    "ProcessLostDueToRestart", restartable=restartable
                ),
            }
            await self._set(
                oid, [lost_event], {**instructions.apply(o, lost_event), "state": "ready"}
            )
            lost.append(oid)
        if lost:
            log.warning(
                "%d orders had a running step when the Agent stopped: ProcessLost", len(lost)
            )
        return resumed

    async def deactivate(self) -> None:
        """Switched over: the other Director takes the orders up. Remote
        steps stay running on their Subagents (it re-attaches them)."""
        self._stopping = True
        await self._end_drivers()
        self.orders = {}
        self._steps.clear()

    async def _end_drivers(self) -> None:
        for task in list(self._drivers.values()):
            task.cancel()
        await asyncio.gather(*self._drivers.values(), return_exceptions=True)
        await self.subagents.stop()

    async def before_shutdown(self) -> None:
        await self.cluster.stop(graceful=True)

    async def stop(self) -> None:
        """Graceful stop: running steps are killed (they will be ProcessLost
        after the restart), drivers end, the journal is closed cleanly."""
        self._stopping = True
        for step in list(self._steps.values()):
            step.kill()
        await self._end_drivers()
        await self.cluster.stop(graceful=False)  # (idempotent)
        await self.journal.close()

    # -- the Director cluster ---------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.prefix, self.overview)
        app.router.add_get(f"{self.prefix}/order", self.list_orders)
        app.router.add_get(f"{self.prefix}/js7ha/overview", self.js7ha_overview)
        app.router.add_post(f"{self.prefix}/clusterWatch", self.cluster_watch)
        app.router.add_get(f"{self.prefix}/clusterWatch", self.cluster_watch_status)
        self.add_cluster_routes(app)

    async def cluster_watch(self, request: web.Request) -> web.Response:
        self.sessions.require(request, "ClusterWatch")
        body = await read_json(request)
        if not isinstance(body, dict):
            raise Problem(400, "InvalidCommand", "a ClusterWatch command is a JSON object")
        result = await self.watch.handle(body)
        return web.json_response(result or {"TYPE": "Accepted"})

    async def cluster_watch_status(self, request: web.Request) -> web.Response:
        self.sessions.user_of(request)
        return web.json_response(self.watch.status())

    async def _confirm_node_loss(self, user: str, cmd: ac.ConfirmClusterNodeLoss) -> None:
        await self.watch.confirm_node_loss(cmd.lostNodeId)

    async def overview(self, request: web.Request) -> web.Response:
        """JS7's ``GET /agent/api``: ``AgentOverview``, its fields only."""
        self.sessions.user_of(request)
        system, java = ov.runtime()
        overview = ov.AgentOverview(
            startedAt=int(self.started_at * 1000),
            version=JS7_VERSION,
            buildId=BUILD_ID,
            isTerminating=self._stopping,
            system=system,
            java=java,
        )
        return web.json_response(to_json(overview))

    async def js7ha_overview(self, request: web.Request) -> web.Response:
        """reference-only: what the reference's own tests read beside JS7's
        overview (its Agent path and run, the last eventId, its journal)."""
        self.sessions.user_of(request)
        return web.json_response(
            {
                "id": self.agent_path,
                "agentRunId": self.journal.meta("agentRunId"),
                "controllerId": self.journal.meta("controllerId"),
                "orderCount": len(self.orders),
                "eventId": self.journal.last_event_id,
                "pid": os.getpid(),
                "journal": self.journal_info(),
                "subagents": self.subagents.states(),
            }
        )

    async def list_orders(self, request: web.Request) -> web.Response:
        self.sessions.user_of(request)
        return web.json_response({"orders": list(self.orders.values())})

    # -- persistence -------------------------------------------------------

    def _lock(self, oid: str) -> asyncio.Lock:
        lock = self._locks.get(oid)
        if lock is None:
            lock = self._locks[oid] = asyncio.Lock()
        return lock

    async def _set(self, oid: str, events: list[Event], new: dict[str, Any] | None) -> None:
        """Journal ``events`` of order ``oid`` together with its new state
        (None: the order leaves this Agent), then make the state current."""
        await self.persist_or_die([{"Key": oid, **e} for e in events], [(ORDER, oid, new)])
        if new is None:
            self.orders.pop(oid, None)
            self._locks.pop(oid, None)
            self._wake.pop(oid, None)
        else:
            self.orders[oid] = new

    async def persist_or_die(
        self,
        events: list[Event],
        changes: list[tuple[str, str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        try:
            stamped = await self.journal.persist(events, changes or [], meta)
        except Exception:
            log.critical(
                "journal write failed: the Agent stops rather than act unjournaled", exc_info=True
            )
            os._exit(70)
        if stamped:
            # Acted on only once the passive Director has it — a fail-over
            # then knows every step that may have started — and only while
            # this Director is sure to be the active one.
            await self.cluster.wait_replicated(int(stamped[-1]["eventId"]))
            await self.cluster.wait_sure_active()

    def _ensure_driver(self, oid: str, resume: RemoteStep | None = None) -> None:
        task = self._drivers.get(oid)
        if task is None or task.done():
            self._drivers[oid] = asyncio.create_task(self._drive(oid, resume), name=f"order:{oid}")

    def _wake_up(self, oid: str) -> None:
        self._wake.setdefault(oid, asyncio.Event()).set()

    async def _sleep_until_woken(self, oid: str, seconds: float | None) -> None:
        ev = self._wake.setdefault(oid, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ev.wait(), seconds)
        ev.clear()

    # -- driving an order --------------------------------------------------

    async def _drive(self, oid: str, resume: RemoteStep | None = None) -> None:
        try:
            while not self._stopping:
                step, wait = (resume, None) if resume is not None else await self._next(oid)
                resume = None
                if step is not None:
                    running: Step | RemoteStep | None = step
                    while running is not None:
                        running = await self._run_step(oid, running)
                elif wait is not False:
                    await self._sleep_until_woken(oid, wait)
                else:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("order %s: driver failed", oid)
        finally:
            if self._drivers.get(oid) is asyncio.current_task():
                del self._drivers[oid]

    async def _next(self, oid: str) -> tuple[Step | RemoteStep | None, float | bool | None]:
        """Take the next transition of the order, under its lock. Returns
        (a step to run, or None; and if None: seconds to wait for a wake-up,
        None to wait indefinitely, False when there is nothing more to do)."""
        async with self._lock(oid):
            o = self.orders.get(oid)
            if o is None or o["state"] in ("detachable", "processing"):
                return None, False
            mark = o.get("mark")
            if mark == "cancel":
                await self._set(oid, [{"TYPE": "OrderDetachable"}], {**o, "state": "detachable"})
                return None, False
            if o["state"] == "suspended":
                if mark == "resume":
                    await self._set(
                        oid,
                        [{"TYPE": "OrderResumed"}],
                        {**o, "state": o.get("resumeState", "ready"), "mark": None},
                    )
                    return None, 0
                return None, None
            if mark == "suspend":
                await self._set(
                    oid,
                    [{"TYPE": "OrderSuspended"}],
                    {**o, "state": "suspended", "mark": None, "resumeState": o["state"]},
                )
                return None, 0
            return await self._advance(oid, o, [])

    async def _advance(
        self, oid: str, o: dict[str, Any], events: list[Event]
    ) -> tuple[Step | RemoteStep | None, float | bool | None]:
        """Journal ``events`` and the order's next moves in one transaction;
        start its step when it is at a job of this Agent (under its lock)."""
        wf = self.workflows[o["workflowKey"]]
        nxt = instructions.next_events(wf, o, here=self.agent_path, now=now_ms())
        events = [*events, *nxt.events]
        new = nxt.order
        if new.get("started") and new["state"] == "fresh":
            new = {**new, "state": "ready"}
        if nxt.action == "detach":
            await self._set(oid, events, {**new, "state": "detachable"})
            return None, False
        if nxt.action != "run":
            if events:
                await self._set(oid, events, new)
            if nxt.action == "continue":
                return None, 0
            return None, None if nxt.until is None else max(0.0, (nxt.until - now_ms()) / 1000)
        assert nxt.job is not None
        started: Event = {"TYPE": "OrderProcessingStarted", "stick": False}
        subagent = None
        if nxt.job.subagent_bundle is not None:
            bundle = self._bundle_id(nxt.job.subagent_bundle, new)
            subagent = self.subagents.select(bundle) if bundle else None
            if bundle and subagent is None:
                # Nobody available: the order stays at the job and selection
                # is retried with back-off, or when a Subagent couples.
                if events:
                    await self._set(oid, events, new)
                return None, self._selection_delay(oid)
            if subagent is not None:
                started = {"TYPE": "OrderProcessingStarted", "subagentId": subagent}
                if bundle != subagent:
                    started["subagentBundleId"] = bundle
                started["stick"] = False
        self._selecting.pop(oid, None)
        # One transaction for the moves, "started" and "processing started":
        # fewer sequential commits per order, same meaning. Without a bundle
        # JS7's OrderProcessingStarted.noSubagent: the Agent runs the job itself.
        events.append(started)
        new = {**instructions.apply(new, events[-1]), "state": "processing"}
        if subagent is not None and not self.subagents.is_local(subagent):
            # Which Subagent run the process belongs to: a later run of it
            # (restarted) has lost the process.
            new["subagentId"] = subagent
            new["subagentRunId"] = self.subagents.remotes[subagent].run_id
        await self._set(oid, events, new)
        if "subagentId" in new:
            remote = self._remote_step(oid, wf, new, subagent or "")
            self._steps[oid] = remote
            return remote, None
        if subagent is not None:
            self._local_steps[oid] = subagent
            self.subagents.process_counts[subagent] += 1
        env = {
            "JS7_ORDER_ID": oid,
            "JS7_WORKFLOW_PATH": wf.path,
            "JS7_WORKFLOW_POSITION": str(Position.parse(new["position"])),
            "JS7_AGENT_PATH": self.agent_path or "",
            "JS7_AGENT_DATA": str(self.data_dir),
            "JS7_AGENT_WORK": str(self.work_dir),
        }
        step = Step(
            nxt.job.executable,
            env,
            new.get("arguments") or {},
            self._output(oid),
            executables=self.data_dir / "config" / "executables",
            meaning=nxt.job.return_code_meaning,
        )
        self._steps[oid] = step
        return step, None

    def _bundle_id(self, expr: expression.Expr, o: dict[str, Any]) -> str:
        """The job's ``subagentBundleIdExpr`` in the order's scope; "" is the
        Director's own Subagent (SubagentBundleId.LocalSubagentString)."""
        try:
            return expression.to_string(expression.evaluate(expr, o.get("arguments") or {}))
        except expression.ExpressionError as exc:
            log.warning("order %s: subagentBundleIdExpr: %s", o.get("id"), exc)
            return ""

    def _selection_delay(self, oid: str) -> float:
        attempt = self._selecting.get(oid, 0)
        self._selecting[oid] = attempt + 1
        return RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]

    def _subagent_available(self) -> None:
        for oid in list(self._selecting):
            self._wake_up(oid)

    def _remote_step(self, oid: str, wf: Workflow, o: dict[str, Any], sid: str) -> RemoteStep:
        job = wf.job_at(Position.parse(o["position"]))
        return self.subagents.remote_step(
            sid,
            oid,
            wf.key,
            self._start_order_process(oid, wf, o, sid),
            run_id=o.get("subagentRunId"),
            restartable=job is None or not job.is_not_restartable,
        )

    @staticmethod
    def _start_order_process(
        oid: str, wf: Workflow, o: dict[str, Any], subagent: str
    ) -> dict[str, Any]:
        """JS7's ``StartOrderProcess`` (SubagentCommandTest.scala)."""
        order: dict[str, Any] = {
            "id": oid,
            "state": {"TYPE": "Processing", "subagentId": subagent},
            "workflowPosition": {"workflowId": wf.id_json, "position": o["position"]},
        }
        if o.get("arguments"):
            order["arguments"] = o["arguments"]
        return {"TYPE": "StartOrderProcess", "order": order, "defaultArguments": {}}

    def _output(self, oid: str) -> Callable[[str, str], Awaitable[None]]:
        async def on_output(stream: str, chunk: str) -> None:
            kind = "OrderStdoutWritten" if stream == "stdout" else "OrderStderrWritten"
            try:
                await self.journal.persist([{"Key": oid, "TYPE": kind, "chunk": chunk}])
            except Exception:
                log.critical("journal write failed", exc_info=True)
                os._exit(70)

        return on_output

    async def _run_step(self, oid: str, step: Step | RemoteStep) -> Step | RemoteStep | None:
        """Run the step, journal its outcome and the order's next moves;
        the next step if the order came to another job of this Agent."""
        try:
            result = await step.run()
        finally:
            self._steps.pop(oid, None)
        if self._stopping:
            # Lost with this run (a remote step is attached again after the
            # restart: its outcome stays unreleased on the Subagent).
            return None
        try:
            async with self._lock(oid):
                processed: Event = {"TYPE": "OrderProcessed", "outcome": result}
                o = {**instructions.apply(self.orders[oid], processed), "state": "ready"}
                if o.get("mark"):
                    await self._set(oid, [processed], o)  # the driver acts on the mark
                    return None
                # The next moves (or the detach) in the same transaction.
                following, _ = await self._advance(oid, o, [processed])
        finally:
            # Journaled (or the Agent has exited): the outcome may be released.
            if isinstance(step, RemoteStep):
                step.settled()
            elif (local := self._local_steps.pop(oid, None)) is not None:
                self.subagents.process_counts[local] -= 1
        return following

    # -- commands ----------------------------------------------------------

    def _need_dedicated(self) -> str:
        path = self.agent_path
        if path is None:
            raise Problem(
                400, "AgentNotDedicated", "the Agent has not been dedicated to a Controller"
            )
        return path

    async def _dedicate(
        self, user: str, cmd: ac.DedicateAgentDirector
    ) -> ac.DedicateAgentDirectorResponse:
        agent_path, controller_id = cmd.agentPath, cmd.controllerId
        known = self.journal.meta("controllerId")
        if known is not None and known != controller_id:
            raise Problem(
                400, "AgentAlreadyDedicated", f"Agent is already dedicated to Controller '{known}'"
            )
        if known is not None and self.agent_path != agent_path:
            raise Problem(
                400,
                "AgentPathMismatch",
                f"Agent is dedicated as '{self.agent_path}', not '{agent_path}'",
            )
        run_id = self.journal.meta("agentRunId")
        if run_id is None:
            # JS7's AgentRunId: a journal id, a UUID in unpadded base64url.
            run_id = new_journal_id()
            directors = cmd.directors or ([cmd.subagentId] if cmd.subagentId else [])
            await self.journal.persist(
                [
                    {
                        "TYPE": "AgentDedicated",
                        "directors": directors,
                        "agentPath": agent_path,
                        "agentRunId": run_id,
                        "controllerId": controller_id,
                        "controllerRunId": cmd.controllerRunId,
                    }
                ],
                meta={"agentPath": agent_path, "agentRunId": run_id, "controllerId": controller_id},
            )
            log.info("dedicated as %s to Controller %s", agent_path, controller_id)
        return ac.DedicateAgentDirectorResponse(
            agentRunId=str(run_id), agentEventId=self.journal.last_event_id
        )

    async def _couple(self, user: str, cmd: ac.CoupleController) -> ac.CoupleControllerResponse:
        path = self._need_dedicated()
        if cmd.agentPath != path:
            raise Problem(
                400, "AgentPathMismatch", f"Agent is dedicated as '{path}', not '{cmd.agentPath}'"
            )
        if cmd.agentRunId != self.journal.meta("agentRunId"):
            raise Problem(
                400,
                "AgentRunIdMismatch",
                "the Agent's run id differs: it was reset or dedicated anew",
            )
        if cmd.eventId < 0:
            raise Problem(400, "InvalidField", "CoupleController: 'eventId' must be an EventId")
        try:
            self.journal.read(cmd.eventId, 1)
        except (EventSeqTorn, UnknownEventId) as exc:
            raise journal_problem(exc) from None
        return ac.CoupleControllerResponse(orderIds=sorted(self.orders))

    async def _attach_signed_item(self, user: str, cmd: ac.AttachSignedItem) -> None:
        self._need_dedicated()
        signatures.verify(cmd.signed, self.trusted_silly)
        try:
            data = json.loads(cmd.signed.string)
        except ValueError as exc:
            raise Problem(400, "InvalidWorkflow", f"signed string is not JSON: {exc}") from None
        wf = Workflow.from_json(data)
        if wf.key in self.workflows:
            return
        signed = to_json(cmd.signed)
        await self.journal.persist(
            [{"TYPE": "SignedItemAttachedToMe", "signed": signed}],
            # The signed string too: the Director hands it on to its Subagents.
            [(WORKFLOW, wf.key, wf.raw), (SIGNED, wf.key, signed)],
        )
        self.workflows[wf.key] = wf

    async def _attach_item(self, user: str, cmd: ac.AttachItem) -> None:
        """``AttachItem``: a SubagentItem, SubagentBundle or AgentRef."""
        await self.subagents.attach(cmd.item, self._need_dedicated())

    async def _switch_over(self, user: str, cmd: ac.ClusterSwitchOver) -> None:
        await self.cluster.switch_over()

    async def _reset_subagent(self, user: str, cmd: ac.ResetSubagent) -> None:
        self._need_dedicated()
        await self.subagents.reset(cmd.subagentId, cmd.force)

    async def _detach_item(self, user: str, cmd: ac.DetachItem) -> None:
        path = self._need_dedicated()
        kind, _, key = cmd.key.partition(":")
        if kind != "Workflow" or key not in self.workflows:
            raise Problem(400, "UnknownItemKey", f"Unknown item: {cmd.key}")
        if any(o["workflowKey"] == key for o in self.orders.values()):
            raise Problem(400, "ItemIsStillReferenced", f"{cmd.key} is used by an order here")
        await self.journal.persist(
            [{"TYPE": "ItemDetached", "key": cmd.key, "delegateId": f"Agent:{path}"}],
            [(WORKFLOW, key, None)],
        )
        del self.workflows[key]

    async def _attach_order(self, user: str, cmd: ac.AttachOrder) -> None:
        path = self._need_dedicated()
        order = cmd.order
        oid = order.id
        wid = order.workflowPosition.workflowId
        key = f"{wid.path}~{wid.versionId}"
        wf = self.workflows.get(key)
        if wf is None:
            raise Problem(400, "UnknownItemPath", f"Workflow:{key} is unknown to this Agent")
        position = wf.check_position(Position.parse(order.workflowPosition.position))
        scheduled = None if order.scheduledFor is UNSET else order.scheduledFor
        mark, kill = (None, False) if order.mark is UNSET else self._decode_mark(order.mark)
        arguments = order.arguments or {}
        history = [] if order.historicOutcomes is UNSET else to_json(order.historicOutcomes)
        async with self._lock(oid):
            if oid in self.orders:
                return  # a repeated AttachOrder (the Controller retried): already here
            state = "fresh" if isinstance(order.state, ac.Fresh) else "ready"
            new = {
                "id": oid,
                "workflowKey": key,
                "position": position.to_json(),
                "state": state,
                "started": state != "fresh",
                "scheduledFor": scheduled,
                "arguments": arguments,
                "historicOutcomes": history,
                "mark": mark,
                "kill": kill,
            }
            attached: Event = {
                "TYPE": "OrderAttachedToAgent",
                "workflowPosition": to_json(order.workflowPosition),
                "state": to_json(order.state),
            }
            if arguments:
                attached["arguments"] = arguments
            if scheduled is not None:
                attached["scheduledFor"] = scheduled
            if history:
                attached["historicOutcomes"] = history
            attached["agentPath"] = path
            if order.mark is not UNSET:
                attached["mark"] = to_json(order.mark)
            await self._set(oid, [attached], new)
        self._ensure_driver(oid)

    async def _detach_order(self, user: str, cmd: ac.DetachOrder) -> None:
        self._need_dedicated()
        oid = cmd.orderId
        async with self._lock(oid):
            o = self.orders.get(oid)
            if o is None:
                raise Problem(400, "UnknownOrder", f"Unknown OrderId: {oid}")
            if o["state"] != "detachable":
                raise Problem(400, "OrderNotDetachable", f"Order '{oid}' is {o['state']}")
            await self._set(oid, [{"TYPE": "OrderDetached"}], None)

    @staticmethod
    def _decode_mark(mark: ac.OrderMark) -> tuple[str, bool]:
        """JS7's ``OrderMark`` as the reference's (mark, kill the process)."""
        if isinstance(mark, ac.Cancelling):
            mode = mark.mode
            return "cancel", isinstance(mode, cc.FreshOrStarted) and isinstance(mode.kill, cc.Kill)
        if isinstance(mark, ac.Suspending):
            return "suspend", isinstance(mark.mode.kill, cc.Kill)
        if mark.position is not UNSET or mark.historicOperations:
            raise Problem(
                400,
                "UnsupportedField",
                "Resuming: the reference resumes at the order's own position only",
            )
        return "resume", False

    async def _mark_order(self, user: str, cmd: ac.MarkOrder) -> None:
        self._need_dedicated()
        oid = cmd.orderId
        mark, kill = self._decode_mark(cmd.mark)
        # JS7's Agent says "marked on Agent" for cancellation and suspension;
        # a resumption mark it simply keeps until the order resumes.
        events: list[Event] = {
            "cancel": [{"TYPE": "OrderCancellationMarkedOnAgent"}],
            "suspend": [{"TYPE": "OrderSuspensionMarkedOnAgent"}],
            "resume": [],
        }[mark]
        async with self._lock(oid):
            o = self.orders.get(oid)
            if o is None:
                raise Problem(400, "UnknownOrder", f"Unknown OrderId: {oid}")
            fresh_only = isinstance(cmd.mark, ac.Cancelling) and isinstance(
                cmd.mark.mode, cc.FreshOnly
            )
            if fresh_only and o["state"] != "fresh":
                return  # FreshOnly: an order that started is not cancelled
            if o.get("mark") != mark:
                await self._set(oid, events, {**o, "mark": mark, "kill": kill})
        step = self._steps.get(oid)
        if mark == "cancel" and kill and step is not None:
            step.kill()
        self._wake_up(oid)
        self._ensure_driver(oid)

    async def _emergency_stop(self, user: str, cmd: ac.EmergencyStop) -> None:
        """Halt at once, as JS7 does (exit 99, or 98: "halt and restart")."""
        log.critical("EmergencyStop command received: JS7 AGENT STOPS NOW")
        asyncio.get_running_loop().call_soon(os._exit, 98 if cmd.restart else 99)

    async def _shutdown(self, user: str, cmd: ac.ShutDown) -> None:
        self.shutdown_requested.set()
