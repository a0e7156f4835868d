"""The dashboard in a real browser (Playwright for Python driving Debian's chromium).

Run against two worlds: the shared simulated world, analysed (every view renders without a console
error, the map draws and focuses an account, a table sorts and filters, a CSV downloads), and the
hostile world (every route renders with zero script executions, counted by a hook on ``window``).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from confiance.web.app import Settings, create_app
from tests.conftest import copy_workspace
from tests.web.hostile import hostile_world

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("CONFIANCE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    pytest.skip("no chromium on this machine (CI installs Debian's chromium)", allow_module_level=True)

#: Counts every way a payload could run: its own increment, and the dialogs a payload might open.
XSS_HOOK = """
window.__xss = 0;
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = () => { window.__xss += 1; };
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn in a thread, stopped at the end of the module."""

    def __init__(self, settings: Settings):
        import uvicorn

        self.config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                                     access_log=False)
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.base = f"http://{settings.host}:{settings.port}"

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("dashboard did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--use-gl=swiftshader",
                                                                       "--enable-unsafe-swiftshader"])
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def world_server(analysed_world_base, tmp_path_factory):
    _, base = analysed_world_base
    ws = copy_workspace(base, tmp_path_factory.mktemp("browser-world") / "ws")
    with Server(Settings(snapshot=ws.publish_snapshot(), port=_free_port())) as server:
        yield server


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    ws = hostile_world(tmp_path_factory.mktemp("hostile-browser"))
    with Server(Settings(snapshot=ws.publish_snapshot(), port=_free_port())) as server:
        yield server


def _page(browser, errors: list[str], *, bypass_csp: bool = False):
    context = browser.new_context(accept_downloads=True, bypass_csp=bypass_csp)
    context.add_init_script(XSS_HOOK)
    page = context.new_page()
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return page


def _wait(page, expression: str, timeout: float = 60.0) -> None:
    """Poll ``expression`` from Python: Playwright's wait_for_function evaluates strings in the page,
    which the dashboard's Content-Security-Policy (rightly) forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.1)


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("nav a, ul.cards a", "els => els.map(e => e.getAttribute('href'))")
    return sorted({h for h in hrefs if h and h.startswith("/")})


def test_every_view_renders_without_console_errors(browser, world_server):
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(world_server.base + "/")
    routes = _links(page, world_server.base)
    assert {"/", "/map", "/tables/accounts", "/tables/influencers", "/tables/communities"} <= set(routes)
    page.goto(world_server.base + "/tables/influencers")
    routes.append(page.eval_on_selector("table.data a[href^='/accounts/']", "e => e.getAttribute('href')"))
    page.goto(world_server.base + "/")
    routes += page.eval_on_selector_all("nav details a", "els => els.map(e => e.getAttribute('href'))")
    for route in routes:
        response = page.goto(world_server.base + route)
        assert response.status == 200, route
        if route == "/map":
            _wait(page, "document.body.dataset.mapReady !== undefined")
    assert errors == []


def test_map_draws_and_focuses_an_account(browser, world_server):
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(world_server.base + "/map")
    _wait(page, "Number(document.body.dataset.mapReady) > 100")
    assert page.locator("#map canvas").count() >= 2
    status = page.text_content("#map-status")
    assert re.search(r"\d[\d,]* (of [\d,]+ )?accounts", status), status
    label = page.eval_on_selector("#map-accounts option", "o => o.value")
    page.fill("#map-search", label)
    page.click("#map-filters button[type=submit]")
    _wait(page, "document.body.dataset.focused !== undefined")
    assert label in page.text_content("#map-focus")
    href = page.get_attribute("#map-focus a", "href")
    assert page.goto(world_server.base + href).status == 200
    page.goto(world_server.base + "/map")
    _wait(page, "document.body.dataset.mapReady !== undefined")
    everyone = int(page.evaluate("document.body.dataset.mapReady"))
    community = page.eval_on_selector("select[name=community] option:nth-child(2)", "o => o.value")
    page.select_option("select[name=community]", community)
    _wait(page, f"Number(document.body.dataset.mapReady) < {everyone}")  # one community: fewer accounts
    assert errors == []


