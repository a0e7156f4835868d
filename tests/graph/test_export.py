"""GEXF 1.3 / GraphML exports re-read by networkx (and defusedxml), with every attribute and the right counts."""

from __future__ import annotations

import importlib.util

import networkx as nx
import numpy as np
import pytest
from defusedxml import ElementTree as SafeET

from confiance.graph.build import AccountGraph, build_edges
from confiance.graph.export import write_gexf, write_graphml
from confiance.graph.layout import layout, run_layout
from tests.conftest import REAL, ingest

SCORE_ATTRIBUTES = {"platform", "account_id", "handle", "followers", "community", "side", "bridging", "participation",
                    "influence", "rank", "amplification", "authority", "unique_engagers", "engagement_rate",
                    "coreness", "x", "y"}

# karate has neither handles nor follower counts (so no engagement rate either)
KARATE_EMPTY = {"handle", "followers", "engagement_rate"}


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _analyse(con, run_id: str = "t") -> None:
    """The graph, the layout, and every analysis that is installed (else a small stand-in table)."""
    build_edges(con, run_id)
    if _has("confiance.graph.communities"):
        from confiance.graph.communities import run_communities

        run_communities(con, run_id)
    else:
        con.execute("CREATE TABLE communities AS SELECT 't' AS run_id, platform, account_id, "
                    "CAST(hash(account_id) % 3 AS INTEGER) AS community FROM accounts")
    if _has("confiance.influence.scores"):
        from confiance.influence.scores import run_influence

        run_influence(con, run_id)
    else:
        con.execute("CREATE TABLE influence_scores AS SELECT 't' AS run_id, platform, account_id, handle, "
                    "followers, 1 AS unique_engagers, 0.1 AS amplification, 1.0 AS authority, 0.0 AS engagement_rate, "
                    "1.0 AS coreness, 0.5 AS influence, row_number() OVER () AS rank FROM accounts")
    if _has("confiance.graph.polarization"):
        from confiance.graph.polarization import run_polarization

        run_polarization(con, run_id)
    else:
        con.execute("CREATE TABLE account_bridging AS SELECT 't' AS run_id, platform, account_id, "
                    "CAST(hash(account_id) % 2 AS TINYINT) AS side, 0.5 AS bridging, 0.2 AS participation FROM accounts")
    run_layout(con, run_id)


def _expected(con) -> tuple[int, int, dict]:
    nodes = con.execute("SELECT count(*) FROM (SELECT platform, src FROM graph_edges UNION SELECT platform, dst FROM graph_edges)").fetchone()[0]
    edges = con.execute("SELECT count(*) FROM graph_edges").fetchone()[0]
    communities = dict(((p, a), c) for p, a, c in con.execute("SELECT platform, account_id, community FROM communities").fetchall())
    return nodes, edges, communities


def _check_networkx(graph, nodes: int, edges: int, communities: dict, extra: set[str] = frozenset(),
                    may_be_empty: set[str] = frozenset()) -> None:
    assert graph.number_of_nodes() == nodes
    assert graph.number_of_edges() == edges
    assert graph.is_directed()
    for node, data in graph.nodes(data=True):
        assert isinstance(node, str)
        missing = (SCORE_ATTRIBUTES | extra) - set(data)
        # a node outside the largest component has no polarisation side; everything else is filled
        assert missing <= {"side", "bridging"} | may_be_empty, (node, missing)
        assert data["community"] == communities[(data["platform"], data["account_id"])]
        assert isinstance(data["rank"], int) and isinstance(data["influence"], float)
        assert data["label"]
    for _, _, data in graph.edges(data=True):
        assert data["weight"] > 0 and data["kind"] in {"repost", "quote", "reply", "mention", "follow", "like"}


