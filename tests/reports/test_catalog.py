"""The catalog and the suites cannot drift apart.

* every guarantee id a suite test carries is in the catalog;
* every catalog entry lists exactly the suite modules whose tests carry it;
  an entry no test checks must say ``status = "not-yet-checked"`` (and one
  that says so must really be unchecked);
* every id of GUARANTEES.md is in the catalog (when the design folder is there);
* every quote is verbatim from its seed (when the seeds are there);
* numeric bounds agree with ``harness/profiles.py`` where a profile has the id.
"""

import re
import textwrap
from pathlib import Path

import pytest

from harness.profiles import JS7_DOCUMENTED, REFERENCE
from reports.catalog import (
    ROOT,
    load_catalog,
    modules_by_guarantee,
    scan_suites,
    strip_params,
)
from reports.reference_only import (
    REFERENCE_EXTRAS,
    REFERENCE_ONLY,
    extras_of,
    helpers_unnamed,
    needs_of,
)

SHARED = ROOT.parent / "shared"
CATALOG = load_catalog()
SCAN = scan_suites()


def test_the_scan_finds_the_suites_markers():
    # A scan that silently found nothing would make every drift check vacuous.
    assert len(SCAN) >= 20
    assert (
        "AGT-NO-CONNECT"
        in SCAN["suites/agents/test_no_connect.py::test_agents_never_open_a_connection"]
    )


def test_every_marker_id_is_in_the_catalog():
    unknown = {
        test: [g for g in ids if g not in CATALOG.guarantees]
        for test, ids in SCAN.items()
        if any(g not in CATALOG.guarantees for g in ids)
    }
    assert not unknown, f"add these ids to suites/catalog.toml: {unknown}"


def test_every_catalog_entry_lists_exactly_the_modules_that_check_it():
    checked_by = modules_by_guarantee(SCAN)
    wrong = {}
    for g in CATALOG.guarantees.values():
        actual = checked_by.get(g.id, set())
        if g.checked and not actual:
            wrong[g.id] = "no test checks it: mark it status = 'not-yet-checked'"
        elif not g.checked and actual:
            wrong[g.id] = f"marked not-yet-checked but checked in {sorted(actual)}"
        elif set(g.suites) != actual:
            wrong[g.id] = f"catalog lists {sorted(g.suites)}, the suites are {sorted(actual)}"
    assert not wrong, wrong


def test_only_not_yet_checked_entries_lack_a_test():
    unchecked = {g.id for g in CATALOG.guarantees.values() if not g.checked}
    without_test = set(CATALOG.guarantees) - set(modules_by_guarantee(SCAN))
    assert without_test == unchecked


@pytest.mark.skipif(
    not (SHARED / "design/GUARANTEES.md").exists(), reason="no ../shared/design here"
)
def test_every_documented_guarantee_is_in_the_catalog():
    text = (SHARED / "design/GUARANTEES.md").read_text()
    ids = set(re.findall(r"^\| ([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+) \|", text, re.M))
    assert len(ids) >= 30
    assert ids - set(CATALOG.guarantees) == set()
    assert set(CATALOG.guarantees) - ids == set()


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="no ../shared/seeds here")
def test_quotes_are_verbatim_from_their_seed():
    seeds = {p.name[:3]: _norm(p.read_text()) for p in (SHARED / "seeds").glob("*.txt")}
    wrong = {}
    for g in CATALOG.guarantees.values():
        for part in g.quote_parts():
            if not any(_norm(part) in seeds.get(s, "") for s in g.seeds):
                wrong[g.id] = part
    assert not wrong, f"not verbatim in the seeds they name: {wrong}"


def test_numeric_bounds_agree_with_the_profiles():
    wrong = {}
    for g in CATALOG.guarantees.values():
        for prof, bound in (
            (REFERENCE, g.reference_bound_s),
            (JS7_DOCUMENTED, g.documented_bound_s),
        ):
            if g.id in prof.bounds and bound != prof.bounds[g.id]:
                wrong[f"{g.id}/{prof.name}"] = (bound, prof.bounds[g.id])
    assert not wrong, f"catalog vs profile: {wrong}"


def test_the_scan_reads_decorators_classes_and_pytestmark(tmp_path: Path):
    suites = tmp_path / "suites" / "x"
    suites.mkdir(parents=True)
    (suites / "test_a.py").write_text(
        textwrap.dedent(
            """
            import pytest
            pytestmark = [pytest.mark.guarantee("MOD-ID")]

            @pytest.mark.guarantee("A-ONE", "A-TWO")
            @pytest.mark.parametrize("k", [1])
            async def test_f(k): ...

            @pytest.mark.guarantee("CLS-ID")
            class TestC:
                @pytest.mark.guarantee("M-ID")
                def test_m(self): ...

            def helper(): ...
            """
        )
    )
    scan = scan_suites(tmp_path / "suites", tmp_path)
    assert scan == {
        "suites/x/test_a.py::test_f": ["MOD-ID", "A-ONE", "A-TWO"],
        "suites/x/test_a.py::TestC::test_m": ["MOD-ID", "CLS-ID", "M-ID"],
    }
    assert strip_params("suites/x/test_a.py::test_f[1-kill]") == "suites/x/test_a.py::test_f"


