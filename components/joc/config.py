"""JOC's settings, read once at start from ``config/joc.conf`` + ``private.conf``.

What must hold: a missing or invalid setting stops the instance at start with
one line naming the setting (exit status 2), before it touches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.common.config import Config, ConfigProblem
from components.joc.controllers import ControllerNode
from components.joc.settings import CLEANUP_DEFAULTS, age_seconds

PERMISSIONS = ("view", "orders", "deploy", "cluster", "cleanup", "dailyplan", "settings")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


@dataclass(frozen=True)
class Account:
    name: str
    password: str  # "plain:..." or "sha512:<hex>"
    permissions: frozenset[str]


@dataclass(frozen=True)
class Schedule:
    """A Daily Plan schedule: the workflow's orders at fixed times of day
    (configured: in UTC, named by ``name``; from the inventory: in the
    calendar's ``time_zone``, with the inventory ``path`` and JOC's
    ``order_name``)."""

    name: str
    workflow_path: str
    times: tuple[str, ...]  # "HH:MM:SS"
    arguments: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    order_name: str = ""
    time_zone: str = "Etc/UTC"

    @property
    def schedule_path(self) -> str:
        """The schedule's inventory path (a configured one's: ``/<name>``)."""
        return self.path or f"/{self.name}"


@dataclass(frozen=True)
class JocConfig:
    member_id: str
    host: str
    port: int
    database_url: str
    database_timeout: float
    controller_id: str
    controllers: tuple[ControllerNode, ...]
    history_user: tuple[str, str]
    joc_user: tuple[str, str]
    polling_interval: float
    heart_beat_exceeded_interval: float
    ordering: int
    accounts: dict[str, Account]
    session_timeout: float
    history_batch_limit: int
    history_long_poll: float
    events_response_period: float  # JOC's events long poll (JOC: 30 s to 3 min)
    history_heartbeat: float
    controller_probe_timeout: float
    history_release_interval: float
    cleanup_ages: dict[str, float]  # kind -> seconds
    cleanup_period: tuple[str, str]  # UTC "HH:MM" begin, end
    cleanup_batch_size: int
    cleanup_interval: float
    schedules: tuple[Schedule, ...]
    daily_plan_interval: float
    # Whether the active instance is its Controller cluster's Watch (JOC 2.5
    # and later always is; the reference only where configured, so that a
    # topology has one Watch).
    cluster_watch: bool = False
    source: str = ""


def _time_of_day(cfg: Config, key: str, default: str) -> str:
    value = cfg.string(key, default)
    if not _TIME.match(value):
        raise ConfigProblem(cfg.source, key, f"must be a UTC time of day HH:MM[:SS], got {value!r}")
    return value


def _user(cfg: Config, key: str, default_user: str) -> tuple[str, str]:
    user = cfg.string(f"{key}.user", default_user)
    password = cfg.string(f"{key}.password")
    return user, password.removeprefix("plain:")


def load(data_dir: Path) -> JocConfig:
    """Raises ``ConfigProblem`` naming the first bad setting."""
    cfg_dir = data_dir / "config"
    cfg = Config.load(cfg_dir / "joc.conf", cfg_dir / "private.conf")
    member = cfg.string("joc.cluster.member-id")
    if not re.match(r"^[A-Za-z0-9_.:-]{1,165}$", member):
        raise ConfigProblem(cfg.source, "joc.cluster.member-id", f"is not a valid id: {member!r}")
    url = cfg.string("joc.database.url")
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigProblem(cfg.source, "joc.database.url", "must be a postgresql:// URL")
    polling = cfg.seconds("joc.cluster.polling-interval", 30.0)
    exceeded = cfg.seconds("joc.cluster.heart-beat-exceeded-interval", 60.0)
    if polling <= 0:
        raise ConfigProblem(cfg.source, "joc.cluster.polling-interval", "must be positive")
    # JOC's own defaults (30 s polling, 60 s) sit exactly on this line: a
    # standby declares the active dead only after two missed heartbeats.
    if exceeded < 2 * polling:
        raise ConfigProblem(
            cfg.source,
            "joc.cluster.heart-beat-exceeded-interval",
            f"must be at least twice the polling interval ({polling}s), got {exceeded}s",
        )
    controllers = []
    for name, ref in cfg.mapping("joc.controllers", {}).items():
        uri = ref.get("uri") if isinstance(ref, dict) else None
        if not isinstance(uri, str) or not uri.startswith("http"):
            raise ConfigProblem(cfg.source, f"joc.controllers.{name}.uri", "must be an http URL")
        controllers.append(ControllerNode(str(name), uri))
    if not controllers:
        raise ConfigProblem(cfg.source, "joc.controllers", "must name at least one Controller node")

    roles: dict[str, frozenset[str]] = {}
    for role, spec in cfg.mapping("joc.auth.roles", {}).items():
        perms = spec.get("permissions") if isinstance(spec, dict) else None
        if not isinstance(perms, list) or not all(p == "*" or p in PERMISSIONS for p in perms):
            raise ConfigProblem(
                cfg.source,
                f"joc.auth.roles.{role}.permissions",
                f"must be a list of {', '.join(PERMISSIONS)} or '*'",
            )
        roles[str(role)] = frozenset(PERMISSIONS if "*" in perms else perms)
    accounts: dict[str, Account] = {}
    for name, spec in cfg.mapping("joc.auth.accounts", {}).items():
        key = f"joc.auth.accounts.{name}"
        if not isinstance(spec, dict):
            raise ConfigProblem(cfg.source, key, "must be an object {password, roles}")
        pw = spec.get("password")
        if not isinstance(pw, str) or pw.partition(":")[0] not in ("plain", "sha512"):
            raise ConfigProblem(cfg.source, f"{key}.password", 'must be "plain:…" or "sha512:…"')
        account_roles = spec.get("roles", [])
        if not isinstance(account_roles, list) or any(r not in roles for r in account_roles):
            raise ConfigProblem(cfg.source, f"{key}.roles", f"must name roles of {sorted(roles)}")
        perms = (
            frozenset().union(*(roles[r] for r in account_roles)) if account_roles else frozenset()
        )
        accounts[str(name)] = Account(str(name), pw, perms)

    ages = {}
    for kind, entry in (
        ("order-history", "order_history_age"),
        ("order-log", "order_history_logs_age"),
        ("daily-plan-history", "daily_plan_history_age"),
    ):
        default = age_seconds(CLEANUP_DEFAULTS[entry], entry)
        ages[kind] = cfg.seconds(f"joc.cleanup.{kind}-age", default)
        if ages[kind] != int(ages[kind]) or ages[kind] < 0:
            # the settings document counts ages in whole units (JOC: minutes)
            raise ConfigProblem(cfg.source, f"joc.cleanup.{kind}-age", "must be whole seconds")
    schedules = []
    for i, raw in enumerate(cfg.get("joc.daily-plan.schedules", list, [])):
        key = f"joc.daily-plan.schedules[{i}]"
        if not isinstance(raw, dict):
            raise ConfigProblem(cfg.source, key, "must be an object {name, workflowPath, times}")
        schedules.append(parse_schedule(raw, cfg.source, key))
    return JocConfig(
        member_id=member,
        host=cfg.string("joc.web.http.host", "127.0.0.1"),
        port=cfg.port("joc.web.http.port"),
        database_url=url,
        database_timeout=cfg.seconds("joc.database.timeout", 2.0),
        controller_id=cfg.string("joc.controller-id", "js7"),
        controllers=tuple(controllers),
        history_user=_user(cfg, "joc.controller-users.history", "History"),
        joc_user=_user(cfg, "joc.controller-users.joc", "JOC"),
        polling_interval=polling,
        heart_beat_exceeded_interval=exceeded,
        ordering=cfg.integer("joc.cluster.ordering", 0),
        accounts=accounts,
        session_timeout=cfg.seconds("joc.auth.session-timeout", 900.0),
        history_batch_limit=cfg.integer("joc.history.batch-limit", 1000),
        history_long_poll=cfg.seconds("joc.history.long-poll", 1.0),
        events_response_period=cfg.seconds("joc.events.response-period", 180.0),
        history_heartbeat=cfg.seconds("joc.history.heartbeat", 0.5),
        controller_probe_timeout=cfg.seconds("joc.controller.probe-timeout", 2.0),
        history_release_interval=cfg.seconds("joc.history.release-interval", 0.2),
        cleanup_ages=ages,
        cleanup_period=(
            _time_of_day(cfg, "joc.cleanup.period.begin", CLEANUP_DEFAULTS["period_begin"]),
            _time_of_day(cfg, "joc.cleanup.period.end", CLEANUP_DEFAULTS["period_end"]),
        ),
        cleanup_batch_size=max(
            1, cfg.integer("joc.cleanup.batch-size", int(CLEANUP_DEFAULTS["batch_size"]))
        ),
        cleanup_interval=cfg.seconds("joc.cleanup.check-interval", 60.0),
        schedules=tuple(schedules),
        daily_plan_interval=cfg.seconds("joc.daily-plan.check-interval", 60.0),
        cluster_watch=cfg.boolean("joc.controller.cluster-watch", False),
        source=cfg.source,
    )


def parse_schedule(raw: dict[str, Any], source: str, key: str) -> Schedule:
    """A schedule from config or from an API call; ``ConfigProblem`` names the field."""
    name, path, times = raw.get("name"), raw.get("workflowPath"), raw.get("times")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.-]{1,100}$", name):
        raise ConfigProblem(source, f"{key}.name", "must be a name of letters, digits, _ . -")
    if not isinstance(path, str) or not path:
        raise ConfigProblem(source, f"{key}.workflowPath", "must be a workflow path")
    if (
        not isinstance(times, list)
        or not times
        or not all(isinstance(t, str) and _TIME.match(t) for t in times)
    ):
        raise ConfigProblem(source, f"{key}.times", "must be a list of UTC times HH:MM[:SS]")
    args = raw.get("arguments", {})
    if not isinstance(args, dict):
        raise ConfigProblem(source, f"{key}.arguments", "must be an object")
    norm = tuple(t if t.count(":") == 2 else t + ":00" for t in times)
    return Schedule(name, path, norm, dict(args))
