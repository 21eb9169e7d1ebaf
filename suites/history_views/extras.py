"""What the HIS-LIVE suite checks in addition where the target offers it:
the reference JOC's own History page, ``/joc/history``, opened in headless
Chromium on the active and on a standby instance — new orders must appear
on the active's page without a user action (within the same bound as the
API's view), and on the standby's only after Refresh, its page never opening
the live feed ``events/history``. A real JOC's History view is its Angular
GUI, which this does not drive.

``HistoryPages.open`` answers None where the target has no such page (or
this machine has no Chromium or Playwright), and the check then says "not
checked": the verdict rests on JOC's public API (``suites/history_views/
order_view.py``). A suite importing this module lists it in its catalog
entry's ``extras`` (``reports/reference_only.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import aiohttp

from harness.checkers import CheckResult, compose
from harness.specs.joc import ACCOUNTS
from suites.history_views.checks import live_latency, standby_not_pushed

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
NOT_OFFERED = {"not-checked": "the target has no /joc/history page, or no Chromium here"}
FEED = "events/history"


async def _offered(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(f"{url}/joc/history") as r:
            return r.status == 200 and "data-live=" in await r.text()
    except aiohttp.ClientError:
        return False


class HistoryPages:
    """The page on the active and on a standby instance, logged in as root."""

    def __init__(self, playwright: Any, browser: Any, pages: dict[str, Any], ms: int) -> None:
        self._playwright, self._browser, self.pages, self._ms = playwright, browser, pages, ms
        self.feeds: dict[str, list[str]] = {n: [] for n in pages}

    @classmethod
    async def open(cls, dep: Any, active: str, standby: str, timeout: float) -> HistoryPages | None:
        if CHROMIUM is None or not await _offered(dep.http, dep.url(active)):
            return None
        try:
            from playwright.async_api import async_playwright
        except ImportError:
            return None
        ms = int(timeout * 1000)
        playwright = await async_playwright().start()
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        self = cls(playwright, browser, {}, ms)
        for node in (active, standby):
            self.feeds[node] = []
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda r, n=node: FEED in r.url and self.feeds[n].append(r.url))
            await page.goto(dep.url(node) + "/joc/history")
            await page.fill("#login input[name=account]", "root")
            await page.fill("#login input[name=password]", ACCOUNTS["root"][0])
            await page.click("#login button")
            await page.wait_for_selector("#main:not(.hidden)", timeout=ms)
            await page.wait_for_function("typeof window.js7haListed === 'function'", timeout=ms)
            self.pages[node] = page
        return self

    async def check(
        self,
        active: str,
        standby: str,
        ids: list[str],
        ended_s: dict[str, float],
        bound: float,
        artifacts: Path,
    ) -> CheckResult:
        """The active's page showed every order finished within ``bound`` of
        its end; the standby's only after Refresh."""
        from playwright.async_api import TimeoutError as PageTimeout

        on_active, on_standby = self.pages[active], self.pages[standby]
        try:
            await on_active.wait_for_function(
                f"{ids!r}.every((i) => i in window.js7haFinishedSeen)", timeout=self._ms
            )
        except PageTimeout:
            pass  # the checker names the orders never shown
        seen_ms = await on_active.evaluate("window.js7haFinishedSeen")
        await on_active.screenshot(path=str(artifacts / "page-active.png"), full_page=True)
        before = await on_standby.evaluate("window.js7haListed()")
        await on_standby.screenshot(path=str(artifacts / "page-standby-before.png"), full_page=True)
        await on_standby.click("#refresh")
        try:
            await on_standby.wait_for_function(
                f"{ids!r}.every((i) => window.js7haListed().includes(i))", timeout=self._ms
            )
        except PageTimeout:
            pass
        after = await on_standby.evaluate("window.js7haListed()")
        await on_standby.screenshot(path=str(artifacts / "page-standby-after.png"), full_page=True)
        ended_us = {i: int(s * 1_000_000) for i, s in ended_s.items()}
        feed = len(self.feeds[active])
        opened = CheckResult(bool(feed), {"feed-requests": feed}, "page-opened-feed")
        return compose(
            opened,
            live_latency(ended_us, seen_ms, ids, bound),
            standby_not_pushed(before, after, ids, self.feeds[standby]),
            name="page",
        )

    async def close(self) -> None:
        await self._browser.close()
        await self._playwright.stop()


def not_checked() -> CheckResult:
    return CheckResult(True, NOT_OFFERED, "page")
