"""Victim process of the journal crash tests (not collected: no ``test_`` prefix).

    python journal_writer.py PATH --seed N [--mode run|torn] ...

Opens the journal at PATH and persists commits from several concurrent tasks.
Every commit has 2-4 events ``{"TYPE":"Written","Key":key,"part":i}`` and the
state change ``("commit", key, {"parts": n})``, so a checker can tell a whole
commit from half of one. Protocol on stdout, one line each, flushed:

    C <key> <id> <id> ...   after persist() of that commit returned
    R <until>               before release(until)
    r <until> <deleted>     after release() returned
    F <key> <id> ...        torn mode: the last commit, persisted alone
    DONE                    torn mode: nothing more will be written

``run`` mode goes on until killed (or --max-commits). It releases only
events whose commits it has already printed, so the checker knows the ids of
every released commit. ``torn`` mode never checkpoints the WAL, so after
``DONE`` and a SIGKILL all commits are still frames in the WAL file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from pathlib import Path

from components.common.journal import Journal


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Writer:
    def __init__(self, journal: Journal, rng: random.Random) -> None:
        self.journal = journal
        self.rng = rng
        self.printed: set[str] = set()
        self.seq = 0

    async def commit(self, task: int, tag: str = "C") -> None:
        self.seq += 1
        key = f"t{task}-{self.seq}"
        parts = self.rng.randint(2, 4)
        events = [{"TYPE": "Written", "Key": key, "part": i} for i in range(parts)]
        changes = [("commit", key, {"parts": parts}), ("task", f"t{task}", self.seq)]
        meta = {"lastKey": key} if self.rng.random() < 0.3 else None
        stamped = await self.journal.persist(events, changes, meta)
        self.printed.add(key)
        _emit(f"{tag} {key} " + " ".join(str(e["eventId"]) for e in stamped))

    def releasable(self) -> int:
        """The largest commit end such that every event up to it belongs to a
        commit already printed."""
        until = 0
        for line in self.journal.read(self.journal.torn_event_id):
            event = json.loads(line)
            if event["Key"] not in self.printed:
                break
            if event["part"] == self.parts_of(event["Key"]) - 1:
                until = event["eventId"]
        return until

    def parts_of(self, key: str) -> int:
        value = self.journal.get("commit", key)
        assert isinstance(value, dict)
        return int(value["parts"])


async def run(args: argparse.Namespace) -> None:
    Journal.release_chunk = args.release_chunk
    Journal.wal_autocheckpoint = 0 if args.mode == "torn" else args.autocheckpoint
    rng = random.Random(args.seed)
    journal = await Journal.open(Path(args.path))
    writer = Writer(journal, rng)
    budget = args.max_commits

    async def worker(task: int) -> None:
        nonlocal budget
        while budget > 0:
            budget -= 1
            await writer.commit(task)

    async def releaser() -> None:
        released_at = 0
        while budget > 0:
            await journal.wait_for_event(journal.last_event_id, timeout=1.0)
            if journal.stats["commits"] - released_at >= args.release_every:
                released_at = journal.stats["commits"]
                until = writer.releasable()
                if until > journal.torn_event_id:
                    _emit(f"R {until}")
                    deleted = await journal.release(until)
                    _emit(f"r {until} {deleted}")

    workers = [asyncio.create_task(worker(t)) for t in range(args.tasks)]
    extra = [asyncio.create_task(releaser())] if args.mode == "run" else []
    await asyncio.gather(*workers, *extra)
    if args.mode == "torn":
        # Alone, after every other commit returned: its own transaction, the
        # last one in the WAL.
        await writer.commit(args.tasks, tag="F")
        _emit("DONE")
        # Wait to be killed: close() would checkpoint and remove the WAL.
        await asyncio.to_thread(sys.stdin.read)
    await journal.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=["run", "torn"], default="run")
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--max-commits", type=int, default=100_000)
    parser.add_argument("--release-every", type=int, default=25)
    parser.add_argument("--release-chunk", type=int, default=7)
    parser.add_argument("--autocheckpoint", type=int, default=1000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
