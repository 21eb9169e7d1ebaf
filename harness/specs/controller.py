"""Harness plug-in for the ``controller`` role.

The Controller's Agents are the ``agent`` nodes it has a link to (except its
Cluster Watch); each is reached through that link's proxy. Node config keys:
``controller_id`` (default ``"js7"``), ``release_users`` (default
``["History"]``), ``cluster`` (see ``cluster_conf``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.clients.js7 import PASSWORDS, users_conf
from harness.components import ComponentSpec, NodeContext, write_json_config


def cluster_conf(
    ctx: NodeContext, cluster: Mapping[str, Any], timing_of: str = "controller"
) -> dict[str, Any]:
    """``js7.journal.cluster`` of one node. ``cluster`` (node config):
    ``role`` primary|backup, ``peer`` and ``watch`` node names, ``is_backup``
    (default: role == backup; false reproduces seed 002's misconfiguration).
    ``timing_of``: whose profile timing (``controller``, ``agent``)."""
    timing = ctx.profile.components
    peer, watch = cluster["peer"], cluster.get("watch")
    out: dict[str, Any] = {
        # How this node reaches the other one: through its own link's proxy.
        "peer-uri": f"http://{ctx.peers[peer]}",
        "heartbeat": timing.get(f"{timing_of}.cluster.heartbeat", 3.0),
        "heartbeat-timeout": timing.get(f"{timing_of}.cluster.heartbeat_timeout", 10.0),
        "watches": [f"http://{ctx.peers[watch]}"] if watch else [],
    }
    if cluster["role"] == "primary":
        out["nodes"] = {
            "Primary": f"http://{ctx.host}:{ctx.port}",
            "Backup": f"http://{ctx.peers[peer]}",
        }
    if cluster.get("is_backup", cluster["role"] == "backup"):
        out["node"] = {"is-backup": True}
    return out


def write_config(ctx: NodeContext) -> None:
    conf = dict(ctx.node.config)
    cluster = conf.get("cluster")
    watch = cluster.get("watch") if cluster else None
    # A Backup Director is no Agent of its own: the Controller learns its
    # URI from the Director's SubagentItem (AgentRef.directors).
    agents = {
        peer: {"uri": f"http://{addr}"}
        for peer, addr in ctx.peers.items()
        if ctx.topology.node(peer).role == "agent"
        and peer != watch
        and (ctx.topology.node(peer).config.get("cluster") or {}).get("role") != "backup"
    }
    timing = ctx.profile.components
    controller: dict[str, Any] = {
        "js7.controller.id": conf.get("controller_id", "js7"),
        "js7.web.http.host": ctx.host,
        "js7.web.http.port": ctx.port,
        "js7.controller.agents": agents,
        "js7.controller.agent-driver": {
            "heartbeat": timing.get("controller.agent-driver.heartbeat", 0.5),
            "reconnect-max-delay": timing.get("controller.agent-driver.reconnect-max-delay", 1.0),
            "event-timeout": 10,
            "release-delay": 0.1,
        },
        # Written as given: a wrong type must reach the node, which refuses it.
        "js7.journal.users-allowed-to-release-events": conf.get("release_users", ["History"]),
    }
    private: dict[str, Any] = {
        "js7.auth.users": {
            # JS7's UpdateItem: who may add workflows (POST …/api/item).
            **users_conf(
                "History",
                "JOC",
                "Harness",
                "ClusterWatch",
                permissions={"JOC": ["UpdateItem"], "Harness": ["UpdateItem"]},
            ),
            "Cluster": f"plain:{PASSWORDS['Cluster']}",
        },
        "js7.auth.agents": {a: f"plain:{PASSWORDS['Controller']}" for a in agents},
    }
    if cluster:
        controller["js7.journal.cluster"] = cluster_conf(ctx, cluster)
        private["js7.auth.cluster.password"] = f"plain:{PASSWORDS['Cluster']}"
        private["js7.auth.cluster-watch.password"] = f"plain:{PASSWORDS['Controller']}"
    write_json_config(ctx.config_dir / "controller.conf", controller)
    write_json_config(ctx.config_dir / "private.conf", private)


SPEC = ComponentSpec(role="controller", module="components.controller", write_config=write_config)
