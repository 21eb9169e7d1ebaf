"""``js7ha``: the command a user runs.

* ``js7ha run`` — the conformance run: the suites against the reference
  components, live progress per guarantee, and in ``reports/out/<run-id>/``
  ``index.html`` (the report), ``results.json``, ``junit.xml``,
  ``allure-results/`` and every test's ``artifacts/``. Exit status 0 only
  when every selected guarantee held.
* ``js7ha report DIR`` — re-render a kept run folder, re-checking each
  test's history with the current checkers.
* ``js7ha sweep`` — remove what dead js7ha runs left on this machine.
* ``js7ha proxy`` — the Toxiproxy-compatible server in the foreground.
* ``js7ha mutants`` — seeded bugs from ``tests/mutants/``, each applied to a
  copy of the project, and whether the suites catch them (harness/mutants).
* ``js7ha repeat`` — the same selection run N times per backend, and every
  verdict that was not *held* with its evidence: the flake hunt
  (harness/repeat).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _addopts() -> list[str]:
    """pyproject's pytest ``addopts`` minus ``-r…`` (it belongs to pytest's
    terminal reporter, which ``js7ha run`` replaces with its own progress)."""
    import shlex
    import tomllib

    try:
        ini = tomllib.loads((ROOT / "pyproject.toml").read_text())
        opts = ini["tool"]["pytest"]["ini_options"].get("addopts", "")
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return ["--strict-markers", "--strict-config"]
    words = shlex.split(opts) if isinstance(opts, str) else list(opts)
    return [w for w in words if not (w.startswith("-r") and not w.startswith("--"))]


def _print_summary(doc: dict[str, Any], out: Path) -> None:
    systems = {g["system"]: g.get("system_title", g["system"]) for g in doc.get("guarantees", [])}
    for sys_, row in doc.get("summary", {}).items():
        print(
            f"  {systems.get(sys_, sys_):28} held {row['held']:3}  broken {row['broken']:3}  "
            f"unknown {row['unknown']:3}"
        )
    for g in doc.get("guarantees", []):
        if g["verdict"] != "held":
            print(f"  {g['verdict'].upper():8} {g['id']}: {g['reason']}")
    print(f"  report: {out / 'index.html'}")


def _run(args: argparse.Namespace) -> int:
    import json

    import pytest

    run_id = time.strftime("%Y%m%d-%H%M%S")
    out = (Path(args.out) if args.out else ROOT / "reports" / "out") / run_id
    out.mkdir(parents=True, exist_ok=True)
    pytest_args = [
        str(ROOT / "suites"),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        "--override-ini=addopts=",
        *_addopts(),
        # One token per option (``--opt=value``): pytest looks for its ini file
        # before plugin options are known, and would take a separate value as
        # a test path (a run folder outside the tree would lose pyproject.toml).
        f"--rootdir={ROOT}",
        f"--backend={args.backend}",
        f"--profile={args.profile}",
        f"--junitxml={out / 'junit.xml'}",
        f"--alluredir={out / 'allure-results'}",
        f"--artifacts-dir={out / 'artifacts'}",
        "--keep-artifacts",
        f"--js7ha-report={out}",
        f"--js7ha-run-id={run_id}",
        f"--js7ha-progress={args.progress}",
    ]
    if args.workers != "0":
        pytest_args += [f"--numprocesses={args.workers}"]
    if args.seed is not None:
        pytest_args += [f"--seed={args.seed}"]
    if args.select:
        pytest_args += [f"-k={args.select}"]
    for gid in args.guarantee:
        pytest_args += [f"--guarantee={gid}"]
    for system in args.system:
        pytest_args += [f"--system={system}"]
    pytest_args += args.pytest_args
    print(f"js7ha run {run_id}: backend={args.backend} profile={args.profile} -> {out}", flush=True)
    code = pytest.main(pytest_args)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("js7ha run: no conformance test was selected - nothing was checked", file=sys.stderr)
        return 2
    results = out / "results.json"
    if not results.exists():
        print(f"js7ha run {run_id}: pytest stopped ({code!r}) before any report", file=sys.stderr)
        return int(code) or 2
    doc = json.loads(results.read_text())
    _print_summary(doc, out)
    t = doc["totals"]
    held = bool(doc["held"]) and code == pytest.ExitCode.OK
    verdict = (
        "every selected guarantee held"
        if held
        else f"NOT every selected guarantee held ({t['held']} held, {t['broken']} broken, "
        f"{t['unknown']} unknown; {len(doc['failing_tests'])} failing test(s))"
    )
    print(f"js7ha run {run_id}: {verdict}")
    return 0 if held else 1


def _report(args: argparse.Namespace) -> int:
    from reports.render import rerender

    run_dir = Path(args.dir)
    if not (run_dir / "results.json").exists():
        print(f"js7ha report: {run_dir} holds no results.json (not a run folder)", file=sys.stderr)
        return 2
    view, notes = rerender(run_dir)
    for note in notes:
        print(f"  changed: {note}")
    import json

    _print_summary(json.loads((run_dir / "results.json").read_text()), run_dir)
    print(
        f"js7ha report {run_dir.name}: "
        + ("every selected guarantee held" if view["held"] else "NOT every selected guarantee held")
        + (f"; {len(notes)} difference(s) from the run's own verdicts" if notes else "")
    )
    return 0 if view["held"] else 1


def _sweep(_: argparse.Namespace) -> int:
    from harness import reaper

    swept = reaper.sweep()
    print(f"swept {len(swept)} dead owner(s)" + (": " + ", ".join(swept) if swept else ""))
    try:
        from harness.backends.docker import labels as docker_labels

        removed = docker_labels.sweep()
    except Exception as exc:  # noqa: BLE001 - no engine here: nothing of ours there either
        print(f"Docker not swept ({type(exc).__name__}: {exc})")
    else:
        print(
            f"removed {len(removed)} container(s)/network(s) of dead runs"
            + (": " + ", ".join(removed) if removed else "")
        )
    return 0


def _proxy(args: argparse.Namespace) -> int:
    os.execv(
        sys.executable,
        [sys.executable, "-m", "harness.netproxy", "--host", args.host, "--port", str(args.port)],
    )
    return 0  # pragma: no cover - execv does not return


def _images(args: argparse.Namespace) -> int:
    from harness.images import main_build

    return int(main_build(args.rest))


def _mutants(args: argparse.Namespace) -> int:
    from harness.mutants.command import main as mutants_main

    return mutants_main(args, ROOT)


def _repeat(args: argparse.Namespace) -> int:
    from harness.repeat.command import main as repeat_main

    return repeat_main(args, ROOT)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="js7ha", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run the conformance suites")
    run.add_argument("--backend", choices=("local", "docker"), default="local")
    run.add_argument("--profile", choices=("reference", "js7-documented"), default="reference")
    run.add_argument("--seed", type=int)
    run.add_argument("-n", "--workers", default="2", help="pytest-xdist workers (0: none)")
    run.add_argument("-k", "--select", help="pytest -k expression (system, guarantee, test)")
    run.add_argument(
        "--system", action="append", default=[], help="only this system's guarantees (repeatable)"
    )
    run.add_argument(
        "--guarantee", action="append", default=[], help="only this guarantee id (repeatable)"
    )
    run.add_argument(
        "--progress",
        choices=("auto", "rich", "plain"),
        default="auto",
        help="live progress: rich on a terminal, plain lines under CI (auto)",
    )
    run.add_argument("--out", help="where run folders go (default reports/out)")
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --")
    run.set_defaults(fn=_run)
    rp = sub.add_parser("report", help="re-render a kept run folder with the current checkers")
    rp.add_argument("dir", help="a run folder, e.g. reports/out/20250101-120000")
    rp.set_defaults(fn=_report)
    sw = sub.add_parser("sweep", help="clean up after dead runs")
    sw.set_defaults(fn=_sweep)
    px = sub.add_parser("proxy", help="run the Toxiproxy-compatible server")
    px.add_argument("--host", default="127.0.0.1")
    px.add_argument("--port", type=int, default=8474)
    px.set_defaults(fn=_proxy)
    im = sub.add_parser("images", help="build the Docker backend's images (no registry needed)")
    im.add_argument("action", choices=("build",))
    im.add_argument("rest", nargs=argparse.REMAINDER, help="options for harness.images")
    im.set_defaults(fn=_images)
    mu = sub.add_parser("mutants", help="seeded bugs: does each make a suite fail?")
    from harness.mutants.command import add_arguments as mutants_arguments

    mutants_arguments(mu)
    mu.set_defaults(fn=_mutants)
    rep = sub.add_parser("repeat", help="the same runs N times: every verdict but held, tallied")
    from harness.repeat.command import add_arguments as repeat_arguments

    repeat_arguments(rep)
    rep.set_defaults(fn=_repeat)
    args = ap.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
