"""Degree, PageRank and connected components written once in Ibis, for graphs too big for one node.

The algorithms take Ibis tables of collapsed account edges (``platform, src, dst, weight``, one row
per ordered pair, as :func:`pairs` makes them from ``graph_edges``) and a :class:`Runner` that
materialises a table and reads scalars on one engine: :class:`SparkRunner` (Parquet in the lake) or
:class:`DuckDBRunner` (temporary tables in the store). Iterative algorithms write every iteration
as a table and read it back: on Spark, ``cache()`` keeps the lineage, so the plan of iteration *k*
would hold all *k* previous joins and grow until the driver's JVM runs out of memory; a table
written to Parquet and read again starts a fresh plan.

When the aggregated graph fits in one node's memory (at most :data:`LOCAL_MAX_EDGES` collapsed
edges), :func:`local_graph` hands it to scipy/networkit instead, which is orders of magnitude faster
than any iterative SQL (see DESIGN.md §5). GraphFrames (a JAR on the cluster's class path) is used
for connected components when present; it cannot be tested here (no JAR, no network).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Protocol

import ibis
import ibis.expr.types as ir
import numpy as np

from confiance.errors import ConfianceError

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

    from confiance.engine.spark import Lake
    from confiance.graph.build import AccountGraph

#: Collapsed edges up to which the graph goes to one node (scipy / networkit). An AccountGraph costs
#: about 40 bytes per edge (two int64 indexes, weight, probability, one string key per node), the
#: CSR copies and networkit's adjacency about 60 more: 50M edges ≈ 5 GB, what a 16 GB driver holds
#: beside its JVM. Above it the Ibis algorithms run on Spark.
LOCAL_MAX_EDGES = 50_000_000


class Runner(Protocol):
    def materialise(self, expression: ir.Table, name: str) -> ir.Table:
        """Write the expression as a table and return a table expression reading it back."""

    def scalars(self, expression: ir.Table) -> tuple:
        """The single row of a one-row table expression."""


class DuckDBRunner:
    """Temporary tables on a store connection (the expressions are compiled to DuckDB SQL)."""

    def __init__(self, con: "duckdb.DuckDBPyConnection"):
        self.con = con
        self.created: list[str] = []

    def materialise(self, expression: ir.Table, name: str) -> ir.Table:
        from confiance.engine.transforms import duckdb_sql

        table = f"_ibis_{name}_{uuid.uuid4().hex[:8]}"
        self.con.execute(f"CREATE TEMP TABLE {table} AS {duckdb_sql(expression)}")
        self.created.append(table)
        return ibis.table(expression.schema(), name=table)

    def scalars(self, expression: ir.Table) -> tuple:
        from confiance.engine.transforms import duckdb_sql

        return tuple(self.con.execute(duckdb_sql(expression)).fetchall()[0])

    def table(self, name: str) -> ir.Table:
        from confiance.engine.tables import ibis_table

        return ibis_table(name)

    def close(self) -> None:
        for table in self.created:
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        self.created.clear()


class SparkRunner:
    """Parquet tables under the lake's scratch folder, read back through the Ibis PySpark backend."""

    def __init__(self, spark: "SparkSession", lake: "Lake"):
        from confiance.engine.spark import ibis_backend

        self.spark, self.lake = spark, lake
        self.backend = ibis_backend(spark)
        self.written: list[str] = []

    def frame(self, expression: ir.Table):
        return self.spark.sql(self.backend.compile(expression))

    def view(self, frame, name: str) -> ir.Table:
        view = f"confiance_{name}_{uuid.uuid4().hex[:8]}"
        frame.createOrReplaceTempView(view)
        return self.backend.table(view)

    def materialise(self, expression: ir.Table, name: str) -> ir.Table:
        location = self.lake.scratch(name)
        self.frame(expression).write.parquet(location)
        self.written.append(location)
        return self.view(self.spark.read.parquet(location), name)

    def scalars(self, expression: ir.Table) -> tuple:
        return tuple(self.frame(expression).collect()[0])

    def table(self, name: str) -> ir.Table:
        from confiance.engine.tables import CANONICAL_TABLES

        frame = self.lake.read(name) if name in CANONICAL_TABLES else self.lake.read_derived(name)
        return self.view(frame, name)

    def close(self) -> None:
        for location in self.written:
            self.lake.remove(location)
        self.written.clear()


def pairs(edges: ir.Table, kinds: tuple[str, ...] | None = None) -> ir.Table:
    """``graph_edges`` collapsed to one weighted edge per ordered pair (kinds summed), as ``load_graph``."""
    if kinds:
        edges = edges.filter(edges.kind.isin(list(kinds)))
    return edges.group_by(["platform", "src", "dst"]).aggregate(weight=edges.weight.sum())


