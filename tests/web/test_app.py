"""The dashboard over a hostile world: guards, tables, CSV, API, pseudonymised mode (no browser)."""

from __future__ import annotations

import csv
import html
import io
import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from confiance.export import Pseudonymiser
from confiance.web.app import Settings, create_app
from confiance.web.security import CONTENT_SECURITY_POLICY, SESSION_COOKIE
from confiance.web.views import MAX_PAGE, all_views
from tests.web.hostile import PAYLOADS, hostile_world

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ws = hostile_world(tmp_path_factory.mktemp("hostile"))
    return ws, ws.publish_snapshot()


@pytest.fixture(scope="module")
def client(world):
    _, snapshot = world
    return TestClient(create_app(Settings(snapshot=snapshot)), base_url=BASE)


def _routes(client: TestClient) -> list[str]:
    """Every page and API route the dashboard has for this world."""
    accounts = client.get("/api/tables/accounts?limit=5").json()["rows"]
    refs = [f"/accounts/{a['handle']['platform']}/{a['handle']['ref']}" for a in accounts]
    views = [f"/tables/{v['key']}" for v in client.get("/api/tables").json() if v["available"]]
    sections = re.findall(r'href="(/sections/[^"]+)"', client.get("/").text)
    api = [f"/api/tables/{v.split('/')[-1]}" for v in views] + ["/api/overview", "/api/tables", "/api/openapi.json"]
    return ["/", "/map", "/api/map", *views, *[v + ".csv" for v in views], *sections, *refs, *["/api" + r for r in refs], *api]


def test_every_route_answers_and_carries_the_security_headers(client):
    routes = _routes(client)
    assert len(routes) > 15
    for route in routes:
        response = client.get(route)
        assert response.status_code == 200, route
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"


def test_unknown_host_is_refused_on_every_route(client):
    for route in [*_routes(client), "/static/app.css", "/login", "/nowhere"]:
        assert client.get(route, headers={"host": "evil.example"}).status_code == 400, route
        assert client.get(route, headers={"host": "127.0.0.1.evil.example:8765"}).status_code == 400, route


def test_cross_origin_post_is_refused(client):
    for origin in ("http://evil.example", "null", "http://127.0.0.1:8765.evil.example"):
        assert client.post("/login", data={"token": "x"}, headers={"origin": origin}).status_code == 403
    assert client.post("/login", data={"token": "x"}).status_code == 403  # no Origin, no Referer


def test_hostile_data_is_escaped_everywhere(client):
    for route in _routes(client):
        if route.startswith("/api") or route.endswith(".csv"):
            continue
        page = client.get(route).text
        scripts = re.findall(r"<script\b[^>]*>", page, re.I)
        # the only scripts are the dashboard's own files: no inline script, nothing from data
        assert all(re.fullmatch(r'<script src="/static/[a-z]+\.js" defer>', s) for s in scripts), (route, scripts)
        assert not re.search(r"""<(img|svg|iframe|body|details|input|video|object|embed|meta|base|link|math|style)\b[^>]*\bon\w+\s*=""", page, re.I), route
        hrefs = re.findall(r'(?:href|src|action|formaction)\s*=\s*"([^"]*)"', page, re.I)
        for href in hrefs:
            target = html.unescape(href).strip().lower()
            assert not target.startswith(("javascript:", "data:", "vbscript:")), (route, href)
    # the payloads are shown, as text
    page = client.get("/tables/accounts?sort=followers&limit=100").text
    assert html.escape(PAYLOADS[0], quote=False) in page or html.escape(PAYLOADS[0]) in page


