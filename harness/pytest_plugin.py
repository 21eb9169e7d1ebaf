"""The js7ha pytest plugin: options, markers, fixtures, artifacts, cleanup.

Options: ``--backend`` (local|docker), ``--profile`` (reference|
js7-documented), ``--seed``, ``--keep-artifacts``, ``--artifacts-dir``.
Marker: ``@pytest.mark.guarantee("CTL-FAILOVER", ...)``.

Fixtures: ``deploy`` (an async factory: ``dep = await deploy(topology)``; every
deployment is torn down in reverse order after the test, even on failure),
``history``, ``artifacts``, ``profile``, ``rng`` (seeded per test), and the
per-process servers ``proxy_server``/``link_control``/``postgres_server``.

Cleanup: every process is labelled with the session id (see
``harness.procs``); the session's start sweeps what dead sessions left;
``pytest_unconfigure`` and ``atexit`` stop the rest; the reaper covers a
hard kill.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import cleanup, ports, procs, reaper
from harness.backends.base import Backend, CutsVia
from harness.backends.local import LocalBackend
from harness.checkers.base import CheckResult
from harness.deployment import Deployment
from harness.errors import HarnessError
from harness.history import History
from harness.netproxy.control import LinkControl, ProxyServer
from harness.postgres import PostgresServer
from harness.profiles import PROFILES, Profile, get_profile
from harness.topology import Topology

GUARANTEE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")


@dataclass(frozen=True)
class Options:
    backend: str
    docker_cuts: CutsVia
    profile: Profile
    seed: int
    keep_artifacts: bool
    artifacts_dir: Path
    session: str


OPTIONS = pytest.StashKey[Options]()
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
ARTIFACTS = pytest.StashKey[Path]()
# A test report's user property: the harness error that ended the test.
HARNESS_ERROR = "js7ha-harness-error"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("js7ha", "js7ha conformance harness")
    g.addoption(
        "--backend",
        choices=("local", "docker"),
        default="local",
        help="where nodes run: local processes (default) or Docker containers",
    )
    g.addoption(
        "--docker-cuts",
        choices=("iptables", "proxy"),
        default="iptables",
        help="with --backend=docker: cut links by iptables rules in the nodes' "
        "network namespaces (default) or in the link proxy",
    )
    g.addoption(
        "--profile",
        choices=sorted(PROFILES),
        default="reference",
        help="timing profile: tight 'reference' or the seeds' 'js7-documented'",
    )
    g.addoption(
        "--seed",
        type=int,
        default=None,
        help="seed for every random choice (default: derived from the session id)",
    )
    g.addoption(
        "--keep-artifacts",
        action="store_true",
        help="keep each test's artifacts (history, node logs) also when it passes",
    )
    g.addoption(
        "--artifacts-dir",
        type=Path,
        default=None,
        help="where artifacts go (default: <rootdir>/reports/out/artifacts)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "guarantee(*ids): the documented guarantee ids (GUARANTEES.md) this test checks"
    )
    session = procs.session_id()
    if not hasattr(config, "workerinput"):
        # Only the controller sweeps: workers start while siblings already run.
        reaper.sweep()
    if config.getoption("backend") == "docker" and not hasattr(config, "workerinput"):
        from harness.backends.docker import labels as docker_labels

        docker_labels.sweep()  # containers and networks of dead runs
    seed = config.getoption("seed")
    if seed is None:
        seed = int(hashlib.sha256(session.encode()).hexdigest()[:8], 16)
    artifacts = config.getoption("artifacts_dir") or config.rootpath / "reports/out/artifacts"
    config.stash[OPTIONS] = Options(
        backend=config.getoption("backend"),
        docker_cuts=config.getoption("docker_cuts"),
        profile=get_profile(config.getoption("profile")),
        seed=seed,
        keep_artifacts=config.getoption("keep_artifacts"),
        artifacts_dir=Path(artifacts) / session,
        session=session,
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    errors = cleanup.run_all()
    if not hasattr(config, "workerinput") and OPTIONS in config.stash:
        # Every worker has ended: a session that kept no artifacts leaves no folder.
        with contextlib.suppress(OSError):
            config.stash[OPTIONS].artifacts_dir.rmdir()
    # tests/docker (JS7HA_DOCKER=1) deploys on Docker whatever --backend says.
    on_docker = config.getoption("backend") == "docker" or os.environ.get("JS7HA_DOCKER") == "1"
    if on_docker and not hasattr(config, "workerinput") and procs.owns_session():
        from harness.backends.docker import labels as docker_labels

        try:
            # Whatever a deployment's own teardown missed: named, as a leak.
            errors += [f"left over, removed: {r}" for r in docker_labels.remove_session()]
        except Exception as exc:  # noqa: BLE001 - report, do not mask the run's result
            errors.append(f"removing the session's containers failed: {exc}")
    if errors:
        print("js7ha cleanup errors:\n  " + "\n  ".join(errors))


def pytest_report_header(config: pytest.Config) -> str:
    o = config.stash[OPTIONS]
    return f"js7ha: backend={o.backend} profile={o.profile.name} seed={o.seed} session={o.session}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # pytest-timeout's per-test limit is sized for the reference profile's
    # timing; a slower profile (JS7's documented 60 s JOC heartbeats) scales
    # it by its heal deadline, or a correct test would be cut off.
    profile = config.stash[OPTIONS].profile
    scale = profile.heal_deadline / PROFILES["reference"].heal_deadline
    base = float(config.getini("timeout") or 0)  # pytest-timeout's ini value
    for item in items:
        if scale > 1 and base > 0 and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(base * scale))
        for mark in item.iter_markers("guarantee"):
            if not mark.args:
                raise pytest.UsageError(f"{item.nodeid}: @guarantee needs at least one id")
            for gid in mark.args:
                if not isinstance(gid, str) or not GUARANTEE_ID.match(gid):
                    raise pytest.UsageError(f"{item.nodeid}: bad guarantee id {gid!r}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    rep = yield
    item.stash.setdefault(REPORTS, {})[rep.when] = rep
    if rep.failed and call.excinfo is not None and _harness_failure(call.excinfo):
        # The harness could not do what it was asked (a node would not start,
        # a pre-check failed, a wait ran out): the report says "unknown", never
        # a broken guarantee. user_properties cross the xdist boundary.
        prop = (HARNESS_ERROR, f"{call.excinfo.typename}: {call.excinfo.value}")
        rep.user_properties.append(prop)
        # junitxml writes the item's properties with the teardown report.
        item.user_properties.append(prop)
    path = item.stash.get(ARTIFACTS, None)
    if rep.failed and path is not None:
        rep.sections.append(("js7ha artifacts", str(path)))
    return rep


def _harness_failure(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    """A harness error, or pytest-timeout cutting the test off: the harness
    did not finish the experiment, no checker said anything."""
    if excinfo.errisinstance(HarnessError):
        return True
    text = str(excinfo.value)
    return (
        excinfo.errisinstance(pytest.fail.Exception)
        and text.startswith("Timeout")
        and ("pytest-timeout" in text)
    )


def _failed(item: pytest.Item) -> bool:
    return any(r.failed for r in item.stash.get(REPORTS, {}).values())


def _slug(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150]


# -- fixtures ------------------------------------------------------------


@pytest.fixture(scope="session")
def js7ha_options(pytestconfig: pytest.Config) -> Options:
    return pytestconfig.stash[OPTIONS]


@pytest.fixture(scope="session")
def profile(js7ha_options: Options) -> Profile:
    return js7ha_options.profile


@pytest.fixture
def rng(js7ha_options: Options, request: pytest.FixtureRequest) -> random.Random:
    """A random source seeded from ``--seed`` and the test id: the same seed
    replays the same choices in every test, whatever else ran."""
    return random.Random(f"{js7ha_options.seed}:{request.node.nodeid}")


@pytest.fixture(scope="session")
def proxy_server() -> Iterator[ProxyServer]:
    root = procs.temp_root()
    # start() registers the server with cleanup.run_all() for the Ctrl-C path.
    server = ProxyServer.start(log_path=root / "netproxy.log", port=ports.reserve_one())
    yield server
    server.close()


@pytest.fixture(scope="session")
def link_control(proxy_server: ProxyServer) -> LinkControl:
    return LinkControl(proxy_server)


@pytest.fixture(scope="session")
def postgres_server(profile: Profile) -> Iterator[PostgresServer]:
    root = procs.temp_root() / "postgres"
    server = PostgresServer.start_new(
        root, ports.reserve_one(), deadline=max(60.0, profile.startup_deadline)
    )
    close = server.close  # one bound method, so unregister finds what was registered
    cleanup.register("postgres", close)
    yield server
    cleanup.unregister(close)
    close()


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The project image for the Docker backend, built locally if needed."""
    from harness import images

    return images.ensure_image()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest, js7ha_options: Options) -> Iterator[Path]:
    """This test's artifact folder; kept when the test fails or with --keep-artifacts."""
    path = js7ha_options.artifacts_dir / _slug(request.node.nodeid)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    request.node.stash[ARTIFACTS] = path
    yield path
    if not (js7ha_options.keep_artifacts or _failed(request.node)):
        shutil.rmtree(path, ignore_errors=True)
    # The session's folder is shared by every xdist worker: it is removed, if
    # empty, only once they have all ended (pytest_unconfigure). Removing it
    # here raced with a sibling's test creating its folder in it.


