"""Start options of the JobScheduler 1.x engine, validated as the real engine does.

What must hold: a member whose cluster options contradict each other never
starts. ``-backup`` without ``-exclusive`` is SCHEDULER-368 (the engine's
``throw_xc("SCHEDULER-368", "-backup", "-exclusive")``); ``-distributed-orders``
together with ``-exclusive`` is SCHEDULER-369. Timing settings must let the
self-fencing watchdog abort a member strictly before anyone may take over
from it (see ``Timing``).

Options come from ``DIR/config/scheduler.conf`` (section ``js1``) and the
command line; the command line wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.common.config import Config, ConfigProblem

# The engine's texts (scheduler_messages.cxx:216-217).
MESSAGES = {
    "SCHEDULER-368": "Option {0} needs {1}",
    "SCHEDULER-369": "Option {0} conflicts with {1}",
}


class OptionError(Exception):
    """A start option is invalid: ``code`` is the engine's message code (or
    ``SCHEDULER-OPTION`` for a malformed command line)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}  {message}")
        self.code = code
        self.message = message


def _xc(code: str, *args: str) -> OptionError:
    return OptionError(code, MESSAGES[code].format(*args))


@dataclass(frozen=True)
class Timing:
    """Heartbeat timing, all in seconds.

    ``period`` bounds a member's heartbeat cycle; it writes a heartbeat every
    ``beat`` = period/2 and promises the next one by ``next_heart_beat`` =
    write time + ``beat``. Others declare it dead once the database clock is
    past ``next_heart_beat + timeout``: at most ``period/2 + timeout`` after
    its last heartbeat, so a kill is noticed within ``timeout + period/2``
    plus one ``tick``, inside the documented ``timeout + period``.

    The watchdog aborts a member that wrote no heartbeat for ``fence_after`` =
    beat + timeout - beat/2, measured from when it *sent* its last successful
    heartbeat (which is no later than when the database recorded it): so it is
    gone ``beat/2`` before anyone may declare it dead.
    """

    period: float
    timeout: float

    @property
    def beat(self) -> float:
        return self.period / 2

    @property
    def tick(self) -> float:
        """How often the cluster thread looks at the table."""
        return max(0.02, min(self.period / 10, 1.0))

    @property
    def poll(self) -> float:
        """How often the engine looks for due order steps."""
        return max(0.02, min(self.period / 10, 1.0))

    @property
    def fence_after(self) -> float:
        return self.beat + self.timeout - self.beat / 2


@dataclass(frozen=True)
class Options:
    data_dir: Path
    scheduler_id: str
    member_id: str
    db_url: str
    host: str
    port: int
    exclusive: bool
    backup: bool
    precedence: int
    distributed: bool
    timing: Timing
    max_tasks: int

    @property
    def cluster_mode(self) -> str:
        if self.distributed:
            return "active"
        return "passive" if self.exclusive else "none"


@dataclass
class CommandLine:
    """What the command line said; ``None``: not given (the config file decides)."""

    data_dir: Path | None = None
    scheduler_id: str | None = None
    db_url: str | None = None
    exclusive: bool | None = None
    backup: bool | None = None
    precedence: int | None = None
    distributed: bool | None = None


