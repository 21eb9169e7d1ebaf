"""Harness plug-in for the ``jobscheduler1`` role.

Node config keys: ``id`` (scheduler id, default ``scheduler``), ``exclusive``,
``backup``, ``precedence`` (``-backup-precedence``), ``distributed``
(``-distributed-orders``), ``max_tasks``. The cluster options are passed on
the command line, as the real engine takes them; the member id is the node
name; the database is ``ctx.database_url`` (through ``<node>--postgres``),
so every member must be listed in ``Database(clients=...)``. Heartbeat timing
comes from the profile's ``js1.heartbeat_period``/``js1.heartbeat_timeout``.
"""

from __future__ import annotations

from harness.components import ComponentSpec, NodeContext, write_json_config
from harness.errors import ConfigError

KEYS = {"id", "exclusive", "backup", "precedence", "distributed", "max_tasks"}


def _config(ctx: NodeContext) -> dict[str, object]:
    unknown = sorted(set(ctx.node.config) - KEYS)
    if unknown:
        raise ConfigError(f"{ctx.node.name}: unknown jobscheduler1 config keys {unknown}")
    return dict(ctx.node.config)


def write_config(ctx: NodeContext) -> None:
    cfg = _config(ctx)
    if ctx.database_url is None:
        raise ConfigError(
            f"{ctx.node.name}: a jobscheduler1 member needs the database"
            " (list it in Database(clients=...))"
        )
    comp = ctx.profile.components
    write_json_config(
        ctx.config_dir / "scheduler.conf",
        {
            "js1.id": cfg.get("id", "scheduler"),
            "js1.member-id": ctx.node.name,
            "js1.db": ctx.database_url,
            "js1.host": ctx.host,
            "js1.port": ctx.port,
            "js1.heartbeat-period": comp["js1.heartbeat_period"],
            "js1.heartbeat-timeout": comp["js1.heartbeat_timeout"],
            "js1.max-tasks": cfg.get("max_tasks", 4),
        },
    )


def extra_args(ctx: NodeContext) -> list[str]:
    cfg = _config(ctx)
    args = ["--id", str(cfg.get("id", "scheduler"))]
    if cfg.get("exclusive"):
        args.append("-exclusive")
    if cfg.get("backup"):
        args.append("-backup")
    if cfg.get("precedence") is not None:
        args.append(f"-backup-precedence={cfg['precedence']}")
    if cfg.get("distributed"):
        args.append("-distributed-orders")
    return args


SPEC = ComponentSpec(
    role="jobscheduler1",
    module="components.jobscheduler1",
    write_config=write_config,
    extra_args=extra_args,
)
