"""``js7ha mutants``: the baseline, then each selected mutant, then the table.

Exit status: 0 when the baseline passed and every mutant was caught (or, if
it survived, the catalog explains why); 1 otherwise. ``--strict`` also
fails on mutants caught only by a harness error or a deadline.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.mutants import catalog, classify, junit, runner, selection
from harness.mutants.report import Result, document, show, write


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--family", action="append", default=[], choices=catalog.FAMILIES)
    p.add_argument("--id", action="append", default=[], help="only this mutant (repeatable)")
    p.add_argument("--rotate", type=int, help="pick N mutants deterministically (by --seed/date)")
    p.add_argument("--seed", type=int, help="the rotation's seed (default: today's UTC date)")
    p.add_argument("--list", action="store_true", help="list the selected mutants and stop")
    p.add_argument("--jobs", type=int, default=1, help="mutant runs at once (default 1)")
    p.add_argument("--strict", action="store_true", help="a mutant caught by an error fails too")
    p.add_argument("--timeout", type=float, default=3600.0, help="wall clock per pytest run (s)")
    p.add_argument("--out", help="where the JSON, JUnit files and logs go (reports/out/…)")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --")


def _list(mutants: list[catalog.Mutant]) -> int:
    for m in mutants:
        note = "  [explained survivor]" if m.explained else ""
        print(f"{m.id:36} {m.family:14} {', '.join(m.guarantees)}{note}")
        print(f"{'':36} {m.target}: {' '.join(m.pytest_selection())}")
    print(f"{len(mutants)} mutant(s)")
    return 0


def main(args: argparse.Namespace, root: Path) -> int:
    try:
        mutants = selection.choose(
            catalog.load(root),
            families=args.family,
            ids=args.id,
            rotate=args.rotate,
            seed=args.seed,
        )
    except (catalog.CatalogError, selection.SelectionError) as exc:
        print(f"js7ha mutants: {exc}")
        return 2
    if args.list:
        return _list(mutants)
    if not mutants:
        print("js7ha mutants: no mutant selected")
        return 2
    run_id = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else root / "reports" / "out" / f"mutants-{run_id}"
    settings = runner.Settings(
        root=root, out=out, timeout=args.timeout, extra=tuple(args.pytest_args)
    )
    # The baseline is every selected test on unmutated code: a mutant can only
    # be said to be caught by tests that pass without it. One run for all; a
    # test that fails there makes only the mutants that use it unknown.
    union = list(dict.fromkeys(n for m in mutants for n in m.select))
    print(f"js7ha mutants {run_id}: baseline of {len(mutants)} mutant(s) -> {out}", flush=True)
    baseline = runner.run("baseline", union, settings)

    def baseline_held(m: catalog.Mutant) -> bool:
        if baseline.problem:
            return False
        cases = baseline.cases if m.keyword else junit.selected(baseline.cases, list(m.select))
        return classify.baseline_ok(cases)

    ok = not baseline.problem and classify.baseline_ok(baseline.cases)

    def one(m: catalog.Mutant) -> Result:
        if not baseline_held(m):
            return Result(m, "unknown", None)
        print(f"  running {m.id} ({m.family})", flush=True)
        r = runner.run(m.id, m.pytest_selection(), settings, m)
        outcome = "unknown" if r.problem else classify.classify(r.cases)
        print(f"  {m.id}: {outcome} in {r.seconds:.0f} s", flush=True)
        return Result(m, outcome, r)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(one, mutants))
    show(baseline, ok, results)
    write(out / "mutants.json", document(baseline, ok, results))
    failing = {"survived", "unknown"} | ({"caught-by-error"} if args.strict else set())
    bad = [r for r in results if r.outcome in failing and not r.accepted]
    counts = {o: sum(r.outcome == o for r in results) for o in classify.OUTCOMES}
    print(
        f"js7ha mutants {run_id}: baseline {'passed' if ok else 'FAILED'}; "
        + ", ".join(f"{n} {o}" for o, n in counts.items())
        + f"; JSON: {out / 'mutants.json'}"
    )
    return 0 if ok and not bad else 1
