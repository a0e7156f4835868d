"""Graph analytics at scale: confiance (DuckDB + scipy + networkit) against networkx, in one run.

Builds a power-law interaction graph (default 1M accounts, 10M interactions) in a workspace store,
writing ``interactions`` directly from numpy arrays, then times:

- confiance: graph build (``build_edges`` + ``load_graph``), PageRank (scipy power iteration),
  Leiden (``networkit.community.ParallelLeiden`` on the deduplicated undirected graph), k-core;
- networkx 3.x on the same edges: graph construction, ``pagerank``, ``louvain_communities``,
  ``core_number``.

networkx needs ~1 KiB per edge and many minutes at 10M edges: above ``--networkx-max-edges`` it runs
on a uniform edge subsample, confiance is timed again on that same subsample, and the ratio printed
is the one measured on the subsample (said in the output). Goal: ratio ≥ 30×.

    python benchmarks/graph.py --nodes 200000 --edges 2000000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from confiance.graph.build import AccountGraph, build_edges, load_graph
from confiance.influence.scores import coreness, pagerank
from confiance.workspace import Workspace

KINDS = np.array(["repost", "reply", "mention", "quote"])


def power_law_edges(nodes: int, edges: int, seed: int, exponent: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Endpoints drawn with probability ∝ rank^-exponent (heavy-tailed in- and out-degrees)."""
    rng = np.random.default_rng(seed)
    p = (np.arange(1, nodes + 1, dtype=np.float64)) ** -exponent
    cum = np.cumsum(p / p.sum())
    out_rank = rng.permutation(nodes)  # out- and in-hubs are different accounts
    src = out_rank[np.minimum(np.searchsorted(cum, rng.random(edges)), nodes - 1)]
    dst = np.minimum(np.searchsorted(cum, rng.random(edges)), nodes - 1)
    return src.astype(np.int64), dst.astype(np.int64)


def write_interactions(ws: Workspace, src: np.ndarray, dst: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed + 1)
    kinds = KINDS[rng.integers(0, len(KINDS), len(src))]
    table = pa.table({
        "src": pa.array(src).cast(pa.string()),
        "dst": pa.array(dst).cast(pa.string()),
        "kind": pa.array(kinds),
        "post_id": pa.array(np.arange(len(src))).cast(pa.string()),
    })
    with ws.writer() as con:
        con.execute("SELECT 1").fetchall()  # DuckDB 2.0: finish any pending result before register()
        con.register("_bench_edges", table)
        con.execute("INSERT INTO interactions (platform, src, dst, kind, post_id) "
                    "SELECT 'graph', src, dst, kind, post_id FROM _bench_edges")
        con.unregister("_bench_edges")


def time_confiance(ws: Workspace) -> tuple[dict[str, float], AccountGraph]:
    import networkit as nk

    times: dict[str, float] = {}
    t = time.perf_counter()
    with ws.writer() as con:
        build_edges(con, "bench")
        graph = load_graph(con)
    times["build"] = time.perf_counter() - t
    t = time.perf_counter()
    pagerank(graph)
    times["pagerank"] = time.perf_counter() - t
    t = time.perf_counter()
    pairs = graph.undirected()
    g = nk.GraphFromCoo((pairs.weight, (pairs.src, pairs.dst)), n=graph.n, weighted=True, directed=False)
    leiden = nk.community.ParallelLeiden(g, randomize=True)
    leiden.run()
    times["leiden"] = time.perf_counter() - t
    t = time.perf_counter()
    coreness(graph)
    times["kcore"] = time.perf_counter() - t
    return times, graph


def time_networkx(src: np.ndarray, dst: np.ndarray, seed: int) -> dict[str, float]:
    import networkx as nx

    times: dict[str, float] = {}
    t = time.perf_counter()
    directed = nx.DiGraph()
    keys, counts = np.unique(src[src != dst] * (1 << 32) + dst[src != dst], return_counts=True)
    directed.add_weighted_edges_from(zip((keys >> 32).tolist(), (keys & 0xFFFFFFFF).tolist(), counts.tolist()))
    undirected = directed.to_undirected()
    times["build"] = time.perf_counter() - t
    t = time.perf_counter()
    nx.pagerank(directed, alpha=0.85)
    times["pagerank"] = time.perf_counter() - t
    t = time.perf_counter()
    nx.community.louvain_communities(undirected, seed=seed)
    times["louvain"] = time.perf_counter() - t
    t = time.perf_counter()
    nx.core_number(undirected)
    times["kcore"] = time.perf_counter() - t
    return times


def fmt(times: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f} s" for k, v in times.items()) + f"; total {sum(times.values()):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--networkx-max-edges", type=int, default=2_000_000,
                        help="above this, networkx runs on a uniform edge subsample of this size")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    src, dst = power_law_edges(args.nodes, args.edges, args.seed)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        ws = Workspace.init(Path(tmp) / "full")
        t = time.perf_counter()
        write_interactions(ws, src, dst, args.seed)
        print(f"wrote {args.edges:,} interactions over {args.nodes:,} accounts in {time.perf_counter() - t:.1f} s")
        full, graph = time_confiance(ws)
        print(f"confiance, full graph ({graph.n:,} nodes, {graph.m:,} weighted edges): {fmt(full)}")

        if args.edges > args.networkx_max_edges:
            keep = np.random.default_rng(args.seed + 2).random(args.edges) < args.networkx_max_edges / args.edges
            sub_src, sub_dst = src[keep], dst[keep]
            print(f"networkx would exceed memory/time at {args.edges:,} edges: both run on a uniform subsample "
                  f"of {int(keep.sum()):,} interactions ({keep.mean():.1%}); the ratio below is measured on it")
            sub_ws = Workspace.init(Path(tmp) / "sample")
            write_interactions(sub_ws, sub_src, sub_dst, args.seed)
            ours, _ = time_confiance(sub_ws)
            print(f"confiance, subsample: {fmt(ours)}")
        else:
            sub_src, sub_dst, ours = src, dst, full
        theirs = time_networkx(sub_src, sub_dst, args.seed)
        print(f"networkx: {fmt(theirs)}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    algorithms_ours = ours["pagerank"] + ours["leiden"] + ours["kcore"]
    algorithms_theirs = theirs["pagerank"] + theirs["louvain"] + theirs["kcore"]
    print(f"ratio networkx / confiance, build + PageRank + community + k-core: "
          f"{sum(theirs.values()) / sum(ours.values()):.1f}x (goal >= 30x)")
    print(f"ratio on the algorithms alone: {algorithms_theirs / algorithms_ours:.1f}x; "
          f"per step: PageRank {theirs['pagerank'] / ours['pagerank']:.0f}x, "
          f"Louvain/Leiden {theirs['louvain'] / ours['leiden']:.0f}x, k-core {theirs['kcore'] / ours['kcore']:.0f}x")
    print(f"peak memory of this process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
