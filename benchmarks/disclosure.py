"""Commercial disclosure audit (French law): labelled posts and a simulated world.

1. The project's labelled FR/EN posts (``tests/data/disclosure/posts.yaml``, written before the
   patterns): rule-level precision and recall, commercial and verdict accuracy, for the ``dev`` half
   (seen while writing the patterns) and the ``heldout`` half, each printed separately.
2. A simulated world (``confiance.simulate``) with planted sponsored posts: recall and precision of
   undisclosed sponsored posts (issue 5 goal: recall >= 0.95), commercial precision and recall,
   banned-category recall and precision, the verdicts per planted label, and throughput.

No peer tool exists for this audit; the figures stand alone.

    python benchmarks/disclosure.py [--seed 3] [--accounts 2000] [--posts 30000] [--skip-world]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the labelled-set helpers live with the tests

from confiance.ingest import ingest_paths  # noqa: E402
from confiance.integrity.disclosure import load_rules, run_disclosure  # noqa: E402
from confiance.pipeline import rerun  # noqa: E402
from confiance.simulate import simulate_world  # noqa: E402
from confiance.workspace import Workspace  # noqa: E402
from tests.integrity.disclosure_labelled import labelled_posts, score, simulated_world_figures, user_brands  # noqa: E402


def labelled(split: str) -> None:
    rules = load_rules(brands=user_brands())
    result = score(labelled_posts(split), rules)
    precision, recall = result.micro()
    print(f"\n== labelled posts, {split} half: {result.items} posts ==")
    print(f"commercial accuracy {result.commercial_accuracy:.3f}  verdict accuracy {result.verdict_accuracy:.3f}  "
          f"micro precision {precision:.3f}  micro recall {recall:.3f}")
    print(f"{'rule':34s} {'tp':>3s} {'fp':>3s} {'fn':>3s} {'precision':>9s} {'recall':>7s}")
    for rule, (tp, fp, fn) in result.rules.items():
        p, r = result.precision(rule), result.recall(rule)
        print(f"{rule:34s} {tp:3d} {fp:3d} {fn:3d} {'-' if p is None else f'{p:.2f}':>9s} "
              f"{'-' if r is None else f'{r:.2f}':>7s}")
    for line in result.errors:
        print("  error:", line)


def world(seed: int, accounts: int, posts: int) -> None:
    with tempfile.TemporaryDirectory(prefix="confiance-disclosure-") as tmp:
        folder = Path(tmp) / "world"
        simulate_world(folder, seed=seed, accounts=accounts, posts=posts)
        ws = Workspace.init(Path(tmp) / "ws")
        ingest_paths(ws, [folder / "x", folder / "bluesky", folder / "mastodon"])
        started = time.perf_counter()
        result = rerun(ws, "disclosure", {}, run_disclosure)
        seconds = time.perf_counter() - started
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        with ws.reader() as con:
            figures = simulated_world_figures(con, truth)
    print(f"\n== simulated world: seed {seed}, {accounts} accounts, {posts} posts ==")
    print(f"audited {result.posts} posts (reposts excepted) in {seconds:.1f} s ({result.posts / seconds:,.0f} posts/s); "
          f"verdicts {result.verdicts}")
    for key, value in figures.items():
        if key != "verdicts_by_label":
            print(f"{key:24s} {value:.3f}" if isinstance(value, float) else f"{key:24s} {value}")
    print("verdicts per planted label:")
    for label, counts in figures["verdicts_by_label"].items():
        print(f"  {label:26s} {counts}")
    goal = figures["undisclosed_recall"] >= 0.95
    print(f"goal: undisclosed recall >= 0.95: {'met' if goal else 'NOT met'} ({figures['undisclosed_recall']:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=30000)
    parser.add_argument("--skip-world", action="store_true")
    args = parser.parse_args()
    for split in ("dev", "heldout"):
        labelled(split)
    if not args.skip_world:
        world(args.seed, args.accounts, args.posts)


if __name__ == "__main__":
    main()
