"""Harness plug-in for the ``subagent`` role.

Node config keys (``Node("subagent-1", "subagent", {...})``): ``director``
(required): the SubagentId of the Director Agent's own Subagent, as which the
Director logs in and releases events (JS7: SubagentKeeper.scala L629-640);
``release_users`` (default: the Director's user; add ``Harness``, which
never releases, to keep every event for a test to read).
"""

from __future__ import annotations

from harness.clients.js7 import PASSWORDS, users_conf
from harness.components import ComponentSpec, NodeContext, write_json_config
from harness.errors import ConfigError


def write_config(ctx: NodeContext) -> None:
    director = ctx.node.config.get("director")
    if not isinstance(director, str):
        raise ConfigError(f"subagent {ctx.node.name}: config 'director' (a SubagentId) is required")
    write_json_config(
        ctx.config_dir / "subagent.conf",
        {
            "js7.web.http.host": ctx.host,
            "js7.web.http.port": ctx.port,
            "js7.journal.users-allowed-to-release-events": ctx.node.config.get(
                "release_users", [director]
            ),
        },
    )
    write_json_config(
        ctx.config_dir / "private.conf",
        {
            "js7.auth.users": {
                **users_conf("Harness"),
                director: {
                    "password": f"plain:{PASSWORDS['Director']}",
                    "permissions": ["AgentDirector"],
                },
            }
        },
    )


SPEC = ComponentSpec(role="subagent", module="components.subagent", write_config=write_config)
