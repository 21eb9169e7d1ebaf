"""History never stalls on an event it cannot store (issue 13, item 2 and
finding 4): a NUL character is stored escaped; an event that cannot be
stored at all is kept in HISTORY_POISON with its problem, the problem is
visible in the service's status, and History goes on after it."""

from __future__ import annotations

from typing import Any

import psycopg

from components.joc.cluster import read_cluster, try_take_over
from components.joc.db import Database
from components.joc.feed import Feed
from components.joc.history import HistoryService, storable

WRITER, CONTROLLER_ID = "joc-writer", "controller"


def test_storable_escapes_nul_everywhere_and_nothing_else():
    event = {"Key": "a\x00", "chunk": "x\x00y", "nested": [{"k\x00": "\x00"}], "n": 1}
    assert storable(event) == {
        "Key": "a\\u0000",
        "chunk": "x\\u0000y",
        "nested": [{"k\\u0000": "\\u0000"}],
        "n": 1,
    }
    assert storable({"é": ["🙂", None, 2.5]}) == {"é": ["🙂", None, 2.5]}


def order(eid: int, oid: str, kind: str, **more: Any) -> dict[str, Any]:
    return {"eventId": eid, "TYPE": kind, "Key": oid, **more}


async def test_an_event_that_cannot_be_stored_is_kept_aside_and_history_goes_on(database_url):
    db = Database(database_url, 10.0)
    await db.ensure_schema()
    conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    epoch = await try_take_over(conn, WRITER, await read_cluster(conn, 1.0), 1.0)
    assert epoch is not None
    history = HistoryService(db, WRITER, CONTROLLER_ID, None, Feed())  # type: ignore[arg-type]
    wf = {"workflowId": {"path": "w", "versionId": "1"}}
    events = [
        order(1_000, "before", "OrderAdded", **wf),
        # A timestamp in the year 318,000: no date type holds it.
        order(2_000, "poison", "OrderAdded", timestamp=10**16, **wf),
        order(3_000, "after", "OrderAdded", **wf),
        order(4_000, "nul\x00id", "OrderAdded", **wf),
    ]
    try:
        await history._commit(epoch, [storable(e) for e in events])
        rows = await (await conn.execute("SELECT ORDER_ID FROM HISTORY_ORDERS")).fetchall()
        poison = await (
            await conn.execute("SELECT EVENT_ID, EVENT, PROBLEM FROM HISTORY_POISON")
        ).fetchall()
        position = await history.load_position()
    finally:
        await conn.close()
        await db.close()
    assert sorted(r[0] for r in rows) == ["after", "before", "nul\\u0000id"]
    assert [(eid, '"Key": "poison"' in text) for eid, text, _ in poison] == [(2_000, True)]
    assert "year" in poison[0][2]  # the problem, as Python said it
    assert position == 4_000
    assert history.poison_events == 1
    status = history.status()
    assert status["poisonEvents"] == 1
    assert "event 2000 could not be stored" in status["problem"]
