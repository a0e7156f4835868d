"""Cascade measures of the Twitter15/16 rumour trees (Ma et al. 2017), by veracity label.

Reads `../shared/data/real/twitter15-16/twitter15_16_trees.tar.xz` in place (no extraction), turns
each tree file into parent links with `read_twitter_tree`, measures the tree of the source tweet
with `tree_measures` (size, depth, largest breadth, structural virality of Goel et al. 2016) and
prints, per dataset and label (false / true / unverified / non-rumor): trees, median and mean of
each measure, and the share of lines dropped by the reader (self-loops, second parents). With
`--check N`, the first N trees are also measured with networkx and compared.

    python benchmarks/cascades_twitter15_16.py [--check 50]
"""

from __future__ import annotations

import argparse
import tarfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from confiance.integrity.sources import read_twitter_tree, tree_measures

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "twitter15-16"
MEASURES = ("size", "depth", "max_breadth", "structural_virality")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--check", type=int, default=0, help="compare the first N trees with networkx")
    args = parser.parse_args()
    labels = {}
    for dataset in ("twitter15", "twitter16"):
        for line in (args.data / f"{dataset}_label.txt").read_text().split():
            label, tweet = line.split(":")
            labels[(dataset, tweet)] = label
    rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    lines = skipped = checked = 0
    started = time.perf_counter()
    with tarfile.open(args.data / "twitter15_16_trees.tar.xz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            dataset, _, name = member.name.split("/")
            text = tar.extractfile(member).read().decode().splitlines()
            tree = read_twitter_tree(text, name=member.name)
            measured = tree_measures(tree.parent, root=tree.root)
            lines += len(text)
            skipped += tree.skipped
            rows[(dataset, labels[(dataset, name.removesuffix(".txt"))])].append(measured)
            if checked < args.check:
                import networkx as nx

                g = nx.Graph([(i, int(p)) for i, p in enumerate(tree.parent) if p >= 0])
                g.add_node(tree.root)
                component = g.subgraph(nx.node_connected_component(g, tree.root))
                expected = nx.average_shortest_path_length(component) if component.number_of_nodes() > 1 else None
                assert expected is None or abs(expected - measured["structural_virality"]) < 1e-9, member.name
                checked += 1
    seconds = time.perf_counter() - started
    print(f"{sum(len(v) for v in rows.values())} trees, {lines:,} lines ({skipped / lines:.2%} dropped: self-loops, "
          f"second parents) in {seconds:.1f} s; networkx agreed on {checked} trees")
    print(f"{'dataset':<10} {'label':<11} {'trees':>5}  " + "  ".join(f"{m + ' med/mean':>28}" for m in MEASURES))
    for (dataset, label), measured in sorted(rows.items()):
        cells = []
        for m in MEASURES:
            values = np.array([r[m] for r in measured if r[m] is not None], dtype=float)
            cells.append(f"{np.median(values):>13.2f} / {values.mean():>12.2f}")
        print(f"{dataset:<10} {label:<11} {len(measured):>5}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
