"""The History page a person opens at ``/joc/history``: server-rendered HTML
with a little vanilla JavaScript, nothing loaded from the network.

Whether the page listens to the live feed is decided where it is rendered:
only the active instance pushes (JOC-STANDBY-LIMITS); a standby's page reads
the database when the user opens or refreshes a tab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from components.joc.views import export

HERE = Path(__file__).parent
# (type, label, list endpoint) as JOC's GUI tabs them (history.component.html);
# the audit log is its own view in JOC, a tab here.
TABS = (
    ("ORDER", "Orders", "orders/history"),
    ("TASK", "Tasks", "tasks/history"),
    ("DEPLOYMENT", "Deployments", "inventory/deployment/history"),
    ("SUBMISSION", "Submissions", "daily_plan/history"),
    ("AUDITLOG", "Audit Log", "audit_log"),
)
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE), autoescape=True, keep_trailing_newline=True
)


class HistoryPage:
    def __init__(self, joc: Any) -> None:
        self.joc = joc

    async def render(self, _: web.Request) -> web.Response:
        html = _env.get_template("history.html").render(
            tabs=TABS,
            headers={kind: export.header(kind, False) for kind, _l, _p in TABS},
            live=self.joc.cluster.is_active(),
            member=self.joc.cfg.member_id,
            script=(HERE / "history.js").read_text(),
        )
        return web.Response(text=html, content_type="text/html")
