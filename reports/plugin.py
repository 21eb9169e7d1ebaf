"""The report plugin: per-test results collected while pytest runs, written
as a run folder at the end (modelled on pytest's ``junitxml.py``: state in
``config.stash``, fed from ``pytest_runtest_logreport``, written at
``pytest_sessionfinish``).

What must hold:

* it works under xdist: each worker puts the test's guarantee ids and its
  artifacts folder into the report's ``user_properties``; only the controller
  process (the one without ``workerinput``) keeps state and writes;
* ``--guarantee ID`` / ``--system NAME`` deselect every test that checks none
  of the selected guarantees (an unknown id or system is a usage error);
* with ``--js7ha-report DIR`` the controller writes ``DIR/results.json`` and
  ``DIR/index.html`` (see ``reports.render``) after the last test; without it
  the plugin changes nothing but the ``user_properties``;
* with allure-pytest active (``--alluredir``) each suite test is labelled
  epic/feature/story = system/component/guarantee and gets its history,
  timeline, results and node logs attached.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.pytest_plugin import ARTIFACTS, HARNESS_ERROR, OPTIONS
from reports.catalog import Catalog, load_catalog, scan_suites, strip_params

PROP_GUARANTEES = "js7ha.guarantees"
PROP_ARTIFACTS = "js7ha.artifacts"
MAX_LONGREPR = 12000


@dataclass
class _Test:
    nodeid: str
    outcome: str = "passed"
    phase: str | None = None
    duration: float = 0.0
    longrepr: str = ""
    guarantees: list[str] = field(default_factory=list)
    artifacts: str | None = None


@dataclass
class RunState:
    run_dir: Path
    run_id: str
    started: str
    tests: dict[str, _Test] = field(default_factory=dict)
    expected: bool = False
    progress: Any = None
    scan: dict[str, list[str]] = field(default_factory=dict)


STATE = pytest.StashKey[RunState]()
CATALOG = pytest.StashKey[Catalog]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("js7ha-report", "js7ha conformance report")
    g.addoption(
        "--js7ha-report",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the conformance report (results.json, index.html) into DIR",
    )
    g.addoption("--js7ha-run-id", default=None, help="the run's id (default: DIR's name)")
    g.addoption(
        "--guarantee",
        action="append",
        default=[],
        metavar="ID",
        help="run only tests checking this guarantee id (repeatable)",
    )
    g.addoption(
        "--system",
        action="append",
        default=[],
        metavar="NAME",
        help="run only tests of this system's guarantees: joc, controller, agents, "
        "events, history, jobscheduler1 (repeatable)",
    )
    g.addoption(
        "--js7ha-progress",
        choices=("auto", "rich", "plain", "off"),
        default="off",
        help="live progress per guarantee (auto: rich on a terminal, plain lines elsewhere)",
    )


def _catalog(config: pytest.Config) -> Catalog:
    if CATALOG not in config.stash:
        config.stash[CATALOG] = load_catalog()
    return config.stash[CATALOG]


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    run_dir = config.getoption("js7ha_report")
    if run_dir is None or _is_worker(config):
        return
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    state = RunState(
        run_dir=run_dir,
        run_id=config.getoption("js7ha_run_id") or run_dir.name,
        started=time.strftime("%Y-%m-%d %H:%M:%S"),
        scan=scan_suites(),
    )
    mode = config.getoption("js7ha_progress")
    if mode != "off":
        from reports.progress import Progress

        state.progress = Progress(sys.stdout, rich=None if mode == "auto" else mode == "rich")
    config.stash[STATE] = state
    config.pluginmanager.register(Collector(config, state), "js7ha-report-collector")


def _selected_ids(config: pytest.Config) -> set[str] | None:
    gids: list[str] = config.getoption("guarantee")
    systems: list[str] = config.getoption("system")
    if not gids and not systems:
        return None
    cat = _catalog(config)
    unknown = [g for g in gids if g not in cat.guarantees]
    if unknown:
        raise pytest.UsageError(
            f"unknown guarantee id(s) {', '.join(unknown)}; see suites/catalog.toml"
        )
    bad = [s for s in systems if s not in cat.systems]
    if bad:
        raise pytest.UsageError(
            f"unknown system(s) {', '.join(bad)}; choose from {', '.join(cat.systems)}"
        )
    return set(gids) | {g.id for s in systems for g in cat.of_system(s)}


def _ids(item: pytest.Item) -> list[str]:
    return list(dict.fromkeys(g for m in item.iter_markers("guarantee") for g in m.args))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = _selected_ids(config)
    if wanted is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (keep if wanted & set(_ids(item)) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Before the report is made, so it carries them (also across xdist).
    names = {name for name, _ in item.user_properties}
    ids = _ids(item)
    if ids and PROP_GUARANTEES not in names:
        item.user_properties.append((PROP_GUARANTEES, ",".join(ids)))
    path = item.stash.get(ARTIFACTS, None)
    if path is not None and PROP_ARTIFACTS not in names:
        item.user_properties.append((PROP_ARTIFACTS, str(path)))
    return (yield)


# -- the controller's side ---------------------------------------------------


def _relative(run_dir: Path, path: str) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(run_dir).as_posix()
    except ValueError:
        return str(p)


def _skip_reason(rep: pytest.TestReport) -> str:
    lr = rep.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2])
    return rep.longreprtext


class Collector:
    """Registered only in the controller process when a report is wanted;
    holds the run's state (as junitxml's ``LogXML`` does)."""

    def __init__(self, config: pytest.Config, state: RunState) -> None:
        self.config = config
        self.state = state

    def _guarantees_of(self, nodeid: str) -> list[str]:
        return self.state.scan.get(strip_params(nodeid), [])

    def _expect(self, nodeids: list[str]) -> None:
        if self.state.expected:
            return  # every xdist worker reports the same collection
        self.state.expected = True
        if self.state.progress is not None:
            self.state.progress.expect((n, self._guarantees_of(n)) for n in nodeids)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._expect([i.nodeid for i in session.items])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self._expect(ids)

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        if self.state.progress is not None:
            self.state.progress.started(nodeid, self._guarantees_of(nodeid))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = self.state
        t = state.tests.setdefault(report.nodeid, _Test(report.nodeid))
        for name, value in report.user_properties:
            if name == PROP_GUARANTEES and not t.guarantees:
                t.guarantees = [g for g in str(value).split(",") if g]
            elif name == PROP_ARTIFACTS and t.artifacts is None:
                t.artifacts = _relative(state.run_dir, str(value))
        if not t.guarantees:
            t.guarantees = self._guarantees_of(report.nodeid)
        t.duration += report.duration
        wasxfail = hasattr(report, "wasxfail")
        if report.when == "setup":
            if report.failed:
                t.outcome, t.phase, t.longrepr = "error", "setup", report.longreprtext
            elif report.skipped:
                t.outcome, t.phase = "skipped", "setup"
                t.longrepr = _skip_reason(report)
        elif report.when == "call":
            if report.failed and any(k == HARNESS_ERROR for k, _ in report.user_properties):
                # A harness error inside the test (deploy, a fault's pre-check,
                # a wait that ran out): unknown, not a broken guarantee.
                t.outcome, t.phase, t.longrepr = "error", "call", report.longreprtext
            elif report.failed:
                t.outcome, t.phase, t.longrepr = "failed", "call", report.longreprtext
            elif report.skipped:
                t.outcome, t.phase = ("xfailed" if wasxfail else "skipped"), "call"
                t.longrepr = _skip_reason(report)
            elif wasxfail:
                t.outcome = "xpassed"
        elif report.when == "teardown":
            if report.failed and t.outcome in ("passed", "skipped", "xfailed", "xpassed"):
                t.outcome, t.phase, t.longrepr = "error", "teardown", report.longreprtext
            if state.progress is not None:
                state.progress.finished(t.nodeid, t.guarantees, t.outcome, t.duration)
        if len(t.longrepr) > MAX_LONGREPR:
            t.longrepr = "…" + t.longrepr[-MAX_LONGREPR:]

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.failed:
            return
        nodeid = report.nodeid or "<collection>"
        t = self.state.tests.setdefault(nodeid, _Test(nodeid))
        t.outcome, t.phase, t.longrepr = "error", "collect", report.longreprtext[-MAX_LONGREPR:]
        if self.state.progress is not None:
            self.state.progress.note(f"ERROR collecting {nodeid}:\n{report.longreprtext[-2000:]}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config, state = self.config, self.state
        if state.progress is not None:
            state.progress.close()
        opts = config.stash.get(OPTIONS, None)
        raw: dict[str, Any] = {
            "schema": 1,
            "run_id": state.run_id,
            "started": state.started,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "exit_status": int(exitstatus),
            "options": {
                "backend": opts.backend if opts else "local",
                "profile": opts.profile.name if opts else "reference",
                "profile_bounds": dict(opts.profile.bounds) if opts else {},
                "seed": opts.seed if opts else None,
                "selection": {
                    "guarantees": config.getoption("guarantee"),
                    "systems": config.getoption("system"),
                    "keyword": config.getoption("keyword") or None,
                    "args": [str(a) for a in config.args],
                },
            },
            "environment": _environment(config),
            "tests": [t.__dict__ for t in state.tests.values()],
        }
        from reports.render import write_report

        write_report(state.run_dir, raw, _catalog(config))
        xml = getattr(config.option, "xmlpath", None)
        if xml and Path(xml).exists():
            # junitxml wrote its file in its own sessionfinish, before this one.
            from reports.junit import mark_harness_errors

            mark_harness_errors(Path(xml))


def _environment(config: pytest.Config) -> dict[str, object]:
    from reports.environment import describe

    env = describe(config.rootpath)
    workers = config.getoption("numprocesses", None)
    env["xdist workers"] = workers if workers is not None else 0
    return env


# -- Allure ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _js7ha_allure(request: pytest.FixtureRequest) -> Iterator[None]:
    """Label and attach for Allure when ``--alluredir`` is active; a no-op otherwise."""
    if not request.config.getoption("allure_report_dir", None):
        yield
        return
    import allure

    ids = _ids(request.node)
    cat = _catalog(request.config)
    for gid in ids:
        g = cat.guarantees.get(gid)
        allure.dynamic.epic(cat.system_title(g.system) if g else "uncatalogued")
        allure.dynamic.feature(g.component if g else "?")
        allure.dynamic.story(f"{gid}: {g.title}" if g else gid)
    yield
    path = request.node.stash.get(ARTIFACTS, None)
    if path is None or not Path(path).is_dir():
        return
    _attach(Path(path))


def _attach(folder: Path) -> None:
    import allure

    from harness.history import History
    from reports.timeline import render_timeline

    hist = folder / "history.jsonl"
    if hist.exists():
        allure.attach.file(str(hist), "history.jsonl", allure.attachment_type.JSON)
        try:
            svg = render_timeline(History.load(hist))
            allure.attach(svg, "timeline", allure.attachment_type.SVG)
        except (ValueError, KeyError, json.JSONDecodeError) as exc:
            allure.attach(repr(exc), "timeline (not drawn)", allure.attachment_type.TEXT)
    res = folder / "results.json"
    if res.exists():
        allure.attach.file(str(res), "results.json", allure.attachment_type.JSON)
    for log in sorted(folder.glob("logs*/*.log")):
        allure.attach.file(
            str(log), log.relative_to(folder).as_posix(), allure.attachment_type.TEXT
        )
