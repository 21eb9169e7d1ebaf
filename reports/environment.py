"""The environment block of a run: where and with what it ran."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "js7ha",
    "pytest",
    "pytest-xdist",
    "allure-pytest",
    "aiohttp",
    "psycopg",
    "jinja2",
    "rich",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit(root: Path) -> str:
    """HEAD's commit, plus "(modified)" when the tree differs; read-only git
    calls only (``--no-optional-locks`` keeps ``status`` from touching the index)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "--no-optional-locks",
                "-C",
                str(root),
                "status",
                "--porcelain",
                "--untracked-files=no",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" (modified)" if dirty else "")


def describe(root: Path) -> dict[str, object]:
    versions: dict[str, str] = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = "absent"
    return {
        "machine": f"{platform.node()} ({platform.system()} {platform.release()}, "
        f"{platform.machine()})",
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "python": platform.python_version(),
        "packages": versions,
        "git commit": _git_commit(root),
    }
