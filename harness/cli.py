"""``js7ha``: the command a user runs.

* ``js7ha run`` — the conformance run: the suites against the reference
  components, results in ``reports/out/<run-id>/``.
* ``js7ha sweep`` — remove what dead js7ha runs left on this machine.
* ``js7ha proxy`` — the Toxiproxy-compatible server in the foreground.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(args: argparse.Namespace) -> int:
    import pytest

    run_id = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or ROOT / "reports" / "out") / run_id
    out.mkdir(parents=True, exist_ok=True)
    suites = ROOT / "suites"
    pytest_args = [
        str(suites),
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(ROOT),
        "--backend",
        args.backend,
        "--profile",
        args.profile,
        "--junitxml",
        str(out / "junit.xml"),
        "--artifacts-dir",
        str(out / "artifacts"),
    ]
    if args.workers != "0":
        pytest_args += ["-n", args.workers]
    if args.seed is not None:
        pytest_args += ["--seed", str(args.seed)]
    if args.select:
        pytest_args += ["-k", args.select]
    pytest_args += args.pytest_args
    print(f"js7ha run {run_id}: backend={args.backend} profile={args.profile} -> {out}")
    code = pytest.main(pytest_args)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("js7ha run: no conformance test was selected - nothing was checked", file=sys.stderr)
        return 2
    print(
        f"js7ha run {run_id}: {'all selected guarantees held' if code == 0 else 'FAILED'}; "
        f"JUnit XML: {out / 'junit.xml'}"
    )
    return int(code)


def _sweep(_: argparse.Namespace) -> int:
    from harness import procs

    swept = procs.sweep()
    print(f"swept {len(swept)} dead owner(s)" + (": " + ", ".join(swept) if swept else ""))
    return 0


def _proxy(args: argparse.Namespace) -> int:
    os.execv(
        sys.executable,
        [sys.executable, "-m", "harness.netproxy", "--host", args.host, "--port", str(args.port)],
    )
    return 0  # pragma: no cover - execv does not return


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
    run.add_argument("--out", help="where run folders go (default reports/out)")
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --")
    run.set_defaults(fn=_run)
    sw = sub.add_parser("sweep", help="clean up after dead runs")
    sw.set_defaults(fn=_sweep)
    px = sub.add_parser("proxy", help="run the Toxiproxy-compatible server")
    px.add_argument("--host", default="127.0.0.1")
    px.add_argument("--port", type=int, default=8474)
    px.set_defaults(fn=_proxy)
    args = ap.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
