"""What Leiden restarts buy as graphs grow: the measurement behind ``communities.restarts_for``.

For each graph, ``RUNS`` single seeded runs of the ``communities`` step's Leiden (``detect_communities``
with ``restarts=1``, seeds 0..RUNS-1); the seeds are then grouped by four, as four restarts would run
them, and the best of each group (highest modularity) is compared with the single runs:

- ``Q sd``: the across-seed standard deviation of modularity; ``gain Q``: mean best-of-4 minus mean
  single-run modularity (what the restarts add to the objective);
- ``NMI 1`` / ``NMI 4``: mean NMI against the known communities of single runs and of best-of-4
  (labelled graphs, the simulated world's planted communities, LFR benchmark graphs).

Graphs: the six labelled graphs of the acceptance tests, the simulated world (seed 3), LFR graphs
(Lancichinetti, Fortunato & Radicchi 2008; networkit's generator, mixing 0.5) from 1k to 100k nodes,
and the power-law graph of ``benchmarks/graph.py`` (no planted communities).

    nice -n 10 python benchmarks/leiden_restarts.py            # ~3 min, ~1.5 GiB
    nice -n 10 python benchmarks/leiden_restarts.py --quick    # the small graphs only
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.graph import power_law_edges  # noqa: E402
from confiance.graph.build import AccountGraph, build_edges, load_graph  # noqa: E402
from confiance.graph.communities import detect_communities, partition_modularity  # noqa: E402
from confiance.workspace import Workspace  # noqa: E402
from tests.conftest import SIM_WORLD, ingest  # noqa: E402
from tests.graph.test_communities import LABELLED, load_labelled  # noqa: E402

RUNS = 12
GROUP = 4


def labelled_graphs(tmp: Path):
    for name in LABELLED:
        yield name, *load_labelled(name, tmp / name)


def simulated_world(tmp: Path):
    import json

    from confiance.simulate import simulate_world

    simulate_world(tmp / "world", **SIM_WORLD)
    ws = Workspace.init(tmp / "sim")
    ingest(ws, tmp / "world" / "x", tmp / "world" / "bluesky", tmp / "world" / "mastodon")
    truth = json.loads((tmp / "world" / "truth.json").read_text())
    with ws.writer() as con:
        build_edges(con, "study")
        graph = load_graph(con, include_isolates=True)
    # no edge joins two platforms: the truth is (platform, planted community), as in tests/graph
    planted = {(a["platform"], a["account_id"]): f'{a["platform"]}/{a["community"]}' for a in truth["accounts"]}
    yield "simulated world", graph, np.array([planted[key] for key in zip(graph.platform, graph.account_id)])


def lfr_graph(n: int, seed: int):
    import networkit as nk

    nk.engineering.setSeed(seed, False)
    generator = nk.generators.LFRGenerator(n)
    generator.generatePowerlawDegreeSequence(20, min(50, n // 10), -2)
    generator.generatePowerlawCommunitySizeSequence(20, min(1000, n // 5), -1)
    generator.setMu(0.5)
    generator.run()
    g = generator.getGraph()
    edges = np.array([(u, v) for u, v in g.iterEdges()], dtype=np.int64)
    labels = np.asarray(generator.getPartition().getVector())
    ids = np.array([str(i) for i in range(n)], dtype=object)
    graph = AccountGraph(np.full(n, "lfr", dtype=object), ids, edges[:, 0], edges[:, 1], np.ones(len(edges)),
                         np.full(len(edges), np.nan), directed=False)
    return f"LFR {n:,}", graph, labels


def power_law_graph(nodes: int, edges: int):
    src, dst = power_law_edges(nodes, edges, 1)
    keep = src != dst
    keys = np.unique(src[keep] * nodes + dst[keep])
    ids = np.array([str(i) for i in range(nodes)], dtype=object)
    graph = AccountGraph(np.full(nodes, "graph", dtype=object), ids, keys // nodes, keys % nodes,
                         np.ones(len(keys)), np.full(len(keys), np.nan))
    return f"power law {nodes:,}", graph, None


def study(name: str, graph: AccountGraph, labels) -> str:
    undirected = graph.undirected()
    runs = [detect_communities(undirected, seed=s, restarts=1) for s in range(RUNS)]
    quality = np.array([partition_modularity(undirected, r) for r in runs])
    groups = quality.reshape(-1, GROUP)
    best = groups.argmax(axis=1) + np.arange(0, RUNS, GROUP)
    line = (f"{name:<18} {undirected.n:>9,} {undirected.m:>11,} {quality.mean():>8.4f} {quality.std():>8.5f} "
            f"{groups.max(axis=1).mean() - quality.mean():>8.5f}")
    if labels is not None:
        nmi = np.array([normalized_mutual_info_score(labels, r) for r in runs])
        line += f" {nmi.mean():>7.3f} {nmi[best].mean():>7.3f}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="labelled graphs, the simulated world, LFR 1k and 10k")
    args = parser.parse_args()
    print(f"{RUNS} single Leiden runs per graph; best of {GROUP}: the run of highest modularity in each "
          f"group of {GROUP} seeds")
    print(f"{'graph':<18} {'nodes':>9} {'edges':>11} {'Q mean':>8} {'Q sd':>8} {'gain Q':>8} {'NMI 1':>7} {'NMI 4':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, graph, labels in labelled_graphs(Path(tmp)):
            print(study(name, graph, labels), flush=True)
        for name, graph, labels in simulated_world(Path(tmp)):
            print(study(name, graph, labels), flush=True)
    for n in (1_000, 10_000) if args.quick else (1_000, 10_000, 100_000):
        print(study(*lfr_graph(n, seed=1)), flush=True)
    if not args.quick:
        print(study(*power_law_graph(200_000, 2_000_000)), flush=True)


if __name__ == "__main__":
    main()
