"""Graph analytics at scale: confiance (DuckDB + scipy + networkit) against networkx, in one run.

Builds a power-law interaction graph (default 1M accounts, 10M interactions) in a workspace store,
writing ``interactions`` directly from numpy arrays, then times:

- confiance, the calls the analysis steps make: graph build (``build_edges`` + ``load_graph``),
  PageRank (scipy power iteration), communities (``detect_communities``: networkit's Leiden, best
  of ``restarts_for(edges)`` single-threaded runs, as the step runs it: 4 up to 250k edges, one above
  500k; connected split), k-core (networkit);
- networkx 3.x on the same edges: graph construction, ``pagerank``, ``louvain_communities``,
  ``core_number``.

Each phase is timed in wall-clock and in CPU time (all threads of the process); on a shared machine
the CPU time is the fair comparison, and both ratios are printed with a per-phase table.

networkx needs ~1 KiB per edge and many minutes at 10M edges: above ``--networkx-max-edges`` it runs
on a uniform edge subsample, confiance is timed again on that same subsample, and the ratio printed
is the one measured on the subsample (said in the output). Goal: ratio ≥ 30×.

    nice -n 10 python benchmarks/graph.py --nodes 200000 --edges 2000000

(the size to use on a machine with under ~8 GiB to spare: networkx at 2M edges peaks at ~3 GiB)

Libraries are imported before any timing, on both sides: networkx always was; networkit's import
(0.45 CPU s warm, 1.2 s cold, and it imports networkx too) used to be charged to our communities
phase and Ibis/sqlglot's (~0.3 s) to our build, until 2026-11-30; so was, until session 11, the
import that Ibis's first compile makes of every SQL dialect's compiler (``ibis.backends.sql.compilers``,
0.25 CPU s: cProfile of a first ``duckdb_sql`` call, 0.005 s on later calls).

Measured at the issue's size, 1M nodes / 10M interactions, networkx on the whole graph (no subsample):
- 2026-11-30, session 12, ``nice -n 10 python benchmarks/graph.py --networkx-max-edges 20000000`` (load 1-9: helpers
  ran tests beside it), 989,459 nodes and 8,644,818 weighted edges: ours build 9.64 / 13.90 CPU s, PageRank 1.51,
  communities 18.00 (one Leiden run), k-core 1.38, total 30.52 s wall / 34.77 CPU s; networkx build 85.91, PageRank
  57.92, Louvain 450.01, core_number 1212.45 CPU s (2040.51 wall), total 1806.28 CPU s / 2655.52 s wall:
  **51.9x CPU, 87.0x wall (goal 30x: reached)**. Modularity 0.1550 (ours) vs 0.1485 (Louvain). networkx peaked at
  10.5 GiB (process maximum RSS 11.0 GB); 46 min 28 s wall in all.

Measured at 200k nodes / 2M interactions (networkx fits in ~3 GiB), CPU seconds ours / networkx:
- 2026-11-30, session 12, idle machine (load 0.2-0.9): build 1.50 wall / 2.33 CPU, PageRank 0.20 / 6.87, communities
  2.17 / 54.72, k-core 0.16 / 34.31; total 4.86 / 108.10 CPU s: 22.3x CPU, 26.8x wall. At this size networkx's
  k-core and Louvain have not yet reached the growth that separates the two at 10M edges (k-core 211x here, 880x
  there).
- 2026-11-30, session 11, shared machine (2 cores, load 8.5-12.8 during the run; ``nice -n 10``): build
  2.45 / 14.40, PageRank 0.18 / 8.95, communities 2.21 / 62.64 (one Leiden run), k-core 0.21 / 38.68; total
  5.05 / 124.67: 24.7x CPU, 20.8x wall (goal 30x, not reached). Modularity 0.1603 (ours) vs 0.1538
  (Louvain). The run before it (load 9.0-13.1): 5.64 / 146.43, 26.0x CPU, 23.4x wall; the previous code
  between them (load 5.1-6.7): 5.35 / 127.90 (build 2.67), 23.9x CPU, 19.5x wall. At such loads every
  phase costs more CPU than idle (networkx 125-146 s against 110 s) and ours varies by 10%, more than
  any single change below saves. Our phases alone, old and new code interleaved, five runs each, minimum
  (load 10-13, the Ibis import out of both): 5.55 -> 5.02 CPU s (``build_edges`` 1.92 -> 1.75,
  ``load_graph`` 0.83 -> 0.75, communities 2.29 -> 2.10, k-core 0.25 -> 0.19); at 50k / 500k: 1.61 -> 1.51.
  The outputs (``graph_edges`` rows and types, the loaded arrays, PageRank, cores, communities with one
  and four runs and CPM) are identical on three random multi-platform graphs. Applied to the idle run
  (4.98 / 109.62), the import (0.25) and these savings (~0.4 idle) would give ~4.3 s, about 25x: 30x needs
  ours at 3.65 s, of which one Leiden run takes 1.3 s and the build's SQL ~1.4 s.
- 2026-11-30, idle machine (load 1.1; ``nice -n 10``): build 2.52 / 12.23, PageRank 0.17 / 7.33, communities
  2.07 / 56.54, k-core 0.22 / 33.52; total 4.98 / 109.62: 22.0x CPU, 26.5x wall (goal 30x, not reached).
- 2026-11-30, shared machine (2 cores, load 2.0-5.8 during the run; ``nice -n 10``): build 2.72 / 13.95,
  PageRank 0.17 / 8.40, communities 2.14 / 58.90 (one Leiden run), k-core 0.27 / 35.76; total
  5.30 / 117.01: 22.1x CPU, 22.7x wall (goal 30x). Modularity 0.1603 (ours) vs 0.1538 (Louvain).
  An earlier run that day (load 2.2-5.5, before the CSR collapse) gave 4.78 / 114.15 CPU s, 23.9x:
  at this load our phases vary by ±15% from run to run, more than the last changes save (``load_graph``
  0.85 -> 0.5 CPU s, measured apart as the minimum of five interleaved runs). Against the idle run's
  networkx (95.23 s) ours would be 18-20x.
- idle machine (load 0.1), before the imports were taken out: build 2.99 / 11.03, PageRank 0.16 / 6.36,
  communities 2.15 / 46.53, k-core 0.27 / 31.31; total 5.56 / 95.23 CPU s: 17.1x CPU, 19.1x wall.
- loaded runs (load 4-14) before that: 23.2x and 20.4x CPU; before the build and conversion work and
  the restart budget: build 4.25, communities 9.54 (four runs), k-core 0.99; total 9.6x CPU.

Where our build goes (2M interactions, CPU s): ``build_edges`` ~1.7, of which the GROUP BY on four
VARCHAR keys 0.35 alone, 0.8 into a temporary table and 1.6 into the persistent ``graph_edges``: the
string columns' materialisation and compression (src 0.33, dst 0.36, run_id, platform and kind 0.12
each). ``perf`` shows DuckDB's default string compression (dict_fsst) spending a third of that write in
its compression loop: ``src`` and ``dst`` are now declared ``USING COMPRESSION zstd`` (``ZSTD_COLUMNS``),
0.17-0.28 s less (minimum of four interleaved runs: 1.48 against 1.67) in half the blocks (a seventh
for Bluesky-like DIDs, whose reading is as fast); zstd on run_id, platform and kind as well gains
nothing more and reads them slower, ``uncompressed`` is no faster there (0.09 against 0.11 s a column:
the cost is appending the strings) and forcing it on every column saves 0.3 s for a 3.7x larger file;
weight and interactions uncompressed: no faster. DuckDB on one thread spends 9% less CPU on the write
(1.57 against 1.72 s) but the store's configuration is locked and shared by every command. ``load_graph`` 0.5 (was 0.85: platforms are no
longer hashed per row, and scipy's CSR conversion collapses the pairs instead of an argsort). An integer layout (a ``graph_nodes`` table and integer edge endpoints) costs as
much to write (1.71: nodes 0.40, then the aggregate joined to them) and would only speed ``load_graph``
(~0.3 s) while every reader of ``graph_edges`` (and privacy's per-table erasure) would have to change, so
``graph_edges`` keeps its strings. Communities: Leiden's three passes ~1.3, ``undirected()`` 0.13,
``to_networkit`` 0.16 (the 0.8-1.0 s once seen there was networkit's import); fewer passes lose
modularity (``LEIDEN_ITERATIONS``).

Session 11 (load 4-15 throughout, so minima of repeated runs): ``AccountGraph.undirected()`` is built
once per graph (the communities and the k-cores both asked for it, polarization many times: 0.05-0.1
s at this size), and a single Leiden run is no longer scored (0.03-0.06 s). One Leiden run is now
about half of our total (1.3 s idle, 1.9-2.1 s at load 9-10), networkit's ``GraphFromCsr`` 0.15 s
(weighted) and 0.10 s (k-core), both inside networkit. Tried and not kept:
- networkit's PLM instead of ParallelLeiden (3 seeds, load ~9): with refinement 3.46 against 2.08 s,
  modularity 0.1587 against 0.1603; without it 1.88-2.15 s but 0.1542;
- nodes relabelled hubs first before Leiden: Leiden 10-15% faster (1.58-1.67 against 1.86 s) at the same
  modularity, but relabelling and regrouping 1.7M edges costs most of that back, and every partition
  changes (the labelled graphs' figures with it);
- ``load_graph`` encoding ids from DuckDB's ``hash()`` (uint64 dictionary encoding, collisions checked
  against the strings): 0.42 against 0.49 s, not worth a second path; a DuckDB join on dense ranks 0.63;
- PageRank's transposed matrix built directly from (dst, src): no faster than the CSR transpose.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import ibis.backends.sql.compilers  # noqa: F401  (Ibis's first compile imports every dialect's compiler)
import networkit  # noqa: F401  (libraries are imported before any timing, on both sides)
import networkx as nx
import numpy as np
import pyarrow as pa

import confiance.engine.transforms  # noqa: F401  (Ibis and sqlglot, which build_edges compiles with)
from confiance.graph.build import AccountGraph, build_edges, load_graph
from confiance.graph.communities import (LEIDEN_RESTARTS, detect_communities, partition_modularity, relabel_by_size,
                                         restarts_for)
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


class Timer:
    """Wall-clock and CPU time (all threads of this process) of each phase.

    The CPU time is the fair measure on a shared machine: a process that waits for a core is not
    charged for it, and both sides run in this one process, one after the other.
    """

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str):
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall[name] = time.perf_counter() - wall
        self.cpu[name] = time.process_time() - cpu


def time_confiance(ws: Workspace) -> tuple[Timer, AccountGraph, np.ndarray]:
    """The product's own calls: the ``graph`` step's build, the ``influence`` step's PageRank and
    k-core, the ``communities`` step's Leiden (best of ``restarts_for`` runs, connected split).
    Returns the timings, the graph and its communities."""
    timer = Timer()
    with timer.phase("build"):
        with ws.writer() as con:
            build_edges(con, "bench")
            graph = load_graph(con)
    with timer.phase("pagerank"):
        pagerank(graph)
    with timer.phase("communities"):
        labels = detect_communities(graph)
    with timer.phase("kcore"):
        coreness(graph)
    restarts = restarts_for(graph.undirected().m)
    other = 1 if restarts > 1 else LEIDEN_RESTARTS
    start = time.process_time()
    detect_communities(graph, restarts=other)
    print(f"(for reference, not in the ratio: the communities step ran {restarts} Leiden run(s) on this graph; "
          f"with {other}: {time.process_time() - start:.2f} s CPU)")
    return timer, graph, labels


def time_networkx(src: np.ndarray, dst: np.ndarray, seed: int) -> tuple[Timer, list[set[int]]]:
    """networkx's calls on the same interactions; returns the timings and Louvain's communities."""
    timer = Timer()
    with timer.phase("build"):
        directed = nx.DiGraph()
        keys, counts = np.unique(src[src != dst] * (1 << 32) + dst[src != dst], return_counts=True)
        directed.add_weighted_edges_from(zip((keys >> 32).tolist(), (keys & 0xFFFFFFFF).tolist(), counts.tolist()))
        undirected = directed.to_undirected()
    with timer.phase("pagerank"):
        nx.pagerank(directed, alpha=0.85)
    with timer.phase("communities"):
        louvain = nx.community.louvain_communities(undirected, seed=seed)
    with timer.phase("kcore"):
        nx.core_number(undirected)
    return timer, louvain


def modularities(graph: AccountGraph, ours: np.ndarray, louvain: list[set[int]]) -> tuple[float, float]:
    """Newman's modularity of both partitions on confiance's undirected graph (reciprocal weights summed;
    networkx's ``to_undirected`` keeps one of the two, so Louvain optimised a slightly different graph)."""
    index = {int(account): i for i, account in enumerate(graph.account_id)}
    theirs = np.arange(graph.n)  # accounts networkx never saw stay singletons
    for label, members in enumerate(louvain):
        theirs[[index[m] for m in members]] = graph.n + label
    return partition_modularity(graph, ours), partition_modularity(graph, relabel_by_size(theirs))


def fmt(timer: Timer) -> str:
    return (", ".join(f"{k} {v:.2f} s" for k, v in timer.wall.items()) + f"; total {sum(timer.wall.values()):.2f} s wall, "
            f"{sum(timer.cpu.values()):.2f} s CPU")


def table(ours: Timer, theirs: Timer) -> str:
    """Per phase: wall and CPU seconds of both, and the ratios networkx / confiance."""
    lines = [f"{'phase':<12} {'ours wall':>10} {'ours CPU':>10} {'nx wall':>10} {'nx CPU':>10} {'ratio wall':>11} {'ratio CPU':>10}"]
    for name in (*ours.wall, "total"):
        ow, oc = (sum(ours.wall.values()), sum(ours.cpu.values())) if name == "total" else (ours.wall[name], ours.cpu[name])
        tw, tc = (sum(theirs.wall.values()), sum(theirs.cpu.values())) if name == "total" else (theirs.wall[name], theirs.cpu[name])
        lines.append(f"{name:<12} {ow:>10.2f} {oc:>10.2f} {tw:>10.2f} {tc:>10.2f} {tw / ow:>10.1f}x {tc / oc:>9.1f}x")
    return "\n".join(lines)


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
        full, graph, labels = time_confiance(ws)
        print(f"confiance, full graph ({graph.n:,} nodes, {graph.m:,} weighted edges): {fmt(full)}")

        if args.edges > args.networkx_max_edges:
            keep = np.random.default_rng(args.seed + 2).random(args.edges) < args.networkx_max_edges / args.edges
            sub_src, sub_dst = src[keep], dst[keep]
            print(f"networkx would exceed memory/time at {args.edges:,} edges: both run on a uniform subsample "
                  f"of {int(keep.sum()):,} interactions ({keep.mean():.1%}); the ratio below is measured on it")
            sub_ws = Workspace.init(Path(tmp) / "sample")
            write_interactions(sub_ws, sub_src, sub_dst, args.seed)
            ours, graph, labels = time_confiance(sub_ws)
            print(f"confiance, subsample: {fmt(ours)}")
        else:
            sub_src, sub_dst, ours = src, dst, full
        theirs, louvain = time_networkx(sub_src, sub_dst, args.seed)
        print(f"networkx: {fmt(theirs)}")
    leiden_q, louvain_q = modularities(graph, labels, louvain)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("networkx: Louvain (louvain_communities); confiance: Leiden, the communities step's call; "
          f"modularity {leiden_q:.4f} (ours) vs {louvain_q:.4f} (Louvain)")
    print(table(ours, theirs))
    print(f"ratio networkx / confiance, build + PageRank + communities + k-core: "
          f"{sum(theirs.cpu.values()) / sum(ours.cpu.values()):.1f}x in CPU time, "
          f"{sum(theirs.wall.values()) / sum(ours.wall.values()):.1f}x in wall-clock time (goal >= 30x)")
    print(f"peak memory of this process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