def test_karate_round_trips_through_networkx(workspace, tmp_path):
    ingest(workspace, REAL / "karate" / "karate.gml")
    with workspace.writer() as con:
        _analyse(con)
        nodes, edges, communities = _expected(con)
        assert (nodes, edges) == (34, 78)
        gexf = write_gexf(con, tmp_path / "k.gexf")
        graphml = write_graphml(con, tmp_path / "k.graphml")
        old = write_gexf(con, tmp_path / "k12.gexf", version="1.2draft")
    assert gexf["nodes"] == graphml["nodes"] == old["nodes"] == 34
    assert gexf["edges"] == graphml["edges"] == 78
    # karate's ground-truth label travels as a node attribute
    for path in (tmp_path / "k.gexf", tmp_path / "k12.gexf"):
        g = nx.read_gexf(path)
        _check_networkx(g, 34, 78, communities, {"groundTruth"}, KARATE_EMPTY)
        assert all("position" in d["viz"] for _, d in g.nodes(data=True))
    _check_networkx(nx.read_graphml(tmp_path / "k.graphml"), 34, 78, communities, {"groundTruth"}, KARATE_EMPTY)
    clubs = {d["groundTruth"] for _, d in nx.read_graphml(tmp_path / "k.graphml").nodes(data=True)}
    assert clubs == {0, 1}


def test_gexf_13_is_well_formed_and_declares_every_attribute(workspace, tmp_path):
    ingest(workspace, REAL / "karate" / "karate.gml")
    with workspace.writer() as con:
        _analyse(con)
        write_gexf(con, tmp_path / "k.gexf")
    root = SafeET.parse(tmp_path / "k.gexf").getroot()
    ns = {"g": "http://gexf.net/1.3", "viz": "http://gexf.net/1.3/viz"}
    assert root.tag == "{http://gexf.net/1.3}gexf" and root.get("version") == "1.3"
    graph = root.find("g:graph", ns)
    assert graph.get("defaultedgetype") == "directed"
    declared = {a.get("title"): a.get("type") for a in graph.find("g:attributes[@class='node']", ns)}
    assert SCORE_ATTRIBUTES <= set(declared)
    assert declared["community"] in ("integer", "long") and declared["influence"] == "double"
    nodes = graph.findall("g:nodes/g:node", ns)
    assert len(nodes) == 34 and all(n.find("viz:position", ns) is not None for n in nodes)
    edges = graph.findall("g:edges/g:edge", ns)
    assert len(edges) == 78 and all(e.get("kind") == "follow" and float(e.get("weight")) > 0 for e in edges)


@pytest.fixture(scope="module")
def simulated_export(tmp_path_factory):
    """A small simulated world (three platforms) analysed and exported once, for every reader's test:
    (folder with w.gexf and w.graphml, nodes, edges, communities, distinct pairs, platforms)."""
    from confiance.simulate import simulate_world
    from confiance.workspace import Workspace

    root = tmp_path_factory.mktemp("simulated-export")
    simulate_world(root / "world", seed=3, accounts=300, posts=2500)
    workspace = Workspace.init(root / "ws")
    ingest(workspace, root / "world")
    with workspace.writer() as con:
        _analyse(con)
        nodes, edges, communities = _expected(con)
        pairs = con.execute("SELECT count(*) FROM (SELECT DISTINCT platform, src, dst FROM graph_edges)").fetchone()[0]
        platforms = con.execute("SELECT count(DISTINCT platform) FROM graph_edges").fetchone()[0]
        write_gexf(con, root / "w.gexf")
        write_graphml(con, root / "w.graphml")
    return root, nodes, edges, communities, pairs, platforms


def test_simulated_world_exports_every_node_and_parallel_kinds(simulated_export):
    folder, nodes, edges, communities, pairs, platforms = simulated_export
    assert platforms == 3 and edges > pairs  # several platforms, and pairs linked by several kinds
    for g in (nx.read_gexf(folder / "w.gexf"), nx.read_graphml(folder / "w.graphml")):
        # accounts seen only through others' interactions have no profile (followers) in the files
        _check_networkx(g, nodes, edges, communities, may_be_empty={"followers", "engagement_rate"})
        seen = set().union(*(d.keys() for _, d in g.nodes(data=True)))
        assert SCORE_ATTRIBUTES <= seen
        assert sum("followers" in d for _, d in g.nodes(data=True)) > 0.5 * nodes
        assert all(node == f"{d['platform']}:{d['account_id']}" for node, d in g.nodes(data=True))
        assert g.is_multigraph()


