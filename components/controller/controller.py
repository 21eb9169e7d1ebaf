"""The Controller's core: workflows, orders, and their journal.

Order life on the Controller (JS7-FACTS section 2)::

    OrderAdded → OrderAttachable → OrderAttached → (mirrored Agent events:
    OrderStarted, OrderProcessingStarted, OrderStdoutWritten, OrderProcessed,
    OrderMoved …) → OrderDetachable → OrderDetached → next Agent's
    OrderAttachable … → OrderFinished | OrderFailed | OrderCancelled
    (→ OrderDeleted when ``deleteWhenTerminated``)

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
from pathlib import Path
from typing import Any

from aiohttp import web

from components.common.config import Config
from components.common.journal import Event, Journal, StateChange
from components.common.node import Command, Runnable, body_str
from components.common.web import Problem
from components.common.workflow import Workflow, parse_position, position_json
from components.controller.agent_driver import AgentDriver, DriverConfig
from components.controller.cluster import Cluster

log = logging.getLogger("js7.controller.Controller")
VERSION = "2.5.0-js7ha"
ORDER = "order"
WORKFLOW = "workflow"
TERMINAL = ("finished", "failed", "cancelled")
MIRRORED = {
    "OrderStarted",
    "OrderProcessingStarted",
    "OrderStdoutWritten",
    "OrderStderrWritten",
    "OrderProcessed",
    "OrderMoved",
    "OrderSuspended",
    "OrderResumed",
    "OrderDetachable",
    "OrderCancellationMarked",
    "OrderSuspensionMarked",
    "OrderResumptionMarked",
}


class Tx:
    """The events and state changes of one journal transaction."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.changes: list[StateChange] = []
        self.meta: dict[str, Any] = {}
        self.after: list[tuple[str, str]] = []  # (driver action, order id) once committed


