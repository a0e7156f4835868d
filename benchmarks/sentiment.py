"""Sentiment accuracy, in one run: the held-out labelled set (FR + EN) and a simulated world.

1. ``tests/data/sentiment/{fr,en}.csv`` (150 posts each, written by the project, never used for
   training or model choice): accuracy and macro-F1 per language for the VADER lexicon alone, the
   embedding classifier alone and the combination (the model ``confiance`` uses).
2. A simulated world (planted sentiment per post in ``truth-posts.jsonl``): accuracy per language
   of the three variants on every post, reply and quote, with the majority-class baseline.

The issue names no peer for sentiment; the lexicon-only line is VADER itself (Hutto & Gilbert 2014
for English, the vaderSentiment-fr lexicon for French), the baseline the combination must beat.

    python benchmarks/sentiment.py --accounts 1000 --posts 10000
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

from confiance.ingest import ingest_paths
from confiance.simulate import simulate_world
from confiance.text.corpus import post_batches
from confiance.text.embed import encode
from confiance.text.sentiment import LABELS, default_model, evaluate_sentiment
from confiance.workspace import Workspace

TEST_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "sentiment"
METHODS = ("lexicon", "classifier", "combined")


def held_out() -> None:
    print("held-out set tests/data/sentiment (accuracy / macro-F1):")
    for lang in ("fr", "en"):
        with open(TEST_SET / f"{lang}.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        figures = evaluate_sentiment([r["text"] for r in rows], [lang] * len(rows), [r["label"] for r in rows])
        print(f"  {lang} (n={len(rows)}): " + ", ".join(
            f"{m} {figures[m]['accuracy']:.3f} / {figures[m]['macro_f1']:.3f}" for m in METHODS))


def simulated(seed: int, accounts: int, posts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        simulate_world(world, seed=seed, accounts=accounts, posts=posts)
        ws = Workspace.init(Path(tmp) / "ws")
        ingest_paths(ws, [world / "x", world / "bluesky", world / "mastodon"])
        planted = {}
        with open(world / "truth-posts.jsonl", "rb") as fh:
            for line in fh:
                post = orjson.loads(line)["truth_post"]
                planted[(post["platform"], post["post_id"])] = post
        model = default_model()
        gold: list[str] = []
        language: list[str] = []
        predicted = {m: [] for m in METHODS}
        started = time.perf_counter()
        with ws.reader() as con:
            for batch in post_batches(con, batch_size=2000):
                vectors = encode(batch.text)
                for method in METHODS:
                    predicted[method] += model.predict(batch.text, batch.lang, vectors, method=method).labels
                for key in zip(batch.platform, batch.post_id):
                    gold.append(planted[key]["sentiment"])
                    language.append(planted[key]["language"])
        elapsed = time.perf_counter() - started
    gold_a, lang_a = np.array(gold), np.array(language)
    majority = max(np.mean(gold_a == label) for label in LABELS)
    print(f"simulated world seed {seed} ({len(gold)} posts, replies and quotes; {len(gold) / elapsed:.0f} posts/s "
          f"for the three variants; majority class {majority:.3f}):")
    for lang in ("fr", "en"):
        mask = lang_a == lang
        print(f"  {lang} (n={int(mask.sum())}): " + ", ".join(
            f"{m} {np.mean(np.array(predicted[m])[mask] == gold_a[mask]):.3f}" for m in METHODS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=30000)
    args = parser.parse_args()
    held_out()
    simulated(args.seed, args.accounts, args.posts)


if __name__ == "__main__":
    main()
