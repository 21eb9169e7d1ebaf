"""The Controller's core: workflows, orders, and their journal.

Order life on the Controller (JS7-FACTS section 2)::

    OrderAdded → OrderAttachable → OrderAttached → (mirrored Agent events:
    OrderStarted, OrderProcessingStarted, OrderStdoutWritten, OrderProcessed,
    OrderMoved …) → OrderDetachable → OrderDetached → next Agent's
    OrderAttachable … → OrderFinished | OrderFailed | OrderCancelled
    (→ OrderDeleted when ``deleteWhenTerminated``)

Between Agents the Controller moves the order itself, by the same rules the
Agents follow (``components/common/instructions.py``): ``If``/``Try``/…,
and what only it executes — ``Finish``, ``Prompt`` (the order waits for
``AnswerOrderPrompt``), ``Fork``/``ForkList``, ``Lock``, ``PostNotices``/
``ExpectNotices`` (the order waits for its Notices), the end of the
workflow, an uncaught failure. An
order asleep (or delaying a retry) here is woken by a timer, re-armed when
the Controller becomes active.

This module holds the Controller's life cycle, its journal transactions
(``put_order``, ``commit``), what it learns from the Agents and its cluster
and system commands; beside it: ``orders.py`` (the moves of the orders it
holds), ``order_commands.py``, ``items.py`` (workflows and simple items),
``locks.py``, ``boards.py``/``notices.py``/``notice_commands.py``,
``snapshot.py``.

What must hold: the Controller's working state is updated synchronously
(so no two concurrent handlers compute from a stale copy), but nothing is
*acted on* outside — no command to an Agent, no answer to a client, no event
released — before the journal committed it. A journal write that fails stops
the Controller (fail-stop).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web
from msgspec import UNSET

from components.common import instructions, signatures
from components.common.cluster.hosting import ClusterHosting
from components.common.config import Config
from components.common.eventid import new_journal_id
from components.common.journal import Event, Journal
from components.common.node import Runnable
from components.common.web import Problem
from components.common.workflow import Workflow
from components.controller import (
    items,
    notice_commands,
    notices,
    order_commands,
    orders,
    simple_items,
    snapshot,
    subagent_states,
)
from components.controller.agent_driver import AgentDriver, DriverConfig
from components.controller.transaction import ORDER, WORKFLOW, Tx
from components.wire import BUILD_ID, JS7_VERSION
from components.wire import controller_commands as cc
from components.wire import events as wire_events
from components.wire import overview as ov
from components.wire.codec import convert, to_json

log = logging.getLogger("js7.controller.Controller")
MIRRORED = {
    "OrderStarted",
    "OrderProcessingStarted",
    "OrderStdoutWritten",
    "OrderStderrWritten",
    "OrderProcessed",
    "OrderMoved",
    "OrderOutcomeAdded",
    "OrderCaught",
    "OrderRetrying",
    "OrderAwoke",
    "OrderSleeping",
    "OrderSuspended",
    "OrderResumed",
    "OrderDetachable",
    "OrderCancellationMarkedOnAgent",
    "OrderSuspensionMarkedOnAgent",
}


def local_timezone() -> str:
    """The IANA name of the machine's time zone (JS7's ``Timezone``)."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        return tz
    try:
        link = os.readlink("/etc/localtime")
        return link.split("zoneinfo/", 1)[1]
    except (OSError, IndexError):
        return "UTC"


