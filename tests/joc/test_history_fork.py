"""History and JS7's Fork and ForkList: the children (``<parent>|<branch>``,
no ``OrderAdded`` of their own) get rows from the parent's ``OrderForked``,
their steps and logs, and end with the parent's ``OrderJoined`` — FAILED
after ``OrderFailedInFork`` — also when History restarted in between."""

import psycopg
import pytest

from components.joc.feed import Feed
from components.joc.history import HistoryService
from tests.joc.historyrows import active_history_db

OK = {"TYPE": "Succeeded", "namedValues": {"returnCode": 0}}
RC1 = {"TYPE": "Failed", "namedValues": {"returnCode": 1}}


@pytest.mark.parametrize("fork_list", [False, True], ids=["Fork", "ForkList"])
async def test_forked_children_have_rows_that_end_with_the_join(database_url, fork_list):
    db, epoch = await active_history_db(database_url)

    def branch(bid):  # a ForkList's children have no branchId: its block is "fork"
        return "fork" if fork_list else f"fork+{bid}"

    eid = 0

    def ev(key, kind, **fields):
        nonlocal eid
        eid += 1
        stamp = {"eventId": eid, "timestamp": 1_700_000_000_000 + eid}
        return {**stamp, "Key": key, "TYPE": kind, **fields}

    children = [
        {"orderId": f"p|{bid}"} if fork_list else {"branchId": bid, "orderId": f"p|{bid}"}
        for bid in ("a", "b")
    ]
    first = [
        ev("p", "OrderAdded", workflowId={"path": "w", "versionId": "1"}),
        ev("p", "OrderMoved", to=[1]),
        ev("p", "OrderStarted"),
        ev("p", "OrderForked", children=children),
        ev("p|a", "OrderAttached", agentPath="agent-1"),
        ev("p|a", "OrderProcessingStarted"),
        ev("p|a", "OrderStdoutWritten", chunk="in a\n"),
    ]
    second = [
        ev("p|a", "OrderProcessed", outcome=OK),
        ev("p|a", "OrderMoved", to=[1, branch("a"), 1]),
        ev("p|b", "OrderAttached", agentPath="agent-2"),
        ev("p|b", "OrderProcessingStarted"),
        ev("p|b", "OrderProcessed", outcome=RC1),
        ev("p|b", "OrderFailedInFork", movedTo=[1, branch("b"), 0]),
        ev("p", "OrderJoined", outcome={"TYPE": "Failed", "message": "p|b Failed"}),
        ev("p", "OrderFailed", movedTo=[1]),
    ]
    await HistoryService(db, "joc", "js7", None, Feed())._commit(epoch, first)  # type: ignore[arg-type]
    # A new service (a restart): the open rows are found again in the database.
    history = HistoryService(db, "joc", "js7", None, Feed())  # type: ignore[arg-type]
    await history._commit(epoch, second)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            """SELECT ORDER_ID, WORKFLOW_PATH, WORKFLOW_VERSION_ID, STATE, POSITION, END_EVENT_ID
               FROM HISTORY_ORDERS ORDER BY ORDER_ID"""
        )
        orders = {
            r[0]: (r[1], r[2], r[3], r[4].replace(" ", ""), r[5]) for r in await cur.fetchall()
        }
        cur = await conn.execute(
            "SELECT ORDER_ID, POSITION, AGENT_PATH, STATE FROM HISTORY_ORDER_STEPS ORDER BY 1"
        )
        steps = [(r[0], r[1].replace(" ", ""), r[2], r[3]) for r in await cur.fetchall()]
        cur = await conn.execute("SELECT count(*) FROM HISTORY_LOGS")
        (logs,) = await cur.fetchone()
    await db.close()
    joined_at = eid - 1
    assert orders == {
        "p": ("w", "1", "FAILED", "[1]", eid),
        "p|a": ("w", "1", "FINISHED", f'[1,"{branch("a")}",1]', joined_at),
        "p|b": ("w", "1", "FAILED", f'[1,"{branch("b")}",0]', joined_at),
    }
    assert steps == [
        ("p|a", f'[1,"{branch("a")}",0]', "agent-1", "SUCCESSFUL"),
        ("p|b", f'[1,"{branch("b")}",0]', "agent-2", "FAILED"),
    ]
    assert logs == 1
    assert history.poison_events == 0
