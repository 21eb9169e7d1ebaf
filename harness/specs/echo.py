"""Harness plug-in for the ``echo`` role."""

from __future__ import annotations

from harness.components import ComponentSpec, NodeContext, write_json_config


def write_config(ctx: NodeContext) -> None:
    write_json_config(
        ctx.config_dir / "echo.conf",
        {
            "js7ha": {
                "node-name": ctx.node.name,
                "host": ctx.host,
                "port": ctx.port,
                "peers": dict(ctx.peers),
                "database-url": ctx.database_url or "",
                "peer-timeout": min(2.0, ctx.profile.op_timeout),
                **dict(ctx.node.config),
            }
        },
    )


SPEC = ComponentSpec(role="echo", module="components.echo", write_config=write_config)
