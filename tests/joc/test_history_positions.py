"""History follows an order through JS7's nested positions: every event
that moves an order (``OrderMoved.to``, ``OrderCaught.movedTo``) gives the
position of its next step (JOC's ``HISTORY_ORDER_STEPS.POSITION``)."""

import psycopg

from components.joc.feed import Feed
from components.joc.history import HistoryService
from tests.joc.historyrows import active_history_db


async def test_a_caught_step_and_the_next_have_their_nested_positions(database_url):
    db, epoch = await active_history_db(database_url)
    history = HistoryService(db, "joc", "js7", None, Feed())  # type: ignore[arg-type]
    eid = 0

    def ev(kind, **fields):
        nonlocal eid
        eid += 1
        return {
            "eventId": eid,
            "timestamp": 1_700_000_000_000 + eid,
            "Key": "o",
            "TYPE": kind,
            **fields,
        }

    failed = {"TYPE": "Failed", "namedValues": {"returnCode": 1}}
    ok = {"TYPE": "Succeeded", "namedValues": {"returnCode": 0}}
    await history._commit(
        epoch,
        [
            ev("OrderAdded", workflowId={"path": "w", "versionId": "1"}),
            ev("OrderMoved", to=[0, "try+0", 0]),
            ev("OrderStarted"),
            ev("OrderProcessingStarted"),
            ev("OrderProcessed", outcome=failed),
            ev("OrderCaught", movedTo=[0, "catch+0", 0]),
            ev("OrderProcessingStarted"),
            ev("OrderProcessed", outcome=ok),
            ev("OrderMoved", to=[1]),
            ev("OrderFinished"),
        ],
    )
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT POSITION, STATE FROM HISTORY_ORDER_STEPS ORDER BY START_EVENT_ID"
        )
        steps = await cur.fetchall()
        cur = await conn.execute("SELECT POSITION, STATE FROM HISTORY_ORDERS")
        orders = await cur.fetchall()
    assert [(p.replace(" ", ""), s) for p, s in steps] == [
        ('[0,"try+0",0]', "FAILED"),
        ('[0,"catch+0",0]', "SUCCESSFUL"),
    ]
    assert [(p.replace(" ", ""), s) for p, s in orders] == [("[1]", "FINISHED")]
