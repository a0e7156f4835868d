"""Retention: records past the period leave the store, the raw archive and the outputs; the rest stays."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb
import orjson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from confiance.cli import app
from confiance.errors import ConfianceError
from confiance.pipeline import analyze
from confiance.privacy import expire, retention_cutoff
from confiance.report import build_report
from tests.conftest import ingest, query, scalar
from tests.test_export_privacy import _grep_workspace

CANARY = "retentioncanary"
CUTOFF = datetime(2024, 6, 1, tzinfo=timezone.utc)


def _page(path, retrieved_at: str, users: list[dict], posts: list[dict]):
    path.write_text(json.dumps({"data": posts, "includes": {"users": users},
                                "__twarc": {"retrieved_at": retrieved_at}}) + "\n")
    return path


def _files(tmp_path):
    canary = {"id": "8001", "username": CANARY, "name": "Old Author"}
    bystander = {"id": "42", "username": "bystander", "name": "Bystander"}
    fresh = {"id": "8003", "username": "fresh_author", "name": "Fresh Author"}
    old = _page(tmp_path / "old.jsonl", "2023-03-02T00:00:00Z", [canary, bystander], [
        {"id": "9101", "author_id": "8001", "text": f"I am {CANARY}, an old story about lighthouses and fog",
         "created_at": "2023-03-01T10:00:00Z", "public_metrics": {"like_count": 3, "retweet_count": 1}},
        {"id": "9102", "author_id": "42", "text": f"@{CANARY} what a story about lighthouses",
         "created_at": "2023-03-01T11:00:00Z", "entities": {"mentions": [{"username": CANARY, "id": "8001"}]}},
    ])
    mixed = _page(tmp_path / "mixed.jsonl", "2025-05-02T00:00:00Z", [bystander, fresh], [
        {"id": "9201", "author_id": "42", "text": "a backfilled memory from the winter of the long strike",
         "created_at": "2023-02-01T09:00:00Z", "public_metrics": {"like_count": 1}},
        {"id": "9202", "author_id": "8003", "text": "a fresh post about night trains across Europe",
         "created_at": "2025-05-01T09:00:00Z", "public_metrics": {"like_count": 5}},
    ])
    new = _page(tmp_path / "new.jsonl", "2025-05-03T00:00:00Z", [fresh], [
        {"id": "9301", "author_id": "8003", "text": "another fresh post, this one about sleeper cabins",
         "created_at": "2025-05-02T09:00:00Z"},
    ])
    return old, mixed, new


def _state(ws) -> dict:
    tables = ("posts", "accounts", "interactions", "observations", "sources", "post_language")
    counts = {t: scalar(ws, f"SELECT count(*) FROM {t}") for t in tables}
    counts["archives"] = sorted(p.name for p in ws.raw_dir.rglob("*") if p.is_file())
    return counts


def test_retention_period_parsing():
    now = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)
    assert retention_cutoff("365d", now) == datetime(2025, 3, 31, 12, tzinfo=timezone.utc)
    assert retention_cutoff("2w", now) == datetime(2026, 3, 17, 12, tzinfo=timezone.utc)
    assert retention_cutoff("18m", now) == datetime(2024, 9, 30, 12, tzinfo=timezone.utc)  # day clamped
    assert retention_cutoff("2Y", datetime(2024, 2, 29, tzinfo=timezone.utc)) == datetime(2022, 2, 28, tzinfo=timezone.utc)
    for bad in ("0d", "12", "1.5y", "-3m", "forever", "99999y", "999999999d", "30000m"):
        with pytest.raises(ConfianceError, match="retention period"):
            retention_cutoff(bad, now)
    assert retention_cutoff("2025y", now).year == 1


def test_expire_removes_past_records_everywhere_and_keeps_the_rest(workspace, tmp_path):
    old, mixed, new = _files(tmp_path)
    ingest(workspace, old, mixed, new)
    analyze(workspace, only=["language", "communities"])
    build_report(workspace)
    assert _grep_workspace(workspace, CANARY)
    before = _state(workspace)

    dry = expire(workspace, CUTOFF, dry_run=True)
    assert _state(workspace) == before and dry.dry_run
    assert dry.rows_deleted["posts"] == 3 and dry.archives_deleted == 1 and dry.archives_kept == 2
    assert dry.files_deleted >= 1

    result = expire(workspace, CUTOFF)
    assert result.rows_deleted == dry.rows_deleted and result.archives_deleted == dry.archives_deleted
    assert [r[0] for r in query(workspace, "SELECT post_id FROM posts ORDER BY 1")] == ["9202", "9301"]
    assert scalar(workspace, "SELECT count(*) FROM observations WHERE collected_at < ?", [CUTOFF]) == 0
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE created_at < ?", [CUTOFF]) == 0
    # the canary's account was last seen in 2023 and nothing refers to it any more; the bystander was
    # seen again in 2025 (its backfilled 2023 post went, the account stays)
    assert [r[0] for r in query(workspace, "SELECT account_id FROM accounts ORDER BY 1")] == ["42", "8003"]
    assert scalar(workspace, "SELECT count(*) FROM post_language") == 2
    assert "communities" in result.analysis_tables_dropped
    assert scalar(workspace, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'communities'") == 0
    # the old file's archive went with its last rows; its sources row stays, marked
    # the mixed file's archive stays, rewritten without its expired post
    assert query(workspace, "SELECT regexp_extract(path, '(\\w+)\\.jsonl$', 1), archive_path IS NULL, redacted "
                            "FROM sources ORDER BY 1") == [("mixed", False, True), ("new", False, False),
                                                           ("old", True, True)]
    assert len(_state(workspace)["archives"]) == 2 and not list(workspace.reports_dir.rglob("*.html"))
    assert _grep_workspace(workspace, CANARY) == []
    assert _grep_workspace(workspace, "lighthouses") == []
    assert _grep_workspace(workspace, "night trains")  # within the period: still stored and archived
    audit = [json.loads(line) for line in workspace.audit_path.read_text().splitlines()]
    assert audit[-1]["action"] == "retention" and audit[-1]["rows_deleted"]["posts"] == 3
    # the expired file does not come back by being ingested again; the next run has nothing to do
    ingest(workspace, old)
    assert scalar(workspace, "SELECT count(*) FROM posts") == 2
    again = expire(workspace, CUTOFF)
    assert again.rows_deleted == {} and again.archives_deleted == 0 and again.files_deleted == 0


def test_cli_retention(workspace, tmp_path):
    ingest(workspace, *_files(tmp_path))
    root = ["--workspace", str(workspace.root), "retention"]
    runner = CliRunner()
    out = runner.invoke(app, root + ["0d"])
    assert out.exit_code == 2 and "PERIOD" in out.output
    out = runner.invoke(app, root + ["100y", "--dry-run", "--json"])
    assert out.exit_code == 0, out.output
    summary = orjson.loads(out.stdout)
    assert summary["dry_run"] and summary["rows_deleted"] == {} and summary["archives_kept"] == 3
    out = runner.invoke(app, root + ["1d"])
    assert out.exit_code == 0, out.output
    assert "retention before" in out.output and scalar(workspace, "SELECT count(*) FROM posts") == 0


def test_expire_reaches_a_local_lake(workspace, tmp_path):
    """A workspace ingested on Spark keeps its rows and ``sources`` in a Parquet lake: they expire there,
    and the archived files the lake's sources name go as in the store."""
    ingest(workspace, *_files(tmp_path))
    lake = workspace.root / "lake"
    moved = ("posts", "interactions", "observations", "accounts", "sources")
    with workspace.writer() as con:
        for table in moved:
            (lake / table).mkdir(parents=True)
            pq.write_table(con.sql(f"FROM {table}").to_arrow_table(), lake / table / "part.parquet")
            con.execute(f"DELETE FROM {table}")
    (lake / "graph_metrics").mkdir()  # an analysis the Spark engine wrote to the lake
    pq.write_table(duckdb.sql("SELECT 'x' AS platform, '8001' AS account_id, 0.5 AS pagerank").to_arrow_table(),
                   lake / "graph_metrics" / "part.parquet")
    archives = sorted(p.name for p in workspace.raw_dir.rglob("*") if p.is_file())
    result = expire(workspace, CUTOFF)
    assert result.rows_deleted["lake/posts"] == 3 and result.rows_deleted["lake/accounts"] == 1
    assert "posts" not in result.rows_deleted and result.archives_deleted == 1 and result.archives_kept == 2
    assert "lake/graph_metrics" in result.analysis_tables_dropped and not (lake / "graph_metrics").exists()
    posts = duckdb.sql(f"SELECT post_id FROM read_parquet('{lake}/posts/**/*.parquet') ORDER BY 1").fetchall()
    assert posts == [("9202",), ("9301",)]
    sources = duckdb.sql(f"SELECT path LIKE '%old.jsonl', archive_path IS NULL FROM read_parquet('{lake}/sources/**/*.parquet') "
                         "ORDER BY 1 DESC").fetchall()
    assert sources == [(True, True), (False, False), (False, False)]
    assert len(sorted(p.name for p in workspace.raw_dir.rglob("*") if p.is_file())) == len(archives) - 1
    assert _grep_workspace(workspace, "lighthouses") == []