@pytest.fixture
def history(artifacts: Path) -> Iterator[History]:
    h = History(artifacts / "history.jsonl")
    yield h
    h.close()


class Results:
    """A test's checker results and measurements, written to
    ``results.json`` in its artifacts as they are added (the report reads them)."""

    def __init__(self, path: Path, guarantees: list[str]) -> None:
        self.path = path
        self.guarantees = guarantees
        self.checks: list[dict[str, object]] = []
        self.measurements: dict[str, object] = {}
        self._write()

    def add(self, result: CheckResult) -> CheckResult:
        self.checks.append(result.to_json())
        self._write()
        return result

    def measure(self, name: str, value: object) -> None:
        self.measurements[name] = value
        self._write()

    def _write(self) -> None:
        doc = {
            "guarantees": self.guarantees,
            "checks": self.checks,
            "measurements": self.measurements,
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2, default=_jsonable))
        tmp.replace(self.path)


def _jsonable(value: object) -> object:
    if isinstance(value, CheckResult):
        return value.to_json()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=repr)
    return repr(value)


@pytest.fixture
def results(request: pytest.FixtureRequest, artifacts: Path) -> Results:
    """Record checker results: ``assert results.add(no_loss(h)), ...``."""
    ids = [g for m in request.node.iter_markers("guarantee") for g in m.args]
    return Results(artifacts / "results.json", ids)


