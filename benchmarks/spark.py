"""Both engines on one simulated world: wall time of ingest and graph metrics, and how the Spark plan scales.

1. Engines. The world (``--posts``, default 1,000,000; ``--accounts`` default posts / 15) goes
   through the DuckDB engine (``ingest_paths`` into the store, ``build_edges``, PageRank and
   components on scipy) and through the Spark engine (``ingest_paths_spark`` into the Parquet lake,
   ``interaction_edges`` on Spark, then the same scipy step on the driver since the graph fits).
   Local Spark on this 2-core machine is slower than DuckDB, and honestly so: Spark pays for a JVM,
   Python workers, Arrow serialisation between them, a scheduler and Parquet writes between steps,
   costs that buy nothing on one small node and everything on a cluster that no single node could
   replace.
2. Partition sweep. The Spark plan written once in Ibis (``interaction_edges`` + ``degree`` +
   ``account_metrics`` over the lake) runs with its input and shuffles cut in P partitions, P in
   ``--partitions`` (default 1, 2, 4, 8, 16). Model used for the estimate (Amdahl's law with a per-task
   cost)::

       T(P, C) = a + b / min(P, C) + c * P

   ``a`` is the serial part (planning, scheduling, the driver), ``b`` the parallelisable work,
   spread over at most C concurrent tasks (C = cores: 2 here), ``c`` the cost of one more task
   (launch, a small file, a shuffle block). The three constants are fitted by least squares on the
   sweep (P = 1 separates ``b`` from ``a``); the script prints them, the fit's residuals, and the
   predicted time and speed-up for clusters of 8, 32 and 128 cores with P = 2 C partitions. It is an
   extrapolation from one node's constants: network shuffles and stragglers make real clusters do
   worse, bigger data (larger ``b``) makes them do better.

   ``--partitions ""`` skips the sweep. On this shared 2-core machine the 1M run skips it (five more
   passes over the lake do not fit the session's time box) and the sweep is measured at 100k posts:
   the fit's ``b`` grows with the data, ``a`` and ``c`` do not, so the 100k constants understate
   what a cluster gains at 1M.

The Spark ingest prints the seconds of each of its phases (driver planning and chunking, the one
``mapInArrow`` job, the run-wide dedup and parent links, each table's write).

    PYTHONPATH=src SPARK_LOCAL_IP=127.0.0.1 nice -n 10 python benchmarks/spark.py --posts 100000
    PYTHONPATH=src SPARK_LOCAL_IP=127.0.0.1 nice -n 10 python benchmarks/spark.py --partitions ""   # 1M posts

Needs Java 17 and the ``spark`` extra (pyspark 4.0.x, pinned with Ibis 12).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def _timed(label: str, fn):
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    print(f"  {label:<38} {seconds:8.1f} s", flush=True)
    return value, seconds


class _Phases(dict):
    """The Spark ingest's phase timings, printed as each phase ends (a long run shows its progress)."""

    def __setitem__(self, phase: str, seconds: float) -> None:
        super().__setitem__(phase, seconds)
        print(f"    {phase:<46} {seconds:8.1f} s", flush=True)


def duckdb_engine(world: Path, root: Path) -> dict[str, float]:
    from confiance import store
    from confiance.engine.graph_metrics import duckdb_graph_metrics
    from confiance.graph.build import build_edges
    from confiance.ingest import ingest_paths
    from confiance.workspace import Workspace

    ws = Workspace.init(root / "duckdb")
    print("DuckDB engine", flush=True)
    _, ingest = _timed("ingest", lambda: ingest_paths(ws, [world / p for p in ("x", "bluesky", "mastodon")]))

    def graph():
        with ws.writer() as con:
            with store.transaction(con):
                build_edges(con, "bench")
            return duckdb_graph_metrics(con)

    _, metrics = _timed("graph_edges + degree/PageRank/components", graph)
    return {"ingest": ingest, "graph": metrics}


def spark_engine(world: Path, root: Path, spark) -> tuple[dict[str, float], object]:
    from confiance.engine.graph_metrics import spark_graph_metrics
    from confiance.engine.spark import Lake
    from confiance.engine.spark_ingest import ingest_paths_spark
    from confiance.workspace import Workspace

    ws = Workspace.init(root / "spark")
    lake = Lake(spark, str(ws.root / "lake"))
    print(f"Spark engine ({spark.sparkContext.master})", flush=True)
    _, ingest = _timed("ingest", lambda: ingest_paths_spark(
        ws, [world / p for p in ("x", "bluesky", "mastodon")], spark, lake, timings=_Phases()))
    _, metrics = _timed("graph_edges + degree/PageRank/components",
                        lambda: spark_graph_metrics(spark, lake, "bench"))
    return {"ingest": ingest, "graph": metrics}, lake


