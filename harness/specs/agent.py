"""Harness plug-in for the ``agent`` role.

Node config keys (``Node("agent-1", "agent", {...})``): ``release_users``
(default ``["Controller"]``).
"""

from __future__ import annotations

from harness.clients.js7 import users_conf
from harness.components import ComponentSpec, NodeContext, write_json_config


def write_config(ctx: NodeContext) -> None:
    conf = dict(ctx.node.config)
    write_json_config(
        ctx.config_dir / "agent.conf",
        {
            "js7.web.http.host": ctx.host,
            "js7.web.http.port": ctx.port,
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
        },
    )


SPEC = ComponentSpec(role="agent", module="components.agent", write_config=write_config)
