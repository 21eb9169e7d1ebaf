"""The History page in a real browser (headless Chromium, Debian's package,
driven by Playwright — never ``playwright install``): log in, every tab,
a filter, items pushed on the fly on the active instance and not on a
standby until the user refreshes, and the Export button's file read back
with openpyxl against the REST answer. Screenshots of every step land in the
test's artifacts (kept when it fails)."""

import asyncio
import datetime as dt

import openpyxl
import pytest
from aiohttp.test_utils import TestClient, TestServer

from components.joc import config
from components.joc.api import Api
from components.joc.app import Joc
from components.joc.views.export import FILE_NAMES
from tests.joc.historyrows import NOW, add_deployment, add_orders, add_submission
from tests.joc.jocapi import login, write_conf
from tests.reports.test_browser import CHROMIUM  # the one lookup of the system's Chromium

async_api = pytest.importorskip(
    "playwright.async_api", reason="the playwright package is missing: pip install playwright"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium executable on PATH: apt-get install -y chromium"
)
H = dt.timedelta(hours=1)
DEADLINE_MS = 10_000  # generous for a shared CI machine; HIS-LIVE's bound is the suite's


async def start_joc(root, database_url, member):
    write_conf(root, database_url, **{"joc.cluster.member-id": member})
    joc = Joc(config.load(root))
    await joc.start()
    client = TestClient(TestServer(Api(joc).app()))
    await client.start_server()
    return joc, client


@pytest.fixture
async def pair(tmp_path, database_url):
    """Two JOC instances on one database: the first one started is active."""
    started = []
    try:
        started.append(await start_joc(tmp_path / "a", database_url, "joc-a"))
        await wait_active(started[0][1])
        started.append(await start_joc(tmp_path / "s", database_url, "joc-s"))
        await wait_health(started[1][1])
        yield started
    finally:
        for joc, client in reversed(started):
            await client.close()
            await joc.stop()


@pytest.fixture
async def browser():
    async with async_api.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        await b.close()


async def is_active(client):
    return (await (await client.get("/health")).json())["active"]


