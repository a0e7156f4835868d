"""Weighted directed account graphs built from ``interactions``.

``build_edges`` aggregates interactions into the ``graph_edges`` table (cached in the store, one
row per platform, src, dst and kind, with a weight and the first/last time seen); ``load_graph``
turns a selection of it into an :class:`AccountGraph`: integer-indexed arrays that scipy.sparse
and networkit consume directly.

Choices made explicit:
- self-loops (an account replying to itself) are dropped, and counted in the build summary;
- multi-edges (the same pair interacting many times) become one edge whose ``weight`` is the
  number of interactions, or the sum of their ``weight`` column when an edge file gave one;
  ``probability`` (edge files for diffusion models) keeps its maximum;
- isolates (accounts without edges) are left out unless ``include_isolates``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Sequence

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

EDGE_TABLE = "graph_edges"
KINDS = ("repost", "quote", "reply", "mention", "follow", "like")
#: ``graph_edges`` columns stored with zstd rather than DuckDB's default choice (dict_fsst on account ids):
#: at 1.8M edges zstd writes them 0.2 CPU s faster, into half the blocks (a seventh for Bluesky DIDs),
#: and reads them back as fast (``benchmarks/graph.py``).
ZSTD_COLUMNS = ("src", "dst")


def build_edges(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    platforms: Sequence[str] | None = None,
) -> dict[str, int]:
    """(Re)build ``graph_edges`` from ``interactions`` within a time window and platform filter.

    The aggregation is :func:`confiance.engine.transforms.interaction_edges`, the Ibis expression
    that Spark runs too; here it compiles to DuckDB SQL run on ``con`` (inside its transaction), into
    a table declared with the query's own column types and :data:`ZSTD_COLUMNS` compressed with zstd."""
    from confiance.engine.tables import ibis_table
    from confiance.engine.transforms import duckdb_sql, interaction_edges

    interactions = ibis_table("interactions")
    window = {"since": since, "until": until, "platforms": platforms}
    edges = duckdb_sql(interaction_edges(interactions, run_id, **window))
    columns = ", ".join(f'"{name}" {dtype}' + (" USING COMPRESSION zstd" if name in ZSTD_COLUMNS else "")
                        for name, dtype, *_ in con.execute(f"DESCRIBE {edges}").fetchall())
    con.execute(f"CREATE OR REPLACE TABLE {EDGE_TABLE} ({columns})")
    con.execute(f"INSERT INTO {EDGE_TABLE} {edges}")
    loops = interaction_edges(interactions, run_id, self_loops=True, **window)
    self_loops = con.execute(f"SELECT coalesce(sum(interactions), 0) FROM ({duckdb_sql(loops)})").fetchall()[0][0]
    edges_count = con.execute(f"SELECT count(*) FROM {EDGE_TABLE}").fetchall()[0][0]
    return {"edges": edges_count, "self_loops_dropped": int(self_loops)}


@dataclass(frozen=True)
class AccountGraph:
    """Nodes are (platform, account_id) pairs indexed 0..n-1; edges are parallel arrays."""

    platform: np.ndarray  # object, per node
    account_id: np.ndarray  # object, per node
    src: np.ndarray  # int64
    dst: np.ndarray  # int64
    weight: np.ndarray  # float64
    probability: np.ndarray  # float64, NaN where the source gave none
    directed: bool = True

    @property
    def n(self) -> int:
        return len(self.account_id)

    @property
    def m(self) -> int:
        return len(self.src)

    @cached_property
    def index(self) -> dict[tuple[str, str], int]:
        return {(p, a): i for i, (p, a) in enumerate(zip(self.platform, self.account_id))}

    def csr(self) -> sp.csr_matrix:
        """Weighted adjacency (row = source). Undirected graphs get both directions."""
        if self.directed:
            return sp.csr_matrix((self.weight, (self.src, self.dst)), shape=(self.n, self.n))
        rows = np.concatenate([self.src, self.dst])
        cols = np.concatenate([self.dst, self.src])
        return sp.csr_matrix((np.concatenate([self.weight, self.weight]), (rows, cols)), shape=(self.n, self.n))

    def undirected(self) -> "AccountGraph":
        """One edge per unordered pair, weights summed. Built from deduplicated pairs on purpose:
        networkit 11.3 miscounts edges when it converts a graph with two-way edges. Built once per
        graph: communities, their modularity and the k-cores all ask for it."""
        return self._undirected if self.directed else self

    @cached_property
    def _undirected(self) -> "AccountGraph":
        src, dst, weight, probability = _collapse_pairs(np.minimum(self.src, self.dst), np.maximum(self.src, self.dst),
                                                        self.weight, self.probability, self.n)
        return AccountGraph(self.platform, self.account_id, src, dst, weight, probability, directed=False)

    def to_networkit(self, *, weighted: bool = True):
        """A networkit graph with the same node indexes (weighted unless asked; directed as this graph is).
        Call it on ``undirected()`` for an undirected graph: pairs must already be deduplicated.

        Built from CSR arrays in one C++ call (``GraphFromCsr``); ``GraphFromCoo`` inserts edge by edge
        from a Python loop, ten times slower. The build runs on one thread so each node's neighbours
        come in a fixed order (edges by source, then input order; an undirected edge is listed at both
        ends), which seeded algorithms such as Leiden depend on: for ``undirected()`` pairs it is the
        order ``GraphFromCoo`` gave."""
        import networkit as nk

        order = np.argsort(self.src, kind="stable")
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.src, minlength=self.n), out=indptr[1:])
        csr = sp.csr_matrix((self.weight[order].astype(np.float64), self.dst[order].astype(np.int64), indptr),
                            shape=(self.n, self.n))
        threads = nk.getCurrentNumberOfThreads()
        nk.setNumberOfThreads(1)
        try:
            return nk.GraphFromCsr(csr, directed=self.directed, weighted=weighted)
        finally:
            nk.setNumberOfThreads(threads)


