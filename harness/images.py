"""The Docker images of the Docker backend, built without a registry.

Two images, each tagged with the content hash of its inputs (and carrying it
as the label ``js7ha.inputs``), so a build is skipped while nothing changed:

* ``js7ha-base:<hash>`` — Debian bookworm from ``debootstrap --variant=minbase``
  with the packages of ``images/base-packages.txt`` (python3, python3-venv,
  postgresql, iproute2, iptables, procps), turned into an image with
  ``docker import``. Inputs: the package list, suite, mirror and this recipe.
* ``js7ha:<hash>`` — ``images/Dockerfile`` ``FROM`` that base (build argument
  ``BASE``; ``python:3.11-slim`` works where a registry is reachable). It
  installs the project from wheels built on the host (``pip wheel``, which
  brings the dependencies' wheels too) with ``pip install --no-index``; on the
  local base the whole build runs with ``--network=none``. Inputs: the
  project's sources (``harness``, ``components``, ``reports``,
  ``pyproject.toml``), ``images/`` and the base image's tag.

``js7ha images build`` (``main_build``) builds both, showing progress. The
images are a cache kept between runs; nothing here is labelled with a session.
Builds are serialised by a file lock, so xdist workers that all need the image
build it once.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IMAGES_DIR = ROOT / "images"
SUITE = "bookworm"
MIRROR = os.environ.get("JS7HA_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_REPO = "js7ha-base"
PROJECT_REPO = "js7ha"
INPUTS_LABEL = "js7ha.inputs"
KIND_LABEL = "js7ha.image"
IMAGE_ENV = "JS7HA_IMAGE"
# Bump when the recipe below changes in a way the hashed files do not show.
_RECIPE = "base-v1"
_SOURCE_DIRS = ("harness", "components", "reports")
_SKIP_PARTS = {"__pycache__", "out", ".mypy_cache", ".ruff_cache", ".pytest_cache"}

Progress = Callable[[str], None]


class ImageBuildError(RuntimeError):
    """A step of an image build failed; the message carries its output's tail."""


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "js7ha"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    with (_cache_dir() / "images.lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _client() -> Any:
    import docker

    return docker.from_env(timeout=600)


# -- input hashes ----------------------------------------------------------


def base_packages() -> list[str]:
    lines = (IMAGES_DIR / "base-packages.txt").read_text().splitlines()
    return [w for line in lines for w in line.split("#", 1)[0].split()]


def _digest(parts: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, data in parts:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


def base_hash() -> str:
    return _digest(
        [
            ("recipe", _RECIPE.encode()),
            ("suite", SUITE.encode()),
            ("mirror", MIRROR.encode()),
            ("packages", " ".join(sorted(base_packages())).encode()),
        ]
    )


def base_tag() -> str:
    return f"{BASE_REPO}:{base_hash()}"


def _project_files() -> list[Path]:
    files = [ROOT / "pyproject.toml"]
    for d in _SOURCE_DIRS:
        for p in sorted((ROOT / d).rglob("*")):
            rel = p.relative_to(ROOT)
            if p.is_file() and not _SKIP_PARTS.intersection(rel.parts) and p.suffix != ".pyc":
                files.append(p)
    files += sorted(p for p in IMAGES_DIR.iterdir() if p.is_file())
    return files


def project_hash(base: str) -> str:
    parts = [("base", base.encode())]
    parts += [(str(p.relative_to(ROOT)), p.read_bytes()) for p in _project_files()]
    return _digest(parts)


def project_tag(base: str | None = None) -> str:
    return f"{PROJECT_REPO}:{project_hash(base or base_tag())}"


def _has_image(client: Any, tag: str, inputs: str) -> bool:
    import docker.errors

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return bool((image.labels or {}).get(INPUTS_LABEL) == inputs)


# -- base image --------------------------------------------------------------


def _stream(argv: list[str], progress: Progress, prefix: str, **kw: Any) -> None:
    tail: list[str] = []
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", **kw
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        tail = [*tail[-39:], line]
        progress(f"{prefix} {line}")
    if proc.wait() != 0:
        raise ImageBuildError(
            f"{argv[0]} failed with status {proc.returncode}:\n" + "\n".join(tail)
        )


def build_base(*, force: bool = False, progress: Progress = _say) -> str:
    """Build ``js7ha-base:<hash>`` unless it exists; return its tag."""
    client = _client()
    tag, inputs = base_tag(), base_hash()
    if not force and _has_image(client, tag, inputs):
        progress(f"[base] {tag} is up to date")
        return tag
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    if not Path(debootstrap).exists():
        raise ImageBuildError(
            "debootstrap is missing: `apt-get install debootstrap` (Debian/Ubuntu hosts)"
        )
    if os.geteuid() != 0:
        raise ImageBuildError("building the base image with debootstrap needs root")
    t0 = time.monotonic()
    debs = _cache_dir() / "debs"
    debs.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="js7ha-base-", dir="/var/tmp"))
    rootfs = work / "rootfs"
    try:
        progress(f"[base] debootstrap {SUITE} ({', '.join(base_packages())}) from {MIRROR}")
        _stream(
            [
                debootstrap,
                "--variant=minbase",
                f"--cache-dir={debs}",
                "--include=" + ",".join(base_packages()),
                SUITE,
                str(rootfs),
                MIRROR,
            ],
            progress,
            "[base]",
        )
        # What an image does not need: package caches, lists, docs.
        for sub in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
        ):
            target = rootfs / sub
            if target.is_dir():
                for entry in target.iterdir():
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry, ignore_errors=True)
                    elif entry.name != "lock":
                        entry.unlink(missing_ok=True)
        # A stopped postgresql cluster the package created: the image's PG
        # runs its own data dir (images/pg-start.sh).
        shutil.rmtree(rootfs / "var/lib/postgresql", ignore_errors=True)
        progress(f"[base] docker import as {tag}")
        tar = subprocess.Popen(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", "-", "."],
            stdout=subprocess.PIPE,
        )
        changes = [
            f"LABEL {INPUTS_LABEL}={inputs}",
            f"LABEL {KIND_LABEL}=base",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["/bin/bash"]',
        ]
        argv = ["docker", "import"]
        for c in changes:
            argv += ["--change", c]
        _stream([*argv, "-", tag], progress, "[base]", stdin=tar.stdout)
        if tar.wait() != 0:
            raise ImageBuildError(f"tar of the rootfs failed with status {tar.returncode}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(f"[base] built {tag} in {time.monotonic() - t0:.0f}s")
    return tag


# -- project image -------------------------------------------------------------


def build_project(
    base: str | None = None, *, force: bool = False, progress: Progress = _say
) -> str:
    """Build ``js7ha:<hash>`` from ``images/Dockerfile`` on ``base`` (default:
    the local base image, built first if needed); return its tag."""
    local_base = base is None
    with _build_lock():
        if base is None:
            base = build_base(progress=progress)
        client = _client()
        inputs = project_hash(base)
        tag = f"{PROJECT_REPO}:{inputs}"
        if not force and _has_image(client, tag, inputs):
            progress(f"[project] {tag} is up to date")
            return tag
        t0 = time.monotonic()
        ctx = Path(tempfile.mkdtemp(prefix="js7ha-image-", dir="/var/tmp"))
        try:
            for p in IMAGES_DIR.iterdir():
                if p.is_file():
                    shutil.copy2(p, ctx / p.name)
            progress("[project] pip wheel: the project and its dependencies")
            _stream(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "--quiet",
                    str(ROOT),
                    "-w",
                    str(ctx / "wheels"),
                ],
                progress,
                "[project] pip:",
            )
            progress(
                f"[project] docker build {tag} FROM {base}"
                + (" (--network=none)" if local_base else "")
            )
            last: list[str] = []
            for chunk in client.api.build(
                path=str(ctx),
                tag=tag,
                buildargs={"BASE": base},
                labels={INPUTS_LABEL: inputs, KIND_LABEL: "project"},
                network_mode="none" if local_base else None,
                rm=True,
                forcerm=True,
                decode=True,
            ):
                if "stream" in chunk:
                    for line in str(chunk["stream"]).splitlines():
                        if line.strip():
                            last = [*last[-39:], line]
                            progress(f"[project] {line}")
                elif "error" in chunk:
                    raise ImageBuildError(
                        f"docker build failed: {chunk['error']}\n" + "\n".join(last)
                    )
        finally:
            shutil.rmtree(ctx, ignore_errors=True)
        progress(f"[project] built {tag} in {time.monotonic() - t0:.0f}s")
        return tag


