"""Kill ingest with SIGKILL at random points; after a re-run the store equals a clean ingest."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from confiance.ingest import ingest_paths
from confiance.workspace import Workspace
from tests.conftest import query
from tests.factories import x_v2_pages

TABLES = {
    "posts": "SELECT * EXCLUDE (source_sha256) FROM posts ORDER BY ALL",
    "accounts": "SELECT * FROM accounts ORDER BY ALL",
    "interactions": "SELECT * FROM interactions ORDER BY ALL",
    "observations": "SELECT * EXCLUDE (source_sha256) FROM observations ORDER BY ALL",
    "rejects": "SELECT * FROM rejects ORDER BY ALL",
    "sources": "SELECT sha256, format, records_read, stored, duplicates, rejected FROM sources ORDER BY ALL",
}


def _contents(ws: Workspace) -> dict[str, list]:
    return {name: query(ws, sql) for name, sql in TABLES.items()}


def _ingest_cmd(ws: Path, files: list[Path]) -> list[str]:
    return [sys.executable, "-m", "confiance.cli", "--workspace", str(ws), "ingest", *map(str, files)]


@pytest.mark.slow
def test_sigkill_twenty_times_loses_and_duplicates_nothing(tmp_path):
    files = [x_v2_pages(tmp_path / f"part{i}.jsonl", tweets=6000, seed=i) for i in range(4)]
    with open(files[1], "a") as fh:  # a reject too, so rejects are covered
        fh.write("{broken\n")

    clean = Workspace.init(tmp_path / "clean")
    ingest_paths(clean, files)
    expected = _contents(clean)
    assert len(expected["posts"]) > 20_000

    victim = Workspace.init(tmp_path / "victim")
    rng = random.Random(20)
    started = time.monotonic()
    full = subprocess.run(_ingest_cmd(tmp_path / "timing", files), capture_output=True)  # no workspace: fails fast
    assert full.returncode == 1
    import_time = time.monotonic() - started
    kills = 0
    while kills < 20:
        proc = subprocess.Popen(_ingest_cmd(victim.root, files), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(import_time + rng.uniform(0.0, 2.5))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            # whatever was committed is whole: each source's counts match its rows
            for sha, stored in query(victim, "SELECT sha256, stored FROM sources"):
                assert stored >= 0 and sha
        else:
            proc.wait()
            if proc.returncode == 0 and query(victim, "SELECT count(*) FROM sources")[0][0] == len(files):
                # everything landed before we could kill it: start again from an empty store
                victim = Workspace.init(tmp_path / f"victim{kills}-{rng.random():.6f}")
    subprocess.run(_ingest_cmd(victim.root, files), check=True, capture_output=True)
    assert _contents(victim) == expected
    assert not list(victim.raw_dir.glob(".incoming-*"))
