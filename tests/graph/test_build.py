"""Graph building: weights, self-loops, isolates, windows, and undirected edge counts."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np
import pytest

from confiance.graph.build import AccountGraph, build_edges, load_graph
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


def _insert_interactions(ws, rows, accounts=()):
    with ws.writer() as con:
        con.executemany("INSERT INTO interactions (platform, src, dst, kind, post_id, weight, probability) "
                        "VALUES (?, ?, ?, ?, '', ?, ?)", rows)
        if accounts:
            con.executemany("INSERT INTO accounts (platform, account_id) VALUES (?, ?)", accounts)


def test_load_graph_matches_a_string_keyed_sql_collapse_across_platforms(workspace):
    # the same id on two platforms is two accounts; ids sort byte-wise ("B" < "a" < "é"), and the
    # kinds of one pair collapse into one edge (weights summed, the largest probability kept)
    rng = np.random.default_rng(7)
    ids = ["a", "b", "B", "é", "10", "9", "a b", "zz"]
    rows = []
    for _ in range(400):
        src, dst = rng.choice(ids, 2)
        rows.append((str(rng.choice(["x", "bluesky", "mastodon"])), str(src), str(dst),
                     str(rng.choice(["repost", "reply", "mention"])),
                     None if rng.random() < 0.5 else float(rng.integers(1, 4)),
                     None if rng.random() < 0.7 else float(rng.random())))
    _insert_interactions(workspace, rows, accounts=[("x", "lonely"), ("mastodon", "a"), ("bluesky", "quiet")])
    with workspace.writer() as con:
        build_edges(con, "t")
        expected = con.execute(
            "SELECT platform, src, dst, sum(weight), max(probability) FROM graph_edges "
            "GROUP BY ALL ORDER BY platform, src, dst").fetchall()
        graph = load_graph(con)
        with_isolates = load_graph(con, include_isolates=True)
        replies = load_graph(con, kinds=["reply"], platforms=["x", "bluesky"])
        expected_replies = con.execute(
            "SELECT platform, src, dst, sum(weight), max(probability) FROM graph_edges "
            "WHERE kind = 'reply' AND platform IN ('x', 'bluesky') GROUP BY ALL ORDER BY platform, src, dst").fetchall()
    for g, rows_expected in ((graph, expected), (replies, expected_replies)):
        got = [(g.platform[s], g.account_id[s], g.account_id[d], w, None if np.isnan(p) else p)
               for s, d, w, p in zip(g.src, g.dst, g.weight, g.probability)]
        assert [r[:4] for r in got] == [r[:4] for r in rows_expected]
        assert [r[4] for r in got] == pytest.approx([r[4] for r in rows_expected], nan_ok=True)
        assert (g.platform[g.src] == g.platform[g.dst]).all()
        nodes = list(zip(g.platform, g.account_id))
        assert nodes == sorted(set(nodes), key=lambda k: (k[0].encode(), k[1].encode()))
        assert set(nodes) == {(r[0], r[1]) for r in rows_expected} | {(r[0], r[2]) for r in rows_expected}
        assert g.src.dtype == g.dst.dtype == np.int64 and g.weight.dtype == np.float64
    extra = set(zip(with_isolates.platform, with_isolates.account_id)) - set(zip(graph.platform, graph.account_id))
    assert extra == {("x", "lonely"), ("bluesky", "quiet")}
    assert with_isolates.m == graph.m

    def named(g):
        return [(g.account_id[s], g.account_id[d]) for s, d in zip(g.src, g.dst)]

    assert named(with_isolates) == named(graph)


def test_load_graph_of_an_empty_selection(workspace):
    _insert_interactions(workspace, [("x", "a", "b", "reply", None, None)], accounts=[("x", "a"), ("x", "c")])
    with workspace.writer() as con:
        build_edges(con, "t")
        empty = load_graph(con, kinds=["follow"])
        isolates = load_graph(con, kinds=["follow"], include_isolates=True)
    assert (empty.n, empty.m) == (0, 0)
    assert (isolates.n, isolates.m) == (2, 0) and list(isolates.account_id) == ["a", "c"]


def test_to_networkit_matches_edge_by_edge_insertion():
    import networkit as nk

    rng = np.random.default_rng(3)
    n = 300
    src, dst = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    keep = src != dst
    m = int(keep.sum())
    graph = AccountGraph(np.full(n, "x", dtype=object), np.array([str(i) for i in range(n)], dtype=object),
                         src[keep], dst[keep], rng.integers(1, 5, m).astype(float), np.full(m, np.nan))
    for g in (graph, graph.undirected()):
        coo = (g.weight, (g.src.astype(np.int64), g.dst.astype(np.int64)))
        for weighted in (True, False):
            ours = g.to_networkit(weighted=weighted)
            reference = nk.GraphFromCoo(coo, n=n, weighted=weighted, directed=g.directed)
            assert (ours.numberOfNodes(), ours.numberOfEdges(), ours.isDirected(), ours.isWeighted()) == \
                (reference.numberOfNodes(), reference.numberOfEdges(), reference.isDirected(), reference.isWeighted())
            assert ours.totalEdgeWeight() == pytest.approx(reference.totalEdgeWeight())
            for u in range(n):
                assert list(ours.iterNeighbors(u)) == list(reference.iterNeighbors(u))
                assert [ours.weight(u, v) for v in ours.iterNeighbors(u)] == \
                    [reference.weight(u, v) for v in reference.iterNeighbors(u)]
                if g.directed:
                    assert sorted(ours.iterInNeighbors(u)) == sorted(reference.iterInNeighbors(u))
    assert graph.undirected().to_networkit().numberOfEdges() == graph.undirected().m


def test_undirected_collapses_pairs_like_a_dict_keyed_by_pair():
    # many repeated pairs, both directions, zero weights (they stay edges) and probabilities given on
    # only some rows: weights summed per unordered pair, the largest given probability, NaN if none
    rng = np.random.default_rng(11)
    n, m = 40, 2000
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    weight = rng.choice([0.0, 1.0, 2.5], m)
    probability = np.where(rng.random(m) < 0.8, np.nan, rng.random(m))
    graph = AccountGraph(np.full(n, "x", dtype=object), np.array([f"{i:02d}" for i in range(n)], dtype=object),
                         src, dst, weight, probability)
    expected: dict[tuple[int, int], list[float]] = {}
    for s, d, w, p in zip(src.tolist(), dst.tolist(), weight.tolist(), probability.tolist()):
        entry = expected.setdefault((min(s, d), max(s, d)), [0.0, float("nan")])
        entry[0] += w
        if p == p and not p <= entry[1]:  # p given, and larger than the kept one (or none kept yet)
            entry[1] = p
    undirected = graph.undirected()
    pairs = list(zip(undirected.src.tolist(), undirected.dst.tolist()))
    assert pairs == sorted(expected)
    assert undirected.weight.tolist() == pytest.approx([expected[k][0] for k in pairs])
    assert undirected.probability.tolist() == pytest.approx([expected[k][1] for k in pairs], nan_ok=True)
    assert (undirected.weight == 0).any() and np.isnan(undirected.probability).any()
    assert undirected.src.dtype == undirected.dst.dtype == np.int64
    assert graph.undirected() is undirected and undirected.undirected() is undirected  # built once, then kept


def test_cached_edges_keep_their_columns_and_store_account_ids_with_zstd(workspace):
    rows = [("x", f"did:plc:{i:04x}", f"did:plc:{(i * 7) % 500:04x}", "reply", None, None) for i in range(1, 3000)]
    _insert_interactions(workspace, rows)
    with workspace.writer() as con:
        build_edges(con, "t")
        con.execute("CHECKPOINT")
        columns = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                              "WHERE table_name = 'graph_edges' ORDER BY ordinal_position").fetchall()
        compression = dict(con.execute(
            "SELECT column_name, list_distinct(list(compression)) FROM pragma_storage_info('graph_edges') "
            "WHERE segment_type = 'VARCHAR' AND column_name IN ('src', 'dst') GROUP BY ALL").fetchall())
    assert columns == [("run_id", "VARCHAR"), ("platform", "VARCHAR"), ("src", "VARCHAR"), ("dst", "VARCHAR"),
                       ("kind", "VARCHAR"), ("weight", "DOUBLE"), ("probability", "DOUBLE"),
                       ("interactions", "BIGINT"), ("first_at", "TIMESTAMP WITH TIME ZONE"),
                       ("last_at", "TIMESTAMP WITH TIME ZONE")]
    assert compression == {"src": ["ZSTD"], "dst": ["ZSTD"]}
