"""The CLI contract: --json prints only JSON on stdout; exit codes 0 / 1 (one-line message) / 2 (usage)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import FORMATS


def run(*args: str, workspace=None) -> subprocess.CompletedProcess:
    prefix = ["--workspace", str(workspace)] if workspace else []
    return subprocess.run([sys.executable, "-m", "confiance.cli", *prefix, *args], capture_output=True, text=True)


def test_ingest_json_and_status_json(tmp_path):
    ws = tmp_path / "ws"
    assert run("init", workspace=ws).returncode == 0
    out = run("ingest", str(FORMATS / "twitter-v2-json"), str(FORMATS / "bluesky-atproto"), "--json", workspace=ws)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert {r["format"] for r in results} == {"twitter-v2", "bluesky"}
    for r in results:
        assert set(r) == {"path", "format", "records_read", "stored", "duplicates", "rejected"}
        assert r["records_read"] == r["stored"] + r["duplicates"] + r["rejected"]
    assert "SOURCE.md: skipped" in out.stderr
    status = json.loads(run("status", "--json", workspace=ws).stdout)
    assert status["tables"]["posts"] > 0 and len(status["sources"]) == 4
    assert status["posts_per_platform"].keys() == {"x", "bluesky"}


def test_errors_are_one_line_with_exit_code_1(tmp_path):
    out = run("status", workspace=tmp_path / "missing")
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "confiance init" in out.stderr
    ws = tmp_path / "ws"
    run("init", workspace=ws)
    bad = tmp_path / "x.txt"
    bad.write_text("hello\n")
    out = run("ingest", str(bad), workspace=ws)
    assert out.returncode == 1 and str(bad) in out.stderr and "Traceback" not in out.stderr


def test_usage_errors_exit_2(tmp_path):
    assert run("ingest").returncode == 2
    assert run("no-such-verb").returncode == 2
    assert run("export", "csv", "--bogus", workspace=tmp_path).returncode == 2


def test_report_prints_its_path(tmp_path):
    ws = tmp_path / "ws"
    run("init", workspace=ws)
    run("ingest", str(FORMATS / "twitter-v2-json" / "brexit.jsonl"), workspace=ws)
    assert run("analyze", workspace=ws).returncode == 0
    out = run("report", "-o", str(tmp_path / "r.html"), workspace=ws)
    assert out.returncode == 0 and out.stdout.strip() == str(tmp_path / "r.html")
    assert (tmp_path / "r.html").exists()
