"""The Ibis transforms and graph algorithms on DuckDB, against the numpy/scipy implementations."""

from __future__ import annotations

import duckdb
import numpy as np
import orjson
import pytest

from confiance import store
from confiance.engine import graph_algorithms as algorithms
from confiance.engine.graph_metrics import edges_table, local_scores
from confiance.engine.tables import ibis_table
from confiance.engine.transforms import account_metrics, duckdb_sql
from confiance.graph.build import build_edges, load_graph
from confiance.influence.scores import pagerank as csr_pagerank


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for _, sql in store.MIGRATIONS:
        con.execute(sql)
    yield con
    con.close()


def _random_interactions(con, seed: int = 7, n: int = 120, m: int = 600) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(m):
        platform = "x" if i % 3 else "bluesky"
        src, dst = rng.integers(0, n, 2)
        kind = ("reply", "repost", "mention", "quote")[i % 4]
        rows.append((platform, f"a{src}", f"a{dst}", kind, f"p{i}", f"2024-05-{1 + i % 28:02d} 10:00:00+00"))
    # a chain component and a dangling tail, so components and dangling mass are exercised
    rows += [("x", "c1", "c2", "reply", "q1", None), ("x", "c2", "c3", "reply", "q2", None)]
    con.executemany("INSERT INTO interactions (platform, src, dst, kind, post_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    rows)


def test_ibis_pagerank_matches_csr_pagerank(con):
    _random_interactions(con)
    build_edges(con, "r")
    graph = load_graph(con)
    expected = dict(zip(zip(graph.platform, graph.account_id), csr_pagerank(graph)))
    runner = algorithms.DuckDBRunner(con)
    ranked = algorithms.pagerank(runner, algorithms.pairs(edges_table()), tol=1e-12)
    got = {(p, a): v for p, a, v in con.execute(duckdb_sql(ranked)).fetchall()}
    runner.close()
    assert set(got) == set(expected)
    assert max(abs(got[k] - expected[k]) for k in expected) < 1e-9


def test_ibis_components_and_degree_match_scipy(con):
    _random_interactions(con)
    build_edges(con, "r")
    graph = load_graph(con)
    scores = local_scores(graph, damping=0.85, tol=1e-10, max_iter=200)
    expected = dict(zip(zip(scores.column("platform").to_pylist(), scores.column("account_id").to_pylist()),
                        scores.column("component").to_pylist()))
    runner = algorithms.DuckDBRunner(con)
    components = algorithms.connected_components(runner, algorithms.pairs(edges_table()))
    got = {(p, a): c for p, a, c in con.execute(duckdb_sql(components)).fetchall()}
    assert got == expected
    assert got[("x", "c3")] == "c1" and len(set(got.values())) >= 2
    degrees = {(p, a): (o, i) for p, a, o, i, *_ in con.execute(duckdb_sql(algorithms.degree(
        algorithms.pairs(edges_table())))).fetchall()}
    out_degree = np.bincount(graph.src, minlength=graph.n)
    in_degree = np.bincount(graph.dst, minlength=graph.n)
    assert degrees == {(p, a): (int(o), int(i)) for p, a, o, i in zip(graph.platform, graph.account_id, out_degree,
                                                                       in_degree)}
    runner.close()


def test_pagerank_rejects_bad_damping(con):
    with pytest.raises(ValueError, match="damping"):
        algorithms.pagerank(algorithms.DuckDBRunner(con), algorithms.pairs(edges_table()), damping=1.0)


def test_account_metrics_count_what_each_account_did_and_received(con):
    con.execute("""INSERT INTO posts (platform, post_id, account_id, created_at, kind, urls) VALUES
        ('x', '1', 'ana', '2024-05-01 09:00:00+00', 'post', ['https://a.fr']),
        ('x', '2', 'ana', '2024-05-01 18:00:00+00', 'post', []),
        ('x', '3', 'ana', '2024-05-03 09:00:00+00', 'reply', NULL),
        ('x', '4', 'bob', '2024-05-02 09:00:00+00', 'repost', ['https://a.fr']),
        ('x', '5', NULL, '2024-05-02 09:00:00+00', 'post', NULL)""")
    con.execute("""INSERT INTO interactions (platform, src, dst, kind, post_id) VALUES
        ('x', 'bob', 'ana', 'repost', '4'), ('x', 'bob', 'ana', 'like', ''), ('x', 'cyd', 'ana', 'reply', '9'),
        ('x', 'ana', 'ana', 'reply', '3'), ('x', 'ana', 'bob', 'follow', '')""")
    rows = con.execute(duckdb_sql(account_metrics(ibis_table("posts"), ibis_table("interactions")))
                       + " ORDER BY account_id").fetchall()
    assert rows == [
        # platform, account, posts, replies, quotes, reposts_made, link_posts, active_days,
        # reposts_received, replies_received, quotes_received, mentions_received, engagements, engagers
        ("x", "ana", 2, 1, 0, 0, 1, 2, 1, 1, 0, 0, 3, 2),
        ("x", "bob", 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
    ]


def test_graph_metrics_verb_on_the_store(workspace):
    from typer.testing import CliRunner

    from confiance.cli import app
    from confiance.engine.graph_metrics import COLUMNS

    runner = CliRunner()
    root = str(workspace.root)
    missing = runner.invoke(app, ["--workspace", root, "graph-metrics", "--json"])
    assert missing.exit_code == 1 and "analyze --only graph" in str(missing.exception)
    with workspace.writer() as con:
        _random_interactions(con)
    assert runner.invoke(app, ["--workspace", root, "analyze", "--only", "graph"]).exit_code == 0
    out = runner.invoke(app, ["--workspace", root, "graph-metrics", "--json", "--top", "5"])
    assert out.exit_code == 0, out.output
    rows = orjson.loads(out.stdout)
    assert len(rows) == 5 and list(rows[0]) == list(COLUMNS)
    assert [r["pagerank"] for r in rows] == sorted((r["pagerank"] for r in rows), reverse=True)
    with workspace.reader() as con:
        graph = load_graph(con)
    assert rows[0]["pagerank"] == pytest.approx(csr_pagerank(graph).max(), abs=1e-12)