def _arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pa.Table:
    return con.sql(sql, params=params or None).to_arrow_table()


def _sorted_codes(values: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Each value's rank among the distinct values in byte order, and those distinct values sorted:
    one hash pass (dictionary encoding) over the strings, then a sort of the distinct ones only."""
    encoded = values.combine_chunks().dictionary_encode()
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[encoded.indices.to_numpy(zero_copy_only=False)], pc.take(encoded.dictionary, order)


def load_graph(
    con: duckdb.DuckDBPyConnection,
    *,
    kinds: Sequence[str] | None = None,
    platforms: Sequence[str] | None = None,
    include_isolates: bool = False,
) -> AccountGraph:
    """The cached edges of the chosen kinds (default all) collapsed to one weighted edge per pair.

    Nodes are indexed in (platform, account_id) byte order and edges come sorted by (src, dst)
    index. DuckDB only filters and streams the cached rows, each platform as its rank among the few
    platforms of the selection (looked up in a list, not hashed per row); the string ids are encoded
    once into integers (one dictionary encoding in Arrow) and the per-kind rows of a pair are collapsed
    with integer keys in numpy: a string GROUP BY with ORDER BY, or a SQL join against a node table,
    cost several times more (and, inside an analysis transaction, DuckDB planned that join badly).
    """
    where, params = ["true"], []
    if kinds:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown interaction kinds: {sorted(unknown)}; known: {', '.join(KINDS)}")
        where.append("kind IN (SELECT unnest(?))")
        params.append(list(kinds))
    if platforms:
        where.append("platform IN (SELECT unnest(?))")
        params.append(list(platforms))
    edge_where = " AND ".join(where)
    isolate_where, isolate_params = "", []
    if platforms:
        isolate_where, isolate_params = "WHERE platform IN (SELECT unnest(?))", [list(platforms)]
    present, present_params = f"SELECT DISTINCT platform FROM {EDGE_TABLE} WHERE {edge_where}", list(params)
    if include_isolates:
        present += f" UNION SELECT DISTINCT platform FROM accounts {isolate_where}"
        present_params += isolate_params
    # Python's str order is UTF-8 byte order, as DuckDB's (and Arrow's) string comparison
    platform_names = sorted(p for (p,) in con.execute(present, present_params).fetchall())
    rows = _arrow(con, f"SELECT (list_position(?, platform) - 1)::INTEGER AS platform, src, dst, weight, probability "
                       f"FROM {EDGE_TABLE} WHERE {edge_where}", [platform_names, *params])
    m = rows.num_rows
    node_ids = [rows.column("src"), rows.column("dst")]
    if include_isolates:
        accounts = _arrow(con, "SELECT (list_position(?, platform) - 1)::INTEGER AS platform, account_id "
                               f"FROM accounts {isolate_where}", [platform_names, *isolate_params])
        node_ids.append(accounts.column("account_id"))
    id_rank, id_names = _sorted_codes(pa.chunked_array([c for column in node_ids for c in column.chunks],
                                                       type=pa.string()))
    if len(platform_names) <= 1:  # one platform: the id ranks already are the node indexes
        node_index, node_platform, node_id = id_rank, np.zeros(len(id_names), dtype=np.int64), np.arange(len(id_names))
    else:
        edge_platform = rows.column("platform").to_numpy().astype(np.int64)
        isolate_platform = [accounts.column("platform").to_numpy().astype(np.int64)] if include_isolates else []
        # an endpoint's platform is its edge's; isolates (after the 2m endpoints) bring their own
        endpoint_platform = np.concatenate([edge_platform, edge_platform, *isolate_platform])
        node_keys, node_index = np.unique(endpoint_platform * len(id_names) + id_rank, return_inverse=True)
        node_platform, node_id = node_keys // len(id_names), node_keys % len(id_names)
    src, dst, weight, probability = _collapse_pairs(
        node_index[:m], node_index[m:2 * m], rows.column("weight").to_numpy(zero_copy_only=False),
        rows.column("probability").to_numpy(zero_copy_only=False), len(node_id))
    return AccountGraph(
        platform=np.array(platform_names, dtype=object)[node_platform],
        account_id=pc.take(id_names, node_id).to_numpy(zero_copy_only=False),
        src=src, dst=dst, weight=weight, probability=probability,
    )


def _collapse_pairs(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, probability: np.ndarray,
                    n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One edge per (src, dst) pair, sorted by pair: weights summed, the largest probability kept
    (NaN where none was given, as SQL's max ignores NULL).

    scipy's CSR conversion sorts and sums: a counting sort by source, then each source's few targets,
    a quarter of the time of an argsort of the pair keys. Explicit zero weights stay edges."""
    if len(src) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    adjacency = sp.csr_matrix((weight.astype(np.float64), (src, dst)), shape=(n, n))
    adjacency.sum_duplicates()
    pair_src = np.repeat(np.arange(n, dtype=np.int64), np.diff(adjacency.indptr))
    pair_dst = adjacency.indices.astype(np.int64)
    pair_probability = np.full(len(pair_dst), np.nan)
    given = ~np.isnan(probability)
    if given.any():
        pair = np.searchsorted(pair_src * n + pair_dst, src[given].astype(np.int64) * n + dst[given])
        np.fmax.at(pair_probability, pair, probability[given].astype(np.float64))
    return pair_src, pair_dst, adjacency.data, pair_probability