def test_table_sort_filter_and_bounds(client):
    rows = client.get("/api/tables/accounts?sort=followers&desc=true&limit=500").json()["rows"]
    followers = [r["followers"] for r in rows if r["followers"] is not None]
    assert followers == sorted(followers, reverse=True) and len(followers) >= 40
    ascending = client.get("/api/tables/accounts?sort=followers&desc=false&limit=500").json()["rows"]
    assert [r["followers"] for r in ascending if r["followers"] is not None] == sorted(followers)
    hit = client.get("/api/tables/accounts", params={"q": "u1"}).json()
    assert hit["total"] >= 1 and all("u1" in r["handle"]["label"] or "u1" in (r.get("display_name") or "") for r in hit["rows"])
    assert client.get(f"/api/tables/accounts?limit={MAX_PAGE + 1}").status_code == 422
    assert client.get("/api/tables/accounts?sort=followers;DROP TABLE accounts").status_code == 200  # falls back
    assert client.get("/api/tables/nope").status_code == 404
    page = client.get("/api/tables/accounts?limit=3&offset=3").json()
    assert (page["offset"], page["limit"], len(page["rows"])) == (3, 3, 3)


def test_ids_are_strings_in_the_api(client):
    rows = client.get("/api/tables/accounts?limit=50").json()["rows"]
    assert all(isinstance(r["handle"]["account_id"], str) for r in rows)