def test_map_click_picks_the_node_under_the_pointer(browser, world_server):
    """Sigma's picking pass finds the node drawn under a click (focus) and none on the empty stage (clear)."""
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(world_server.base + "/map")
    _wait(page, "Number(document.body.dataset.mapReady) > 100")
    label = page.eval_on_selector("#map-accounts option", "o => o.value")
    page.fill("#map-search", label)
    page.click("#map-filters button[type=submit]")
    _wait(page, "document.body.dataset.focused !== undefined")
    key = page.evaluate("document.body.dataset.focused")
    page.wait_for_timeout(800)  # the camera's 300 ms move centres the focused account
    box = page.locator("#map").bounding_box()
    corners = [(box["x"] + dx, box["y"] + dy) for dx in (5, box["width"] - 5) for dy in (5, box["height"] - 5)]
    for x, y in corners:  # zoomed in on one account, some corner of the stage is empty
        page.mouse.click(x, y)
        page.wait_for_timeout(300)
        if page.evaluate("document.body.dataset.focused") is None:
            break
    assert page.evaluate("document.body.dataset.focused") is None
    assert page.text_content("#map-focus") == ""
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    _wait(page, "document.body.dataset.focused !== undefined")
    assert page.evaluate("document.body.dataset.focused") == key
    assert label in page.text_content("#map-focus")
    assert errors == []


def test_table_sort_filter_and_csv_download(browser, world_server, tmp_path):
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(world_server.base + "/tables/accounts")
    page.click("th a.sort:has-text('Followers')")
    page.wait_for_load_state()
    values = [int(v.replace(",", "")) for v in page.locator("table.data tbody td.n:nth-child(4)").all_text_contents() if v.strip()]
    assert len(values) > 10
    assert values == sorted(values) or values == sorted(values, reverse=True)
    page.click("th a.sort:has-text('Followers')")
    page.wait_for_load_state()
    flipped = [int(v.replace(",", "")) for v in page.locator("table.data tbody td.n:nth-child(4)").all_text_contents() if v.strip()]
    assert flipped != values
    handle = page.locator("table.data tbody td a").first.text_content()
    page.fill("input[name=q]", handle)
    page.click("form.filter button[type=submit]")
    page.wait_for_load_state()
    shown = page.locator("table.data tbody tr").count()
    assert 1 <= shown < len(values)
    assert all(handle.lower() in row.lower() for row in page.locator("table.data tbody tr").all_text_contents())
    with page.expect_download() as download:
        page.click("a.download")
    path = Path(tmp_path / "accounts.csv")
    download.value.save_as(path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("platform,handle") and len(lines) >= 2 and handle in path.read_text()
    assert errors == []


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_hostile_world_runs_no_script_on_any_route(browser, hostile_server, bypass_csp):
    """With the CSP, and without it: escaping alone must keep every payload inert."""
    errors: list[str] = []
    page = _page(browser, errors, bypass_csp=bypass_csp)
    page.goto(hostile_server.base + "/")
    routes = set(_links(page, hostile_server.base))
    for table in ("accounts", "influencers"):
        page.goto(f"{hostile_server.base}/tables/{table}?limit=500")
        routes.update(page.eval_on_selector_all("table.data a[href^='/accounts/']", "els => els.map(e => e.getAttribute('href'))"))
    page.goto(hostile_server.base + "/")
    routes.update(page.eval_on_selector_all("nav details a", "els => els.map(e => e.getAttribute('href'))"))
    assert len(routes) >= 40
    executed = {}
    for route in sorted(routes):
        page.goto(hostile_server.base + route)
        if route == "/map":
            _wait(page, "document.body.dataset.mapReady !== undefined")
            page.hover("#map")
        executed[route] = page.evaluate("window.__xss")
    assert executed == {route: 0 for route in executed}
    assert errors == []  # not even a blocked attempt: the Content-Security-Policy never had to act


def test_the_switch_turns_the_map_french_and_is_remembered(browser, hostile_server):
    """One French smoke check: the header's switch, the map script's status in French, the choice kept."""
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(hostile_server.base + "/map")
    page.click("header nav.languages a[lang=fr]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "fr"
    _wait(page, "document.body.dataset.mapReady !== undefined")
    status = page.text_content("#map-status")
    assert re.fullmatch(r"\d+ comptes, \d+ liens|\d+ comptes affichés sur \d+, \d+ liens \(échantillon\u00a0: .+\)", status), status
    page.goto(hostile_server.base + "/tables/accounts")
    assert page.get_attribute("html", "lang") == "fr" and page.text_content("h1") == "Comptes"
    assert page.evaluate("window.__xss") == 0
    assert errors == []