class Controller(Runnable):
    prefix = "/controller/api"
    concurrent_commands = frozenset({"AddOrder"})
    release_as_event = True

    def __init__(self, data_dir: Path, cfg: Config, journal: Journal) -> None:
        super().__init__(data_dir, cfg, journal)
        self.controller_id = cfg.string("js7.controller.id", "js7")
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
        self.commands.update(
            {
                "UpdateItems": self._update_items,
                "AddOrder": self._add_order,
                "CancelOrders": self._cancel_orders,
                "SuspendOrders": self._suspend_orders,
                "ResumeOrders": self._resume_orders,
                "DeleteOrdersWhenTerminated": self._delete_when_terminated,
                "ShutDown": self._shutdown,
            }
        )
        self.commands["ClusterSwitchOver"] = self._switch_over
        self.shutdown_requested = asyncio.Event()
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
            await self.journal.persist(
                [{"TYPE": "ControllerInitialized", "controllerId": self.controller_id}],
                meta={
                    "initiallyStartedAt": int(time.time() * 1000),
                    "controllerId": self.controller_id,
                },
            )
        await self.journal.persist([{"TYPE": "ControllerReady"}])
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
        self.orders = {}

    async def before_shutdown(self) -> None:
        await self.cluster.stop(graceful=self.graceful_stop)

    async def stop(self) -> None:
        await self.cluster.stop(graceful=False)  # (idempotent: the handover is done)
        for d in self.drivers.values():
            await d.stop()
        await self.journal.close()

    def check_event_access(self) -> None:
        self.cluster.require_active()

    def visible_until(self) -> int:
        return self.cluster.visible_until()

    async def wait_visible(self, after: int, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            if self.visible_until() > after and self.journal.last_event_id > after:
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            if self.visible_until() < self.journal.last_event_id:
                await self.cluster.changed(left)  # waiting for the passive's ack
            else:
                await self.journal.wait_for_event(after, left)

    def may_act(self) -> bool:
        """Drive Agents only while sure to be the active node."""
        return self.cluster.is_active

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.prefix, self.overview)
        app.router.add_get(f"{self.prefix}/order", self.list_orders)
        app.router.add_get(f"{self.prefix}/order/{{id}}", self.get_order)
        app.router.add_get(f"{self.prefix}/agent", self.list_agents)
        app.router.add_get(f"{self.prefix}/cluster", self.cluster_state)
        app.router.add_post(f"{self.prefix}/cluster/command", self.cluster.command)
        app.router.add_get(f"{self.prefix}/journal", self.cluster.pull)
        app.router.add_get(f"{self.prefix}/journal/snapshot", self.cluster.snapshot)

    async def overview(self, request: web.Request) -> web.Response:
        self.sessions.user_of(request)
        return web.json_response(
            {
                "id": self.controller_id,
                "version": VERSION,
                "initiallyStartedAt": self.journal.meta("initiallyStartedAt"),
                "startedAt": int(self.started_at * 1000),
                "orderCount": len(self.orders),
                "eventId": self.journal.last_event_id,
                "isActive": self.cluster.is_active,
                "pid": os.getpid(),
                "journal": self.journal_info(),
            }
        )

    async def list_orders(self, request: web.Request) -> web.Response:
        """Committed order states only: the working copy runs ahead of the
        journal by one commit, and a client must never see what a crash
        could take back."""
        self.sessions.user_of(request)
        state = request.query.get("state")
        committed = self.journal.state(ORDER)
        orders = [o for o in committed.values() if state is None or o["state"] == state]
        return web.json_response({"orders": orders, "eventId": self.journal.last_event_id})

    async def get_order(self, request: web.Request) -> web.Response:
        self.sessions.user_of(request)
        o = self.journal.get(ORDER, request.match_info["id"])
        if o is None:
            raise Problem(404, "UnknownOrder", f"Unknown OrderId: {request.match_info['id']}")
        return web.json_response(o)

    async def list_agents(self, request: web.Request) -> web.Response:
        self.sessions.user_of(request)
        return web.json_response({"agents": [d.status() for d in self.drivers.values()]})

    async def cluster_state(self, request: web.Request) -> web.Response:
        """Both nodes answer: the cluster state and whether *this* node is
        the active one — how clients find the active node."""
        self.sessions.user_of(request)
        return web.json_response(self.cluster.info())

    async def command(self, request: web.Request) -> web.Response:
        self.sessions.user_of(request)
        self.cluster.require_active()
        return await super().command(request)

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
            # Only commits with events replicate to the passive node: a state
            # change must never travel without one.
            tx.events.append({"TYPE": "ControllerStateChanged"})
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
        for action, oid in tx.after:
            o = self.orders.get(oid)
            if o is None or o.get("agent") not in self.drivers:
                continue
            driver = self.drivers[o["agent"]]
            getattr(driver, action)(oid)

    def _move_on(self, tx: Tx, oid: str) -> None:
        """An order that is on no Agent goes to its next Agent or ends."""
        o = self.orders[oid]
        wf = self.workflows[o["workflowKey"]]
        outcome = o.get("outcome") or {}
        if o.get("mark") == "cancel":
            self._terminate(tx, oid, "cancelled", {"TYPE": "OrderCancelled"})
        elif outcome.get("TYPE") == "Failed":
            self._terminate(tx, oid, "failed", {"TYPE": "OrderFailed", "outcome": outcome})
        elif (agent := wf.agent_at(o["position"])) is None:
            self._terminate(tx, oid, "finished", {"TYPE": "OrderFinished"})
        else:
            self._order(
                tx,
                oid,
                [{"TYPE": "OrderAttachable", "agentPath": agent}],
                {**o, "state": "attaching", "agent": agent},
            )
            tx.after.append(("attach", oid))

    def _terminate(self, tx: Tx, oid: str, state: str, event: Event) -> None:
        o = self.orders[oid]
        if o.get("deleteWhenTerminated"):
            self._order(tx, oid, [event, {"TYPE": "OrderDeleted"}], None)
        else:
            self._order(tx, oid, [event], {**o, "state": state, "agent": None})

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

    def attach_order_command(self, oid: str, path: str) -> dict[str, Any] | None:
        o = self.orders.get(oid)
        if o is None or o["state"] != "attaching" or o.get("agent") != path:
            return None
        wf = self.workflows[o["workflowKey"]]
        return {
            "TYPE": "AttachOrder",
            "order": {
                "id": oid,
                "workflowKey": wf.key,
                "workflowPosition": {
                    "workflowId": wf.id_json,
                    "position": position_json(o["position"]),
                },
                "state": "Ready" if o.get("started") else "Fresh",
                "scheduledFor": o.get("scheduledFor"),
                "arguments": o.get("arguments") or {},
                "mark": o.get("mark"),
            },
        }

    def mark_command(self, oid: str) -> dict[str, Any] | None:
        o = self.orders.get(oid)
        if o is None or not o.get("mark") or o["state"] not in ("attaching", "attached"):
            return None
        return {"TYPE": "MarkOrder", "orderId": oid, "mark": o["mark"], "kill": bool(o.get("kill"))}

    async def agent_events(self, path: str, batch: list[dict[str, Any]]) -> None:
        """Journal the Controller's view of a batch of the Agent's events,
        together with the Agent's last eventId, in one transaction."""
        tx = Tx()
        for ev in batch:
            oid = ev.get("Key")
            kind = ev.get("TYPE")
            if not isinstance(oid, str):
                continue  # not an order event (AgentDedicated, ItemAttachedToMe, ...)
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
                new = dict(o)
                if kind == "OrderStarted":
                    new["started"] = True
                elif kind == "OrderProcessed":
                    new["outcome"] = ev.get("outcome")
                elif kind == "OrderMoved":
                    new["position"] = parse_position(ev.get("to"))
                elif kind == "OrderDetachable":
                    new["state"] = "detaching"
                    tx.after.append(("detach", oid))
                elif kind == "OrderSuspended":
                    new["suspended"] = True
                    new["mark"] = None
                elif kind == "OrderResumed":
                    new["suspended"] = False
                    new["mark"] = None
                self._order(tx, oid, [body], new)
        tx.meta[f"agent.{path}.eventId"] = batch[-1]["eventId"]
        await self._commit(tx)

    # -- commands ----------------------------------------------------------

    async def _update_items(self, user: str, cmd: Command) -> None:
        items = cmd.get("items")
        if not isinstance(items, list) or not items:
            raise Problem(400, "MissingField", "UpdateItems: 'items' must be a non-empty list")
        parsed = [Workflow.from_json(i) for i in items]
        for wf in parsed:
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
        tx = Tx()
        latest = dict(self.latest)
        for wf in parsed:
            if wf.key not in self.workflows:
                tx.events.append({"TYPE": "ItemAdded", "Key": f"Workflow:{wf.key}", "item": wf.raw})
                tx.changes.append((WORKFLOW, wf.key, wf.raw))
            latest[wf.path] = wf.key
        tx.meta["workflow.latest"] = latest
        if tx.events or latest != self.latest:
            await self._commit(tx)
            for wf in parsed:
                self.workflows[wf.key] = wf
        self.latest = latest

    async def _add_order(self, user: str, cmd: Command) -> dict[str, Any]:
        oid = body_str(cmd, "id")
        if len(oid) > 200 or "\n" in oid:
            raise Problem(
                400, "InvalidOrderId", "an OrderId has at most 200 characters, no newline"
            )
        path = body_str(cmd, "workflowPath")
        key = self.latest.get(path)
        if key is None:
            raise Problem(400, "UnknownItemPath", f"Unknown Workflow:{path}")
        scheduled = cmd.get("scheduledFor")
        if scheduled is not None and (
            isinstance(scheduled, bool) or not isinstance(scheduled, int) or scheduled < 0
        ):
            raise Problem(400, "InvalidOrder", "scheduledFor must be epoch milliseconds")
        arguments = cmd.get("arguments", {})
        if not isinstance(arguments, dict):
            raise Problem(400, "InvalidOrder", "arguments must be an object")
        if oid in self.orders:
            raise Problem(409, "DuplicateOrder", f"Order '{oid}' already exists")
        wf = self.workflows[key]
        tx = Tx()
        order = {
            "id": oid,
            "workflowKey": key,
            "workflowPath": path,
            "position": 0,
            "state": "added",
            "scheduledFor": scheduled,
            "arguments": arguments,
            "agent": None,
            "mark": None,
            "started": False,
            "deleteWhenTerminated": bool(cmd.get("deleteWhenTerminated", False)),
        }
        self._order(
            tx,
            oid,
            [
                {
                    "TYPE": "OrderAdded",
                    "workflowId": wf.id_json,
                    "scheduledFor": scheduled,
                    "arguments": arguments,
                }
            ],
            order,
        )
        self._move_on(tx, oid)
        await self._commit(tx)
        return {"TYPE": "AddOrder.Response", "ignoredBecauseDuplicate": False}

    def _order_ids(self, cmd: Command) -> list[str]:
        ids = cmd.get("orderIds")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise Problem(400, "MissingField", f"{cmd['TYPE']}: 'orderIds' must be a list of ids")
        unknown = [i for i in ids if i not in self.orders]
        if unknown:
            raise Problem(400, "UnknownOrder", f"Unknown OrderId: {', '.join(unknown[:10])}")
        return ids

    async def _mark(self, cmd: Command, mark: str, event: str, kill: bool = False) -> None:
        tx = Tx()
        for oid in self._order_ids(cmd):
            o = self.orders[oid]
            if o["state"] in TERMINAL or o.get("mark") == mark:
                continue
            self._order(tx, oid, [{"TYPE": event}], {**o, "mark": mark, "kill": kill})
            if o["state"] in ("attaching", "attached"):
                tx.after.append(("mark", oid))
        if tx.events:
            await self._commit(tx)

    async def _cancel_orders(self, user: str, cmd: Command) -> None:
        mode = cmd.get("mode") or {}
        await self._mark(
            cmd,
            "cancel",
            "OrderCancellationMarked",
            kill=bool(isinstance(mode, dict) and mode.get("kill")),
        )

    async def _suspend_orders(self, user: str, cmd: Command) -> None:
        await self._mark(cmd, "suspend", "OrderSuspensionMarked")

    async def _resume_orders(self, user: str, cmd: Command) -> None:
        await self._mark(cmd, "resume", "OrderResumptionMarked")

    async def _delete_when_terminated(self, user: str, cmd: Command) -> None:
        tx = Tx()
        for oid in self._order_ids(cmd):
            o = self.orders[oid]
            if o["state"] in TERMINAL:
                self._order(tx, oid, [{"TYPE": "OrderDeleted"}], None)
            else:
                self._order(
                    tx, oid, [{"TYPE": "OrderDeletionMarked"}], {**o, "deleteWhenTerminated": True}
                )
        await self._commit(tx)

    async def _shutdown(self, user: str, cmd: Command) -> None:
        action = cmd.get("clusterAction")
        if isinstance(action, dict):
            action = action.get("TYPE")
        if action not in (None, "Switchover", "Failover"):
            raise Problem(400, "InvalidCommand", "clusterAction must be Switchover or Failover")
        if action == "Switchover":
            await self.cluster.switch_over(cmd)
        elif action == "Failover":
            self.graceful_stop = False  # stop as if crashed: the passive fails over
        self.shutdown_requested.set()

    async def _switch_over(self, user: str, cmd: Command) -> None:
        await self.cluster.switch_over(cmd)