def test_graphml_opens_in_igraph_with_every_attribute_networkx_reads(simulated_export):
    """igraph (the other standard reader; it has no GEXF reader) sees the same nodes, edges and values as networkx."""
    import igraph

    folder, nodes, edges, communities, _, _ = simulated_export
    ig = igraph.Graph.Read_GraphML(str(folder / "w.graphml"))
    reference = nx.read_graphml(folder / "w.graphml")
    assert ig.is_directed() and (ig.vcount(), ig.ecount()) == (nodes, edges)
    assert SCORE_ATTRIBUTES | {"label"} <= set(ig.vs.attributes())
    assert {"weight", "kind", "interactions"} <= set(ig.es.attributes())
    by_id = {v["id"]: v.attributes() for v in ig.vs}
    assert set(by_id) == set(reference.nodes)
    compared = 0
    for node, data in reference.nodes(data=True):
        theirs = by_id[node]
        assert theirs["community"] == communities[(theirs["platform"], theirs["account_id"])]
        for name, value in data.items():
            assert theirs[name] == pytest.approx(value) if isinstance(value, float) else theirs[name] == value, (node, name)
            compared += 1
        # a value the file leaves out: networkx omits it, igraph fills its type's blank (NaN, "", False)
        for name in set(theirs) - set(data) - {"id"}:
            assert theirs[name] in ("", False) or np.isnan(theirs[name]), (node, name)
    assert compared > nodes * len(SCORE_ATTRIBUTES) // 2
    pairs = sorted((ig.vs[e.source]["id"], ig.vs[e.target]["id"], e["kind"], e["weight"]) for e in ig.es)
    assert pairs == sorted((u, v, d["kind"], d["weight"]) for u, v, d in reference.edges(data=True))


def test_hostile_text_is_escaped(workspace, tmp_path):
    f = tmp_path / "edges.csv"
    f.write_text('source,target,kind\n"<a&b>","x""y\x01",mention\n"\u00e9t\u00e9",<a&b>,reply\n')
    ingest(workspace, f, format_name="edges-csv")
    with workspace.writer() as con:
        build_edges(con, "t")
        write_gexf(con, tmp_path / "h.gexf")
        write_graphml(con, tmp_path / "h.graphml")
    for g in (nx.read_gexf(tmp_path / "h.gexf"), nx.read_graphml(tmp_path / "h.graphml")):
        assert "<a&b>" in g and "\u00e9t\u00e9" in g and g.number_of_edges() == 2
        # the control character XML forbids is replaced, the rest of the id kept
        assert 'x"y\ufffd' in g


def test_layout_is_seeded_and_separates_planted_groups():
    rng = np.random.default_rng(0)
    n, groups = 400, 4
    labels = np.repeat(np.arange(groups), n // groups)
    src, dst = rng.integers(0, n, 6000), rng.integers(0, n, 6000)
    keep = (src != dst) & ((labels[src] == labels[dst]) | (rng.random(6000) < 0.03))
    ids = np.array([str(i) for i in range(n)], dtype=object)
    graph = AccountGraph(np.array(["g"] * n, dtype=object), ids, src[keep], dst[keep], np.ones(keep.sum()),
                         np.full(keep.sum(), np.nan))
    nodes, xy = layout(graph, seed=1)
    again_nodes, again = layout(graph, seed=1)
    assert np.array_equal(nodes, again_nodes) and np.array_equal(xy, again)
    assert np.abs(xy).max() == pytest.approx(1.0)
    a, b = rng.integers(0, len(nodes), (2, 5000))
    distance = np.linalg.norm(xy[a] - xy[b], axis=1)
    same = labels[nodes[a]] == labels[nodes[b]]
    assert distance[same].mean() < 0.6 * distance[~same].mean()
    top, top_xy = layout(graph, seed=1, max_nodes=50)
    degree = np.bincount(graph.src, minlength=n) + np.bincount(graph.dst, minlength=n)
    assert len(top) == 50 and degree[top].min() >= np.sort(degree)[-50]