def test_csv_download_is_formula_safe_and_complete(client, world):
    ws, _ = world
    response = client.get("/tables/accounts.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    with ws.reader() as con:
        assert len(rows) == con.execute("SELECT count(*) FROM accounts").fetchall()[0][0]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    names = {r["display_name"] for r in rows}
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in names


def test_auth_token_is_exchanged_once_for_a_strict_cookie(world):
    _, snapshot = world
    app = create_app(Settings(snapshot=snapshot, auth=True))
    client = TestClient(app, base_url=BASE)
    assert client.get("/").status_code == 403
    assert client.get("/api/overview").status_code == 403
    assert client.get("/login").status_code == 200
    assert client.post("/login", data={"token": "wrong"}, headers={"origin": BASE}).status_code == 403
    token = app.state.sessions.token
    response = client.post("/login", data={"token": token}, headers={"origin": BASE}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert client.get("/").status_code == 200
    other = TestClient(app, base_url=BASE)
    assert other.post("/login", data={"token": token}, headers={"origin": BASE}).status_code == 403  # one time only
    other.cookies.set(SESSION_COOKIE, "forged")
    assert other.get("/").status_code == 403


def test_pseudonymised_mode_shows_no_handle_or_name(world):
    ws, snapshot = world
    key = Pseudonymiser.for_workspace(ws.root / "pseudonym.key").key
    client = TestClient(create_app(Settings(snapshot=snapshot, pseudonymise=True, pseudonym_key=key)), base_url=BASE)
    with ws.reader() as con:
        handles = [h for (h,) in con.execute("SELECT handle FROM accounts WHERE handle IS NOT NULL").fetchall()]
        first_id = con.execute("SELECT account_id FROM accounts ORDER BY followers DESC LIMIT 1").fetchall()[0][0]
    pages = [client.get(route).text for route in _routes(client)]
    for handle in handles:
        assert all(f">{html.escape(handle)}<" not in page for page in pages), handle
    assert not any(re.search(r"bio (?!length<)", page) for page in pages)  # the bios ("bio <payload>"), not a feature's name
    expected = Pseudonymiser(key).name(first_id)
    assert client.get(f"/api/accounts/x/{expected}").json()["account"]["label"] == expected
    # real handles u1, u10…: a search on them must not show their pseudonyms (nor search the hidden names)
    for table in ("accounts", "influencers", "bots"):
        assert client.get(f"/api/tables/{table}", params={"q": "u1"}).json()["total"] == 0, table
    assert client.get("/tables/accounts.csv", params={"q": "u1"}).text.strip().count("\n") == 0
    assert client.get("/api/tables/accounts", params={"q": "x"}).json()["total"] > 0  # other columns still searched


def test_all_views_declare_known_columns(world):
    ws, _ = world
    with ws.reader() as con:
        for view in all_views():
            if view.available(con):
                names = [d[0] for d in con.execute(f"SELECT * FROM ({view.query(con)}) LIMIT 0").description]
                assert {c.name for c in view.columns} <= set(names), view.key


def test_serve_refuses_a_public_address_without_auth(world, tmp_path):
    ws, _ = world
    done = subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws.root), "serve", "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--auth" in done.stderr


def test_sensitive_labels_never_reach_one_persons_page(client, world):
    ws, _ = world
    with ws.reader() as con:
        sided = con.execute("SELECT platform, account_id FROM account_bridging WHERE side IS NOT NULL LIMIT 5").fetchall()
    assert sided
    for platform, account_id in sided:
        scores = client.get(f"/api/accounts/{platform}/{account_id}").json()["scores"]
        assert "account_bridging" in scores
        text = str(scores)
        assert "'side'" not in text and "polarization_position" not in text and '"polarization"' not in text
        page = client.get(f"/accounts/{platform}/{account_id}").text
        assert "<dt>side</dt>" not in page and "polarization_side" not in page
    section = client.get("/sections/polarization").text
    sides = section.split("<h3>Sides</h3>")[1].split("</table>")[0]
    assert "@" not in sides and "<td></td>" not in sides  # no handle, and no empty column of withheld names
    assert "<th>leading accounts</th>" not in section and "aggregate only" in section


def test_account_pages_leave_missing_scores_blank(client):
    """A score an analysis could not compute (NULL) shows as an empty cell, not Python's "None"."""
    pages = [client.get(route).text for route in _routes(client) if route.startswith("/accounts/")]
    assert pages and any("<h3>" in page for page in pages)
    assert any(re.search(r"<dd></dd>|<td></td>", page) for page in pages)
    assert not any(re.search(r"<(dd|td)>None</(dd|td)>", page) for page in pages)


def test_number_cells_give_decimals_only_to_fractions():
    """An authority of 72.0 read "72.000" (in French "72,000": seventy-two thousand to an English eye) beside 574."""
    from confiance import i18n
    from confiance.web.app import _environment
    from confiance.web.views import Column

    macro = _environment().from_string('{% from "_cell.html" import cell %}{{ cell(column, value) }}')
    column = Column("authority", "Authority", "number")
    with i18n.using("fr"):
        cells = [macro.render(column=column, value=v).strip() for v in (72.0, 574.0, 0.0, 0.0123, 13)]
    assert cells == ["72", "574", "0", "0,012", "13"]


def test_influencers_view_describes_the_score_as_computed():
    """It said "percentile blend of … coreness and regularity": the score is a log-scale weighted mean, and
    coreness and regularity weigh 0 by default."""
    from confiance.influence.scores import DEFAULT_WEIGHTS

    description = next(v for v in all_views() if v.key == "influencers").description
    assert "percentile" not in description and "log scale" in description
    assert DEFAULT_WEIGHTS["coreness"] == 0 and "coreness" not in description


def test_communities_table_names_their_top_accounts(client, world):
    """The report's community table leads with its top accounts; the dashboard's had hashtags and terms only."""
    ws, snapshot = world
    page = client.get("/tables/communities").text
    with ws.reader() as con:
        leader = con.execute("SELECT top_accounts[1] FROM community_profiles ORDER BY size DESC LIMIT 1").fetchone()[0]
    assert "Top accounts" in page and html.escape(leader) in page
    hidden = TestClient(create_app(Settings(snapshot=snapshot, pseudonymise=True, pseudonym_key=b"k" * 32)), base_url=BASE)
    assert html.escape(leader) not in hidden.get("/tables/communities").text


def test_pages_declare_the_language_they_are_written_in(client):
    """The dashboard's words are English: lang="en" (it said "fr")."""
    for route in ("/", "/map", "/login", "/sections/volume", "/tables/accounts", "/nowhere"):
        assert re.match(r'<!doctype html>\s*<html lang="en">', client.get(route).text), route


def test_missing_pages_answer_an_html_page_and_the_api_json(client):
    for route, detail in (("/nowhere", "there is no page at this address"), ("/tables/nope", "no such table"),
                          ("/sections/nope", "no such section"), ("/accounts/x/<b>nobody", "no such account"),
                          ("/tables/nope.csv", "no such table")):
        response = client.get(route)
        assert response.status_code == 404, route
        assert response.headers["content-type"].startswith("text/html"), route
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        page = response.text
        assert "<h1>Not found</h1>" in page and f"<p>{detail}.</p>" in page and '<nav>' in page, route
        assert "<b>nobody" not in page and '"detail"' not in page
    assert "&lt;b&gt;nobody" in client.get("/accounts/x/<b>nobody").text
    invalid = client.get("/tables/accounts?limit=0")
    assert invalid.status_code == 422 and invalid.headers["content-type"].startswith("text/html")
    assert "limit: " in invalid.text
    for route in ("/api/tables/nope", "/api/nowhere", "/api/accounts/x/nobody"):
        response = client.get(route)
        assert response.status_code == 404 and response.headers["content-type"] == "application/json", route
        assert set(response.json()) == {"detail"}
    assert client.get("/api/tables/accounts?limit=0").json()["detail"][0]["loc"] == ["query", "limit"]


def test_page_requests_are_bounded_like_the_api(client):
    """An offset past DuckDB's BIGINT was a 500 on the HTML page and a 20,000-character filter was echoed five
    times into it; pages and CSV now answer 422 like the API."""
    huge = "99999999999999999999999"
    for route in (f"/tables/accounts?offset={huge}", "/tables/accounts?offset=10000001", f"/api/tables/accounts?offset={huge}"):
        assert client.get(route).status_code == 422, route
    long_query = "a" * 201
    for route in ("/tables/accounts", "/tables/accounts.csv", "/api/tables/accounts"):
        assert client.get(route, params={"q": long_query}).status_code == 422, route
        assert client.get(route, params={"q": "a" * 200}).status_code == 200, route


def test_a_page_past_the_end_says_so_and_leads_back_to_the_last_page(client):
    total = client.get("/api/tables/accounts").json()["total"]
    page = client.get("/tables/accounts?offset=100000&limit=7").text
    pager = page[page.index('<p class="pager">'):]
    assert f"0 of {total}" in pager and "100001" not in pager
    assert f"offset={total - 7}&amp;limit=7\">previous</a>" in pager


def test_filter_csv_and_json_links_keep_the_sort_direction(client):
    page = client.get("/tables/accounts?sort=followers&desc=false").text
    assert '<input type="hidden" name="desc" value="false">' in page
    assert 'href="/tables/accounts.csv?sort=followers&amp;desc=false&amp;q="' in page
    assert 'href="/api/tables/accounts?sort=followers&amp;desc=false&amp;q="' in page
    rows = list(csv.DictReader(io.StringIO(client.get("/tables/accounts.csv?sort=followers&desc=false").text)))
    followers = [int(r["followers"]) for r in rows if r["followers"]]
    assert len(followers) >= 40 and followers == sorted(followers)
    descending = list(csv.DictReader(io.StringIO(client.get("/tables/accounts.csv?sort=followers").text)))
    assert [int(r["followers"]) for r in descending if r["followers"]] == sorted(followers, reverse=True)


def test_times_read_to_the_second_in_utc(client):
    """Account pages and time columns printed Python's repr ("2025-01-01 00:00:00.123000+00:00")."""
    routes = [route for route in _routes(client) if route.startswith("/accounts/")] + ["/tables/sources", "/tables/communities"]
    pages = [client.get(route).text for route in routes]
    assert all(not re.search(r"\d\d:\d\d:\d\d(\.\d+)?\+00:00", page) for page in pages)
    assert all(re.search(r">20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC\s*<", page) for page in pages)
