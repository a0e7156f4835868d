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
    that Spark runs too; here it compiles to DuckDB SQL run on ``con`` (inside its transaction)."""
    from confiance.engine.tables import ibis_table
    from confiance.engine.transforms import duckdb_sql, interaction_edges

    interactions = ibis_table("interactions")
    window = {"since": since, "until": until, "platforms": platforms}
    edges = interaction_edges(interactions, run_id, **window)
    con.execute(f"CREATE OR REPLACE TABLE {EDGE_TABLE} AS {duckdb_sql(edges)}")
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
        networkit 11.3 miscounts edges when it converts a graph with two-way edges."""
        if not self.directed:
            return self
        low = np.minimum(self.src, self.dst)
        high = np.maximum(self.src, self.dst)
        keys = low * self.n + high
        unique, inverse = np.unique(keys, return_inverse=True)
        weight = np.bincount(inverse, weights=self.weight, minlength=len(unique))
        probability = np.full(len(unique), np.nan)
        has = ~np.isnan(self.probability)
        if has.any():
            np.fmax.at(probability, inverse[has], self.probability[has])
        return AccountGraph(self.platform, self.account_id, unique // self.n, unique % self.n, weight, probability,
                            directed=False)

    def to_networkit(self):
        """A networkit graph with the same node indexes (weighted; directed as this graph is).
        Call it on ``undirected()`` for an undirected graph: pairs must already be deduplicated."""
        import networkit as nk

        coo = (self.weight, (self.src.astype(np.uint64), self.dst.astype(np.uint64)))
        return nk.GraphFromCoo(coo, n=self.n, weighted=True, directed=self.directed)


def _arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pa.Table:
    return con.sql(sql, params=params or None).to_arrow_table()


def load_graph(
    con: duckdb.DuckDBPyConnection,
    *,
    kinds: Sequence[str] | None = None,
    platforms: Sequence[str] | None = None,
    include_isolates: bool = False,
) -> AccountGraph:
    """The cached edges of the chosen kinds (default all) collapsed to one weighted edge per pair."""
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
    condition = " AND ".join(where)
    # node indexing happens in Arrow, not in a SQL join: inside an analysis transaction DuckDB
    # planned the join of two fresh temp tables badly (minutes and tens of GB on 200k edges)
    pairs = _arrow(con, "SELECT platform, src, dst, sum(weight) AS weight, max(probability) AS probability "
                   f"FROM {EDGE_TABLE} WHERE {condition} GROUP BY ALL ORDER BY platform, src, dst", params)
    src_keys = pc.binary_join_element_wise(pairs.column("platform"), pairs.column("src"), "\x1f")
    dst_keys = pc.binary_join_element_wise(pairs.column("platform"), pairs.column("dst"), "\x1f")
    keys = [src_keys, dst_keys]
    if include_isolates:
        isolate_where, isolate_params = "", []
        if platforms:
            isolate_where, isolate_params = "WHERE platform IN (SELECT unnest(?))", [list(platforms)]
        accounts = _arrow(con, f"SELECT platform, account_id FROM accounts {isolate_where}", isolate_params)
        keys.append(pc.binary_join_element_wise(accounts.column("platform"), accounts.column("account_id"), "\x1f"))
    node_keys = pc.unique(pa.chunked_array([k for key in keys for k in key.chunks], type=pa.string()))
    node_keys = pc.take(node_keys, pc.sort_indices(node_keys))
    split = pc.split_pattern(node_keys, "\x1f", max_splits=1)
    nodes = pa.table({"platform": pc.list_element(split, 0), "account_id": pc.list_element(split, 1)})
    edges = pa.table({
        "src": pc.index_in(src_keys, value_set=node_keys),
        "dst": pc.index_in(dst_keys, value_set=node_keys),
        "weight": pairs.column("weight"),
        "probability": pairs.column("probability"),
    })
    return AccountGraph(
        platform=nodes.column("platform").to_numpy(zero_copy_only=False),
        account_id=nodes.column("account_id").to_numpy(zero_copy_only=False),
        src=edges.column("src").to_numpy().astype(np.int64),
        dst=edges.column("dst").to_numpy().astype(np.int64),
        weight=edges.column("weight").to_numpy(zero_copy_only=False).astype(np.float64),
        probability=edges.column("probability").to_numpy(zero_copy_only=False).astype(np.float64),
    )
