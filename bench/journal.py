"""Benchmark the journal (SQLite WAL, synchronous=FULL) on this machine.

    python bench/journal.py [--dir DIR] [--events N] [--release-events N] [--json out.json]

Measures, each on a fresh journal in DIR (default: a temporary directory):

* persist throughput, 50 concurrent tasks, 1-event commits with 2 state
  changes each (target: >= 20,000 events/s), and with 10-event commits;
  how many commits share one transaction (group commit);
* read(after, limit=1000) throughput served from the in-memory tail cache
  and from SQLite (a journal opened with tail_cache=0);
* release of 1M events: wall time, the longest persist() latency while the
  release runs (releases go in chunks so persists are not held up), and the
  file sizes before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from components.common.journal import Journal  # noqa: E402

TARGET_EVENTS_PER_S = 20_000
TASKS = 50


def machine(directory: Path) -> dict[str, Any]:
    cpu = platform.processor() or "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    fs, device, mount = "?", "?", ""
    real = str(directory.resolve())
    with open("/proc/mounts") as f:
        for line in f:
            dev, point, kind, *_ = line.split()
            inside = real == point or real.startswith(point.rstrip("/") + "/")
            if inside and len(point) > len(mount):
                fs, device, mount = kind, dev, point
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "filesystem": f"{fs} on {device} mounted at {mount} ({real})",
        # Other work on the machine moves these numbers; say how busy it was.
        "load_average_at_start": os.getloadavg(),
    }


def files_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


async def persist_rate(path: Path, events_per_commit: int, total_events: int) -> dict[str, Any]:
    journal = await Journal.open(path)
    commits_per_task = max(1, total_events // events_per_commit // TASKS)

    async def task(t: int) -> None:
        for i in range(commits_per_task):
            key = f"order-{t}-{i}"
            events = [
                {"TYPE": "OrderProcessed", "Key": key, "outcome": {"TYPE": "Succeeded"}, "n": n}
                for n in range(events_per_commit)
            ]
            changes = [
                ("order", key, {"state": "processed", "position": [i, "then", 0]}),
                ("agent", f"task-{t}", {"eventCount": i}),
            ]
            await journal.persist(events, changes)

    started = time.perf_counter()
    await asyncio.gather(*(task(t) for t in range(TASKS)))
    elapsed = time.perf_counter() - started
    stats = dict(journal.stats)
    await journal.close()
    events = stats["events"]
    return {
        "events_per_commit": events_per_commit,
        "events": events,
        "seconds": round(elapsed, 3),
        "events_per_s": round(events / elapsed),
        "commits_per_s": round(stats["commits"] / elapsed),
        "transactions": stats["transactions"],
        "commits_per_transaction": round(stats["commits"] / stats["transactions"], 1),
    }


async def fill(path: Path, events: int, per_commit: int = 100) -> None:
    journal = await Journal.open(path, tail_cache=0)
    line = {"TYPE": "OrderStdoutWritten", "Key": "order-x", "chunk": "x" * 60}

    async def task(n: int) -> None:
        for _ in range(n):
            await journal.persist([line] * per_commit)

    commits = events // per_commit
    await asyncio.gather(*(task(commits // 10 + (i < commits % 10)) for i in range(10)))
    await journal.close()


async def read_rate(path: Path, tail_cache: int) -> dict[str, Any]:
    journal = await Journal.open(path, tail_cache=tail_cache)
    after, n = journal.torn_event_id, 0
    started = time.perf_counter()
    while batch := journal.read(after, limit=1000):
        n += len(batch)
        after = json.loads(batch[-1])["eventId"]
    elapsed = time.perf_counter() - started
    await journal.close()
    return {"events": n, "seconds": round(elapsed, 3), "events_per_s": round(n / elapsed)}


async def release_time(path: Path, events: int) -> dict[str, Any]:
    await fill(path, events)
    size_before = files_size(path)
    journal = await Journal.open(path, tail_cache=0)
    until = journal.last_event_id
    latencies: list[float] = []
    started = time.perf_counter()
    release = asyncio.ensure_future(journal.release(until))
    while not release.done():
        t0 = time.perf_counter()
        await journal.persist([{"TYPE": "Heartbeat", "Key": "bench"}], [("bench", "beat", 1)])
        latencies.append(time.perf_counter() - t0)
    deleted = await release
    elapsed = time.perf_counter() - started
    stats = dict(journal.stats)
    await journal.close()
    latencies.sort()
    return {
        "events": deleted,
        "seconds": round(elapsed, 2),
        "release_transactions": stats["release_transactions"],
        "vacuumed": bool(stats["vacuums"]),
        "persists_during_release": len(latencies),
        "persist_latency_ms_p50": round(latencies[len(latencies) // 2] * 1000, 2),
        "persist_latency_ms_max": round(latencies[-1] * 1000, 2),
        "bytes_before": size_before,
        "bytes_after": files_size(path),
    }


async def main_async(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine(directory)}
    print("machine:", json.dumps(result["machine"], indent=1), flush=True)
    for per_commit in (1, 10):
        key = f"persist_{per_commit}_event_commits"
        path = directory / f"p{per_commit}.sqlite"
        result[key] = await persist_rate(path, per_commit, args.events)
        print(f"{key}:", result[key], flush=True)
    source = directory / "p10.sqlite"
    result["read_from_cache"] = await read_rate(source, tail_cache=10_000_000)
    print("read(after, limit=1000) from cache:", result["read_from_cache"], flush=True)
    result["read_from_disk"] = await read_rate(source, tail_cache=0)
    print("read(after, limit=1000) from disk:", result["read_from_disk"], flush=True)
    result["release"] = await release_time(directory / "r.sqlite", args.release_events)
    print("release:", result["release"], flush=True)
    rate = result["persist_1_event_commits"]["events_per_s"]
    verdict = "met" if rate >= TARGET_EVENTS_PER_S else "MISSED"
    print(f"target >= {TARGET_EVENTS_PER_S} events/s with 1-event commits: {verdict} ({rate})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="where the journals go (default: a temp dir)")
    parser.add_argument("--events", type=int, default=200_000, help="events per persist run")
    parser.add_argument("--release-events", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="journal-bench-", dir=args.dir) as tmp:
        result = asyncio.run(main_async(args, Path(tmp)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
