"""The report as a person sees it: opened from disk in headless Chromium.

Needs the system's Chromium (Debian: ``apt-get install chromium``) and the
``playwright`` Python package (never ``playwright install``: it drives the
system browser through ``executable_path``). Skipped — saying which is
missing — only when one of the two is absent.
"""

import json
import shutil
import subprocess
import sys

import pytest

from reports.render import write_report

from .synthetic import BROKEN, make_run

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing: pip install playwright"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium executable on PATH: apt-get install -y chromium"
)


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _open(browser, html):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html.as_uri())
    return page, errors, requests


def test_synthetic_report_in_chromium(browser, tmp_path, artifacts):
    run = tmp_path / "20250101-120000"
    write_report(run, make_run(run))
    doc = json.loads((run / "results.json").read_text())
    page, errors, requests = _open(browser, run / "index.html")
    page.screenshot(path=str(artifacts / "synthetic-report.png"), full_page=True)

    for verdict in ("held", "broken", "unknown"):
        assert int(page.inner_text(f"#count-{verdict}")) == doc["totals"][verdict]
    for gid in BROKEN:
        section = page.locator(f"#g-{gid}")
        assert section.get_attribute("data-verdict") == "broken"
        assert section.locator("h3 .badge").inner_text() == "broken"
    assert "lost" in page.locator("#g-EVT-RELEASE pre").first.inner_text()
    assert page.locator("#g-AGT-AUTONOMY svg.timeline rect.fault").count() == 1
    assert page.locator("#g-AGT-AUTONOMY svg.timeline rect.active").count() == 2
    # the filter buttons work: "broken" hides everything else
    page.click("button[data-filter=broken]")
    visible = [
        g.get_attribute("id") for g in page.locator("#guarantees .g").all() if g.is_visible()
    ]
    assert sorted(visible) == sorted(f"g-{g}" for g in BROKEN)
    assert errors == []
    assert all(u.startswith("file://") for u in requests), requests


def test_a_tiny_real_run_end_to_end(browser, tmp_path, artifacts):
    """``js7ha run`` on one real conformance test: exit 0, every output there,
    and the page says what ``results.json`` says."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from harness.cli import main; sys.exit(main())",
            "run",
            "-k",
            "test_agents_never_open_a_connection",
            "--out",
            str(tmp_path),
            "-n",
            "0",
            "--progress",
            "plain",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    (artifacts / "js7ha-run.out").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASSED  AGT-NO-CONNECT" in proc.stdout
    assert proc.stdout.rstrip().endswith("every selected guarantee held")
    (run,) = tmp_path.iterdir()
    for name in ("index.html", "results.json", "junit.xml", "allure-results", "artifacts"):
        assert (run / name).exists(), name
    doc = json.loads((run / "results.json").read_text())
    assert doc["held"] is True and doc["totals"]["held"] == 1
    test = doc["tests"][0]
    assert (run / test["artifacts"] / "history.jsonl").exists()
    labels = [
        json.loads(p.read_text())["labels"] for p in (run / "allure-results").glob("*-result.json")
    ]
    assert {"name": "story", "value": "AGT-NO-CONNECT: Agents never connect to a Controller"} in (
        labels[0]
    )
    page, errors, _ = _open(browser, run / "index.html")
    page.screenshot(path=str(artifacts / "real-report.png"), full_page=True)
    assert int(page.inner_text("#count-held")) == 1
    assert page.locator("#g-AGT-NO-CONNECT").get_attribute("data-verdict") == "held"
    assert "Every selected guarantee held" in page.inner_text("#verdict")
    assert errors == []
