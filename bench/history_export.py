"""Benchmark: the History view's Excel export (HIS-EXPORT).

    python bench/history_export.py [--rows 1000 10000 100000] [--json out.json]

Starts a PostgreSQL server and one reference JOC instance in this process,
fills HISTORY_ORDERS with ``rows`` finished orders (one INSERT … SELECT from
generate_series), then asks ``export/orders/history`` (limit -1) over HTTP
and reads the .xlsx back. Reports, per size: the export's wall time (request
sent → last byte), the file's size, how much it raised the process's RSS
high-water mark, and the peak of Python allocations
during a second, traced export (tracemalloc; the JOC and the client share
this process, so the peak covers both). Target (issue 16): 10,000 rows under
1 s and under 50 MiB extra.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl
import psycopg
from aiohttp.test_utils import TestClient, TestServer

from components.joc import config
from components.joc.api import Api
from components.joc.app import Joc
from harness import ports, procs
from harness.postgres import PostgresServer
from tests.joc.jocapi import basic, write_conf

FILL = """INSERT INTO HISTORY_ORDERS (ID, CONTROLLER_ID, ORDER_ID, WORKFLOW_PATH,
    WORKFLOW_VERSION_ID, START_EVENT_ID, START_TIME, PLANNED_TIME, END_TIME, END_EVENT_ID, STATE,
    POSITION, MODIFIED, HASH)
  SELECT n, 'js7', 'bench-' || n, 'wf-bench', 'v1', n, now() - make_interval(secs => n),
    now() - make_interval(secs => n), now() - make_interval(secs => n) + interval '2 s', n,
    'FINISHED', '[1]', now(), md5(n::text) || md5((-n)::text)
  FROM generate_series(%s::bigint, %s::bigint) AS n"""


async def measure(client: TestClient, token: dict[str, str], rows: int) -> dict[str, object]:
    body = {"controllerId": "js7", "limit": -1}
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    r = await client.post("/joc/api/export/orders/history", json=body, headers=token)
    data = await r.read()
    if r.status != 200:
        raise SystemExit(f"export failed: {r.status} {data[:500]!r}")
    seconds = time.perf_counter() - t0
    # The process's RSS high-water mark (KiB on Linux): how far this export
    # raised it (0 when an earlier, larger moment was higher already).
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    tracemalloc.start()
    r2 = await client.post("/joc/api/export/orders/history", json=body, headers=token)
    await r2.read()
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True)["data"]
    found = sum(1 for _ in sheet.iter_rows(values_only=True)) - 1
    return {
        "rows": rows,
        "rowsInFile": found,
        "seconds": round(seconds, 3),
        "fileKiB": len(data) // 1024,
        "peakTracedMiB": round(peak / 2**20, 1),
        "maxRssGrowthMiB": round(rss_growth / 1024, 1),
    }


async def run(sizes: list[int]) -> list[dict[str, object]]:
    # procs.temp_root(): a directory the postgres user may enter (as the tests use).
    root = procs.temp_root() / f"bench-export-{os.getpid()}"
    pg = PostgresServer.start_new(root / "pg", ports.reserve_one())
    out = []
    try:
        url = pg.url(pg.create_database("bench"))
        # JOC's own cluster timings, not the tests' tight ones.
        write_conf(
            root,
            url,
            **{
                "joc.cluster.polling-interval": 5.0,
                "joc.cluster.heart-beat-exceeded-interval": 60.0,
            },
        )
        joc = Joc(config.load(root))
        await joc.start()
        client = TestClient(TestServer(Api(joc).app()))
        await client.start_server()
        for _ in range(1200):  # the schema, within 60 s
            if joc.schema_ready:
                break
            await asyncio.sleep(0.05)
        else:
            raise SystemExit("the JOC did not create its schema within 60 s")
        r = await client.post("/joc/api/authentication/login", headers=basic("root"))
        token = {"X-Access-Token": (await r.json())["accessToken"]}
        have = 0
        for size in sorted(sizes):
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(FILL, (have + 1, size))
            have = size
            out.append(await measure(client, token, size))
            print(json.dumps(out[-1]), flush=True)
        await client.close()
        await joc.stop()
    finally:
        pg.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    results = asyncio.run(run(args.rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
