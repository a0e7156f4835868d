"""Audit of the GDPR tools: retention reaches the archives it keeps, and ``forget`` finds a person by any of
their names and leaves everything as it was for an unknown one."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import orjson
import pytest

from confiance.errors import ConfianceError
from confiance.ingest._readers import decompress
from confiance.privacy import expire, forget
from confiance.workspace import Workspace
from tests.conftest import ingest, query, scalar
from tests.test_forget_archive import TARGETS, _TARGET, hits, workspace_bytes
from tests import test_forget_archive

samples_ws = test_forget_archive.samples_ws  # the module-scoped fixture, shared
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


def _cli(ws_root, *args, check=True) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws_root), *args],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 or not check, out.stderr
    return out


def _samples_copy(samples_ws, target) -> Workspace:
    shutil.copytree(samples_ws.root, target, ignore=shutil.ignore_patterns("*.lock"))
    return Workspace.open(target)


@pytest.mark.parametrize(("platform", "form"), [
    ("x", "{handle}"), ("x", "@{HANDLE}"), ("x", "{account_id}"), ("x", "x:{account_id}"),
    ("bluesky", "{account_id}"), ("bluesky", "@{handle}"), ("bluesky", "bluesky:{account_id}"),
    ("mastodon", "{handle}"), ("mastodon", "@{handle}"), ("mastodon", "mastodon:{account_id}"),
])
def test_forget_finds_the_person_by_any_of_their_names(samples_ws, tmp_path, platform, form):
    ws = _samples_copy(samples_ws, tmp_path / "ws")
    [(account_id, handle)] = query(ws, _TARGET.format(TARGETS["mentioned"]).replace(
        "SELECT a.account_id", "SELECT a.account_id, a.handle"), [platform])
    if platform == "bluesky":
        assert account_id.startswith("did:")
    if platform == "mastodon":
        assert re.fullmatch(r"[^@]+@[^@]+", handle)  # user@instance (here with a port: localhost:3000)
    who = form.format(handle=handle, HANDLE=handle.upper(), account_id=account_id)
    accounts = scalar(ws, "SELECT count(*) FROM accounts")
    result = forget(ws, who)
    assert result.rows_deleted["accounts"] == 1
    assert scalar(ws, "SELECT count(*) FROM accounts") == accounts - 1
    assert scalar(ws, "SELECT count(*) FROM accounts WHERE account_id = ?", [account_id]) == 0


@pytest.mark.parametrize("who", ["@nobody_here", "nobody_here@localhost:3000", "did:plc:nobodyhere", "x:12",
                                 "mastodon:nobody@localhost:3000", "@"])
def test_forget_of_an_unknown_person_is_one_error_and_changes_nothing(samples_ws, tmp_path, who):
    ws = _samples_copy(samples_ws, tmp_path / "ws")
    before = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file() and not p.name.endswith(".lock")}
    with pytest.raises(ConfianceError, match="no account matches"):
        forget(ws, who)
    after = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file() and not p.name.endswith(".lock")}
    assert after.keys() == before.keys() and all(after[p] == before[p] for p in before)
    out = _cli(ws.root, "forget", who, check=False)
    assert out.returncode == 1 and out.stdout == ""
    [line] = out.stderr.strip().splitlines()
    assert line.startswith(f"error: no account matches {who!r}")
