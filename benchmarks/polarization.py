"""Random-walk controversy on Garimella et al.'s 19 labelled retweet graphs.

Each `retweet_graph_<topic>_threshold_largest_CC.txt` (headerless `source,target,weight`) is ingested
through the normal ingest (format `edges-txt`, kind `repost`) into a fresh workspace; the graph is
built (`build_edges`, `load_graph`), split into two sides (`two_sides`, spectral bisection) and
measured: RWC (k absorbing vertices per side), modularity and E-I index of the split. Prints the
per-topic table (topic, label, nodes, edges, RWC, modularity, E-I, seconds) and the AUC of RWC for
separating the controversial topics (labels from the paper, SOURCE.md) from the others.

With `--reference-sides`, RWC is also computed on the authors' own METIS sides
(`communities_retweet_networks/community{1,2}_<topic>.txt`) for comparison.

    python benchmarks/polarization.py [--k 10] [--reference-sides] [--topics a,b]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from confiance.graph.build import build_edges, load_graph
from confiance.graph.polarization import RWC_K, ei_index, random_walk_controversy, split_modularity, two_sides
from confiance.ingest import ingest_paths
from confiance.workspace import Workspace

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "garimella-controversy"
CONTROVERSIAL = ("beefban", "nemtsov", "netanyahu", "russia_march", "indiasdaughter", "baltimore", "indiana",
                 "ukraine", "gunsense", "leadersdebate")
NON_CONTROVERSIAL = ("sxsw", "onedirection", "germanwings", "mothersday", "nepal", "ultralive", "ff",
                     "jurassicworld", "wcw", "nationalkissingday")


def topics() -> list[tuple[str, Path, bool]]:
    """(topic, retweet graph file, controversial) for every labelled topic present."""
    found = []
    for path in sorted((DATA / "retweet_networks").glob("retweet_graph_*_threshold_largest_CC.txt")):
        topic = path.name[len("retweet_graph_"):-len("_threshold_largest_CC.txt")]
        if topic in CONTROVERSIAL or topic in NON_CONTROVERSIAL:
            found.append((topic, path, topic in CONTROVERSIAL))
    return found


def auc(scores: list[float], positive: list[bool]) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) formula, ties counted half."""
    scores_arr = np.asarray(scores, dtype=float)
    pos = np.asarray(positive, dtype=bool)
    greater = (scores_arr[pos][:, None] > scores_arr[~pos][None, :]).sum()
    ties = (scores_arr[pos][:, None] == scores_arr[~pos][None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.sum() * (~pos).sum()))


def load_topic(path: Path, workdir: Path):
    ws = Workspace.init(workdir / path.stem)
    ingest_paths(ws, [path], format_name="edges-txt", options={"kind": "repost"})
    with ws.writer() as con:
        build_edges(con, "bench")
        return load_graph(con)


def reference_sides(graph, topic: str) -> np.ndarray | None:
    folder = DATA / "communities_retweet_networks"
    files = [folder / f"community{i}_{topic}.txt" for i in (1, 2)]
    if not all(f.exists() for f in files):
        return None
    sides = np.full(graph.n, -1, dtype=np.int8)
    index = {a: i for i, a in enumerate(graph.account_id)}
    for side, f in enumerate(files):
        for line in f.read_text().split():
            i = index.get(line.strip().lower()) if line.strip().lower() in index else index.get(line.strip())
            if i is not None:
                sides[i] = side
    return sides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=RWC_K, help="absorbing vertices per side")
    parser.add_argument("--reference-sides", action="store_true", help="also RWC on the authors' METIS sides")
    parser.add_argument("--topics", help="comma-separated subset")
    args = parser.parse_args()
    chosen = topics()
    if args.topics:
        wanted = set(args.topics.split(","))
        chosen = [t for t in chosen if t[0] in wanted]
    if not chosen:
        sys.exit(f"no labelled retweet graphs under {DATA}")
    header = f"{'topic':<20}{'label':>6}{'nodes':>8}{'edges':>8}{'RWC':>8}{'mod':>7}{'E-I':>7}{'sec':>6}"
    if args.reference_sides:
        header += f"{'RWC(METIS)':>12}"
    print(header)
    rows = []
    with tempfile.TemporaryDirectory(prefix="confiance-polarization-") as tmp:
        for topic, path, controversial in chosen:
            graph = load_topic(path, Path(tmp))
            started = time.perf_counter()
            sides = two_sides(graph)
            rwc = random_walk_controversy(graph, sides, k=args.k)["rwc"]
            modularity = split_modularity(graph, sides)
            ei = ei_index(graph, sides)
            seconds = time.perf_counter() - started
            line = (f"{topic:<20}{'C' if controversial else 'NC':>6}{graph.n:>8}{graph.undirected().m:>8}"
                    f"{rwc:>8.3f}{modularity:>7.3f}{ei:>7.3f}{seconds:>6.1f}")
            reference = None
            if args.reference_sides:
                ref = reference_sides(graph, topic)
                if ref is not None and (ref == 0).any() and (ref == 1).any():
                    reference = random_walk_controversy(graph, ref, k=args.k)["rwc"]
                line += f"{reference:>12.3f}" if reference is not None else f"{'-':>12}"
            print(line, flush=True)
            rows.append((topic, controversial, rwc, modularity, ei, reference))
    labels = [r[1] for r in rows]
    print(f"\ntopics: {len(rows)} ({sum(labels)} controversial)")
    print(f"AUC RWC (k={args.k}): {auc([r[2] for r in rows], labels):.3f}")
    print(f"AUC modularity of the split: {auc([r[3] for r in rows], labels):.3f}")
    print(f"AUC -E-I: {auc([-r[4] for r in rows], labels):.3f}")
    if args.reference_sides and all(r[5] is not None for r in rows):
        print(f"AUC RWC on the authors' METIS sides: {auc([r[5] for r in rows], labels):.3f}")


if __name__ == "__main__":
    main()
