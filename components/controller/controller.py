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
``AnswerOrderPrompt``), the end of the workflow, an uncaught failure. An
order asleep (or delaying a retry) here is woken by a timer, re-armed when
the Controller becomes active.

What must hold: the Controller's working state is updated synchronously
(so no two concurrent handlers compute from a stale copy), but nothing is
*acted on* outside — no command to an Agent, no answer to a client, no event
released — before the journal committed it. A journal write that fails stops
the Controller (fail-stop).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from msgspec import UNSET

from components.common import instructions, signatures
from components.common.cluster import Cluster
from components.common.cluster.hosting import ClusterHosting
from components.common.config import Config
from components.common.eventid import new_journal_id
from components.common.journal import Event, Journal, StateChange
from components.common.node import Runnable
from components.common.position import Position, fork_branch
from components.common.web import Problem, read_body
from components.common.workflow import Fork, Lock, Workflow
from components.controller import locks, simple_items, snapshot, subagent_states
from components.controller.agent_driver import AgentDriver, DriverConfig
from components.wire import BUILD_ID, JS7_VERSION, items
from components.wire import controller_commands as cc
from components.wire import overview as ov
from components.wire.codec import convert, decode, to_json

log = logging.getLogger("js7.controller.Controller")
ORDER = "order"
WORKFLOW = "workflow"
SIGNED = "signed"  # workflow key -> its SignedString, as the Agents get it
TERMINAL = ("finished", "failed", "cancelled")
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