def _nodes(pairs_table: ir.Table) -> ir.Table:
    sources = pairs_table.select("platform", account_id=pairs_table.src)
    targets = pairs_table.select("platform", account_id=pairs_table.dst)
    return sources.union(targets, distinct=True)


def degree(pairs_table: ir.Table) -> ir.Table:
    """Per node: distinct out- and in-neighbours and the weights leaving and reaching it."""
    out = pairs_table.group_by(["platform", pairs_table.src.name("account_id")]).aggregate(
        out_degree=pairs_table.count(), out_strength=pairs_table.weight.sum())
    into = pairs_table.group_by(["platform", pairs_table.dst.name("account_id")]).aggregate(
        in_degree=pairs_table.count(), in_strength=pairs_table.weight.sum())
    nodes = _nodes(pairs_table)
    joined = nodes.left_join(out, ["platform", "account_id"]).left_join(into, ["platform", "account_id"])
    return joined.select(
        "platform", "account_id",
        out_degree=joined.out_degree.fill_null(0), in_degree=joined.in_degree.fill_null(0),
        out_strength=joined.out_strength.fill_null(0.0), in_strength=joined.in_strength.fill_null(0.0),
    )


def pagerank(runner: Runner, pairs_table: ir.Table, *, damping: float = 0.85, tol: float = 1e-10,
             max_iter: int = 200, check_every: int = 1) -> ir.Table:
    """Weighted PageRank by power iteration, one written table per iteration.

    The same definition as :func:`confiance.influence.scores.pagerank` (which runs on the node's
    CSR arrays): the surfer follows an out-edge with probability proportional to its weight, or jumps
    uniformly with probability ``1 - damping``; dangling nodes' mass is spread uniformly; stop when
    the L1 change between two iterates is below ``tol``; scores normalised to sum to 1. Each
    iteration is one write; the convergence test (one small aggregate) runs every ``check_every``
    iterations, so the result may be a few iterations more converged than the CSR version's.

    Returns a table ``platform, account_id, pagerank``.

    References
    ----------
    Page, L., Brin, S., Motwani, R., Winograd, T. (1999). The PageRank citation ranking: bringing
    order to the web. Stanford InfoLab technical report 1999-66.
    """
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    edges = runner.materialise(pairs_table, "pr_pairs")
    out = edges.group_by(["platform", "src"]).aggregate(out_weight=edges.weight.sum())
    links = edges.join(out, ["platform", "src"])
    links = runner.materialise(links.select("platform", "src", "dst", share=links.weight / links.out_weight), "pr_links")
    nodes = _nodes(edges)
    flagged = nodes.left_join(out, [nodes.platform == out.platform, nodes.account_id == out.src])
    (n,) = runner.scalars(nodes.aggregate(n=nodes.count()))
    if n == 0:
        return runner.materialise(nodes.select("platform", "account_id", pagerank=ibis.literal(0.0)), "pr_empty")
    rank = runner.materialise(flagged.select(flagged.platform, flagged.account_id,
                                             dangling=flagged.out_weight.isnull(), x=ibis.literal(1.0 / n)), "pr_rank")
    teleport = (1.0 - damping) / n
    for iteration in range(1, max_iter + 1):
        follow = links.join(rank, [links.platform == rank.platform, links.src == rank.account_id])
        incoming = follow.group_by([follow.platform, follow.dst]).aggregate(flow=(follow.x * follow.share).sum())
        spread = rank.aggregate(mass=rank.x.sum(where=rank.dangling).fill_null(0.0) / n)
        step = rank.left_join(incoming, [rank.platform == incoming.platform, rank.account_id == incoming.dst]) \
            .cross_join(spread)
        new = runner.materialise(step.select(step.platform, step.account_id, step.dangling, previous=step.x,
                                             x=(step.flow.fill_null(0.0) + step.mass) * damping + teleport), "pr_rank")
        rank = new.select("platform", "account_id", "dangling", "x")
        if iteration % check_every and iteration < max_iter:
            continue
        change, total = runner.scalars(new.aggregate(change=(new.x - new.previous).abs().sum(), total=new.x.sum()))
        if change < tol:
            return rank.select("platform", "account_id", pagerank=rank.x / total)
    raise ConfianceError(f"PageRank did not converge to {tol} in {max_iter} iterations; raise max_iter")