def parse_argv(argv: list[str]) -> CommandLine:
    """Parse ``--data-dir DIR [--id ID] [--db URL] [-exclusive] [-backup]
    [-backup-precedence=N] [-distributed-orders]`` (``-id=ID``/``-db=URL`` too)."""
    cl = CommandLine()
    it = iter(argv)
    for arg in it:
        name, eq, value = arg.partition("=")

        def val(name: str = name, eq: str = eq, value: str = value) -> str:
            if eq:
                return value
            nxt = next(it, None)
            if nxt is None:
                raise OptionError("SCHEDULER-OPTION", f"option {name} needs a value")
            return nxt

        if name in ("--data-dir", "-data-dir"):
            cl.data_dir = Path(val())
        elif name in ("--id", "-id"):
            cl.scheduler_id = val()
        elif name in ("--db", "-db"):
            cl.db_url = val()
        elif arg == "-exclusive":
            cl.exclusive = True
        elif arg == "-backup":
            cl.backup = True
        elif name == "-backup-precedence":
            text = val()
            try:
                cl.precedence = int(text)
            except ValueError:
                raise OptionError(
                    "SCHEDULER-OPTION", f"-backup-precedence needs a whole number, got {text!r}"
                ) from None
        elif arg == "-distributed-orders":
            cl.distributed = True
        else:
            raise OptionError("SCHEDULER-OPTION", f"unknown option {arg!r}")
    if cl.data_dir is None:
        raise OptionError("SCHEDULER-OPTION", "--data-dir DIR is required")
    return cl


def validate_cluster(exclusive: bool, backup: bool, distributed: bool, precedence: int) -> None:
    """Raise ``OptionError`` for a combination the engine rejects."""
    if backup and not exclusive:
        raise _xc("SCHEDULER-368", "-backup", "-exclusive")
    if distributed and exclusive:
        raise _xc("SCHEDULER-369", "-distributed-orders", "-exclusive")
    if precedence < 0:
        raise OptionError("SCHEDULER-OPTION", f"-backup-precedence must be >= 0, got {precedence}")


def validate_timing(period: float, timeout: float, source: str) -> Timing:
    if period <= 0:
        raise ConfigProblem(source, "js1.heartbeat-period", f"must be positive, got {period}")
    if timeout < period:
        # Below one period the watchdog could not abort a member before it is
        # declared dead: fencing must come first.
        raise ConfigProblem(
            source, "js1.heartbeat-timeout", f"must be at least js1.heartbeat-period, got {timeout}"
        )
    return Timing(period, timeout)


def load(argv: list[str]) -> Options:
    """The effective options; raises ``OptionError`` or ``ConfigProblem``."""
    cl = parse_argv(argv)
    assert cl.data_dir is not None
    cfg = Config.load(cl.data_dir / "config" / "scheduler.conf", required=False)
    exclusive = cl.exclusive if cl.exclusive is not None else cfg.boolean("js1.exclusive", False)
    backup = cl.backup if cl.backup is not None else cfg.boolean("js1.backup", False)
    distributed = (
        cl.distributed
        if cl.distributed is not None
        else cfg.boolean("js1.distributed-orders", False)
    )
    default_precedence = 1 if backup else 0
    precedence = (
        cl.precedence
        if cl.precedence is not None
        else cfg.integer("js1.backup-precedence", default_precedence)
    )
    validate_cluster(exclusive, backup, distributed, precedence)
    scheduler_id = cl.scheduler_id or cfg.string("js1.id", "scheduler")
    if not scheduler_id.strip():
        raise ConfigProblem(cfg.source, "js1.id", "must not be empty")
    db_url = cl.db_url or cfg.string("js1.db", "")
    if not db_url:
        raise ConfigProblem(cfg.source, "js1.db", "is required (or pass --db URL)")
    port = cfg.port("js1.port")
    host = cfg.string("js1.host", "127.0.0.1")
    timing = validate_timing(
        cfg.seconds("js1.heartbeat-period", 60.0),
        cfg.seconds("js1.heartbeat-timeout", 60.0),
        cfg.source,
    )
    max_tasks = cfg.integer("js1.max-tasks", 4)
    if max_tasks < 1:
        raise ConfigProblem(cfg.source, "js1.max-tasks", f"must be at least 1, got {max_tasks}")
    return Options(
        data_dir=cl.data_dir,
        scheduler_id=scheduler_id,
        member_id=cfg.string("js1.member-id", f"{host}:{port}"),
        db_url=db_url,
        host=host,
        port=port,
        exclusive=exclusive,
        backup=backup,
        precedence=precedence,
        distributed=distributed,
        timing=timing,
        max_tasks=max_tasks,
    )