def ensure_image(progress: Progress = _say) -> str:
    """The project image the Docker backend runs: ``$JS7HA_IMAGE`` if set
    (used as is), else ``js7ha:<hash>``, built when missing or stale."""
    if os.environ.get(IMAGE_ENV):
        return os.environ[IMAGE_ENV]
    return build_project(progress=progress)


def image_size(tag: str) -> int:
    return int(_client().images.get(tag).attrs.get("Size", 0))


def prune(keep: Iterable[str], progress: Progress = _say) -> list[str]:
    """Remove js7ha-built images other than ``keep`` (stale hashes)."""
    import docker.errors

    client = _client()
    keep = set(keep)
    removed = []
    for image in client.images.list(filters={"label": KIND_LABEL}):
        if not keep.intersection(image.tags):
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(image.id, force=True)
                removed.append(", ".join(image.tags) or image.short_id)
                progress(f"removed stale image {removed[-1]}")
    return removed


def main_build(argv: list[str] | None = None) -> int:
    """``js7ha images build``: build (or confirm) the base and project images."""
    ap = argparse.ArgumentParser(
        prog="js7ha images build", description="build the Docker backend's images"
    )
    ap.add_argument("--base", help="base image (default: the local debootstrap base)")
    ap.add_argument("--force", action="store_true", help="rebuild even if up to date")
    ap.add_argument("--prune", action="store_true", help="remove js7ha images of older inputs")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    try:
        base = args.base
        if base is None:
            base = build_base(force=args.force)
        tag = build_project(None if args.base is None else base, force=args.force)
        if args.prune:
            prune([tag, base])
    except ImageBuildError as exc:
        _say(f"js7ha images build: {exc}")
        return 1
    size = image_size(tag) / 2**20
    print(f"{tag} ({size:.0f} MiB, base {base}) ready in {time.monotonic() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main_build())
