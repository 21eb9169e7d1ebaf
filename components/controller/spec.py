"""Harness plug-in for the ``controller`` role.

The Controller's Agents are the ``agent`` nodes it has a link to; each is
reached through that link's proxy. Node config keys: ``controller_id``
(default ``"js7"``), ``release_users`` (default ``["History"]``).
"""

from __future__ import annotations

from harness.clients.js7 import PASSWORDS, users_conf
from harness.components import ComponentSpec, NodeContext, write_json_config


def write_config(ctx: NodeContext) -> None:
    conf = dict(ctx.node.config)
    agents = {
        peer: {"uri": f"http://{addr}"}
        for peer, addr in ctx.peers.items()
        if ctx.topology.node(peer).role == "agent"
    }
    timing = ctx.profile.components
    write_json_config(
        ctx.config_dir / "controller.conf",
        {
            "js7.controller.id": conf.get("controller_id", "js7"),
            "js7.web.http.host": ctx.host,
            "js7.web.http.port": ctx.port,
            "js7.controller.agents": agents,
            "js7.controller.agent-driver": {
                "heartbeat": timing.get("controller.agent-driver.heartbeat", 0.5),
                "reconnect-max-delay": timing.get(
                    "controller.agent-driver.reconnect-max-delay", 1.0
                ),
                "event-timeout": 10,
                "release-delay": 0.1,
            },
            # Written as given: a wrong type must reach the node, which refuses it.
            "js7.journal.users-allowed-to-release-events": conf.get("release_users", ["History"]),
        },
    )
    write_json_config(
        ctx.config_dir / "private.conf",
        {
            "js7.auth.users": users_conf("History", "JOC", "Harness"),
            "js7.auth.agents": {a: f"plain:{PASSWORDS['Controller']}" for a in agents},
        },
    )


SPEC = ComponentSpec(role="controller", module="components.controller", write_config=write_config)
