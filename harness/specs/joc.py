"""Harness plug-in for the ``joc`` role.

A JOC node is a database client with links to the Controller node(s) it
serves. Node config keys: ``member_id`` (default: the node name),
``ordering`` (default 0), ``controller_id`` (default ``"js7"``), and any
``joc.*`` setting as a dotted key (e.g. ``"joc.cleanup.order-history-age"``).
Timing comes from the profile (``joc.cluster.polling_interval``,
``joc.cluster.heart_beat_exceeded_interval``).
"""

from __future__ import annotations

from typing import Any

from harness.clients.js7 import PASSWORDS
from harness.components import ComponentSpec, NodeContext, write_json_config

# The suites' accounts: an administrator, a viewer (read-only) and one with
# no permissions at all.
ACCOUNTS = {
    "root": ("root-secret", ["administrator"]),
    "viewer": ("viewer-secret", ["viewer"]),
    "nobody": ("nobody-secret", []),
}


def write_config(ctx: NodeContext) -> None:
    conf = dict(ctx.node.config)
    timing = ctx.profile.components
    controllers = {
        peer: {"uri": f"http://{addr}"}
        for peer, addr in ctx.peers.items()
        if ctx.topology.node(peer).role == "controller"
    }
    extra = {k: v for k, v in conf.items() if k.startswith("joc.")}
    settings: dict[str, Any] = {
        "joc.cluster.member-id": conf.get("member_id", ctx.node.name),
        "joc.cluster.ordering": conf.get("ordering", 0),
        "joc.cluster.polling-interval": timing.get("joc.cluster.polling_interval", 30.0),
        "joc.cluster.heart-beat-exceeded-interval": timing.get(
            "joc.cluster.heart_beat_exceeded_interval", 60.0
        ),
        "joc.web.http.host": ctx.host,
        "joc.web.http.port": ctx.port,
        "joc.database.url": ctx.database_url or "",
        "joc.database.timeout": min(2.0, ctx.profile.op_timeout),
        "joc.controller-id": conf.get("controller_id", "js7"),
        "joc.controllers": controllers,
        # Follow a Controller fail-over at the Controller cluster's own pace:
        # a silent node is given up after about half its heartbeat timeout.
        "joc.controller.probe-timeout": timing.get("controller.cluster.heartbeat_timeout", 10.0)
        / 2,
        "joc.history.heartbeat": timing.get("controller.cluster.heartbeat", 3.0),
        "joc.auth.roles": {
            "administrator": {"permissions": ["*"]},
            "viewer": {"permissions": ["view"]},
        },
        **extra,
    }
    write_json_config(ctx.config_dir / "joc.conf", settings)
    write_json_config(
        ctx.config_dir / "private.conf",
        {
            "joc.auth.accounts": {
                name: {"password": f"plain:{pw}", "roles": roles}
                for name, (pw, roles) in ACCOUNTS.items()
            },
            "joc.controller-users.history": {
                "user": "History",
                "password": f"plain:{PASSWORDS['History']}",
            },
            "joc.controller-users.joc": {"user": "JOC", "password": f"plain:{PASSWORDS['JOC']}"},
        },
    )


SPEC = ComponentSpec(role="joc", module="components.joc", write_config=write_config)
