"""Harness plug-in for the ``agent`` role.

Node config keys (``Node("agent-1", "agent", {...})``): ``release_users``
(default ``["Controller"]``); ``cluster`` (a Director of a pair: ``role``
primary|backup and the ``peer`` Director's node name, as the Controller
cluster's ``cluster_conf``; the Controller is the Watch). The Subagents it has
links to get a password in ``js7.auth.subagents`` (their SubagentId is their
node name) and are reached through this node's own link to each.
"""

from __future__ import annotations

from typing import Any

from harness.clients.js7 import PASSWORDS, users_conf
from harness.components import ComponentSpec, NodeContext, write_json_config
from harness.specs.controller import cluster_conf


def write_config(ctx: NodeContext) -> None:
    conf = dict(ctx.node.config)
    timing = ctx.profile.components
    subagents = [p for p in ctx.peers if ctx.topology.node(p).role == "subagent"]
    cluster = conf.get("cluster")
    extra: dict[str, Any] = {}
    private: dict[str, Any] = {}
    if cluster:
        extra["js7.journal.cluster"] = cluster_conf(ctx, cluster, timing_of="agent")
        private["js7.auth.cluster.password"] = f"plain:{PASSWORDS['Cluster']}"
    write_json_config(
        ctx.config_dir / "agent.conf",
        {
            **extra,
            # Through this node's own link to each Subagent (SubagentId = node name).
            "js7.subagent-driver.uris": {s: f"http://{ctx.peers[s]}" for s in subagents},
            "js7.web.http.host": ctx.host,
            "js7.web.http.port": ctx.port,
            "js7.subagent-driver.heartbeat": timing.get("agent.subagent.heartbeat", 3.0),
            "js7.subagent-driver.heartbeat-timeout": timing.get(
                "agent.subagent.heartbeat_timeout", 10.0
            ),
            # Written as given: a wrong type must reach the node, which refuses it.
            "js7.journal.users-allowed-to-release-events": conf.get(
                "release_users", ["Controller"]
            ),
        },
    )
    write_json_config(
        ctx.config_dir / "private.conf",
        {
            # The Controller cluster's nodes talk to the Watch an Agent hosts
            # as "Controller"; nobody else may (the reference's ClusterWatch).
            "js7.auth.users": {
                **users_conf("Controller", "Harness", permissions={"Controller": ["ClusterWatch"]}),
                # The other Director of a pair pulls the journal as "Cluster".
                "Cluster": f"plain:{PASSWORDS['Cluster']}",
            },
            **private,
            # The password for each Subagent it has a link to (SubagentId = node name).
            "js7.auth.subagents": {s: f"plain:{PASSWORDS['Director']}" for s in subagents},
        },
    )


SPEC = ComponentSpec(role="agent", module="components.agent", write_config=write_config)
