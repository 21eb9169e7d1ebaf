"""The audit log: one ``JOC_AUDIT_LOG`` entry for every state-changing call
the JOC serves successfully, as JOC writes one (with the request's
``auditLog: {comment, timeSpent, ticketLink}``), so the Audit Log view has
real data."""

from __future__ import annotations

import json
import logging
from typing import Any

import psycopg

from components.joc.db import Database, DatabaseUnavailable

log = logging.getLogger("js7.joc.audit")
Body = dict[str, Any]

# JOC's audit categories by the request's path (audit/auditLogFilter-schema.json).
CATEGORY_BY_PREFIX = (
    ("inventory/deployment/", "DEPLOYMENT"),
    ("inventory/", "INVENTORY"),
    ("daily_plan/", "DAILYPLAN"),
    ("orders/", "CONTROLLER"),
    ("controller/", "CONTROLLER"),
    ("settings/", "SETTINGS"),
)


def category(path: str) -> str:
    return next((c for prefix, c in CATEGORY_BY_PREFIX if path.startswith(prefix)), "OTHERS")


def audits(permission: str | None) -> bool:
    """Routes that only read (``view``) or only concern the session are not
    audited, as in JOC."""
    return bool(permission) and permission != "view"


async def record(db: Database, account: str, path: str, body: Body, controller_id: str) -> None:
    """Best effort: the call was served already; an entry that cannot be
    written is logged, not turned into a failed answer."""
    meta = body.get("auditLog") if isinstance(body.get("auditLog"), dict) else {}
    assert isinstance(meta, dict)
    spent = meta.get("timeSpent")
    params = {k: v for k, v in body.items() if k != "auditLog"}

    async def write(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(
            """INSERT INTO JOC_AUDIT_LOG (CONTROLLER_ID, ACCOUNT, REQUEST, PARAMETERS, CATEGORY,
                   COMMENT, TIME_SPENT, TICKET_LINK)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            (
                controller_id,
                account,
                f"./{path}",
                json.dumps(params, separators=(",", ":"))[:100_000],
                category(path),
                str(meta["comment"])[:2000] if meta.get("comment") else None,
                spent if isinstance(spent, int) and not isinstance(spent, bool) else None,
                str(meta["ticketLink"])[:255] if meta.get("ticketLink") else None,
            ),
        )

    try:
        await db.run(write)
    except (DatabaseUnavailable, psycopg.Error) as exc:
        log.warning("audit log entry for %s not written: %s", path, exc)
