"""Ingest speed: `confiance ingest` against DuckDB's bare read_json over the same X v2 pages.

Simulates N X API v2 posts (twarc2 pages), then, in the same run:
  1. DuckDB 2.0 `SELECT count(*) FROM read_json(files, format='newline_delimited')` (the floor);
  2. a Python loop that parses every line with orjson and touches every tweet (for reference);
  3. `confiance ingest` into a fresh workspace (subprocess, as a user runs it).
Prints seconds, posts/s, peak memory and the ratio ingest / read_json. Goal: ratio <= 2, >= 50k posts/s.
CPU seconds (all threads) are printed too: on a shared machine they vary less than wall time.

    python benchmarks/ingest.py [--posts 1000000] [--accounts 100000] [--keep DIR]
    python benchmarks/ingest.py --posts 100000 --accounts 10000 --keep DIR --profile [--duckdb-config K=V ...]

``--profile`` ingests the world in this process, one file after the other (no staging overlap), and
prints wall and CPU seconds per phase: every SQL statement is timed and named by what it does, the
archive thread's CPU is its own line. ``--duckdb-config`` adds settings to the store's connection
(e.g. ``checkpoint_threshold=256MB``) to measure them before they go into ``store.connect``.
At the default 16 MB checkpoint_threshold every COMMIT checkpointed (the WAL passes 16 MB at each
file); 256 MB cut the profile's COMMIT from 26.0 to 7.9 + 1.4 CPU s at 1M, and `store.connect` now sets
it for writers. `confiance ingest` with it measured 98.3 against 99.4 CPU s in one pair of runs and 84.4
against 103.6 in another, both on a machine loaded 7-15 on 2 cores.

Measured on an idle machine (2026-11-30, load 0.1, `--keep` on the 1M world, page cache warmed), with
the zstd archive and the 256 MB threshold: read_json 9.09 s / 17.69 CPU s; ingest 43.47 s / 68.78 CPU s,
1,203 MiB peak: ratio 4.78 wall, 3.89 CPU, 23,004 posts/s (the session before: 61.1 s / 103.7 CPU s,
5.84 / 5.02, 16,371 posts/s).

Where the time goes at 1M posts (50 files, CPU seconds, --profile, on a loaded 2-core machine):
before this session, 110.6 in all: parse (json_structure + from_json, materialised) 27.7, COMMIT
26.0 (each checkpoint rewrites the partly filled row groups and the accounts table), pages-to-rows
SQL 26, merges 16, gzip archive 12.0 (its thread); read_json needs about 20.7 for the same bytes.
After (zstd archive, checkpoint_threshold=256MB given on the command line): 83.7: parse 25.6,
rows 23, merges 15.7, COMMIT 7.9 + final checkpoint 1.4, zstd archive 5.1. json_structure is about
half of the parse; it is also what keeps lines nested deeper than 128 levels (orjson stops at 1024)
off the fast path: a raw-text type check cannot see depth, and from_json_strict accepts numbers,
booleans and objects where text is expected, so it cannot replace it.

Session 7 (measured on one 20k-post file of the 1M world, 34 MB, CPU s): DuckDB's own profile puts
the parse at 0.37 per file, the pages-to-rows SQL at 0.21 and the merges at 0.16 (store at 800k
posts); json_structure alone costs 0.17-0.19, from_json 0.15-0.22. Cheaper exact checks tried and
dropped: ``json_type`` over a list of paths refuses wildcards ("Cannot have wildcards in JSON path
when supplying multiple paths"); an RE2 test that only looks outside JSON strings costs 0.115 for
one of the five patterns needed, and stripping the strings first 0.40; from_json with JSON-typed
leaves plus the conversion back costs 0.34 before any check (plain from_json 0.21); orjson.loads of
every line costs 0.13-0.14 before any type check. And a depth proof is still needed: json_structure
fails from depth 128, while from_json and json_valid accept depth 2000 (orjson rejects past 1024).
Building the lines' Arrow column from the joined bytes looked 3-12x cheaper alone but cost the same
in place (0.03-0.05 per file both ways); not kept.

What changed instead is the overlap. A file's temporary tables fit in one DuckDB row group (122,880
rows), so its pages-to-rows SQL, like its Python, runs on one thread: with one file staged ahead,
the committing thread waited for staging 27-30 % of the wall time (10 files, in-process, load 5.8-6.9). Two files
staged ahead (``ingest.STAGE_AHEAD``): 17-21 %. `confiance ingest` of 10 files of the 1M world, old
and new alternated on the shared machine (load 1.2-5.7): 14.1/12.3, 13.7/8.2, 9.1/8.0, 13.9/12.6,
23.5/31.1, 31.3/20.0 s (105.7 against 92.2 s in all), the same CPU (12-14 s user), peak memory
0.76-0.83 GB against 0.93-1.07 GB. On a loaded machine more runnable threads also take a larger
share of the cores, so these pairs overstate what an idle machine gains.
Full run at 1M (2026-11-30 06:17, shared machine, load 2.2 at the start, 5.7-6.8 during it):
read_json 33.42 s / 20.06 CPU s; orjson loop 13.82 s; ingest 139.52 s / 85.35 CPU s, 1,231 MiB peak:
ratio 4.18 wall, 4.25 CPU, 7,167 posts/s. The wall figures say more about the load than the code;
85.35 CPU s lies within what loaded runs of the code before measured (84.4-103.6; 68.78 idle), and
no phase's SQL changed, so the per-phase split above stands.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import orjson


def _peak_child_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


#: (pattern over the SQL text, phase) for --profile; the first match names a statement
PHASES = (
    (r"_xv2_parsed AS", "parse: json_structure + from_json"),
    (r"^SELECT line_no FROM _xv2_lines", "parse: raw-text checks"),
    (r"_xv2_(data|user|inc) AS", "rows: unnest pages"),
    (r"^WITH s AS", "rows: suspect checks"),
    (r"_xv2_(record|context) AS", "rows: records + context"),
    (r"_xv2_emit AS", "rows: emit"),
    (r"INTO stage_posts", "rows: stage posts"),
    (r"_xv2_edge AS|INTO stage_interactions", "rows: stage interactions"),
    (r"INTO stage_accounts", "rows: stage accounts"),
    (r"CREATE TEMP TABLE stage_|INSERT INTO stage_", "rows: stage mapper batches"),
    (r"stage_observations", "merge: observations (derive + merge)"),
    (r"suppressions", "merge: suppressions"),
    (r"^SELECT count\(\*\) FROM \(SELECT DISTINCT", "merge: count stored"),
    (r"^SELECT min\(post_id\)", "merge: post-id ranges"),
    (r"INSERT INTO posts", "merge: posts"),
    (r"^UPDATE posts|_links", "merge: link parents"),
    (r"INSERT INTO interactions", "merge: interactions"),
    (r"TABLE acc_new", "merge: accounts new"), (r"TABLE acc_merged", "merge: accounts merged"), (r"FROM accounts a", "merge: accounts delete"), (r"INSERT INTO accounts", "merge: accounts insert"),
    (r"INTO sources|FROM sources", "sources row"),
    (r"^COMMIT", "COMMIT (checkpoint)"),
)


def _profile(files: list[Path], root: Path, config: dict[str, str]) -> None:
    """Serial ingest in this process with every statement timed (see the module docstring)."""
    import re
    from collections import defaultdict

    from confiance import store
    from confiance.ingest import _engine, plan_files
    from confiance.ingest._readers import DEFAULT_LIMITS
    from confiance.workspace import Workspace

    wall: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)

    def phase(sql: str) -> str:
        text = sql.strip()
        return next((name for pattern, name in PHASES if re.search(pattern, text)), "other SQL")

    class Fetched:
        def __init__(self, rows: list) -> None:
            self.rows = rows

        def fetchall(self) -> list:
            return self.rows

    class Timed:
        """A connection whose statements are timed (queries are fetched inside the timing)."""

        def __init__(self, con) -> None:
            self._con = con

        def __getattr__(self, name: str):
            return getattr(self._con, name)

        def cursor(self) -> "Timed":
            return Timed(self._con.cursor())

        def execute(self, sql: str, *args):
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                result = self._con.execute(sql, *args)
                if sql.lstrip()[:6].upper() in ("SELECT", "WITH S"):
                    result = Fetched(result.fetchall())
                return result
            finally:
                name = phase(sql)
                wall[name] += time.perf_counter() - started
                cpu[name] += time.process_time() - cpu_started

    archive_cpu = [0.0]
    archiver_run = _engine._Archiver.run

    def timed_archiver(self) -> None:
        started = time.thread_time()
        archiver_run(self)
        archive_cpu[0] += time.thread_time() - started

    _engine._Archiver.run = timed_archiver
    if config:
        connect = duckdb.connect

        def connect_with(path, config=None, **kwargs):
            return connect(path, config={**(config or {}), **extra}, **kwargs)

        extra = config
        store.duckdb = type("DuckDB", (), {"connect": staticmethod(connect_with),
                                           "DuckDBPyConnection": duckdb.DuckDBPyConnection,
                                           "IOException": duckdb.IOException})
    shutil.rmtree(root, ignore_errors=True)
    ws = Workspace.init(root)
    started, cpu_started = time.perf_counter(), time.process_time()
    with ws.writer() as con:
        for path, fmt, opened, container in plan_files(files):
            _engine.Staged(ws, Timed(con), path, fmt, opened, container, None, DEFAULT_LIMITS, lambda n: None).commit()
        closing, closing_cpu = time.perf_counter(), time.process_time()
    wall["close (final checkpoint)"] = time.perf_counter() - closing
    cpu["close (final checkpoint)"] = time.process_time() - closing_cpu
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"{'phase':42s} {'wall s':>8s} {'CPU s':>8s}")
    for name in sorted(cpu, key=lambda n: -cpu[n]):
        print(f"{name:42s} {wall[name]:8.2f} {cpu[name]:8.2f}")
    print(f"{'archive (zstd + sha256, its thread)':42s} {'':>8s} {archive_cpu[0]:8.2f}")
    rest = total_cpu - sum(cpu.values())
    print(f"{'Python (reading lines, Arrow, mapper)':42s} {'':>8s} {rest - archive_cpu[0]:8.2f}")
    print(f"{'all':42s} {total:8.2f} {total_cpu:8.2f}   ({', '.join(f'{k}={v}' for k, v in config.items()) or 'store defaults'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="reuse/keep the simulated world in this folder")
    parser.add_argument("--profile", action="store_true", help="serial in-process ingest, CPU per phase")
    parser.add_argument("--duckdb-config", action="append", default=[], metavar="KEY=VALUE",
                        help="with --profile: a setting added to the store's connection")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="confiance-bench-"))
    world = root / "world"
    if not (world / "x").exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "confiance.cli", "simulate", str(world), "--seed", "1",
                        "--accounts", str(args.accounts), "--posts", str(args.posts), "--platforms", "x"], check=True)
        print(f"simulate: {time.perf_counter() - started:.1f} s")
    files = sorted((world / "x").glob("*.jsonl"))
    size = sum(f.stat().st_size for f in files)
    print(f"input: {len(files)} files, {size / 2**20:,.0f} MiB")
    if args.profile:
        _profile(files, root / "workspace-profile", dict(kv.split("=", 1) for kv in args.duckdb_config))
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        return
    # both contenders read from the page cache: read_json runs first, and on a cold cache it paid
    # for the disk alone (10.5 s warm vs 36.7 s cold at 1M), which flattered the ratio
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass

    started, cpu = time.perf_counter(), time.process_time()
    pages = duckdb.connect().execute(
        f"SELECT count(*) FROM read_json({[str(f) for f in files]}, format='newline_delimited')"
    ).fetchone()[0]
    floor, floor_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"duckdb read_json count(*): {floor:.2f} s, {floor_cpu:.2f} CPU s ({pages} pages)")

    started = time.perf_counter()
    tweets = 0
    for f in files:
        with open(f, "rb") as fh:
            for line in fh:
                for _tweet in orjson.loads(line).get("data", ()):
                    tweets += 1
    print(f"python orjson loop: {time.perf_counter() - started:.2f} s ({tweets:,} tweets)")

    ws = root / "workspace"
    shutil.rmtree(ws, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws), "init"], check=True,
                   capture_output=True)
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws), "ingest", str(world / "x")],
                   check=True)
    elapsed, ingest_cpu = time.perf_counter() - started, _children_cpu() - cpu
    stored = duckdb.connect(str(ws / "confiance.duckdb"), read_only=True).execute(
        "SELECT sum(stored), sum(rejected) FROM sources").fetchone()
    print(f"confiance ingest: {elapsed:.2f} s, {stored[0]:,} posts stored, {stored[1]} rejected, "
          f"{tweets / elapsed:,.0f} posts/s, {ingest_cpu:.2f} CPU s, peak memory {_peak_child_mib():,.0f} MiB")
    print(f"ratio ingest / read_json: {elapsed / floor:.2f}  (goal <= 2); in CPU seconds: {ingest_cpu / floor_cpu:.2f}")
    print(f"posts/s: {tweets / elapsed:,.0f}  (goal >= 50,000)")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