def connected_components(runner: Runner, pairs_table: ir.Table, *, max_iter: int = 1000) -> ir.Table:
    """Weakly connected components by minimum-label propagation, one written table per iteration.

    Every node starts labelled with its own id and takes the smallest label among itself and its
    neighbours (edges followed both ways) until no label changes: as many iterations as the largest
    component's diameter. Returns ``platform, account_id, component`` where ``component`` is the
    smallest account id of the component (components never span platforms).

    References
    ----------
    Kang, U., Tsourakakis, C. E., Faloutsos, C. (2009). PEGASUS: a peta-scale graph mining system.
    ICDM 2009 (HCC, the label-propagation formulation of connected components).
    """
    edges = runner.materialise(pairs_table.select("platform", "src", "dst"), "cc_pairs")
    both = runner.materialise(edges.union(edges.select("platform", src=edges.dst, dst=edges.src), distinct=True),
                              "cc_links")
    nodes = _nodes(edges)
    labels = runner.materialise(nodes.select("platform", "account_id", label=nodes.account_id), "cc_labels")
    for _ in range(max_iter):
        reach = both.join(labels, [both.platform == labels.platform, both.src == labels.account_id])
        offers = reach.group_by([reach.platform, reach.dst]).aggregate(offer=reach.label.min())
        step = labels.left_join(offers, [labels.platform == offers.platform, labels.account_id == offers.dst])
        best = ibis.least(step.label, step.offer.fill_null(step.label))
        labels = runner.materialise(step.select(step.platform, step.account_id, label=best,
                                                changed=best != step.label), "cc_labels")
        (changed,) = runner.scalars(labels.aggregate(changed=labels.changed.sum().fill_null(0)))
        labels = labels.select("platform", "account_id", "label")
        if not changed:
            return labels.select("platform", "account_id", component=labels.label)
    raise ConfianceError(f"connected components did not settle in {max_iter} iterations")


def graphframes_available(spark: "SparkSession") -> bool:
    """True when the GraphFrames JAR is on this session's class path (``--packages graphframes:…``)."""
    try:
        spark.sparkContext._jvm.java.lang.Class.forName("org.graphframes.GraphFrame")
    except Exception:  # py4j wraps ClassNotFoundException
        return False
    return True


def local_graph(pairs_rows) -> "AccountGraph":
    """An :class:`~confiance.graph.build.AccountGraph` from collapsed pairs (Arrow table with
    ``platform, src, dst, weight``), node indexes in (platform, account_id) order as ``load_graph``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from confiance.graph.build import AccountGraph

    src_keys = pc.binary_join_element_wise(pairs_rows.column("platform"), pairs_rows.column("src"), "\x1f")
    dst_keys = pc.binary_join_element_wise(pairs_rows.column("platform"), pairs_rows.column("dst"), "\x1f")
    node_keys = pc.unique(pa.chunked_array([c for key in (src_keys, dst_keys) for c in key.chunks], type=pa.string()))
    node_keys = pc.take(node_keys, pc.sort_indices(node_keys))
    split = pc.split_pattern(node_keys, "\x1f", max_splits=1)
    return AccountGraph(
        platform=pc.list_element(split, 0).to_numpy(zero_copy_only=False),
        account_id=pc.list_element(split, 1).to_numpy(zero_copy_only=False),
        src=pc.index_in(src_keys, value_set=node_keys).to_numpy().astype(np.int64),
        dst=pc.index_in(dst_keys, value_set=node_keys).to_numpy().astype(np.int64),
        weight=pairs_rows.column("weight").to_numpy().astype(np.float64),
        probability=np.full(pairs_rows.num_rows, np.nan),
    )


def graphframes_components(spark: "SparkSession", lake: "Lake", pairs_frame) -> "object":
    """Weak components with GraphFrames (its checkpointed algorithm), named as
    :func:`connected_components` names them. Only when :func:`graphframes_available`; untested here
    (no JAR in CI), the Ibis version is the tested path."""
    from graphframes import GraphFrame
    from pyspark.sql import functions as F

    key = F.concat_ws("\x1f", "platform", "account_id")
    sources = pairs_frame.select("platform", F.col("src").alias("account_id"))
    targets = pairs_frame.select("platform", F.col("dst").alias("account_id"))
    vertices = sources.union(targets).distinct().withColumn("id", key)
    edges = pairs_frame.select(F.concat_ws("\x1f", "platform", "src").alias("src"),
                               F.concat_ws("\x1f", "platform", "dst").alias("dst"))
    spark.sparkContext.setCheckpointDir(lake.scratch("graphframes-checkpoints"))
    found = GraphFrame(vertices, edges).connectedComponents()
    names = found.groupBy("component").agg(F.min("account_id").alias("name"))
    return found.join(names, "component").select("platform", "account_id", F.col("name").alias("component"))
