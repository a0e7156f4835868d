"""``forget alice`` when alice is an X account and an unrelated Reddit account: refused with the qualified
forms (nothing deleted, nothing in the audit log); a qualified form forgets one; ``--every-platform`` both."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from confiance.cli import app
from confiance.ingest._readers import decompress
from tests.conftest import ingest, query, scalar

HANDLE = "alicezq7"
X_ID = "55501"


def _files(tmp_path):
    """An X page where @alicezq7 posts and bob mentions her; a Reddit comment by another alicezq7."""
    users = [{"id": X_ID, "username": HANDLE, "name": "Alice on X"}, {"id": "55502", "username": "bobzq7", "name": "Bob"}]
    tweets = [{"id": "7001", "author_id": X_ID, "text": "bonjour depuis X", "created_at": "2024-02-01T10:00:00Z"},
              {"id": "7002", "author_id": "55502", "text": f"@{HANDLE} salut", "created_at": "2024-02-01T11:00:00Z",
               "entities": {"mentions": [{"username": HANDLE, "id": X_ID}]}}]
    page = tmp_path / "x.jsonl"
    page.write_text(json.dumps({"data": tweets, "includes": {"users": users}}) + "\n")
    comment = {"id": "c7003", "author": HANDLE, "author_fullname": "t2_zq7", "body": "a comment on Reddit",
               "created_utc": 1706781600, "subreddit": "france", "link_id": "t3_zq7", "parent_id": "t3_zq7",
               "score": 3}
    reddit = tmp_path / "reddit.ndjson"
    reddit.write_text(json.dumps(comment) + "\n")
    return page, reddit


@pytest.fixture
def two_alices(workspace, tmp_path):
    ingest(workspace, *_files(tmp_path))
    platforms = {p for (p,) in query(workspace, "SELECT platform FROM accounts WHERE lower(handle) = ?", [HANDLE])}
    assert platforms == {"x", "reddit"}
    return workspace


def _forget(ws, *args):
    return CliRunner().invoke(app, ["--workspace", str(ws.root), "forget", *args])


def _accounts(ws) -> int:
    return scalar(ws, "SELECT count(*) FROM accounts WHERE lower(handle) = ?", [HANDLE])


def test_a_bare_handle_on_two_platforms_is_refused_with_the_qualified_forms(two_alices):
    ws = two_alices
    posts = scalar(ws, "SELECT count(*) FROM posts")
    out = _forget(ws, f"@{HANDLE}")
    assert out.exit_code == 1
    message = str(out.exception)
    assert f"x:{HANDLE}" in message and f"reddit:{HANDLE}" in message and "--every-platform" in message
    assert _accounts(ws) == 2 and scalar(ws, "SELECT count(*) FROM posts") == posts
    assert scalar(ws, "SELECT count(*) FROM suppressions") == 0
    assert HANDLE not in (ws.audit_path.read_text() if ws.audit_path.exists() else "")


def test_the_cli_prints_the_refusal_as_one_line_and_exits_1(two_alices):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(two_alices.root), "forget", HANDLE],
                         capture_output=True, text=True)
    assert out.returncode == 1
    [line] = out.stderr.splitlines()
    assert line.startswith("error: ") and f"x:{HANDLE}" in line and f"reddit:{HANDLE}" in line


def test_a_qualified_handle_forgets_only_that_platform(two_alices):
    ws = two_alices
    out = _forget(ws, f"x:{HANDLE}")
    assert out.exit_code == 0, out.output
    assert scalar(ws, "SELECT list(platform) FROM accounts WHERE lower(handle) = ?", [HANDLE]) == ["reddit"]
    assert scalar(ws, "SELECT count(*) FROM posts WHERE platform = 'reddit'") == 1
    assert scalar(ws, "SELECT text FROM posts WHERE post_id = '7002'") == "@[forgotten] salut"


def test_every_platform_forgets_both(two_alices):
    ws = two_alices
    out = _forget(ws, HANDLE, "--every-platform")
    assert out.exit_code == 0, out.output
    assert _accounts(ws) == 0
    assert scalar(ws, "SELECT count(*) FROM posts WHERE platform = 'reddit'") == 0
    assert scalar(ws, "SELECT count(*) FROM posts WHERE platform = 'x'") == 1  # bob's post stays


def test_a_handle_on_one_platform_needs_no_qualifier(workspace, tmp_path):
    page, _ = _files(tmp_path)
    ingest(workspace, page)
    out = _forget(workspace, HANDLE)
    assert out.exit_code == 0, out.output
    assert _accounts(workspace) == 0


def test_forget_help_names_the_flag():
    out = CliRunner().invoke(app, ["forget", "--help"])
    assert out.exit_code == 0 and "--every-platform" in out.output and "x:alice" in out.output


def test_a_qualified_forget_keeps_the_other_platforms_namesake_in_the_archive(two_alices):
    from tests.test_forget_archive import workspace_bytes

    ws = two_alices
    assert _forget(ws, f"x:{HANDLE}").exit_code == 0
    archives = {name: data for name, data in workspace_bytes(ws.root).items() if name.startswith("raw/")}
    assert [name for name, data in archives.items() if b"a comment on reddit" in data and HANDLE.encode() in data]
    x_archive = ws.archive_path(scalar(ws, "SELECT source_sha256 FROM posts WHERE post_id = '7002'"))
    assert HANDLE.encode() not in decompress(decompress(x_archive.read_bytes())).lower()


def _later_files(tmp_path):
    """Collected after the forget: alicezq7 posts on X again and is named on X, with and without '@'; Reddit's
    alicezq7 comments again and is named there with and without 'u/'."""
    users = [{"id": X_ID, "username": HANDLE, "name": "Alice on X"}, {"id": "55502", "username": "bobzq7", "name": "Bob"}]
    tweets = [{"id": "7101", "author_id": X_ID, "text": "encore moi sur X", "created_at": "2024-03-01T10:00:00Z"},
              {"id": "7102", "author_id": "55502", "text": f"@{HANDLE} et {HANDLE.upper()} encore",
               "created_at": "2024-03-01T11:00:00Z", "entities": {"mentions": [{"username": HANDLE, "id": X_ID}]}}]
    page = tmp_path / "later" / "x.jsonl"
    page.parent.mkdir()
    page.write_text(json.dumps({"data": tweets, "includes": {"users": users}}) + "\n")
    comments = [{"id": "c7103", "author": HANDLE, "author_fullname": "t2_zq7", "body": "another comment on Reddit",
                 "created_utc": 1709287200, "subreddit": "france", "link_id": "t3_zq7", "parent_id": "t3_zq7"},
                {"id": "c7104", "author": "carolzq7", "body": f"thanks u/{HANDLE}, {HANDLE} is right",
                 "created_utc": 1709290800, "subreddit": "france", "link_id": "t3_zq7", "parent_id": "t3_zq7"}]
    reddit = tmp_path / "later" / "reddit.ndjson"
    reddit.write_text("".join(json.dumps(c) + "\n" for c in comments))
    return page, reddit


def test_a_later_ingest_keeps_the_other_platforms_namesake(two_alices, tmp_path):
    from tests.test_forget_archive import workspace_bytes

    ws = two_alices
    assert _forget(ws, f"x:{HANDLE}").exit_code == 0
    x_result, reddit_result = ingest(ws, *_later_files(tmp_path))
    assert (x_result.rejected, reddit_result.rejected) == (1, 0)  # her X post only
    assert scalar(ws, "SELECT list(DISTINCT platform) FROM accounts WHERE lower(handle) = ?", [HANDLE]) == ["reddit"]
    assert scalar(ws, "SELECT count(*) FROM posts WHERE platform = 'reddit' AND account_id = ?", [HANDLE]) == 2
    assert scalar(ws, "SELECT text FROM posts WHERE post_id = '7102'") == "@[forgotten] et [forgotten] encore"
    assert query(ws, "SELECT text, mentions FROM posts WHERE post_id = 't1_c7104'") == [
        (f"thanks u/{HANDLE}, {HANDLE} is right", [HANDLE])]
    assert scalar(ws, "SELECT count(*) FROM interactions WHERE platform = 'reddit' AND dst = ?", [HANDLE]) == 1
    archives = {name: data.lower() for name, data in workspace_bytes(ws.root).items() if name.startswith("raw/")}
    assert sum(HANDLE.encode() in data for data in archives.values()) == 2  # both Reddit files, no X file


def test_every_platform_suppresses_both_namesakes_in_a_later_ingest(two_alices, tmp_path):
    ws = two_alices
    assert _forget(ws, HANDLE, "--every-platform").exit_code == 0
    x_result, reddit_result = ingest(ws, *_later_files(tmp_path))
    assert (x_result.rejected, reddit_result.rejected) == (1, 1)
    assert _accounts(ws) == 0
    assert scalar(ws, "SELECT text FROM posts WHERE post_id = 't1_c7104'") == \
        "thanks u/[forgotten], [forgotten] is right"


def test_an_unscoped_handle_hash_from_an_older_list_still_suppresses_on_every_platform(workspace, tmp_path):
    from datetime import datetime, timezone

    from confiance.person import key_hash

    with workspace.writer() as con:  # a list written before handles were hashed with their platform
        con.execute("INSERT INTO suppressions VALUES (?, ?)", [key_hash(HANDLE), datetime.now(timezone.utc)])
    ingest(workspace, *_files(tmp_path))
    assert _accounts(workspace) == 0
    assert scalar(workspace, "SELECT text FROM posts WHERE post_id = '7002'") == "@[forgotten] salut"
    assert scalar(workspace, "SELECT list(mentions) FROM posts WHERE post_id = '7002'") == [[]]
