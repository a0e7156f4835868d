"""Pseudonymised dashboard over the analysed simulated world: no page or API answer names a person.

``serve --pseudonymise`` is for screen sharing: every handle, account id, display name and post id (a post
id names its author on the platform) must be absent from every route, tables sorted by each column included.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from confiance.export import Pseudonymiser
from confiance.web.app import Settings, create_app
from confiance.web.views import all_views
from tests.conftest import copy_workspace

BASE = "http://127.0.0.1:8765"
#: tokens as ids and handles are written: DIDs, user@instance handles, then words with dots and dashes
TOKEN = re.compile(r"did:plc:[a-z0-9]+|[\w.\-]+@[\w.\-]+|[\w.\-]+")


@pytest.fixture(scope="module")
def world(analysed_world_base, tmp_path_factory):
    _, base = analysed_world_base
    ws = copy_workspace(base, tmp_path_factory.mktemp("pseudonymised") / "ws")
    key = Pseudonymiser.for_workspace(ws.root / "pseudonym.key").key
    client = TestClient(create_app(Settings(snapshot=ws.publish_snapshot(), pseudonymise=True, pseudonym_key=key)),
                        base_url=BASE)
    return ws, client


def _answers(client: TestClient) -> dict[str, str]:
    """Every page, CSV and API answer: each table sorted by each of its columns, sections, accounts, the map."""
    routes = ["/", "/map", "/api/map", "/api/overview", "/api/tables"]
    for view in client.get("/api/tables").json():
        if not view["available"]:
            continue
        key = view["key"]
        routes += [f"/tables/{key}", f"/tables/{key}.csv", f"/api/tables/{key}?limit=500"]
        routes += [f"/tables/{key}?sort={column}&limit=500" for column in view["columns"]]
    routes += re.findall(r'href="(/sections/[^"]+)"', client.get("/").text)
    for row in client.get("/api/tables/influencers?limit=30").json()["rows"]:
        routes += [f"/accounts/{row['handle']['platform']}/{row['handle']['ref']}",
                   f"/api/accounts/{row['handle']['platform']}/{row['handle']['ref']}"]
    answers = {}
    for route in routes:
        response = client.get(route)
        assert response.status_code == 200, route
        answers[route] = html.unescape(unquote(response.text))
    return answers


def test_no_route_names_a_person(world):
    ws, client = world
    with ws.reader() as con:
        ids = {a for (a,) in con.execute("SELECT account_id FROM accounts").fetchall()}
        handles = {h.lower() for (h,) in con.execute("SELECT handle FROM accounts WHERE length(handle) > 4").fetchall()}
        names = {n.strip() for (n,) in con.execute(
            "SELECT display_name FROM accounts WHERE length(trim(display_name)) > 3").fetchall()}
        posts = {p for (p,) in con.execute("SELECT post_id FROM posts").fetchall()}
        shown = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("coordination_edges", "disclosure_posts")}
    assert min(shown.values()) > 0, shown  # the tables that named posts have rows to leak
    available = {v["key"] for v in client.get("/api/tables").json() if v["available"]}
    assert {v.key for v in all_views()} == available and {"coordination", "disclosure-posts"} <= available
    leaks = []
    for route, text in _answers(client).items():
        tokens = set(TOKEN.findall(text)) | set(TOKEN.findall(text.lower()))
        tokens |= {t.strip(".-").lstrip("@") for t in tokens}
        leaks += [(route, "account id", t) for t in tokens & ids]
        leaks += [(route, "handle", t) for t in tokens & handles]
        leaks += [(route, "post id", t) for t in tokens & posts]
        cells = re.findall(r">([^<]+)<", text) + re.findall(r'"([^"\\]{4,200})"', text) + re.split(r"[,\n]", text)
        leaks += [(route, "name", c.strip()) for c in cells if c.strip() in names]
    assert not leaks, leaks[:20]