Deploy = Callable[..., Awaitable[Deployment]]


@pytest.fixture
async def deploy(
    request: pytest.FixtureRequest,
    js7ha_options: Options,
    history: History,
    artifacts: Path,
) -> AsyncIterator[Deploy]:
    """``dep = await deploy(topology, profile=None)``: start a topology on the
    selected backend and return its ``Deployment``. Torn down after the test,
    last deployed first, with node logs copied into the artifacts."""
    deployments: list[Deployment] = []
    workdirs: list[Path] = []

    async def _deploy(topology: Topology, *, profile: Profile | None = None) -> Deployment:
        prof = profile or js7ha_options.profile
        workdir = procs.temp_root() / "nodes" / f"{_slug(request.node.name)}-{len(workdirs)}"
        shutil.rmtree(workdir, ignore_errors=True)
        workdirs.append(workdir)
        backend: Backend
        if js7ha_options.backend == "docker":
            from harness.backends.docker.backend import DockerBackend

            image = request.getfixturevalue("docker_image")
            backend = DockerBackend(
                topology, prof, workdir, image=image, cuts=js7ha_options.docker_cuts
            )
        else:
            # Requested here, not as parameters: a Docker run needs no local
            # proxy server or PostgreSQL.
            link_control = request.getfixturevalue("link_control")
            pg = request.getfixturevalue("postgres_server") if topology.database else None
            backend = LocalBackend(topology, prof, workdir, link_control, pg)
        dep = Deployment(backend, history, artifacts)
        deployments.append(dep)
        await backend.deploy()
        return dep

    yield _deploy
    errors: list[BaseException] = []
    for i, dep in reversed(list(enumerate(deployments))):
        try:
            dep.collect_logs(artifacts / (f"logs-{i}" if i else "logs"))
            await dep.aclose()
        except Exception as exc:  # noqa: BLE001 - every deployment gets torn down
            errors.append(exc)
    for w in workdirs:
        shutil.rmtree(w, ignore_errors=True)
    if errors:
        raise errors[0]
