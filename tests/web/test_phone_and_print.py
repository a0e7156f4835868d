"""What a reader sees at a phone's width and on an A4 page (Playwright driving Debian's chromium).

The report's charts are 860 px wide and its tables up to a dozen columns: at 390 px they widened the page,
and printed to PDF they were cut at the page's right edge. The dashboard's pages are served from a
TestClient through Playwright's request routing (no server thread).
"""

from __future__ import annotations

import os
import shutil

import pytest
from fastapi.testclient import TestClient

from confiance.pipeline import analyze
from confiance.report import build_report
from confiance.web.app import Settings, create_app
from tests.conftest import FORMATS, ingest
from tests.web.hostile import hostile_world

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("CONFIANCE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    pytest.skip("no chromium on this machine (CI installs Debian's chromium)", allow_module_level=True)

PHONE = 390
#: An A4 page's width in CSS pixels (210 mm at 96 px per inch).
A4 = 794
BASE = "http://127.0.0.1:8765"
#: The elements cut at the viewport's right edge, outermost only: past it and not inside a box that scrolls.
OVERFLOWING = """(w) => {
  const scrolls = e => { for (let a = e.parentElement; a; a = a.parentElement) {
    if (a !== document.body && getComputedStyle(a).overflowX !== 'visible') return true; } return false; };
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > w + 1 && !(e.parentElement.getBoundingClientRect().right > w + 1)
                 && !scrolls(e))
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')); }"""


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A French report whose volume and tags charts and whose sources table are drawn."""
    from confiance.workspace import Workspace

    root = tmp_path_factory.mktemp("phone-report")
    ws = Workspace.init(root / "ws")
    ingest(ws, FORMATS / "twitter-v2-json" / "brexit.jsonl", FORMATS / "reddit-pushshift-ndjson")
    analyze(ws, only=["overview"])
    return build_report(ws, root / "rapport.html", language="fr")


def _overflow(page, width: int) -> tuple[int, list[str]]:
    return page.evaluate("document.documentElement.scrollWidth"), page.evaluate(OVERFLOWING, width)


def test_the_report_fits_a_phone_and_an_a4_page(browser, report):
    page = browser.new_page(viewport={"width": PHONE, "height": 800})
    page.goto(report.as_uri())
    assert page.locator("section#volume svg[viewBox]").count() >= 1  # the charts are there to shrink
    assert _overflow(page, PHONE) == (PHONE, [])
    page.set_viewport_size({"width": A4, "height": 1123})
    page.emulate_media(media="print")
    width, overflowing = _overflow(page, A4)
    assert width <= A4 and overflowing == []
    page.close()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    ws = hostile_world(tmp_path_factory.mktemp("phone-dashboard"))
    return TestClient(create_app(Settings(snapshot=ws.publish_snapshot())), base_url=BASE)


def test_the_dashboard_pages_fit_a_phone(browser, dashboard):
    page = browser.new_page(viewport={"width": PHONE, "height": 800})

    def answer(route):
        response = dashboard.get(route.request.url.removeprefix(BASE))
        route.fulfill(status=response.status_code, body=response.content,
                      headers={"content-type": response.headers.get("content-type", "text/html")})

    page.route(BASE + "/**", answer)
    seen = {}
    for path in ("/", "/tables/accounts", "/tables/influencers", "/sections/volume", "/sections/tags"):
        page.goto(BASE + path)
        seen[path] = _overflow(page, PHONE)
    assert seen == {path: (PHONE, []) for path in seen}
    page.close()


def test_no_chart_label_is_cut_by_the_edge_of_its_chart(browser, report):
    """The last date under a time axis was centred on the last point, so half of it fell outside the chart."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(report.as_uri())
    cut = page.evaluate("""() => [...document.querySelectorAll('svg[viewBox] text')].filter(t => {
        const box = t.getBBox(), view = t.ownerSVGElement.viewBox.baseVal;
        return box.x < -0.5 || box.x + box.width > view.width + 0.5; }).map(t => t.textContent)""")
    assert page.locator("svg[viewBox] text").count() > 20 and cut == []
    page.close()


def test_an_account_page_headed_by_a_long_id_fits_a_phone(browser, workspace):
    """A Bluesky account without a handle is headed by its DID, one word wider than a phone."""
    did = "did:plc:5vc2mxnal4qipklojkqisjs5"
    with workspace.writer() as con:
        con.execute("INSERT INTO accounts (platform, account_id) VALUES ('bluesky', ?)", [did])
    client = TestClient(create_app(Settings(snapshot=workspace.publish_snapshot())), base_url=BASE)
    page = browser.new_page(viewport={"width": PHONE, "height": 800})
    page.route(BASE + "/**", lambda route: route.fulfill(
        status=200, body=client.get(route.request.url.removeprefix(BASE)).content,
        headers={"content-type": "text/css" if route.request.url.endswith(".css") else "text/html"}))
    page.goto(f"{BASE}/accounts/bluesky/{did}")
    assert did in page.text_content("h1") and _overflow(page, PHONE) == (PHONE, [])
    page.close()
