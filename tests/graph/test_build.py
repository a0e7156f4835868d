"""Graph building: weights, self-loops, isolates, windows, and undirected edge counts."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from confiance.graph.build import build_edges, load_graph
from tests.conftest import REAL, ingest


def _graph(ws, **kwargs):
    with ws.writer() as con:
        summary = build_edges(con, "t", **{k: v for k, v in kwargs.items() if k in ("since", "until", "platforms")})
        graph = load_graph(con, **{k: v for k, v in kwargs.items() if k in ("kinds", "include_isolates")})
    return summary, graph


def test_karate_undirected_edge_count(workspace):
    ingest(workspace, REAL / "karate" / "karate.gml")
    summary, graph = _graph(workspace)
    text = (REAL / "karate" / "karate.gml").read_text()
    assert graph.n == len(re.findall(r"\bnode\s*\[", text)) == 34
    assert graph.undirected().m == len(re.findall(r"\bedge\s*\[", text)) == 78

    g = graph.undirected().to_networkit()
    assert (g.numberOfNodes(), g.numberOfEdges()) == (34, 78)
    assert not g.isDirected()


def test_multi_edges_become_weights_and_self_loops_are_dropped(workspace, tmp_path):
    f = tmp_path / "edges.csv"
    f.write_text("source,target,kind,post_id,timestamp\na,b,mention,p1,2024-01-01\na,b,mention,p2,2024-01-02\n"
                 "b,a,reply,p3,2024-01-03\nc,c,reply,p4,2024-01-04\nd,a,repost,p5,2024-02-01\n")
    ingest(workspace, f, format_name="edges-csv")
    summary, graph = _graph(workspace)
    assert summary == {"edges": 3, "self_loops_dropped": 1}
    pairs = {(graph.account_id[s], graph.account_id[d]): w for s, d, w in zip(graph.src, graph.dst, graph.weight)}
    assert pairs == {("a", "b"): 2.0, ("b", "a"): 1.0, ("d", "a"): 1.0}
    undirected = graph.undirected()
    assert undirected.m == 2 and sorted(undirected.weight.tolist()) == [1.0, 3.0]
    _, mentions = _graph(workspace, kinds=["mention"])
    assert mentions.m == 1
    _, with_isolates = _graph(workspace, kinds=["mention"], include_isolates=True)
    assert with_isolates.n == 4  # a, b plus c and d without mention edges
    _, january = _graph(workspace, until=datetime(2024, 1, 31, tzinfo=timezone.utc))
    assert january.m == 2
