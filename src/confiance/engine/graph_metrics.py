"""Per-account graph metrics (degree, PageRank, weakly connected component) on either engine.

``graph_edges`` comes from :func:`confiance.engine.transforms.interaction_edges` on both engines.
Degree is always the Ibis aggregation. PageRank and components run on one node (scipy, as the
influence scores do) when the collapsed graph has at most ``local_max_edges`` edges
(:data:`confiance.engine.graph_algorithms.LOCAL_MAX_EDGES`), else as the iterative Ibis algorithms
on Spark. The result table ``account_graph_metrics`` has one row per account with an edge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import ibis
import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components as scipy_components

from confiance.engine import graph_algorithms as algorithms
from confiance.engine.tables import ibis_table
from confiance.engine.transforms import interaction_edges

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

    from confiance.engine.spark import Lake
    from confiance.graph.build import AccountGraph

METRICS_TABLE = "account_graph_metrics"
#: On Spark, PageRank's convergence test (a job of its own) runs every this many iterations.
SPARK_CHECK_EVERY = 4
COLUMNS = ("platform", "account_id", "out_degree", "in_degree", "out_strength", "in_strength", "pagerank", "component")


def edges_table() -> ibis.Table:
    """``graph_edges`` as an unbound Ibis table (its schema is the transform's)."""
    return ibis.table(interaction_edges(ibis_table("interactions"), "").schema(), name="graph_edges")


def local_scores(graph: "AccountGraph", *, damping: float, tol: float, max_iter: int) -> pa.Table:
    """PageRank (``influence.scores.pagerank``) and weak components (scipy) of a graph on this node."""
    from confiance.influence.scores import pagerank

    rank = pagerank(graph, damping=damping, tol=tol, max_iter=max_iter)
    adjacency = sp.csr_matrix((np.ones(graph.m), (graph.src, graph.dst)), shape=(graph.n, graph.n))
    _, labels = scipy_components(adjacency, directed=True, connection="weak")
    # name each component by its smallest account id, as the Ibis label propagation does
    order = np.lexsort((graph.account_id.astype(str), labels))
    first = np.ones(len(order), dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    names = dict(zip(labels[order][first], graph.account_id[order][first]))
    return pa.table({"platform": graph.platform.astype(str), "account_id": graph.account_id.astype(str),
                     "pagerank": rank, "component": [names[label] for label in labels]})


def duckdb_graph_metrics(con: "duckdb.DuckDBPyConnection", *, kinds: Sequence[str] | None = None,
                         damping: float = 0.85, tol: float = 1e-10, max_iter: int = 200) -> pa.Table:
    """The metrics from the store's ``graph_edges`` (built by the pipeline's graph step)."""
    from confiance.engine.transforms import duckdb_sql
    from confiance.graph.build import load_graph

    graph = load_graph(con, kinds=kinds)
    scores = local_scores(graph, damping=damping, tol=tol, max_iter=max_iter)
    degrees = con.sql(duckdb_sql(algorithms.degree(algorithms.pairs(edges_table(), _kinds(kinds))))).to_arrow_table()
    return _joined(degrees, scores)


def spark_graph_metrics(spark: "SparkSession", lake: "Lake", run_id: str, *, kinds: Sequence[str] | None = None,
                        damping: float = 0.85, tol: float = 1e-10, max_iter: int = 200,
                        local_max_edges: int = algorithms.LOCAL_MAX_EDGES) -> dict:
    """Build ``graph_edges`` and ``account_graph_metrics`` in the lake from its ``interactions``.

    Returns a summary: edges, collapsed pairs, where PageRank ran (``local`` or ``spark``) and, for
    Spark, whether GraphFrames was on the class path."""
    runner = algorithms.SparkRunner(spark, lake)
    try:
        lake.replace("graph_edges", runner.frame(interaction_edges(runner.table("interactions"), run_id)))
        pair_table = algorithms.pairs(runner.table("graph_edges"), _kinds(kinds))
        pair_table = runner.materialise(pair_table, "pairs")
        (m,) = runner.scalars(pair_table.aggregate(m=pair_table.count()))
        degrees = runner.materialise(algorithms.degree(pair_table), "degree")
        if m <= local_max_edges:
            graph = algorithms.local_graph(runner.frame(pair_table).toArrow())
            scores = runner.view(spark.createDataFrame(local_scores(graph, damping=damping, tol=tol,
                                                                    max_iter=max_iter)), "scores")
            where = "local"
        else:
            rank = runner.materialise(algorithms.pagerank(runner, pair_table, damping=damping, tol=tol,
                                                          max_iter=max_iter, check_every=SPARK_CHECK_EVERY), "pagerank")
            if algorithms.graphframes_available(spark):
                components = runner.view(algorithms.graphframes_components(spark, lake, runner.frame(pair_table)),
                                         "components")
            else:
                components = algorithms.connected_components(runner, pair_table)
            scores = runner.materialise(rank.join(components, ["platform", "account_id"]), "scores")
            where = "spark"
        joined = degrees.join(scores, ["platform", "account_id"])
        result = runner.frame(joined.select(*COLUMNS).mutate(run_id=ibis.literal(run_id)))
        lake.replace(METRICS_TABLE, result)
        return {"edges": int(lake.read_derived("graph_edges").count()), "pairs": int(m), "pagerank_on": where,
                "graphframes": algorithms.graphframes_available(spark)}
    finally:
        runner.close()


def _kinds(kinds: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(kinds) if kinds else None


def _joined(degrees: pa.Table, scores: pa.Table) -> pa.Table:
    import duckdb

    con = duckdb.connect()
    try:
        con.register("degrees", degrees)
        con.register("scores", scores)
        return con.sql(f"SELECT {', '.join(COLUMNS)} FROM degrees JOIN scores USING (platform, account_id) "
                       "ORDER BY pagerank DESC, platform, account_id").to_arrow_table()
    finally:
        con.close()
