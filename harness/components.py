"""Which program runs a role, and how its data dir is prepared.

The backend knows nothing about Controllers or JOC: for a node of role ``r``
it imports ``harness.specs.<r>`` and uses its ``SPEC`` (a ``ComponentSpec``).
A new component plugs in by shipping that module; the backends stay untouched.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.profiles import Profile
from harness.topology import Node, Topology, thaw


@dataclass(frozen=True)
class NodeContext:
    """Everything a config writer may use. Addresses are ``host:port``.

    ``peers`` maps each node this node has a link to onto the address of that
    link's proxy — never the peer's own port, so every inter-node path can be
    cut. ``database_url`` likewise goes through ``<node>--postgres``.
    """

    node: Node
    topology: Topology
    profile: Profile
    data_dir: Path
    host: str
    port: int
    peers: Mapping[str, str] = field(default_factory=dict)
    database_url: str | None = None

    @property
    def config_dir(self) -> Path:
        return self.data_dir / "config"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"


@dataclass(frozen=True)
class ComponentSpec:
    """How to run one role.

    ``module`` is started as ``python -m <module> --data-dir DIR <extra args>``.
    ``write_config`` fills ``DIR/config`` (called before every start, so a
    restart sees the same config; it must not touch ``state/``).
    ``log_name``: stdout and stderr are captured to ``DIR/logs/<log_name>``.
    """

    role: str
    module: str
    write_config: Callable[[NodeContext], None]
    health_path: str = "/health"
    log_name: str = ""
    extra_args: Callable[[NodeContext], list[str]] | None = None

    @property
    def log_file(self) -> str:
        return self.log_name or f"{self.role}.log"

    def argv(self, python: str, ctx: NodeContext) -> list[str]:
        extra = self.extra_args(ctx) if self.extra_args else []
        return [python, "-m", self.module, "--data-dir", str(ctx.data_dir), *extra]


_registry: dict[str, ComponentSpec] = {}


def register(spec: ComponentSpec) -> None:
    """Register a spec explicitly (tests use this for throwaway roles)."""
    _registry[spec.role] = spec


def component(role: str) -> ComponentSpec:
    if role in _registry:
        return _registry[role]
    module = f"harness.specs.{role.replace('-', '_')}"
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise ConfigError(f"unknown role {role!r}: no module {module}") from None
        raise
    spec = getattr(mod, "SPEC", None)
    if not isinstance(spec, ComponentSpec):
        raise ConfigError(f"{module}.SPEC is not a ComponentSpec")
    _registry[role] = spec
    return spec


def nest(data: Mapping[str, Any]) -> dict[str, Any]:
    """Expand dotted keys (``{"js7.web.http.port": 1}``) into nested objects.

    Needed because JSON keys are always quoted, and HOCON reads a quoted
    ``"a.b"`` as one key named ``a.b``, not as the path ``a`` → ``b``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        value = nest(value) if isinstance(value, Mapping) else thaw(value)
        *parents, last = key.split(".")
        target = out
        for p in parents:
            target = target.setdefault(p, {})
        if isinstance(value, dict) and isinstance(target.get(last), dict):
            target[last].update(value)
        else:
            target[last] = value
    return out


def write_json_config(path: Path, data: Mapping[str, Any]) -> None:
    """Write config data as JSON, which is valid HOCON (so pyhocon reads it).
    Dotted keys become nested objects (see ``nest``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(nest(data), indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
