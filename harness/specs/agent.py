"""Harness plug-in for the ``agent`` role.

Node config keys (``Node("agent-1", "agent", {...})``): ``release_users``
(default ``["Controller"]``). The Subagents it has links to get a password
in ``js7.auth.subagents`` (their SubagentId is their node name).
"""

from __future__ import annotations

from harness.clients.js7 import PASSWORDS, users_conf
from harness.components import ComponentSpec, NodeContext, write_json_config


def write_config(ctx: NodeContext) -> None:
    conf = dict(ctx.node.config)
    timing = ctx.profile.components
    subagents = [p for p in ctx.peers if ctx.topology.node(p).role == "subagent"]
    write_json_config(
        ctx.config_dir / "agent.conf",
        {
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
            "js7.auth.users": users_conf(
                "Controller", "Harness", permissions={"Controller": ["ClusterWatch"]}
            ),
            # The password for each Subagent it has a link to (SubagentId = node name).
            "js7.auth.subagents": {s: f"plain:{PASSWORDS['Director']}" for s in subagents},
        },
    )


SPEC = ComponentSpec(role="agent", module="components.agent", write_config=write_config)
