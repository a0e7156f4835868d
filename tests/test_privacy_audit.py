"""Audit of the GDPR tools: retention reaches the archive, forget survives re-ingest and analysis, logs and
the audit log name nobody, and ``forget`` finds a person by any of their names."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys

import orjson
import pytest
from typer.testing import CliRunner

from confiance.cli import app
from confiance.errors import ConfianceError
from confiance.ingest._readers import decompress
from confiance.pipeline import analyze
from confiance.privacy import expire, forget
from confiance.workspace import Workspace
from tests.conftest import FORMATS, ingest, query, scalar
from tests.test_forget_archive import SAMPLES, hits, traces, workspace_bytes
from tests.test_retention import CUTOFF, _files


def _archived_records(ws: Workspace) -> list[dict]:
    """Every JSON record of every archived file (one page per line in these tests)."""
    out = []
    for path in sorted(ws.raw_dir.rglob("*.zst")):
        for line in decompress(path.read_bytes()).splitlines():
            if line.strip():
                out.append(orjson.loads(line))
    return out


def test_expire_removes_expired_posts_from_archives_it_keeps(workspace, tmp_path):
    # mixed.jsonl holds a 2023 post (expired) and a 2025 post (kept): its archive stays, without the old post
    old, mixed, new = _files(tmp_path)
    ingest(workspace, old, mixed, new)
    expire(workspace, CUTOFF)
    files = workspace_bytes(workspace.root)
    assert hits(files, {"winter of the long strike"}) == {}
    assert hits(files, {"night trains", "sleeper cabins"}).keys() == {"night trains", "sleeper cabins"}
    ids = {post["id"] for page in _archived_records(workspace) for post in page["data"]}
    assert "9201" not in ids and {"9202", "9301"} <= ids
    # the kept file, ingested again, brings nothing back (its hash is known)
    ingest(workspace, mixed)
    assert [r[0] for r in query(workspace, "SELECT post_id FROM posts ORDER BY 1")] == ["9202", "9301"]