class Tx:
    """The events and state changes of one journal transaction."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.changes: list[StateChange] = []
        self.meta: dict[str, Any] = {}
        self.after: list[tuple[str, str]] = []  # (driver action, order id) once committed
        self.wakes: list[tuple[str, int | None]] = []  # (order id, epoch ms) to move on then


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
            cc.AddOrder: self._add_order,
            cc.CancelOrders: self._cancel_orders,
            cc.SuspendOrders: self._suspend_orders,
            cc.ResumeOrders: self._resume_orders,
            cc.ResumeOrder: self._resume_order,
            cc.AnswerOrderPrompt: self._answer_prompt,
            cc.DeleteOrdersWhenTerminated: self._delete_when_terminated,
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
        self.cluster = Cluster(self, cfg)
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
        self.orders = {}

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
        self._move_on(tx, oid)
        if tx.events:
            await self._commit(tx)
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
        app.router.add_post(f"{self.prefix}/item", self.post_items)
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

    def repo_events(
        self,
    ) -> list[items.VersionAdded | items.VersionedItemAdded | items.VersionedItemRemoved]:
        """The committed workflows as JS7's snapshot writes its repo: per
        version ``VersionAdded``, then each item's ``VersionedItemAdded``
        with the signed string the Agents get, then the removals, each in
        its version."""
        out: list[items.VersionAdded | items.VersionedItemAdded | items.VersionedItemRemoved] = []
        versions: set[str] = set()
        for key, signed in self.journal.state(SIGNED).items():
            version = key.rpartition("~")[2]
            if version not in versions:
                versions.add(version)
                out.append(items.VersionAdded(versionId=version))
            signed_string = convert(signed, items.SignedString, "SignedString")
            out.append(items.VersionedItemAdded(signed=signed_string))
        for path, version in (self.journal.meta("workflow.removed", {}) or {}).items():
            if version not in versions:
                versions.add(version)
                out.append(items.VersionAdded(versionId=version))
            out.append(items.VersionedItemRemoved(path=f"Workflow:{path}"))
        return out

    # -- journal -----------------------------------------------------------

    def _order(self, tx: Tx, oid: str, events: list[Event], new: dict[str, Any] | None) -> None:
        tx.events.extend({"Key": oid, **e} for e in events)
        tx.changes.append((ORDER, oid, new))
        if new is None:
            self.orders.pop(oid, None)
        else:
            self.orders[oid] = new

    async def _commit(self, tx: Tx) -> None:
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
        for action, oid in tx.after:
            o = self.orders.get(oid)
            if o is None or o.get("agent") not in self.drivers:
                continue
            driver = self.drivers[o["agent"]]
            getattr(driver, action)(oid)

    def _move_on(self, tx: Tx, oid: str) -> None:
        """An order that is on no Agent: the Controller moves it on
        (``components/common/instructions.py``) to its next Agent, to its end,
        or lets it wait here (a sleep, a retry's delay, a prompt)."""
        o = self.orders[oid]
        if o.get("mark") == "cancel":
            # Out of its lock blocks first, as JS7 cancels (leaveBlocks).
            left = instructions.leave_lock_blocks(self.workflows[o["workflowKey"]], o)
            if left.events:
                self._order(tx, oid, left.events, {**left.order, "state": o["state"]})
            self._terminate(tx, oid, "cancelled", {"TYPE": "OrderCancelled"})
            return
        if o.get("mark") == "suspend" and o["state"] != "prompting":
            # Suspended here and now, as JS7 suspends an order it holds.
            here = {**o, "state": "detached", "mark": None, "suspended": True}
            self._order(tx, oid, [{"TYPE": "OrderSuspended"}], here)
        if self.orders[oid].get("suspended"):
            if self.orders[oid].get("mark") != "resume":
                tx.wakes.append((oid, None))  # no wake-up while suspended
                return
            resumed = {**self.orders[oid], "mark": None, "suspended": False}
            self._order(tx, oid, [{"TYPE": "OrderResumed"}], resumed)
            o = resumed
        wf = self.workflows[o["workflowKey"]]
        now = int(time.time() * 1000)
        nxt = instructions.next_events(wf, o, here=None, now=now, locks=self._lock_check)
        new = {**nxt.order, "state": "detached"}
        if any(e["TYPE"] == "OrderLocksQueued" for e in nxt.events):
            new["queuedAt"] = time.time_ns()  # the queue's order (LockState.queue)
        last_kind = nxt.events[-1]["TYPE"] if nxt.events else None
        if last_kind in snapshot.STATE_AFTER_EVENT:
            new["js7State"] = snapshot.STATE_AFTER_EVENT[last_kind]
        if nxt.action == "terminated":
            *events, last = nxt.events
            self._order(tx, oid, events, new)
            state = "finished" if last["TYPE"] == "OrderFinished" else "failed"
            self._terminate(tx, oid, state, last)
        elif nxt.action == "forked":
            self._order(tx, oid, nxt.events, {**new, "state": "forked"})
            self._fork(tx, oid)
        elif nxt.action == "joinable":
            self._order(tx, oid, nxt.events, {**new, "state": "joinable"})
            self._join(tx, o["parent"])
        elif nxt.action == "attach":
            self._order(tx, oid, nxt.events, {**new, "state": "attaching", "agent": nxt.agent})
            tx.after.append(("attach", oid))
        else:
            if nxt.action == "prompted":
                new["state"] = "prompting"
            if nxt.events:
                self._order(tx, oid, nxt.events, new)
            if nxt.action in ("wait", "continue"):
                # JS7 would wake it by its clock; so does a timer here.
                tx.wakes.append((oid, 0 if nxt.action == "continue" else nxt.until))
        released = {
            p for e in nxt.events if e["TYPE"] == "OrderLocksReleased" for p in e["lockPaths"]
        }
        if released:
            self._wake_lock_queue(tx, released)

    def _terminate(self, tx: Tx, oid: str, state: str, event: Event) -> None:
        o = self.orders[oid]
        if o.get("deleteWhenTerminated"):
            self._order(tx, oid, [event, {"TYPE": "OrderDeleted"}], None)
        else:
            self._order(tx, oid, [event], {**o, "state": state, "agent": None})
        if state == "cancelled" and o.get("parent"):
            self._join(tx, o["parent"])  # a cancelled child is joinable (EngineState.scala:180)
        if state == "cancelled":
            self._wake_lock_queue(tx, None)  # it may have held a Lock

    # -- Locks (the Controller's only) -------------------------------------

    def _lock_check(self, oid: str, ins: Lock) -> bool | str:
        limits = simple_items.lock_limits(self.journal.state(simple_items.ITEM))
        return locks.check(self.orders, self.workflows, limits, ins)

    def _wake_lock_queue(self, tx: Tx, paths: set[str] | None) -> None:
        """Locks were released: the orders queued for them try again, in
        their queue's order."""
        for qid in locks.queue(self.orders):
            o = self.orders[qid]
            ins = self.workflows[o["workflowKey"]].instruction(Position.parse(o["position"]))
            if o["state"] != "detached" or not isinstance(ins, Lock):
                continue
            if paths is None or paths & set(ins.lock_paths):
                self._move_on(tx, qid)

    def _fork(self, tx: Tx, oid: str) -> None:
        """The children of ``OrderForked``, as JS7's ``Order.newForkedOrders``
        makes them (Order.scala:69-84): Ready at their branch's first
        instruction, with the parent's arguments and outcomes. They have no
        event of their own: ``OrderForked`` on the parent is their birth."""
        parent = self.orders[oid]
        at = Position.parse(parent["position"])
        for child in parent["children"]:
            cid = child["orderId"]
            self._order(
                tx,
                cid,
                [],
                {
                    "id": cid,
                    "workflowKey": parent["workflowKey"],
                    "workflowPath": parent["workflowPath"],
                    "position": at.child(fork_branch(child["branchId"])).to_json(),
                    "state": "detached",
                    "scheduledFor": None,
                    "arguments": parent.get("arguments") or {},
                    "agent": None,
                    "mark": None,
                    "started": True,
                    "js7State": "Ready",
                    "historicOutcomes": list(parent.get("historicOutcomes") or []),
                    "deleteWhenTerminated": False,
                    "parent": oid,
                },
            )
        for child in parent["children"]:
            if self.orders.get(child["orderId"], {}).get("state") == "detached":
                self._move_on(tx, child["orderId"])

    def _join(self, tx: Tx, pid: str) -> None:
        """``OrderJoined`` once every child is joinable (at its branch's end,
        ``OrderFailedInFork`` or cancelled); the children leave the state
        with it, and the parent moves on (ForkInstructionExecutor.scala:156-172)."""
        parent = self.orders.get(pid)
        if parent is None or parent["state"] != "forked":
            return
        ids = [c["orderId"] for c in parent["children"]]
        states = [self.orders.get(cid, {}).get("state") for cid in ids]
        if not all(st in ("joinable", "cancelled") for st in states):
            return
        fork = self.workflows[parent["workflowKey"]].instruction(Position.parse(parent["position"]))
        assert isinstance(fork, Fork)
        outcome = instructions.joined_outcome(
            fork,
            [(self.orders[cid], st == "cancelled") for cid, st in zip(ids, states, strict=True)],
        )
        for cid in ids:
            self._order(tx, cid, [], None)
        joined: Event = {"TYPE": "OrderJoined", "outcome": outcome}
        after = {**instructions.apply(parent, joined), "state": "detached", "js7State": "Processed"}
        self._order(tx, pid, [joined], after)
        self._move_on(tx, pid)

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

    def attach_item_command(self, wf_key: str) -> dict[str, Any]:
        """JS7's ``AttachSignedItem``: the workflow as it was signed."""
        return {"TYPE": "AttachSignedItem", "signed": self.journal.get(SIGNED, wf_key)}

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
                event = {k: v for k, v in ev.items() if k not in ("eventId", "timestamp")}
                tx.events.append({"TYPE": "AgentMirroredEvent", "Key": path, "event": event})
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
                self._order(
                    tx,
                    oid,
                    [{"TYPE": "OrderAttached", "agentPath": path}],
                    {**o, "state": "attached"},
                )
            elif kind == "OrderDetached":
                self._order(
                    tx, oid, [{"TYPE": "OrderDetached"}], {**o, "state": "detached", "agent": None}
                )
                self._move_on(tx, oid)
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
                self._order(tx, oid, [body], new)
        until = batch[-1]["eventId"]
        tx.meta[f"agent.{path}.eventId"] = until
        if not tx.events:
            # The Agent's events were none of the orders': JS7 records how far
            # it has read them with this event.
            tx.events.append({"TYPE": "AgentEventsObserved", "Key": path, "untilEventId": until})
        await self._commit(tx)

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

    async def post_items(self, request: web.Request) -> web.Response:
        """JS7's ``POST /controller/api/item``: NDJSON ``ItemOperation``s,
        applied all or none; ``{}`` when done (``components/wire/items.py``).
        JS7's ``UpdateItem`` permission is required."""
        self.sessions.require(request, "UpdateItem")
        raw = await read_body(request)
        self.cluster.require_active()
        ops = [
            decode(line, items.ItemOperation, "ItemOperation")
            for line in raw.splitlines()
            if line.strip()
        ]
        await self._update_items(ops)
        return web.json_response({})

    async def _update_items(self, ops: list[Any]) -> None:
        if not ops:
            raise Problem(400, "MissingField", "POST item: no ItemOperation in the body")
        unsupported = [
            type(op).__name__
            for op in ops
            if not isinstance(
                op,
                items.AddVersion
                | items.AddOrChangeSigned
                | items.AddOrChangeSimple
                | items.RemoveVersioned,
            )
        ]
        if unsupported:
            raise Problem(
                400,
                "UnsupportedItemOperation",
                "the reference adds, changes and removes workflows and adds and changes "
                f"Agent cluster items only, not {sorted(set(unsupported))}",
            )
        versions = [op.versionId for op in ops if isinstance(op, items.AddVersion)]
        signed = [op.signedString for op in ops if isinstance(op, items.AddOrChangeSigned)]
        removed = [_workflow_path(op.path) for op in ops if isinstance(op, items.RemoveVersioned)]
        known = self.journal.state(simple_items.ITEM)
        simple = simple_items.check(
            (op.item for op in ops if isinstance(op, items.AddOrChangeSimple)),
            known,
            self.drivers,
        )
        if not versions and not signed and not removed:
            await self._add_simple_items(simple)
            return
        if len(versions) != 1:
            raise Problem(
                400, "InvalidItemOperation", "exactly one AddVersion must come with the workflows"
            )
        version = versions[0]
        parsed: list[tuple[Workflow, items.SignedString]] = []
        for s in signed:
            signatures.verify(s, self.trusted_silly)
            try:
                data = json.loads(s.string)
            except ValueError as exc:
                raise Problem(400, "InvalidWorkflow", f"signed string is not JSON: {exc}") from None
            if not isinstance(data, dict):
                raise Problem(400, "InvalidWorkflow", "the signed string is not a workflow")
            if data.get("versionId", version) != version:
                raise Problem(
                    400,
                    "ItemVersionDoesNotMatch",
                    f"{data.get('path')}: versionId {data.get('versionId')!r} is not {version!r}",
                )
            parsed.append((Workflow.from_json({**data, "versionId": version}), s))
        lock_paths = set(simple_items.lock_limits(known)) | {
            item["path"] for _, item in simple if item["TYPE"] == "Lock"
        }
        for wf, _ in parsed:
            missing = sorted(wf.lock_paths - lock_paths)
            if missing:
                raise Problem(
                    400,
                    "UnknownItemPath",
                    f"Workflow {wf.path}: unknown {', '.join('Lock:' + m for m in missing)}",
                )
            unknown = sorted(wf.agents - set(self.drivers))
            if unknown:
                raise Problem(
                    400,
                    "UnknownItemPath",
                    f"Workflow {wf.path}: unknown Agent "
                    f"{', '.join('AgentRef:' + u for u in unknown)}",
                )
            old = self.workflows.get(wf.key)
            if old is not None and old.raw != wf.raw:
                raise Problem(
                    400, "ItemVersionExists", f"Workflow {wf.key} exists with different content"
                )
        for path in removed:
            if path not in self.latest:
                raise Problem(400, "UnknownItemPath", f"Unknown Workflow:{path}")
            if any(wf.path == path for wf, _ in parsed):
                raise Problem(
                    400, "InvalidItemOperation", f"Workflow:{path} is both added and removed"
                )
        tx = Tx()
        latest = dict(self.latest)
        new = [(wf, s) for wf, s in parsed if wf.key not in self.workflows]
        if new or removed:
            tx.events.append(to_json(items.VersionAdded(versionId=version)))
        # A removed workflow takes no new orders; the orders that run in one
        # of its versions finish in it (the versions stay).
        removals = dict(self.journal.meta("workflow.removed", {}) or {})
        for path in removed:
            tx.events.append(to_json(items.VersionedItemRemoved(path=f"Workflow:{path}")))
            latest.pop(path)
            removals[path] = version
        for wf, s in new:
            event = items.VersionedItemChanged if wf.path in latest else items.VersionedItemAdded
            tx.events.append(to_json(event(signed=s)))
            tx.changes.append((WORKFLOW, wf.key, wf.raw))
            tx.changes.append((SIGNED, wf.key, to_json(s)))
            latest[wf.path] = wf.key
        for key, item in simple:
            tx.events.append(simple_items.event(key, item, known))
            tx.changes.append((simple_items.ITEM, key, item))
        for wf, _ in new:
            removals.pop(wf.path, None)
        if tx.events:
            tx.meta["workflow.latest"] = latest
            tx.meta["workflow.removed"] = removals
            await self._commit(tx)
            for wf, _ in new:
                self.workflows[wf.key] = wf
            self.latest = latest
            self._items_changed(simple)

    async def _add_simple_items(self, simple: list[tuple[str, dict[str, Any]]]) -> None:
        """Agent cluster items alone (no workflow, no version)."""
        if not simple:
            return
        known = self.journal.state(simple_items.ITEM)
        tx = Tx()
        for key, item in simple:
            tx.events.append(simple_items.event(key, item, known))
            tx.changes.append((simple_items.ITEM, key, item))
        await self._commit(tx)
        self._items_changed(simple)

    def _items_changed(self, simple: list[tuple[str, dict[str, Any]]]) -> None:
        if simple:
            for driver in self.drivers.values():
                driver.items_changed()

    def simple_item_commands(self, path: str) -> list[tuple[str, dict[str, Any]]]:
        """The ``AttachItem`` commands Agent ``path`` needs, each with the
        item's key and content (what was sent is remembered by both)."""
        known = self.journal.state(simple_items.ITEM)
        return [
            (f"{key}={json.dumps(item, sort_keys=True)}", {"TYPE": "AttachItem", "item": item})
            for key, item in simple_items.for_agent(known, path)
        ]

    def directors(self, path: str) -> list[str]:
        ref = self.journal.get(simple_items.ITEM, f"AgentRef:{path}")
        return list(ref.get("directors", [])) if ref else []

    async def _add_order(self, user: str, cmd: cc.AddOrder) -> cc.AddOrderResponse:
        fresh = cmd.order
        oid = fresh.id
        if not oid or len(oid) > 200 or "\n" in oid or "|" in oid:
            raise Problem(
                400,
                "InvalidOrderId",
                "an OrderId has 1 to 200 characters, no newline and no reserved character |",
            )
        unsupported = [
            name
            for name in ("startPosition", "stopPositions", "innerBlock")
            if getattr(fresh, name) is not UNSET
        ]
        if unsupported:
            raise Problem(
                400, "UnsupportedField", f"AddOrder: the reference does not support {unsupported}"
            )
        key = self.latest.get(fresh.workflowPath)
        if key is None:
            raise Problem(400, "UnknownItemPath", f"Unknown Workflow:{fresh.workflowPath}")
        scheduled = None if fresh.scheduledFor is UNSET else fresh.scheduledFor
        arguments = fresh.arguments or {}
        delete_when_terminated = fresh.deleteWhenTerminated is True
        if scheduled is not None and scheduled < 0:
            raise Problem(400, "InvalidOrder", "scheduledFor must be epoch milliseconds")
        if oid in self.orders:
            # JS7: an existing id is no error; the command is ignored.
            return cc.AddOrderResponse(ignoredBecauseDuplicate=True)
        wf = self.workflows[key]
        tx = Tx()
        order = {
            "id": oid,
            "workflowKey": key,
            "workflowPath": fresh.workflowPath,
            "position": [0],
            "state": "added",
            "scheduledFor": scheduled,
            "arguments": arguments,
            "agent": None,
            "mark": None,
            "started": False,
            "historicOutcomes": [],
            "deleteWhenTerminated": delete_when_terminated,
        }
        added: Event = {"TYPE": "OrderAdded", "workflowId": wf.id_json}
        if scheduled is not None:
            added["scheduledFor"] = scheduled
        if arguments:
            added["arguments"] = arguments
        if delete_when_terminated:
            added["deleteWhenTerminated"] = True
        self._order(tx, oid, [added], order)
        self._move_on(tx, oid)
        await self._commit(tx)
        return cc.AddOrderResponse(ignoredBecauseDuplicate=False)

    def _order_ids(self, ids: list[str] | str, what: str) -> list[str]:
        if isinstance(ids, str):
            raise Problem(
                400, "UnsupportedField", f"{what}: the reference takes a list of OrderIds only"
            )
        unknown = [i for i in ids if i not in self.orders]
        if unknown:
            raise Problem(400, "UnknownOrder", f"Unknown OrderId: {', '.join(unknown[:10])}")
        return ids

    async def _mark(
        self, ids: list[str], mark: str, event: Event, kill: bool = False, fresh_only: bool = False
    ) -> None:
        tx = Tx()
        for oid in ids:
            o = self.orders[oid]
            if mark == "cancel" and o["state"] == "failed" and o.get("parent") and not fresh_only:
                # JS7 cancels a Failed order at once (Order.isCancelable); a
                # Fork's failed child so becomes joinable and its parent goes on.
                self._terminate(tx, oid, "cancelled", {"TYPE": "OrderCancelled"})
                continue
            if o["state"] in TERMINAL or o.get("mark") == mark:
                continue
            if fresh_only and o.get("started"):
                continue
            marked = {**o, "mark": mark, "kill": kill}
            if "mode" in event:
                marked["markMode"] = event["mode"]
            self._order(tx, oid, [dict(event)], marked)
            if o["state"] in ("attaching", "attached"):
                tx.after.append(("mark", oid))
            elif o["state"] == "detached" or (o["state"] == "prompting" and mark == "cancel"):
                self._move_on(tx, oid)  # waiting here: cancelled or suspended at once
        if tx.events:
            await self._commit(tx)

    async def _cancel_orders(self, user: str, cmd: cc.CancelOrders) -> None:
        mode = cc.FreshOrStarted() if cmd.mode is UNSET else cmd.mode
        fresh_only = isinstance(mode, cc.FreshOnly)
        kill = isinstance(mode, cc.FreshOrStarted) and isinstance(mode.kill, cc.Kill)
        await self._mark(
            self._order_ids(cmd.orderIds, "CancelOrders"),
            "cancel",
            {"TYPE": "OrderCancellationMarked", "mode": to_json(mode)},
            kill=kill,
            fresh_only=fresh_only,
        )

    async def _suspend_orders(self, user: str, cmd: cc.SuspendOrders) -> None:
        mode = cc.SuspensionMode() if cmd.mode is UNSET else cmd.mode
        await self._mark(
            self._order_ids(cmd.orderIds, "SuspendOrders"),
            "suspend",
            {"TYPE": "OrderSuspensionMarked", "mode": to_json(mode)},
            kill=isinstance(mode.kill, cc.Kill),
        )

    async def _resume_orders(self, user: str, cmd: cc.ResumeOrders) -> None:
        await self._mark(
            self._order_ids(cmd.orderIds, "ResumeOrders"),
            "resume",
            {"TYPE": "OrderResumptionMarked"},
        )

    async def _resume_order(self, user: str, cmd: cc.ResumeOrder) -> None:
        if cmd.position is not None or cmd.historyOperations:
            raise Problem(
                400,
                "UnsupportedField",
                "ResumeOrder: the reference resumes at the order's position only",
            )
        await self._mark(
            self._order_ids([cmd.orderId], "ResumeOrder"),
            "resume",
            {"TYPE": "OrderResumptionMarked"},
        )

    async def _answer_prompt(self, user: str, cmd: cc.AnswerOrderPrompt) -> None:
        """``OrderPromptAnswered`` and one move to the next instruction, then
        on (OrderEventSource.scala:550-561)."""
        oid = self._order_ids([cmd.orderId], "AnswerOrderPrompt")[0]
        o = self.orders[oid]
        if o["state"] != "prompting":
            raise Problem(
                400,
                "CannotAnswerOrderPrompt",
                f"'{oid}' is expected to be in state Prompting, but is {o['state']}",
            )
        answered = instructions.apply(o, {"TYPE": "OrderPromptAnswered"})
        to = Position.parse(o["position"]).increment().to_json()
        moved: Event = {"TYPE": "OrderMoved", "to": to}
        tx = Tx()
        self._order(
            tx,
            oid,
            [{"TYPE": "OrderPromptAnswered"}, moved],
            {**instructions.apply(answered, moved), "state": "detached"},
        )
        self._move_on(tx, oid)
        await self._commit(tx)

    async def _delete_when_terminated(self, user: str, cmd: cc.DeleteOrdersWhenTerminated) -> None:
        tx = Tx()
        for oid in self._order_ids(cmd.orderIds, "DeleteOrdersWhenTerminated"):
            o = self.orders[oid]
            if o["state"] in TERMINAL:
                self._order(tx, oid, [{"TYPE": "OrderDeleted"}], None)
            else:
                self._order(
                    tx, oid, [{"TYPE": "OrderDeletionMarked"}], {**o, "deleteWhenTerminated": True}
                )
        if tx.events:
            await self._commit(tx)

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
        await self._commit(tx)
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
        await self._commit(tx)
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
        self, path: str, problem: dict[str, Any]
    ) -> None:
        tx = Tx()
        tx.events.append(
            {"TYPE": "AgentClusterWatchConfirmationRequired", "Key": path, "problem": problem}
        )
        await self._commit(tx)


def _workflow_path(typed: str) -> str:
    """``Workflow:a/b`` → ``a/b``: RemoveVersioned names a typed path."""
    kind, sep, path = typed.partition(":")
    if kind != "Workflow" or not sep or not path:
        raise Problem(400, "InvalidItemPath", f"RemoveVersioned: not a Workflow path: {typed!r}")
    return path
