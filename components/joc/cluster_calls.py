"""JOC's cluster and status calls: ``controller/components`` (the JOC
instances, the Controllers, the database and the History Service),
``controller``, ``joc/version``, ``joc/cluster/switch_member`` and the
reference's service activity."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from components.common.web import Problem
from components.joc.answers import component_state, node_state
from components.joc.calls import Body, Calls, Session
from components.joc.controllers import ControllerNode
from components.joc.db import Conn, DatabaseUnavailable
from components.joc.fields import field_str
from components.joc.timestamps import delivery, iso
from components.wire import JS7_VERSION, RELEASE_DATE


class ClusterCalls(Calls):
    async def components(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        c = self.joc.cluster
        exceeded = c.exceeded

        async def read(conn: Conn) -> tuple[list[Any], Any]:
            cur = await conn.execute(
                """SELECT i.MEMBER_ID, i.URI, i.ORDERING, i.HEART_BEAT, i.STOPPED,
                          now() - i.HEART_BEAT <= make_interval(secs => %s)
                   FROM JOC_INSTANCES i ORDER BY i.ORDERING, i.MEMBER_ID""",
                (exceeded,),
            )
            instances = list(await cur.fetchall())
            cur = await conn.execute(
                """SELECT MEMBER_ID, EPOCH, now() - HEART_BEAT <= make_interval(secs => %s)
                   FROM JOC_CLUSTER WHERE ID = 'cluster'""",
                (exceeded,),
            )
            return instances, await cur.fetchone()

        me = self.cfg.member_id
        jocs: list[dict[str, Any]] = []
        try:
            instances, cluster = await self.joc.db.run(read)
        except DatabaseUnavailable:
            instances, cluster = [], None
        seen_me = False
        for member, uri, ordering, hb, stopped, fresh in instances:
            current = member == me
            seen_me = seen_me or current
            if current:
                active = c.is_active()
            else:
                active = bool(cluster and cluster[0] == member and cluster[2])
            jocs.append(
                {
                    "memberId": member,
                    "url": uri,
                    "ordering": ordering,
                    "current": current,
                    "lastHeartbeat": iso(hb),
                    "clusterNodeState": node_state(active),
                    "componentState": component_state(fresh and not stopped),
                }
            )
        if not seen_me:
            jocs.append(
                {
                    "memberId": me,
                    "url": self.joc.uri,
                    "current": True,
                    "clusterNodeState": node_state(c.is_active()),
                    "componentState": component_state(True),
                }
            )
        states = await self.joc.controllers.probe_all()
        controllers = []
        cluster_state = None
        for node in self.cfg.controllers:
            st = states.get(node.name, {})
            if st.get("isActive"):
                cluster_state = st.get("TYPE")
            controllers.append(
                {
                    **self._controller_info(node, st, states),
                    "nodeName": node.name,  # js7ha extension
                    "isActive": bool(st.get("isActive")),  # js7ha extension
                }
            )
        return web.json_response(
            {
                "deliveryDate": delivery(),
                "jocs": jocs,
                "controllers": controllers,
                "database": self.joc.db.status(),
                "clusterState": {"_text": cluster_state or "unknown"},
                "historyService": self.joc.history.status(),  # js7ha extension
                "epoch": c.active_epoch(),  # js7ha extension
            }
        )

    def _controller_info(
        self, node: ControllerNode, st: dict[str, Any], states: dict[str, dict[str, Any]]
    ) -> Body:
        """One Controller node as JOC describes it (controller/master-schema.json)."""
        nodes = list(self.cfg.controllers)
        role = "STANDALONE" if len(nodes) == 1 else ("PRIMARY" if node == nodes[0] else "BACKUP")
        active = bool(st.get("isActive"))
        reachable = bool(st.get("reachable"))
        coupled = any(s.get("TYPE") == "Coupled" for s in states.values() if s.get("isActive"))
        info: Body = {
            "id": nodes.index(node) + 1,
            "surveyDate": delivery(),
            "controllerId": self.cfg.controller_id,
            "title": node.name,
            "url": node.uri,
            "role": role,
            "isCoupled": coupled,
            "componentState": component_state(reachable),
            "connectionState": {
                "_text": "established" if reachable else "unreachable",
                "severity": 0 if reachable else 2,
            },
            "clusterNodeState": node_state(active if reachable else None),
        }
        if len(nodes) > 1:
            info["clusterUrl"] = node.uri
        return info

    async def controller(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        """JOC's ``controller``: one Controller node's status — the one at
        ``url``, else the active one (else the first)."""
        url = field_str(body, "url", required=False)
        states = await self.joc.controllers.probe_all()
        nodes = list(self.cfg.controllers)
        if url is not None:
            chosen = [n for n in nodes if n.uri.rstrip("/") == url.rstrip("/")]
            if not chosen:
                raise Problem(400, "UnknownController", f"no Controller node has the url {url}")
        else:
            chosen = [n for n in nodes if states.get(n.name, {}).get("isActive")] or nodes[:1]
        node = chosen[0]
        info = self._controller_info(node, states.get(node.name, {}), states)
        return web.json_response({"deliveryDate": delivery(), "controller": info})

    async def version(self, _: web.Request, __: Body, ___: Session | None) -> web.Response:
        """The JS7 release whose wire format the reference follows, tagged as
        the reference's own (``2.8.0-js7ha``)."""
        return web.json_response({"version": JS7_VERSION, "gitHash": "js7ha", "date": RELEASE_DATE})

    async def switch_member(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        target = field_str(body, "memberId")
        assert target is not None
        exceeded = self.joc.cluster.exceeded

        async def check(conn: Conn) -> tuple[Any, Any]:
            cur = await conn.execute(
                """SELECT NOT STOPPED AND now() - HEART_BEAT <= make_interval(secs => %s)
                   FROM JOC_INSTANCES WHERE MEMBER_ID = %s""",
                (exceeded, target),
            )
            inst = await cur.fetchone()
            cur = await conn.execute("SELECT MEMBER_ID FROM JOC_CLUSTER WHERE ID = 'cluster'")
            return inst, await cur.fetchone()

        inst, cluster = await self.joc.db.run(check)
        if inst is None:
            raise Problem(400, "UnknownMember", f"no JOC instance with memberId {target!r}")
        if not inst[0]:
            raise Problem(409, "MemberNotAlive", f"JOC instance {target} is not running")
        if cluster is not None and cluster[0] == target:
            raise Problem(409, "AlreadyActive", f"JOC instance {target} is already active")
        try:
            await self.joc.cluster.request_switch(target)
        except ValueError as exc:
            raise Problem(409, "AlreadyActive", str(exc)) from None
        return web.json_response({"state": "SWITCH_MEMBER", "deliveryDate": delivery()})

    async def activity(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        exceeded = self.joc.cluster.exceeded

        async def read(conn: Conn) -> tuple[list[Any], Any]:
            cur = await conn.execute(
                """SELECT MEMBER_ID, SERVICE, EPOCH, extract(epoch FROM ACTIVE_FROM),
                          extract(epoch FROM ACTIVE_UNTIL), ENDED
                   FROM JOC_SERVICE_ACTIVITY ORDER BY ACTIVE_FROM, ID"""
            )
            rows = list(await cur.fetchall())
            cur = await conn.execute("SELECT extract(epoch FROM now())")
            return rows, await cur.fetchone()

        rows, now = await self.joc.db.run(read)
        out = []
        for member, service, epoch, t0, t1, ended in rows:
            item = {
                "memberId": member,
                "service": service,
                "epoch": epoch,
                "activeFrom": float(t0),
                "activeUntil": float(t1),
                "ended": ended,
            }
            if service == "cluster" and not ended:
                # The holder may have believed in its lease until then (see cluster.py).
                item["leaseUntil"] = float(t1) + exceeded
            out.append(item)
        return web.json_response(
            {"deliveryDate": delivery(), "dbNow": float(now[0]), "activity": out}
        )
