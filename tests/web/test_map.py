"""The network map's columnar payload and its documented sampling (no browser; see test_browser.py).

Checked against the graph itself: the nodes are the laid-out accounts with the highest weighted
degree, the links are exactly the graph's links among them, the filters hold, and the map says how
many accounts it shows of how many.
"""

from __future__ import annotations

from collections import defaultdict

import orjson
import pytest
from fastapi.testclient import TestClient

from confiance.pipeline import analyze
from confiance.web.app import Settings, create_app
from confiance.web.map import COLOURS, MAX_MAP_NODES, MAX_SIZE, MIN_SIZE, map_data, map_json
from tests.conftest import copy_workspace, query
from tests.test_cli import run as cli

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def world(sim_world_base, tmp_path_factory):
    _, base = sim_world_base
    ws = copy_workspace(base, tmp_path_factory.mktemp("map-world") / "ws")
    analyze(ws, only=["communities", "influence", "layout"])
    return ws


@pytest.fixture(scope="module")
def client(world):
    return TestClient(create_app(Settings(snapshot=world.publish_snapshot())), base_url=BASE)


def _payload(client, **params) -> dict:
    response = client.get("/api/map", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _strength(ws) -> dict[tuple[str, str], float]:
    strength: dict[tuple[str, str], float] = defaultdict(float)
    for platform, src, dst, weight in query(ws, "SELECT platform, src, dst, weight FROM graph_edges"):
        strength[(platform, src)] += weight
        strength[(platform, dst)] += weight
    return strength


def _nodes(payload: dict) -> list[tuple[str, str]]:
    columns = payload["nodes"]
    return [(payload["platforms"][p], ref) for p, ref in zip(columns["platform"], columns["ref"])]


def test_columns_are_aligned_and_drawable(client, world):
    payload = _payload(client)
    n = payload["count"]
    laid_out = query(world, "SELECT count(*) FROM graph_layout")[0][0]
    assert n == laid_out > 500
    columns = payload["nodes"]
    assert {len(v) for v in columns.values()} == {n}
    assert all(isinstance(r, str) and isinstance(label, str) for r, label in zip(columns["ref"], columns["label"]))
    assert all(-1.0 <= v <= 1.0 for v in columns["x"] + columns["y"])
    assert all(MIN_SIZE <= s <= MAX_SIZE for s in columns["size"])  # small nodes: big ones stalled rendering
    assert max(columns["size"]) > MIN_SIZE  # sized by influence
    assert payload["colours"] == list(COLOURS) and all(0 <= c < len(COLOURS) for c in columns["colour"])
    # the largest community gets the first colour
    biggest = query(world, "SELECT community FROM communities GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0][0]
    assert {c for c, k in zip(columns["colour"], columns["community"]) if k == biggest} == {0}
    positions = dict(zip(_nodes(payload), zip(columns["x"], columns["y"])))
    for platform, account_id, x, y in query(world, "SELECT platform, account_id, x, y FROM graph_layout LIMIT 50"):
        assert positions[(platform, account_id)] == pytest.approx((x, y), abs=1e-5)


def test_links_are_exactly_the_graphs_links_among_the_nodes(client, world):
    payload = _payload(client)
    nodes = _nodes(payload)
    edges = payload["edges"]
    assert len(edges) % 2 == 0
    pairs = list(zip(edges[::2], edges[1::2]))
    assert all(0 <= a < b < len(nodes) for a, b in pairs)
    shown = {frozenset((nodes[a], nodes[b])) for a, b in pairs}
    assert len(shown) == len(pairs)  # each pair once, both directions merged
    index = set(nodes)
    expected = {frozenset(((p, s), (p, d))) for p, s, d in query(world, "SELECT platform, src, dst FROM graph_edges WHERE src <> dst")
                if (p, s) in index and (p, d) in index}
    assert len(expected) < 200_000 and shown == expected


def test_nodes_come_by_weighted_degree_and_the_sample_says_so(client, world):
    strength = _strength(world)
    everyone = _payload(client)
    assert not everyone["sampled"] and everyone["total_nodes"] == len(strength)
    order = [strength[node] for node in _nodes(everyone)]
    assert order == sorted(order, reverse=True)
    few = _payload(client, max_nodes=100)
    assert few["count"] == 100 and few["sampled"] and "100" in few["sampling"]
    assert _nodes(few) == _nodes(everyone)[:100]
    assert {a for a in few["edges"]} <= set(range(100))
    assert client.get("/api/map", params={"max_nodes": MAX_MAP_NODES + 1}).status_code == 422
    assert client.get("/api/map", params={"max_nodes": 0}).status_code == 422
    # the page the map script reads max_nodes from refuses it as a page, not as the API's JSON in the map
    for bad in ("0", "abc", str(MAX_MAP_NODES + 1)):
        page = client.get("/map", params={"max_nodes": bad})
        assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
        assert "max_nodes" in page.text and 'id="map"' not in page.text
    assert client.get("/map", params={"max_nodes": 100}).status_code == 200


def test_filters_narrow_nodes_and_links(client, world):
    everyone = _payload(client)
    community = everyone["filters"]["communities"][1]
    members = {(p, a) for p, a in query(world, "SELECT platform, account_id FROM communities WHERE community = ?", [community])}
    one = _payload(client, community=community)
    assert 0 < one["count"] < everyone["count"] and set(_nodes(one)) <= members
    kinds = everyone["filters"]["kinds"]
    assert len(kinds) >= 2
    for kind in kinds:
        payload = _payload(client, kind=kind)
        assert payload["count"] == everyone["count"]  # a kind narrows links, not accounts
        nodes = _nodes(payload)
        links = {frozenset(((p, s), (p, d))) for p, s, d in query(
            world, "SELECT platform, src, dst FROM graph_edges WHERE kind = ? AND src <> dst", [kind])}
        pairs = zip(payload["edges"][::2], payload["edges"][1::2])
        assert all(frozenset((nodes[a], nodes[b])) in links for a, b in pairs)
        assert 0 < len(payload["edges"]) < len(everyone["edges"])
    platform = everyone["filters"]["platforms"][0]
    assert {p for p, _ in _nodes(_payload(client, platform=platform))} == {platform}


def test_a_smaller_layout_is_a_sample_with_its_count(world, tmp_path):
    ws = copy_workspace(world.root, tmp_path / "ws")
    result = cli("layout", "--max-nodes", "300", "--json", workspace=ws.root)
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    accounts = len(_strength(ws))
    assert summary == {"laid_out": 300, "accounts": accounts, "sampled": True}
    stored = query(ws, "SELECT parameters FROM analysis_runs WHERE step = 'layout' ORDER BY finished_at DESC LIMIT 1")[0][0]
    assert orjson.loads(stored)["max_nodes"] == 300
    with ws.reader() as con:
        data = map_data(con)
    assert len(data.x) == 300 and data.total_nodes == accounts and data.sampled
    assert "300" in data.sampling() and "most interactions" in data.sampling()
    payload = orjson.loads(map_json(data, lambda p, a, h: {"ref": a, "label": h or a}))
    assert payload["count"] == 300 and payload["total_nodes"] == accounts and payload["sampled"]


def test_layout_verb_without_a_layout_is_a_clear_error(workspace):
    result = cli("layout", "--json", workspace=workspace.root)
    assert result.returncode == 1 and result.stdout == "" and "no layout yet" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = cli("layout", "--max-nodes", "0", workspace=workspace.root)
    assert result.returncode == 2 and "--max-nodes" in result.stderr


def test_pseudonymised_map_shows_no_handle(world):
    from confiance.export import Pseudonymiser

    key = Pseudonymiser.for_workspace(world.root / "pseudonym.key").key
    client = TestClient(create_app(Settings(snapshot=world.publish_snapshot(), pseudonymise=True, pseudonym_key=key)),
                        base_url=BASE)
    response = client.get("/api/map")
    payload = response.json()
    handles = {h for (h,) in query(world, "SELECT handle FROM accounts WHERE handle IS NOT NULL")}
    ids = {a for (a,) in query(world, "SELECT account_id FROM graph_layout")}
    assert payload["count"] > 500
    assert not (set(payload["nodes"]["label"]) | set(payload["nodes"]["ref"])) & (handles | ids)
    assert payload["nodes"]["label"] == payload["nodes"]["ref"]


@pytest.mark.parametrize("steps", [None, ["graph"], ["graph", "layout"]])
def test_map_page_without_a_graph_says_to_run_analyze(workspace, steps):
    """Empty workspace, no layout step, and a layout of nothing: a sentence, not the map script's JSON error."""
    if steps:
        analyze(workspace, only=steps)
    client = TestClient(create_app(Settings(snapshot=workspace.publish_snapshot())), base_url=BASE)
    page = client.get("/map")
    assert page.status_code == 200
    assert "No graph yet: run <code>confiance analyze</code>" in page.text
    assert "/static/map.js" not in page.text and "{&#34;detail" not in page.text


def test_map_page_with_a_layout_but_no_communities_loads_the_map(sim_world_base, tmp_path):
    _, base = sim_world_base
    ws = copy_workspace(base, tmp_path / "ws")
    analyze(ws, only=["layout"])
    with ws.writer() as con:  # a store whose communities were never computed (the layout does not need them)
        con.execute("DROP TABLE communities")
    client = TestClient(create_app(Settings(snapshot=ws.publish_snapshot())), base_url=BASE)
    assert "/static/map.js" in client.get("/map").text and "No graph yet" not in client.get("/map").text
    payload = _payload(client)
    assert payload["count"] > 0 and set(payload["nodes"]["community"]) == {None}


def test_map_script_shows_an_error_detail_not_json():
    """The bundle carries the source's handling (frontend/src/map.js): the detail sentence, and no empty canvas."""
    from importlib import resources

    bundle = resources.files("confiance.web").joinpath("static", "map.js").read_text(encoding="utf-8")
    assert "JSON.parse(i).detail" in bundle and "no account to draw with these filters" in bundle
    assert '"no map: "+i.status' not in bundle
