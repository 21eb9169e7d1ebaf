"""``js7ha repeat``: the same selection N times, then the tally.

Each repetition is a whole ``js7ha run`` in a child process (fresh
interpreter, fresh topology, its own run folder under ``<out>/``), on each
selected backend in turn. After every run the tally is printed and
``repeat.json`` rewritten, so an interrupted hunt keeps what it counted.

Exit status: 0 when every run of every backend held everything; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from harness.repeat.tally import VERDICTS, Tally


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--times", type=int, default=20, help="repetitions per backend (default 20)")
    p.add_argument(
        "--backend",
        action="append",
        choices=("local", "docker"),
        default=[],
        help="backend to repeat on (repeatable; default: local)",
    )
    p.add_argument("--profile", choices=("reference", "js7-documented"), default="reference")
    p.add_argument("-n", "--workers", default="2", help="pytest-xdist workers per run")
    p.add_argument("--system", action="append", default=[], help="only this system (repeatable)")
    p.add_argument("--guarantee", action="append", default=[], help="only this guarantee")
    p.add_argument("-k", "--select", help="pytest -k expression")
    p.add_argument("--seed", type=int, help="run i's seed is SEED+i (default: from the clock)")
    p.add_argument("--out", help="where the run folders and repeat.json go (reports/out/…)")


def _run_args(args: argparse.Namespace, backend: str, out: Path, seed: int) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "harness.cli",
        "run",
        f"--backend={backend}",
        f"--profile={args.profile}",
        f"--workers={args.workers}",
        f"--out={out}",
        f"--seed={seed}",
        "--progress=plain",
    ]
    cmd += [f"--system={s}" for s in args.system]
    cmd += [f"--guarantee={g}" for g in args.guarantee]
    if args.select:
        cmd += [f"--select={args.select}"]
    return cmd


def _show(tally: Tally) -> None:
    runs = tally.runs_per_family()
    print(f"  {'backend':8}{'family':18}{'runs':>5}" + "".join(f"{v:>9}" for v in VERDICTS))
    for (backend, fam), counts in tally.families().items():
        print(
            f"  {backend:8}{fam:18}{runs[(backend, fam)]:>5}"
            + "".join(f"{counts[v]:>9}" for v in VERDICTS)
        )
    for alarm in tally.alarms:
        print(f"  {alarm.line()}")


def main(args: argparse.Namespace, root: Path) -> int:
    if args.times < 1:
        print("js7ha repeat: --times must be at least 1")
        return 2
    backends = args.backend or ["local"]
    run_id = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else root / "reports" / "out" / f"repeat-{run_id}"
    out.mkdir(parents=True, exist_ok=True)
    tally = Tally()
    # A different seed each repetition, so the nemesis' choices vary as a hunt
    # should; the backends of one repetition share it, to compare like with like.
    base = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    print(f"js7ha repeat {run_id}: {args.times} x {', '.join(backends)} -> {out}", flush=True)
    for i in range(1, args.times + 1):
        for backend in backends:
            folder = out / f"{i:02d}-{backend}"
            seed = base + i
            before = len(tally.alarms)
            began = time.monotonic()
            try:
                code = subprocess.run(
                    _run_args(args, backend, folder, seed), cwd=root, check=False
                ).returncode
            except KeyboardInterrupt:
                print("js7ha repeat: interrupted; the tally so far is in repeat.json")
                return 130
            seconds = round(time.monotonic() - began, 1)
            runs = sorted(p for p in folder.glob("*") if p.is_dir())
            if runs:
                tally.add_run(runs[-1], backend, seconds)
            else:
                problem = f"js7ha run exited {code} before making a run folder"
                tally.runs.append(
                    {"run": folder.name, "backend": backend, "held": False, "problem": problem}
                )
            last = tally.runs[-1]
            print(
                f"js7ha repeat: run {i}/{args.times} on {backend}: "
                + ("held" if last["held"] else "NOT held")
                + f" in {seconds:.0f} s",
                flush=True,
            )
            for alarm in tally.alarms[before:]:
                print(f"  {alarm.line()}", flush=True)
            (out / "repeat.json").write_text(json.dumps(tally.to_json(), indent=2) + "\n")
    _show(tally)
    held = all(r["held"] for r in tally.runs)
    print(
        f"js7ha repeat {run_id}: {len(tally.runs)} run(s), "
        + ("every one held" if held else f"{len(tally.alarms)} verdict(s) other than held")
        + f"; JSON: {out / 'repeat.json'}"
    )
    return 0 if held else 1
