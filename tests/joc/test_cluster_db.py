"""The cluster service's database protocol against the real PostgreSQL:
compare-and-set take-over (of two concurrent attempts exactly one wins) and
fencing (a replaced active can write nothing)."""

import asyncio

import psycopg
import pytest

from components.joc.cluster import (
    ClusterService,
    Fenced,
    confirm_active,
    fence,
    read_cluster,
    try_take_over,
)
from components.joc.db import Database

EXCEEDED = 1.0


async def connect(url):
    return await psycopg.AsyncConnection.connect(url, autocommit=True)


async def schema(url) -> Database:
    db = Database(url, timeout=5.0)
    await db.ensure_schema()
    return db


async def age_heartbeat(conn, seconds=10):
    await conn.execute(
        "UPDATE JOC_CLUSTER SET HEART_BEAT = now() - make_interval(secs => %s)", (seconds,)
    )


async def test_of_two_concurrent_take_overs_exactly_one_wins(database_url):
    db = await schema(database_url)
    a, b, admin = [await connect(database_url) for _ in range(3)]
    winners = []
    try:
        for round_ in range(30):
            if round_:
                await age_heartbeat(admin)
            # Each contender reads the state on its own, then both try at once.
            seen_a = await read_cluster(a, EXCEEDED)
            seen_b = await read_cluster(b, EXCEEDED)
            assert seen_a.expired and seen_b.expired
            ea, eb = await asyncio.gather(
                try_take_over(a, "joc-a", seen_a, EXCEEDED),
                try_take_over(b, "joc-b", seen_b, EXCEEDED),
            )
            assert (ea is None) != (eb is None), f"round {round_}: {ea=} {eb=}"
            winner = "joc-a" if ea is not None else "joc-b"
            winners.append(winner)
            row = await read_cluster(admin, EXCEEDED)
            assert row.member_id == winner and row.epoch == (ea or eb) == round_ + 1
        cur = await admin.execute(
            "SELECT count(*), count(DISTINCT EPOCH) FROM JOC_SERVICE_ACTIVITY "
            "WHERE SERVICE = 'cluster'"
        )
        assert await cur.fetchone() == (30, 30)  # one activity row per won epoch
    finally:
        for c in (a, b, admin):
            await c.close()
        await db.close()


async def test_no_take_over_while_the_heartbeat_is_fresh(database_url):
    db = await schema(database_url)
    a, b = await connect(database_url), await connect(database_url)
    try:
        seen = await read_cluster(a, EXCEEDED)
        epoch = await try_take_over(a, "joc-a", seen, EXCEEDED)
        assert epoch == 1
        fresh = await read_cluster(b, EXCEEDED)
        assert not fresh.expired
        # Even from a stale view that said "expired", the database's clock decides.
        assert await try_take_over(b, "joc-b", seen, EXCEEDED) is None
        assert await try_take_over(b, "joc-b", fresh, EXCEEDED) is None
    finally:
        await a.close()
        await b.close()
        await db.close()


async def test_a_replaced_active_is_fenced_and_writes_nothing(database_url):
    db = await schema(database_url)
    a, b, admin = [await connect(database_url) for _ in range(3)]
    await admin.execute("CREATE TABLE WRITES (EPOCH BIGINT, WHO TEXT)")
    try:
        epoch_a = await try_take_over(a, "joc-a", await read_cluster(a, EXCEEDED), EXCEEDED)
        assert epoch_a == 1
        # joc-a "pauses": its heartbeat ages, joc-b takes over.
        await age_heartbeat(admin)
        epoch_b = await try_take_over(b, "joc-b", await read_cluster(b, EXCEEDED), EXCEEDED)
        assert epoch_b == 2

        # joc-a wakes up and tries an active-only write, then a heartbeat.
        async def fenced_write() -> None:
            async with a.transaction():
                await fence(a, "joc-a", epoch_a)
                await a.execute("INSERT INTO WRITES VALUES (%s, 'joc-a')", (epoch_a,))

        with pytest.raises(Fenced):
            await fenced_write()
        with pytest.raises(Fenced):
            await confirm_active(a, "joc-a", epoch_a)
        async with b.transaction():
            await fence(b, "joc-b", epoch_b)
            await b.execute("INSERT INTO WRITES VALUES (%s, 'joc-b')", (epoch_b,))
        cur = await admin.execute("SELECT EPOCH, WHO FROM WRITES")
        assert await cur.fetchall() == [(2, "joc-b")]
        row = await read_cluster(admin, EXCEEDED)
        assert (row.member_id, row.epoch) == ("joc-b", 2)
    finally:
        for c in (a, b, admin):
            await c.close()
        await db.close()


async def test_a_take_over_waits_for_a_fenced_write_in_progress(database_url):
    """The check and the write are one: a take-over cannot commit between them."""
    db = await schema(database_url)
    a, b, admin = [await connect(database_url) for _ in range(3)]
    await admin.execute("CREATE TABLE WRITES (EPOCH BIGINT, WHO TEXT)")
    try:
        epoch_a = await try_take_over(a, "joc-a", await read_cluster(a, EXCEEDED), EXCEEDED)
        await age_heartbeat(admin)
        seen = await read_cluster(b, EXCEEDED)
        async with a.transaction():
            await fence(a, "joc-a", epoch_a)
            take = asyncio.create_task(try_take_over(b, "joc-b", seen, EXCEEDED))
            done, _ = await asyncio.wait({take}, timeout=0.5)
            assert not done, "the take-over must wait for the fenced transaction"
            await a.execute("INSERT INTO WRITES VALUES (%s, 'joc-a')", (epoch_a,))
        assert await take == 2
        with pytest.raises(Fenced):
            async with a.transaction():
                await fence(a, "joc-a", epoch_a)
        cur = await admin.execute("SELECT EPOCH, WHO FROM WRITES")
        assert await cur.fetchall() == [(1, "joc-a")]
    finally:
        for c in (a, b, admin):
            await c.close()
        await db.close()


async def test_two_instances_one_active_and_a_normal_stop_hands_over(database_url):
    events: list[tuple[str, str, int]] = []

    def service(member: str, db: Database) -> ClusterService:
        async def on_active(epoch: int) -> None:
            events.append((member, "active", epoch))

        async def on_standby() -> None:
            events.append((member, "standby", 0))

        return ClusterService(db, member, f"http://{member}", 0, 0.1, 0.5, on_active, on_standby)

    db1, db2 = Database(database_url, 2.0), Database(database_url, 2.0)
    await db1.ensure_schema()
    s1, s2 = service("joc-1", db1), service("joc-2", db2)
    s1.start()
    s2.start()
    try:
        for _ in range(100):
            if s1.is_active() or s2.is_active():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.6)  # longer than the exceeded interval: still one
        assert [s1.is_active(), s2.is_active()].count(True) == 1
        active, standby = (s1, s2) if s1.is_active() else (s2, s1)
        await active.stop()
        for _ in range(100):
            if standby.is_active():
                break
            await asyncio.sleep(0.02)
        assert standby.is_active() and not active.is_active()
        starts = [e for e in events if e[1] == "active"]
        assert [e[0] for e in starts] == [active.member_id, standby.member_id]
        assert starts[1][2] == starts[0][2] + 1
    finally:
        await s1.stop()
        await s2.stop()
        await db1.close()
        await db2.close()
