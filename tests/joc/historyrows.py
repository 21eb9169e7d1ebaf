"""History rows written straight into a JOC's database, as its History
Service and Daily Plan would write them: data for the sub-views' tests
without a Controller."""

import datetime as dt
import hashlib
import json

import psycopg

from components.joc.cluster import read_cluster, try_take_over
from components.joc.db import Database

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


async def active_history_db(database_url, member="joc"):
    """The schema, and ``member`` the active JOC: (Database, its epoch), for a
    History Service to write with."""
    db = Database(database_url, 10.0)
    await db.ensure_schema()
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        epoch = await try_take_over(conn, member, await read_cluster(conn, 1.0), 1.0)
    assert epoch is not None
    return db, epoch


async def add_orders(database_url, orders, controller_id="js7"):
    """``orders``: (historyId, orderId, workflow, STATE, start, end | None)."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for hid, oid, wf, state, start, end in orders:
            await conn.execute(
                """INSERT INTO HISTORY_ORDERS (ID, CONTROLLER_ID, ORDER_ID, WORKFLOW_PATH,
                       WORKFLOW_VERSION_ID, START_EVENT_ID, START_TIME, PLANNED_TIME, END_TIME,
                       END_EVENT_ID, STATE, POSITION, MODIFIED, HASH)
                   VALUES (%s, %s, %s, %s, 'v1', %s, %s, %s, %s, %s, %s, %s, now(), %s)""",
                (
                    hid,
                    controller_id,
                    oid,
                    wf,
                    hid,
                    start,
                    start,
                    end,
                    hid if end else None,
                    state,
                    json.dumps([0]),
                    hashlib.sha256(f"o{hid}".encode()).hexdigest(),
                ),
            )
            await conn.execute(
                """INSERT INTO HISTORY_ORDER_STEPS (ID, HISTORY_ORDER_ID, CONTROLLER_ID, ORDER_ID,
                       WORKFLOW_PATH, POSITION, JOB_NAME, START_EVENT_ID, START_TIME, END_TIME,
                       RETURN_CODE, STATE, HASH)
                   VALUES (%s, %s, %s, %s, %s, %s, 'job1', %s, %s, %s, %s, %s, %s)""",
                (
                    hid + 100_000,
                    hid,
                    controller_id,
                    oid,
                    wf,
                    json.dumps([0]),
                    hid,
                    start,
                    end,
                    0 if state == "FINISHED" else (1 if end else None),
                    {"FINISHED": "SUCCESSFUL", "FAILED": "FAILED"}.get(state, "INCOMPLETE"),
                    hashlib.sha256(f"s{hid}".encode()).hexdigest(),
                ),
            )


async def add_deployment(database_url, commit, paths, account="root", controller_id="js7"):
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for i, path in enumerate(paths):
            await conn.execute(
                """INSERT INTO DEP_HISTORY (INV_CONFIGURATION_ID, CONTROLLER_ID, TYPE, PATH, NAME,
                       COMMIT_ID, CONTENT, STATE, DEPLOYMENT_DATE, ACCOUNT)
                   VALUES (%s, %s, 'WORKFLOW', %s, %s, %s, '{}', 'DEPLOYED', now(), %s)""",
                (i + 1, controller_id, path, path.rsplit("/", 1)[-1], commit, account),
            )


async def add_submission(database_url, day, at, orders, controller_id="js7"):
    """``orders``: (orderId, workflow, submitted)."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for oid, wf, done in orders:
            await conn.execute(
                """INSERT INTO DPL_HISTORY (CONTROLLER_ID, DAILY_PLAN_DATE, SUBMISSION_TIME,
                       ORDER_ID, WORKFLOW_PATH, SCHEDULED_FOR, SUBMITTED, MESSAGE)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                (
                    controller_id,
                    day,
                    at,
                    oid,
                    wf,
                    at + dt.timedelta(hours=1),
                    done,
                    None if done else "refused",
                ),
            )