def test_needs_name_every_reference_only_observation_of_the_suites():
    """The catalog never claims a verdict carries over to a real JS7 while
    its suites use something only the reference serves (nor the reverse)."""
    wrong = {
        g.id: {"catalog": list(g.needs), "suites": needs_of(g.suites)}
        for g in CATALOG.guarantees.values()
        if list(g.needs) != needs_of(g.suites)
    }
    assert not wrong, wrong
    extras = {
        g.id: {"catalog": list(g.extras), "suites": extras_of(g.suites)}
        for g in CATALOG.guarantees.values()
        if list(g.extras) != extras_of(g.suites)
    }
    assert not extras, extras


async def test_an_extra_is_not_checked_where_the_target_does_not_offer_it():
    # The contract of an extra: its helper answers None on a real JS7, and
    # the check says it was not made instead of failing the verdict.
    from suites.joc.extras import history_status, no_duplicates_attempted

    class RealJoc:
        async def post(self, path, body):
            return {"jocs": [], "deliveryDate": "2026-01-01T00:00:00Z"}

    status = await history_status(RealJoc())  # type: ignore[arg-type]
    assert status is None
    check = no_duplicates_attempted({"joc-1": status})
    assert check.valid and "not-checked" in check.details
    assert not no_duplicates_attempted({"joc-1": {"duplicatesSkipped": 2}}).valid


def test_the_reference_only_patterns_find_what_they_name(tmp_path: Path):
    # Each pattern bites on a line that uses the thing, and not on plain code.
    samples = {
        "joc-health": 'await dep.get_json(node, "/health")',
        "joc-activity": 'await client.post("joc/cluster/activity", {})',
        "joc-epoch": 'e = comp["epoch"]',
        "history-service": 'comp["historyService"]["position"]',
        "joc-deploy": 'client.post("inventory/deployment/deploy", {"workflows": [w]})',
        "joc-dailyplan": 'client.post("daily_plan/orders/generate", {"schedules": [s]})',
        "joc-cleanup": 'client.post("cleanup/run", {})',
        "joc-age-seconds": '"order_history_age": {"value": f"{ORDER_AGE}s"},',
        "history-feed": 'f"{base}/events/history"',
        "history-page": 'await page.goto(dep.url(node) + "/joc/history")',
        "history-export": 'await http.post(f"{client.base}/export/{path}", json=body)',
        "history-event-ids": 'finished = {r["orderId"]: r["endEventId"] for r in rows}',
        "journal-overview": 'held = (await ctl.get(""))["journal"]',
        "agent-cluster-watch": 'await watch.command({"TYPE": "ConfirmClusterNodeLoss"})',
        "director-watch-requests": 'info = await director.get("/js7ha/cluster-node")',
        "controller-orders": 'orders = await ctl.get("/order")',
        "controller-agents": 'agents = await ctl.get("/agent")',
    }
    assert set(samples) == set(REFERENCE_ONLY)
    (tmp_path / "extra.py").write_text("from suites.joc.extras import history_status\n")
    assert extras_of(["extra.py"], tmp_path) == [REFERENCE_EXTRAS["joc-extras"][1]]
    assert needs_of(["extra.py"], tmp_path) == []
    for name, line in samples.items():
        (tmp_path / f"{name}.py").write_text(line + "\n")
        assert needs_of([f"{name}.py"], tmp_path) == [REFERENCE_ONLY[name][1]], name
    (tmp_path / "js7.py").write_text(
        'ctl.command({"TYPE": "ConfirmClusterNodeLoss", "agentPath": "A", "lostNodeId": "P"})\n'
    )
    assert needs_of(["js7.py"], tmp_path) == []  # JS7's own command, about an Agent cluster
    (tmp_path / "plain.py").write_text("x = await client.command(add_order('a', 'w'))\n")
    assert needs_of(["plain.py"], tmp_path) == []


def test_every_helper_that_reads_something_reference_only_is_named_by_a_pattern():
    # A suite calling such a helper must get the need (the live feed and the
    # History Service's status hid behind helpers once).
    assert helpers_unnamed() == []


async def test_a_route_the_target_does_not_serve_is_an_extra_not_offered():
    # A real JOC answers a route it does not have with a 404 page, not JOC's JSON.
    import aiohttp
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from harness.clients.joc import JocClient
    from suites.joc.extras import service_intervals

    async def login(_: web.Request) -> web.Response:
        return web.json_response({"accessToken": "t", "isAuthenticated": True})

    async def not_found(_: web.Request) -> web.Response:
        return web.Response(status=404, text="<html>Not Found</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/joc/api/authentication/login", login)
    app.router.add_post("/joc/api/joc/cluster/activity", not_found)

    class Target:  # what JocClient needs of a deployment
        def __init__(self, server: TestServer, http: aiohttp.ClientSession) -> None:
            self.server, self.http = server, http

        def url(self, node: str) -> str:
            return str(self.server.make_url("")).rstrip("/")

    async with TestServer(app) as server, aiohttp.ClientSession() as http:
        client = JocClient(Target(server, http), "joc-1")  # type: ignore[arg-type]
        assert await service_intervals(client) is None
