"""Reading a component's configuration (HOCON, via pyhocon).

What must hold: a component with a bad or missing setting stops at start with
one line naming the file and the setting, and exit status 2 — never a
traceback, never a half-started node.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from pyhocon import ConfigFactory, ConfigTree
from pyhocon.exceptions import ConfigException

T = TypeVar("T")
_MISSING = object()


class ConfigProblem(Exception):
    """A setting is missing or invalid; ``setting`` names it."""

    def __init__(self, source: str, setting: str, reason: str) -> None:
        super().__init__(f"{source}: setting '{setting}' {reason}")
        self.source = source
        self.setting = setting


class Config:
    """Typed access to one merged HOCON tree; every getter names the setting
    it failed on."""

    def __init__(self, tree: ConfigTree, source: str) -> None:
        self.tree = tree
        self.source = source

    @classmethod
    def load(cls, *paths: Path, required: bool = True) -> Config:
        tree = ConfigTree()
        used = []
        for path in paths:
            if not path.exists():
                continue
            try:
                part = ConfigFactory.parse_file(str(path), resolve=True)
            except (ConfigException, ValueError) as exc:
                raise ConfigProblem(str(path), "<file>", f"cannot be parsed: {exc}") from None
            tree = ConfigTree.merge_configs(tree, part)
            used.append(str(path))
        if required and not used:
            raise ConfigProblem(" or ".join(str(p) for p in paths), "<file>", "does not exist")
        return cls(tree, " + ".join(used) or "<defaults>")

    def _get(self, key: str, default: Any) -> Any:
        try:
            value = self.tree.get(key, _MISSING)
        except ConfigException as exc:
            raise ConfigProblem(self.source, key, f"is invalid: {exc}") from None
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise ConfigProblem(self.source, key, "is required but missing")
            return default
        return value

    def get(self, key: str, conv: Callable[[Any], T], default: Any = _MISSING) -> T:
        value = self._get(key, default)
        try:
            return conv(value)
        except (TypeError, ValueError) as exc:
            raise ConfigProblem(self.source, key, f"has invalid value {value!r}: {exc}") from None

    def string(self, key: str, default: Any = _MISSING) -> str:
        return self.get(key, str, default)

    def integer(self, key: str, default: Any = _MISSING) -> int:
        return self.get(key, _strict_int, default)

    def port(self, key: str, default: Any = _MISSING) -> int:
        value = self.integer(key, default)
        if not 0 < value < 65536:
            raise ConfigProblem(self.source, key, f"must be a TCP port, got {value}")
        return value

    def seconds(self, key: str, default: Any = _MISSING) -> float:
        value = self.get(key, _duration, default)
        if value < 0:
            raise ConfigProblem(self.source, key, f"must not be negative, got {value}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        return self.get(key, _bool, default)

    def string_list(self, key: str, default: Any = _MISSING) -> list[str]:
        value = self._get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigProblem(self.source, key, f"must be a list of strings, got {value!r}")
        return list(value)

    def mapping(self, key: str, default: Any = _MISSING) -> dict[str, Any]:
        value = self._get(key, default)
        if isinstance(value, ConfigTree):
            return value.as_plain_ordered_dict()
        if isinstance(value, dict):
            return dict(value)
        raise ConfigProblem(self.source, key, f"must be an object, got {value!r}")


def _strict_int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(v, float) and not v.is_integer():
        raise ValueError("not a whole number")
    return int(v)


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("yes", "true", "on"):
        return True
    if isinstance(v, str) and v.lower() in ("no", "false", "off"):
        return False
    raise ValueError("expected yes/no/true/false")


_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "days": 86400.0,
}


def _duration(v: Any) -> float:
    """HOCON durations: a number (seconds) or a string like ``250ms``, ``3s``, ``1m``."""
    if isinstance(v, bool):
        raise ValueError("a boolean is not a duration")
    if isinstance(v, int | float):
        return float(v)
    text = str(v).strip()
    num = text.rstrip("abcdefghijklmnopqrstuvwxyz ")
    unit = text[len(num) :].strip() or "s"
    if unit not in _UNITS:
        raise ValueError(f"unknown unit {unit!r}")
    return float(num) * _UNITS[unit]


def data_dir_args(prog: str, argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--data-dir", required=True, type=Path, help="the node's data directory")
    return ap.parse_args(argv)


def die(problem: ConfigProblem) -> NoReturn:
    print(f"config error: {problem}", file=sys.stderr, flush=True)
    sys.exit(2)
