"""`confiance collect`: --json on stdout only, --max-pages, --no-ingest then --ingest, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from confiance.collect import FakeClock
from confiance.workspace import Workspace
from tests.collect.test_bluesky import SEARCH, SEARCH_PAGES, Replay, _config, _shown
from tests.conftest import scalar

SRC = Path(__file__).resolve().parents[2] / "src"


def run(*args: str, workspace: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(workspace), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_collect_verb_pages_then_ingests(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run("init", workspace=ws).returncode == 0
    with Replay(FakeClock()) as server:
        config = tmp_path / "watch.yaml"
        config.write_text(_config(server.url, queries=["climat"]), encoding="utf-8")
        first = run("collect", "bluesky", str(config), "--no-ingest", "--max-pages", "2", "--json", workspace=ws)
        assert first.returncode == 0, first.stderr
        summary = json.loads(first.stdout)
        assert summary["pages"] == 2 and summary["tasks"][0]["stopped"] == "max_pages"
        assert summary["ingested"] == [] and summary["pending_files"] == 1
        assert "not ingested yet" in first.stderr and "climat" not in first.stderr
        second = run("collect", "bluesky", str(config), "--json", workspace=ws)
        assert second.returncode == 0, second.stderr
        summary = json.loads(second.stdout)
    assert summary["pages"] == len(SEARCH_PAGES) - 2 and summary["pending_files"] == 0
    shown = [v for page in SEARCH_PAGES for v in page if _shown(v["author"])]
    assert sum(r["records_read"] for r in summary["ingested"]) == len(shown)
    assert [q.get("cursor") for q in server.calls(SEARCH)] == [None, "p1", "p2", "p3", "p4"]
    assert scalar(Workspace.open(ws), "SELECT count(*) FROM rejects") == 0


def test_collect_errors(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    run("init", workspace=ws)
    config = tmp_path / "watch.yaml"
    config.write_text("platform: mastodon\ncontact: a@b\ninstances: [{url: 'https://m.s', hashtags: [x]}]\n")
    out = run("collect", "bluesky", str(config), workspace=ws)
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert f"{config}: field platform: the file is for mastodon" in out.stderr
    assert run("collect", "twitter", str(config), workspace=ws).returncode == 2