class Controller(ClusterHosting, Runnable):
    prefix = "/controller/api"
    command_union = cc.ControllerCommand
    command_name = "ControllerCommand"
    batch_response = cc.BatchResponse
    concurrent_commands = frozenset({"AddOrder"})
    release_as_event = True

    def __init__(self, data_dir: Path, cfg: Config, journal: Journal) -> None:
        super().__init__(data_dir, cfg, journal)
        self.controller_id = cfg.string("js7.controller.id", "js7")
        self.trusted_silly = signatures.trusted_silly(cfg, data_dir / "config")
        self.orders: dict[str, dict[str, Any]] = {}
        self.workflows: dict[str, Workflow] = {}
        self.latest: dict[str, str] = {}  # workflow path -> key of the latest version
        self.notices: dict[str, dict[str, Any]] = {}  # the Boards' Notices (notices.py)
        self.lifetimes = notices.Lifetimes(self)
        dc = DriverConfig(
            event_timeout=cfg.seconds("js7.controller.agent-driver.event-timeout", 10.0),
            heartbeat=cfg.seconds("js7.controller.agent-driver.heartbeat", 0.5),
            reconnect_max_delay=cfg.seconds("js7.controller.agent-driver.reconnect-max-delay", 1.0),
            release_delay=cfg.seconds("js7.controller.agent-driver.release-delay", 0.1),
        )
        passwords = cfg.mapping("js7.auth.agents", {})
        self.drivers: dict[str, AgentDriver] = {}
        for path, ref in cfg.mapping("js7.controller.agents", {}).items():
            uri = ref.get("uri") if isinstance(ref, dict) else None
            if not isinstance(uri, str):
                from components.common.config import ConfigProblem

                raise ConfigProblem(cfg.source, f"js7.controller.agents.{path}.uri", "is required")
            pw = str(passwords.get(path, ""))
            self.drivers[path] = AgentDriver(self, path, uri, pw.removeprefix("plain:"), dc)
        self.commands = {
            **order_commands.handlers(self),
            **notice_commands.handlers(self),
            cc.ReleaseEvents: self.release_events,
            cc.NoOperation: self._no_op,
            cc.TakeSnapshot: self._take_snapshot,
            cc.EmergencyStop: self._emergency_stop,
            cc.ShutDown: self._shutdown,
            cc.ClusterSwitchOver: self._switch_over,
            cc.ConfirmClusterNodeLoss: self._confirm_node_loss,
            cc.ResetSubagent: self._reset_subagent,
            cc.Batch: self.batch,
        }
        self.shutdown_requested = asyncio.Event()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._wake_tasks: set[asyncio.Task[None]] = set()
        self.graceful_stop = True
        self.cluster = self.make_cluster(cfg)
        self.release_constraints.append(self.cluster.releasable)

    # -- life cycle --------------------------------------------------------

    async def start(self) -> None:
        await self.cluster.start()
        log.info(
            "Controller %s: cluster node %s is %s",
            self.controller_id,
            self.cluster.own_id,
            self.cluster.role,
        )

    async def activate(self) -> None:
        """Become the active Controller: load the journaled state, start
        driving the Agents."""
        self.workflows = {}
        for key, raw in self.journal.state(WORKFLOW).items():
            wf = Workflow.from_json(raw)
            self.workflows[key] = wf
        self.latest = dict(self.journal.meta("workflow.latest", {}) or {})
        self.orders = {k: dict(v) for k, v in self.journal.state(ORDER).items()}
        self.notices = {k: dict(v) for k, v in self.journal.state(notices.NOTICE).items()}
        if self.journal.meta("initiallyStartedAt") is None:
            started = int(time.time() * 1000)
            # JS7's ControllerRunId: the journal's id, a UUID in base64url.
            run_id = new_journal_id()
            await self.journal.persist(
                [
                    {
                        "TYPE": "ControllerInitialized",
                        "controllerId": self.controller_id,
                        "initiallyStartedAt": started,
                    }
                ],
                meta={
                    "initiallyStartedAt": started,
                    "controllerId": self.controller_id,
                    "controllerRunId": run_id,
                },
            )
        await self.journal.persist(
            [
                {
                    "TYPE": "ControllerReady",
                    "timezone": local_timezone(),
                    "totalRunningTime": self.total_running_time(),
                }
            ]
        )
        for oid, o in self.orders.items():
            if o["state"] == "detached":
                self._wake_at(oid, 0)  # waiting here before: look again
        self.lifetimes.arm_all()
        for d in self.drivers.values():
            d.start()
        log.info(
            "Controller %s started: %d orders, %d workflows, %d Agents",
            self.controller_id,
            len(self.orders),
            len(self.workflows),
            len(self.drivers),
        )

    async def deactivate(self) -> None:
        """Stop acting (switch-over): the Agents are left to the new active."""
        for d in self.drivers.values():
            await d.stop()
        self._cancel_wakes()
        self.lifetimes.cancel()
        self.orders = {}
        self.notices = {}

    # -- orders waiting at the Controller (a sleep, a retry's delay) ---------

    def _wake_at(self, oid: str, until: int | None) -> None:
        """Move ``oid`` on at ``until`` (epoch ms; None: only when told)."""
        old = self._timers.pop(oid, None)
        if old is not None:
            old.cancel()
        if until is not None:
            delay = max(0.0, until / 1000 - time.time())
            loop = asyncio.get_running_loop()
            self._timers[oid] = loop.call_later(delay, self._spawn_wake, oid)

    def _spawn_wake(self, oid: str) -> None:
        self._timers.pop(oid, None)
        task = asyncio.create_task(self._wake(oid), name=f"wake:{oid}")
        self._wake_tasks.add(task)
        task.add_done_callback(self._wake_tasks.discard)

    async def _wake(self, oid: str) -> None:
        o = self.orders.get(oid)
        if not self.cluster.is_active or o is None or o["state"] != "detached":
            return
        tx = Tx()
        orders.move_on(self, tx, oid)
        if tx.events:
            await self.commit(tx)
        else:  # not yet (woken early, after a restart): wait on
            for waiting, until in tx.wakes:
                self._wake_at(waiting, until)

    def _cancel_wakes(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    async def before_shutdown(self) -> None:
        await self.cluster.stop(graceful=self.graceful_stop)

    async def stop(self) -> None:
        self._cancel_wakes()
        self.lifetimes.cancel()
        await self.cluster.stop(graceful=False)  # (idempotent: the handover is done)
        for d in self.drivers.values():
            await d.stop()
        await self.journal.close()

    def may_act(self) -> bool:
        """Drive Agents only while sure to be the active node."""
        return self.cluster.is_active

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.prefix, self.overview)
        app.router.add_get(f"{self.prefix}/snapshot", self.get_snapshot)
        app.router.add_get(f"{self.prefix}/snapshot/", self.get_snapshot)
        app.router.add_post(f"{self.prefix}/item", partial(items.post_items, self))
        app.router.add_get(f"{self.prefix}/js7ha/overview", self.js7ha_overview)
        self.add_cluster_routes(app)

    async def overview(self, request: web.Request) -> web.Response:
        """JS7's ``GET /controller/api``: ``ControllerOverview``, its fields only."""
        self.sessions.user_of(request)
        since = self.journal.meta("initiallyStartedAt")
        system, java = ov.runtime()
        overview = ov.ControllerOverview(
            id=self.controller_id,
            version=JS7_VERSION,
            buildId=BUILD_ID,
            initiallyStartedAt=UNSET if since is None else int(since),
            startedAt=int(self.started_at * 1000),
            totalRunningTime=self.total_running_time(),
            orderCount=len(self.orders),
            system=system,
            java=java,
        )
        return web.json_response(to_json(overview))

    def total_running_time(self) -> float:
        """JS7's ``totalRunningTime`` in seconds. JS7 sums the time the
        Controller ran; the reference counts from its initialisation
        (downtime included)."""
        since = int(self.journal.meta("initiallyStartedAt") or 0)
        return round(max(0.0, time.time() - since / 1000), 3)

    async def js7ha_overview(self, request: web.Request) -> web.Response:
        """reference-only: what the reference's own tests read beside JS7's
        overview (the last eventId, the node's role, its journal)."""
        self.sessions.user_of(request)
        return web.json_response(
            {
                "eventId": self.journal.last_event_id,
                "isActive": self.cluster.is_active,
                "pid": os.getpid(),
                "journal": self.journal_info(),
            }
        )

    async def get_snapshot(self, request: web.Request) -> web.StreamResponse:
        return await snapshot.handle(self, request)

    # -- journal -----------------------------------------------------------

    def put_order(self, tx: Tx, oid: str, events: list[Event], new: dict[str, Any] | None) -> None:
        tx.events.extend({"Key": oid, **e} for e in events)
        tx.changes.append((ORDER, oid, new))
        if new is None:
            self.orders.pop(oid, None)
        else:
            self.orders[oid] = new

    async def commit(self, tx: Tx) -> None:
        if not tx.events and (tx.changes or tx.meta):
            # Only commits with events replicate to the passive node: every
            # state change must come with a (JS7) event.
            raise RuntimeError(f"a state change without an event: {tx.changes} {tx.meta}")
        try:
            stamped = await self.journal.persist(tx.events, tx.changes, tx.meta or None)
        except Exception:
            log.critical(
                "journal write failed: the Controller stops rather than act unjournaled",
                exc_info=True,
            )
            os._exit(70)
        if stamped:
            # Coupled: nothing acts on the commit before the passive has it.
            await self.cluster.wait_replicated(stamped[-1]["eventId"])
        for oid, until in tx.wakes:
            self._wake_at(oid, until)
        for board, key, end_of_life in tx.notices:
            self.lifetimes.arm(board, key, end_of_life)
        for action, oid in tx.after:
            o = self.orders.get(oid)
            if o is None or o.get("agent") not in self.drivers:
                continue
            driver = self.drivers[o["agent"]]
            getattr(driver, action)(oid)

    # -- from the Agent drivers -------------------------------------------

    async def agent_dedicated(self, path: str, run_id: str) -> None:
        await self.journal.persist(
            [{"Key": path, "TYPE": "AgentDedicated", "agentRunId": run_id}],
            meta={f"agent.{path}.runId": run_id, f"agent.{path}.eventId": 0},
        )

    def pending_for_agent(
        self, path: str, attached: set[str]
    ) -> tuple[set[str], set[str], set[str]]:
        """What must still be sent to Agent ``path``, from the journaled state."""
        attach, detach, mark = set(), set(), set()
        for oid, o in self.orders.items():
            if o.get("agent") != path:
                continue
            if o["state"] == "attaching":
                attach.add(oid)
            elif o["state"] == "detaching":
                detach.add(oid)
            if o.get("mark") and o["state"] in ("attaching", "attached"):
                mark.add(oid)
        return attach, detach, mark

    @property
    def controller_run_id(self) -> str:
        return str(self.journal.meta("controllerRunId") or "AAAAAAAAAAAAAAAAAAAAAA")

    def attach_order_command(self, oid: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The workflow key the order needs and JS7's ``AttachOrder``."""
        o = self.orders.get(oid)
        if o is None or o["state"] != "attaching" or o.get("agent") != path:
            return None
        wf = self.workflows[o["workflowKey"]]
        order: dict[str, Any] = {
            "id": oid,
            "workflowPosition": {"workflowId": wf.id_json, "position": o["position"]},
            "state": {"TYPE": "Ready" if o.get("started") else "Fresh"},
        }
        if o.get("arguments"):
            order["arguments"] = o["arguments"]
        if o.get("scheduledFor") is not None:
            order["scheduledFor"] = o["scheduledFor"]
        if o.get("historicOutcomes"):
            order["historicOutcomes"] = o["historicOutcomes"]
        order["attachedState"] = {"TYPE": "Attached", "agentPath": path}
        if o.get("mark"):
            order["mark"] = self.mark_json(o)
        if o.get("parent"):
            order["parent"] = o["parent"]
        return wf.key, {"TYPE": "AttachOrder", "order": order}

    @staticmethod
    def mark_json(o: dict[str, Any]) -> dict[str, Any]:
        """The order's mark as JS7's ``OrderMark``."""
        kill = {"kill": {"immediately": False}} if o.get("kill") else {}
        if o["mark"] == "cancel":
            mode = o.get("markMode") or {"TYPE": "FreshOrStarted", **kill}
            return {"TYPE": "Cancelling", "mode": mode}
        if o["mark"] == "suspend":
            return {"TYPE": "Suspending", "mode": {"resetState": False, **kill}}
        return {"TYPE": "Resuming", "historicOperations": []}

    def mark_command(self, oid: str) -> dict[str, Any] | None:
        o = self.orders.get(oid)
        if o is None or not o.get("mark") or o["state"] not in ("attaching", "attached"):
            return None
        return {"TYPE": "MarkOrder", "orderId": oid, "mark": self.mark_json(o)}

    async def agent_events(self, path: str, batch: list[dict[str, Any]]) -> None:
        """Journal the Controller's view of a batch of the Agent's events,
        together with the Agent's last eventId, in one transaction."""
        tx = Tx()
        for ev in batch:
            oid = ev.get("Key")
            kind = ev.get("TYPE")
            if oid is None and isinstance(kind, str) and kind.startswith("Cluster"):
                # The Director pair's ClusterEvent, as JS7 mirrors it.
                body = {k: v for k, v in ev.items() if k not in ("eventId", "timestamp")}
                try:
                    event = convert(body, wire_events.ClusterEvent, "ClusterEvent")
                except Problem as p:
                    log.error("Agent %s: a ClusterEvent not mirrored: %s", path, p.message)
                    continue
                mirrored = wire_events.AgentMirroredEvent(event=event)
                tx.events.append({"Key": path, **to_json(mirrored)})
                continue
            if not isinstance(oid, str):
                continue  # not an order event (AgentDedicated, ItemAttachedToMe, ...)
            if kind in subagent_states.EVENTS:
                self._subagent_event(tx, path, oid, ev)
                continue
            o = self.orders.get(oid)
            if o is None or o.get("agent") != path:
                continue
            body = {k: v for k, v in ev.items() if k not in ("eventId", "timestamp", "Key")}
            if kind == "OrderAttachedToAgent":
                self.put_order(
                    tx,
                    oid,
                    [{"TYPE": "OrderAttached", "agentPath": path}],
                    {**o, "state": "attached"},
                )
            elif kind == "OrderDetached":
                self.put_order(
                    tx, oid, [{"TYPE": "OrderDetached"}], {**o, "state": "detached", "agent": None}
                )
                orders.move_on(self, tx, oid)
            elif kind in MIRRORED:
                new = instructions.apply(o, body)
                if kind in snapshot.STATE_AFTER_EVENT:
                    new["js7State"] = snapshot.STATE_AFTER_EVENT[kind]
                if kind == "OrderDetachable":
                    new["state"] = "detaching"
                    tx.after.append(("detach", oid))
                elif kind == "OrderSuspended":
                    new["suspended"] = True
                    new["mark"] = None
                elif kind == "OrderResumed":
                    new["suspended"] = False
                    new["mark"] = None
                self.put_order(tx, oid, [body], new)
        until = batch[-1]["eventId"]
        tx.meta[f"agent.{path}.eventId"] = until
        if not tx.events:
            # The Agent's events were none of the orders': JS7 records how far
            # it has read them with this event.
            tx.events.append({"TYPE": "AgentEventsObserved", "Key": path, "untilEventId": until})
        await self.commit(tx)

    def _subagent_event(self, tx: Tx, path: str, sid: str, ev: dict[str, Any]) -> None:
        """A Director's SubagentItemStateEvent, journaled as JS7 does, and
        the Subagent's state it leaves (for the snapshot)."""
        item = self.journal.get(simple_items.ITEM, f"SubagentItem:{sid}")
        if item is None or item.get("agentPath") != path:
            return
        body = {k: v for k, v in ev.items() if k not in ("eventId", "timestamp")}
        current = self.journal.get(subagent_states.STATE, sid)
        for change in reversed(tx.changes):  # a newer one in this batch
            if change[0] == subagent_states.STATE and change[1] == sid:
                current = change[2]
                break
        tx.events.append(body)
        tx.changes.append((subagent_states.STATE, sid, subagent_states.apply(current, body)))

    # -- commands ----------------------------------------------------------

    def directors(self, path: str) -> list[str]:
        ref = self.journal.get(simple_items.ITEM, f"AgentRef:{path}")
        return list(ref.get("directors", [])) if ref else []

    async def _no_op(self, user: str, cmd: cc.NoOperation) -> None:
        if cmd.duration is not None:
            if not 0 <= cmd.duration <= 3600:
                raise Problem(400, "InvalidCommand", "NoOperation: duration must be 0…3600 s")
            await asyncio.sleep(cmd.duration)

    async def _take_snapshot(self, user: str, cmd: cc.TakeSnapshot) -> None:
        """The reference's journal keeps its state materialised all the time,
        so a snapshot is always there; the event marks the point, as JS7's
        ``SnapshotTaken`` does, and released events are compacted away."""
        tx = Tx()
        tx.events.append({"TYPE": "SnapshotTaken"})
        await self.commit(tx)
        self.schedule_compaction()

    async def _emergency_stop(self, user: str, cmd: cc.EmergencyStop) -> None:
        """Halt at once, as JS7 does (exit 99, or 98: "halt and restart");
        the answer may not arrive, and the passive node fails over."""
        log.critical("EmergencyStop command received: JS7 CONTROLLER STOPS NOW")
        code = 98 if cmd.restart else 99
        asyncio.get_running_loop().call_soon(os._exit, code)

    async def _shutdown(self, user: str, cmd: cc.ShutDown) -> None:
        if cmd.restart:
            raise Problem(400, "UnsupportedField", "ShutDown: the reference cannot restart itself")
        if isinstance(cmd.clusterAction, cc.Switchover):
            await self.cluster.switch_over()
        elif isinstance(cmd.clusterAction, cc.Failover):
            self.graceful_stop = False  # stop as if crashed: the passive fails over
        self.shutdown_requested.set()

    async def _reset_subagent(self, user: str, cmd: cc.ResetSubagent) -> None:
        """``ResetSubagent``: journaled here, carried out by its Director
        (SubagentKeeper.scala L445-458)."""
        sid = cmd.subagentId
        item = self.journal.get(simple_items.ITEM, f"SubagentItem:{sid}")
        if item is None:
            raise Problem(400, "UnknownItemPath", f"SubagentItem:{sid} is unknown")
        path = item["agentPath"]
        if sid in self.directors(path):
            raise Problem(
                400, "InvalidCommand", f"{sid} is a Director's own Subagent: it cannot be reset"
            )
        tx = Tx()
        started = {"Key": sid, "TYPE": "SubagentResetStartedByController", "force": cmd.force}
        self._subagent_event(tx, path, sid, started)
        await self.commit(tx)
        self.drivers[path].reset_subagent(sid, cmd.force)

    def _agent_cluster(self, path: str) -> AgentDriver:
        driver = self.drivers.get(path)
        if driver is None or len(self.directors(path)) < 2:
            raise Problem(400, "UnknownItemPath", f"AgentRef:{path} is not an Agent cluster")
        return driver

    async def _switch_over(self, user: str, cmd: cc.ClusterSwitchOver) -> None:
        if cmd.agentPath is not None:
            await self._agent_cluster(cmd.agentPath).switch_over()
            return
        await self.cluster.switch_over()

    async def _confirm_node_loss(self, user: str, cmd: cc.ConfirmClusterNodeLoss) -> None:
        if cmd.lostNodeId not in ("Primary", "Backup"):
            raise Problem(400, "InvalidField", "lostNodeId must be Primary or Backup")
        await self._agent_cluster(cmd.agentPath).watch.confirm_node_loss(cmd.lostNodeId)

    def director_uris(self, path: str) -> list[str]:
        """The URIs of Agent ``path``'s Directors: their SubagentItems' (JS7
        learns them so, from AgentRef.directors)."""
        uris = []
        for sid in self.directors(path):
            item = self.journal.get(simple_items.ITEM, f"SubagentItem:{sid}")
            if item and isinstance(item.get("uri"), str):
                uris.append(item["uri"])
        return uris

    async def agent_cluster_watch_confirmation_required(
        self, path: str, problem: wire_events.ClusterNodeLossNotConfirmedProblem | None
    ) -> None:
        """JS7's AgentDriver ``onNodeLossEventConfirmRequired``: a problem is
        ``AgentClusterWatchConfirmationRequired``; None, the consent a user's
        ``ConfirmClusterNodeLoss`` allowed, ``AgentClusterWatchManuallyConfirmed``."""
        tx = Tx()
        event: wire_events.AgentClusterWatchManuallyConfirmed | (
            wire_events.AgentClusterWatchConfirmationRequired
        )
        if problem is None:
            event = wire_events.AgentClusterWatchManuallyConfirmed()
        else:
            event = wire_events.AgentClusterWatchConfirmationRequired(problem=problem)
        tx.events.append({"Key": path, **to_json(event)})
        await self.commit(tx)