async def wait_active(client):
    for _ in range(200):  # 10 s
        r = await client.get("/health")
        if r.status == 200 and (await r.json())["active"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the JOC instance did not become active within 10 s")


async def wait_health(client):
    for _ in range(200):  # 10 s
        if (await client.get("/health")).status == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the JOC instance did not start within 10 s")


async def open_page(browser, client, artifacts, name):
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    await page.goto(str(client.make_url("/joc/history")))
    await page.fill("#login input[name=account]", "root")
    await page.fill("#login input[name=password]", "pw")
    await page.click("#login button")
    await page.wait_for_selector("#table-ORDER tbody tr", timeout=DEADLINE_MS)
    await page.screenshot(path=str(artifacts / f"{name}-orders.png"), full_page=True)
    return page, errors, requests


async def download(page, folder):
    """Click Export on the open tab; the saved file's rows (JOC's name checked)."""
    tab = await page.eval_on_selector("nav button.active", "b => b.dataset.tab")
    async with page.expect_download(timeout=DEADLINE_MS) as info:
        await page.click("#export")
    file = await info.value
    assert file.suggested_filename == FILE_NAMES[tab]
    path = folder / file.suggested_filename
    await file.save_as(path)
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["data"]
    return list(book["data"].iter_rows(values_only=True))


def order_ids(page):
    return page.eval_on_selector_all(
        "#table-ORDER tbody tr", "rows => rows.map(r => r.dataset.orderId)"
    )


async def publish_new_order(database_url, jocs, hid, oid):
    """What the History Service does for an order it stored: the row, then
    the feed's HistoryChanged (only an active instance has subscribers)."""
    await add_orders(database_url, [(hid, oid, "wf-a", "FINISHED", NOW, NOW)])
    for joc in jocs:
        joc.feed.publish(
            {
                "TYPE": "HistoryChanged",
                "added": [oid],
                "started": [{"orderId": oid, "workflowPath": "wf-a", "versionId": "v1"}],
                "terminated": [
                    {
                        "orderId": oid,
                        "historyId": hid,
                        "state": "FINISHED",
                        "workflowPath": "wf-a",
                        "versionId": "v1",
                    }
                ],
            }
        )


async def test_the_history_page_in_chromium(pair, browser, database_url, artifacts, tmp_path):
    (ajoc, api), (sjoc, sclient) = pair
    await add_orders(
        database_url,
        [
            (1, "a-1", "wf-a", "FINISHED", NOW - 3 * H, NOW - 3 * H + dt.timedelta(seconds=65)),
            (2, "a-2", "wf-a", "FAILED", NOW - 2 * H, NOW - 2 * H + dt.timedelta(seconds=3)),
        ],
    )
    await add_deployment(database_url, "c-1", ["/f/wf-a"])
    await add_submission(database_url, NOW.date(), NOW, [("p-1", "wf-a", True)])
    token = await login(api)
    r = await api.post(
        "/joc/api/inventory/store",
        json={
            "path": "/f/x",
            "objectType": "WORKFLOW",
            "configuration": {"instructions": []},
            "auditLog": {"comment": "seen in the page"},
        },
        headers=token,
    )
    assert r.status == 200
    assert not await is_active(sclient)

    page, errors, requests = await open_page(browser, api, artifacts, "active")
    assert await order_ids(page) == ["a-2", "a-1"]

    # A filter: failed orders only.
    await page.select_option("select[name=historyStates]", "FAILED")
    await page.click("#apply")
    await page.wait_for_function(
        "document.querySelectorAll('#table-ORDER tbody tr').length === 1", timeout=DEADLINE_MS
    )
    assert await order_ids(page) == ["a-2"]
    await page.select_option("select[name=historyStates]", "")
    await page.click("#apply")

    # Paging: 25 rows a page, the rest on the next.
    await add_orders(
        database_url,
        [
            (100 + i, f"p-{i:02d}", "wf-p", "FINISHED", NOW - 30 * H, NOW - 30 * H)
            for i in range(30)
        ],
    )
    await page.click("#refresh")
    await page.wait_for_function(
        "document.querySelector('#pages').textContent === '2'", timeout=DEADLINE_MS
    )
    assert len(await order_ids(page)) == 25
    await page.click("#next")
    assert len(await order_ids(page)) == 32 - 25
    await page.click("#prev")

    # Every tab shows its sub-view.
    for tab, text in [
        ("TASK", "job1"),
        ("DEPLOYMENT", "Workflows: 1"),
        ("SUBMISSION", NOW.date().isoformat()),
        ("AUDITLOG", "seen in the page"),
    ]:
        await page.click(f"button[data-tab={tab}]")
        await page.wait_for_selector(f"#table-{tab} tbody tr", timeout=DEADLINE_MS)
        assert text in await page.inner_text(f"#table-{tab} tbody")
        await page.screenshot(path=str(artifacts / f"tab-{tab}.png"), full_page=True)
        # Every tab exports: JOC's file name, the text shown in the file too.
        rows = await download(page, tmp_path)
        assert "Controller ID" in rows[0]  # the page asks for every Controller
        assert any(text in str(cell) for row in rows[1:] for cell in row), (tab, rows)
    await page.click("button[data-tab=SUBMISSION]")
    # The tab reads its list again: click a row of this reading, not of the last.
    await page.wait_for_selector(
        '#table-SUBMISSION[aria-busy="false"] tbody tr', timeout=DEADLINE_MS
    )
    await page.click("#table-SUBMISSION tbody tr")  # expand: submissions and orders
    await page.wait_for_selector("#table-SUBMISSION tr.sub", timeout=DEADLINE_MS)
    assert "p-1" in await page.inner_text("#table-SUBMISSION tbody")
    await page.click("button[data-tab=ORDER]")
    await page.wait_for_function(
        "document.querySelectorAll('#table-ORDER tbody tr').length === 25", timeout=DEADLINE_MS
    )

    # Live: the active page shows a new order without any user action; the
    # standby's page never subscribed and shows it only after Refresh.
    spage, serrors, srequests = await open_page(browser, sclient, artifacts, "standby")
    assert "standby" in await spage.inner_text("h1")
    await publish_new_order(database_url, [ajoc, sjoc], 3, "live-1")
    await page.wait_for_selector("tr[data-order-id=live-1]", timeout=DEADLINE_MS)
    await page.screenshot(path=str(artifacts / "active-live.png"), full_page=True)
    assert "live-1" not in await spage.evaluate("window.js7haListed()")
    assert not any("events/history" in u for u in srequests), srequests
    await spage.click("#refresh")
    await spage.wait_for_selector("tr[data-order-id=live-1]", timeout=DEADLINE_MS)
    await spage.screenshot(path=str(artifacts / "standby-refreshed.png"), full_page=True)

    # Export: the downloaded file against the REST answer, row by row.
    rows = await download(page, tmp_path)
    assert (tmp_path / "JS7-order-history-report.xlsx").exists()
    body = {"timeZone": "Etc/UTC", "limit": 5000}
    rest = await (await api.post("/joc/api/orders/history", json=body, headers=token)).json()
    items = rest["history"]
    assert rows[0][:4] == ("Controller ID", "Order ID", "Workflow", "Label")
    assert len(rows) == 1 + len(items)
    states = {"SUCCESSFUL": "successful", "FAILED": "failed", "INCOMPLETE": "in progress"}
    for row, item in zip(rows[1:], items, strict=True):
        assert row[:3] == (item["controllerId"], item["orderId"], item["workflow"])
        assert row[4] == states[item["state"]["_text"]]
    assert errors == [] and serrors == []
    assert all(u.startswith(str(api.make_url(""))) or u.startswith("blob:") for u in requests)