def sweep(spark, lake, partitions: list[int]) -> list[tuple[int, float]]:
    from confiance.engine import graph_algorithms as algorithms
    from confiance.engine.spark import ibis_backend
    from confiance.engine.transforms import account_metrics, interaction_edges

    backend = ibis_backend(spark)
    timings = []
    print("Partition sweep (interaction_edges + degree + account_metrics, written to Parquet)", flush=True)
    for p in partitions:
        spark.conf.set("spark.sql.shuffle.partitions", str(p))
        spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
        lake.read("interactions").repartition(p).createOrReplaceTempView("bench_interactions")
        lake.read("posts").repartition(p).createOrReplaceTempView("bench_posts")
        interactions, posts = backend.table("bench_interactions"), backend.table("bench_posts")
        edges = interaction_edges(interactions, "sweep")
        plan = algorithms.degree(algorithms.pairs(edges))
        metrics = account_metrics(posts, interactions)
        target = lake.scratch(f"sweep-{p}")

        def run():
            spark.sql(backend.compile(plan)).write.parquet(target + "/degree")
            spark.sql(backend.compile(metrics)).write.parquet(target + "/metrics")

        _, seconds = _timed(f"P = {p}", run)
        lake.remove(target)
        timings.append((p, seconds))
    return timings


def fit(timings: list[tuple[int, float]], cores: int) -> np.ndarray:
    p = np.array([t[0] for t in timings], dtype=float)
    seconds = np.array([t[1] for t in timings])
    design = np.column_stack([np.ones_like(p), 1.0 / np.minimum(p, cores), p])
    constants, *_ = np.linalg.lstsq(design, seconds, rcond=None)
    return np.clip(constants, 0.0, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=None)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", default="1,2,4,8,16")
    parser.add_argument("--driver-memory", default="3g")
    parser.add_argument("--skip-duckdb", action="store_true",
                        help="time the Spark engine and the sweep only (the DuckDB figures come from another run)")
    parser.add_argument("--world", type=Path, default=None,
                        help="simulate the world into this folder, or reuse the one there (same seed and sizes)")
    args = parser.parse_args()
    from confiance.engine.spark import session
    from confiance.simulate import simulate_world

    cores = int(args.master[len("local["):-1]) if args.master.startswith("local[") else 0
    with tempfile.TemporaryDirectory(prefix="confiance-spark-bench-") as tmp:
        root = Path(tmp)
        accounts = args.accounts or max(300, args.posts // 15)
        world = args.world or root / "world"
        if (world / "truth.json").exists():
            print(f"reusing the world simulated in {world}", flush=True)
        else:
            _timed(f"simulate {args.posts} posts, {accounts} accounts",
                   lambda: simulate_world(world, seed=args.seed, accounts=accounts, posts=args.posts))
        duck = None if args.skip_duckdb else duckdb_engine(world, root)
        spark = session(args.master, config={"spark.driver.memory": args.driver_memory})
        try:
            sparks, lake = spark_engine(world, root, spark)
            if duck:
                print(f"\nwall time, Spark / DuckDB: ingest {sparks['ingest'] / duck['ingest']:.1f}x, "
                      f"graph {sparks['graph'] / duck['graph']:.1f}x (local Spark on {cores or '?'} cores is slower: "
                      "JVM, Python workers, Arrow hops and Parquet writes between steps buy nothing on one small "
                      "node)\n")
            timings = sweep(spark, lake, [int(x) for x in args.partitions.split(",") if x.strip()])
        finally:
            spark.stop()
    if cores and len(timings) >= 3:
        a, b, c = fit(timings, cores)
        predicted = [a + b / min(p, cores) + c * p for p, _ in timings]
        print(f"\nT(P, C) = a + b / min(P, C) + c * P fitted on C = {cores}: a = {a:.2f} s (serial), "
              f"b = {b:.2f} s (parallel work), c = {c:.3f} s per partition")
        print("  residuals: " + ", ".join(f"P={p}: {s - q:+.2f} s" for (p, s), q in zip(timings, predicted)))
        base = a + b / 1 + c * 1
        for cluster in (8, 32, 128):
            p = 2 * cluster
            t = a + b / cluster + c * p
            print(f"  estimate on {cluster:>3} cores, P = {p:>3}: {t:7.1f} s, speed-up {base / t:4.1f}x over one task")


if __name__ == "__main__":
    main()
