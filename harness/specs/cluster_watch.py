"""Harness plug-in for the ``cluster-watch`` role: JS7's standalone Cluster
Watch (``js7-cluster-watch``) of a Controller pair.

It watches the ``controller`` nodes it has links to — it connects to them,
never the reverse — through each link's proxy, logging in as
``ClusterWatch``. Its ``--cluster-watch-id`` is the node's name.
"""

from __future__ import annotations

from harness.clients.js7 import PASSWORDS
from harness.components import ComponentSpec, NodeContext, write_json_config


def write_config(ctx: NodeContext) -> None:
    controllers = sorted(p for p in ctx.peers if ctx.topology.node(p).role == "controller")
    write_json_config(
        ctx.config_dir / "cluster-watch.conf",
        {"js7.web.http.host": ctx.host, "js7.web.http.port": ctx.port},
    )
    write_json_config(
        ctx.config_dir / "private.conf",
        {
            "js7.journal.cluster.watch.cluster-nodes": [
                {
                    "uri": f"http://{ctx.peers[c]}",
                    "user": "ClusterWatch",
                    "password": f"plain:{PASSWORDS['ClusterWatch']}",
                }
                for c in controllers
            ],
            "js7.journal.cluster.watch.retry-max-delay": ctx.profile.components.get(
                "controller.agent-driver.reconnect-max-delay", 1.0
            ),
        },
    )


SPEC = ComponentSpec(
    role="cluster-watch",
    module="components.cluster_watch",
    write_config=write_config,
    extra_args=lambda ctx: [f"--cluster-watch-id={ctx.node.name}"],
)
