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
from confiance.errors import ConfianceError
from confiance.ingest._readers import decompress
from confiance.pipeline import analyze
from confiance.privacy import expire, forget
from confiance.simulate import simulate_world
from confiance.workspace import Workspace
from tests.conftest import FORMATS, ingest, query, scalar
from tests.test_forget_archive import SAMPLES, TARGETS, _TARGET, hits, samples_ws, traces, workspace_bytes  # noqa: F401
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


def _person_rows(ws: Workspace, platform: str, account_id: str, handle: str, post_ids: list[str]) -> dict[str, int]:
    """Rows of every canonical table that still point at the person."""
    checks = {
        "accounts": "SELECT count(*) FROM accounts WHERE platform = $1 AND (account_id = $2 OR lower(handle) = $3)",
        "posts": "SELECT count(*) FROM posts WHERE platform = $1 AND (account_id = $2 OR parent_account_id = $2 "
                 "OR list_contains(mentions, $3) OR list_contains($4, post_id) OR list_contains($4, parent_post_id) "
                 "OR list_contains($4, root_post_id))",
        "interactions": "SELECT count(*) FROM interactions WHERE platform = $1 AND ($2 IN (src, dst) OR list_contains($4, post_id))",
        "observations": "SELECT count(*) FROM observations WHERE platform = $1 AND list_contains($4, post_id)",
    }
    bind = "WITH bound AS (SELECT $1 AS a, $2 AS b, $3 AS c, $4 AS d) "  # every query takes all four
    return {table: scalar(ws, bind + sql, [platform, account_id, handle.lower(), post_ids])
            for table, sql in checks.items()}


@pytest.mark.parametrize("platform", ["x", "bluesky", "mastodon"])
def test_forget_then_reingest_keeps_the_person_out_of_the_store(samples_ws, tmp_path, platform):
    shutil.copytree(samples_ws.root, tmp_path / "ws", ignore=shutil.ignore_patterns("*.lock"))
    ws = Workspace.open(tmp_path / "ws")
    [(account_id, handle)] = query(ws, _TARGET.format(TARGETS["mentioned"] + " OR " + TARGETS["answered"])
                                   .replace("SELECT a.account_id", "SELECT a.account_id, a.handle"), [platform])
    post_ids = sorted(p for (p,) in query(ws, "SELECT post_id FROM posts WHERE platform = $1 AND account_id = $2 UNION "
                                              "SELECT parent_post_id FROM posts WHERE platform = $1 AND parent_account_id = $2",
                                          [platform, account_id]) if p)
    assert sum(_person_rows(ws, platform, account_id, handle, post_ids).values()) > 0
    needles = traces(ws, platform, account_id)
    forget(ws, f"{platform}:{account_id}")
    # the same files again: known by their hashes, nothing is read
    assert all(r.stored == 0 for r in ingest(ws, *SAMPLES))
    # the same records in new files (collected again): the suppression list keeps the person out
    copies = []
    for i, sample in enumerate(SAMPLES):
        copy = tmp_path / "again" / f"{i}-{sample.name}"
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(sample.read_bytes() + b"\n")
        copies.append(copy)
    ingest(ws, *copies)
    analyze(ws)
    assert _person_rows(ws, platform, account_id, handle, post_ids) == dict.fromkeys(
        ("accounts", "posts", "interactions", "observations"), 0)
    assert hits({"confiance.duckdb": workspace_bytes(ws.root)["confiance.duckdb"]}, needles) == {}


def _halves(world, folder):
    """Each world file split in two (even and odd records): the second half holds records not yet stored."""
    first, second = [], []
    for path in sorted(p for sub in ("x", "bluesky", "mastodon") for p in (world / sub).iterdir()):
        lines = path.read_bytes().splitlines(keepends=True)
        for part, out, keep in (("a", first, 0), ("b", second, 1)):
            target = folder / part / f"{path.parent.name}-{path.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"".join(lines[keep::2]))
            out.append(target)
    return first, second


@pytest.fixture(scope="module")
def forgotten_then_reingested(tmp_path_factory):
    """Half the world ingested, one person per platform forgotten, the other half ingested and analysed:
    (workspace, {platform: (account_id, handle, post ids, traces)})."""
    root = tmp_path_factory.mktemp("reingest")
    simulate_world(root / "world", seed=5, accounts=270, posts=2000)
    first, second = _halves(root / "world", root / "files")
    ws = Workspace.init(root / "ws")
    ingest(ws, *first)
    people = {}
    for platform in ("x", "bluesky", "mastodon"):
        [(account_id, handle)] = query(ws, _TARGET.format(TARGETS["mentioned"] + " OR " + TARGETS["answered"])
                                       .replace("SELECT a.account_id", "SELECT a.account_id, a.handle"), [platform])
        post_ids = sorted(p for (p,) in query(
            ws, "SELECT post_id FROM posts WHERE platform = $1 AND account_id = $2 UNION "
                "SELECT parent_post_id FROM posts WHERE platform = $1 AND parent_account_id = $2",
            [platform, account_id]) if p)
        people[platform] = (account_id, handle, post_ids, traces(ws, platform, account_id))
        forget(ws, f"{platform}:{account_id}")
    results = ingest(ws, *second)
    assert sum(r.stored for r in results) > 500
    analyze(ws)
    return ws, people


@pytest.mark.xfail(strict=True, reason="ingest's apply_suppressions (ingest/_engine.py) keeps others' parent_post_id, "
                   "root_post_id, in_reply_to_id and @handle text pointing at the person: 14 X, 6 Bluesky, 3 Mastodon "
                   "posts here; the lead has the diff")
@pytest.mark.parametrize("platform", ["x", "bluesky", "mastodon"])
def test_new_records_of_a_forgotten_person_stay_out_of_the_store(forgotten_then_reingested, platform):
    ws, people = forgotten_then_reingested
    account_id, handle, post_ids, needles = people[platform]
    assert _person_rows(ws, platform, account_id, handle, post_ids) == dict.fromkeys(
        ("accounts", "posts", "interactions", "observations"), 0)
    assert hits({"confiance.duckdb": workspace_bytes(ws.root)["confiance.duckdb"]}, needles) == {}


@pytest.mark.xfail(strict=True, reason="ingest archives a file's bytes as read: a file ingested after forget keeps the "
                   "person's records in its archive (their rows are rejected by the suppression list)")
def test_archives_of_files_ingested_after_forget_do_not_hold_the_person(forgotten_then_reingested):
    ws, people = forgotten_then_reingested
    files = workspace_bytes(ws.root)
    assert {platform: hits(files, {account_id.lower(), handle.lower()})
            for platform, (account_id, handle, _, _) in people.items()} == {"x": {}, "bluesky": {}, "mastodon": {}}


def _cli(ws_root, *args, check=True) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws_root), *args],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 or not check, out.stderr
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_pages(ws_root, paths: list[str]) -> tuple[str, list[int]]:
    """Run ``confiance serve``, fetch the pages, stop it: everything it printed, and each page's status."""
    import time
    import urllib.error
    import urllib.request

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "confiance.cli", "--workspace", str(ws_root), "serve",
                               "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/overview", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        statuses = []
        for path in paths:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as page:
                    page.read()
                    statuses.append(page.status)
            except urllib.error.HTTPError as exc:  # a 404 for a forgotten account is part of the session
                statuses.append(exc.code)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    return output, statuses


def test_a_full_session_logs_no_handle_text_or_account_id(tmp_path):
    """simulate, ingest, analyze, report, export, forget, retention, serve: what they print on stderr and the
    audit log carry counts, paths and hashes (DESIGN §8), never a handle, an account id or a post's text."""
    ws_root = tmp_path / "ws"
    printed = [_cli(ws_root, "init").stderr]
    printed.append(_cli(ws_root, "simulate", str(tmp_path / "world"), "--seed", "7", "--accounts", "270",
                        "--posts", "2000").stderr)
    printed.append(_cli(ws_root, "ingest", str(tmp_path / "world" / "x"), str(tmp_path / "world" / "bluesky"),
                        str(tmp_path / "world" / "mastodon")).stderr)
    ws = Workspace.open(ws_root)
    accounts = query(ws, "SELECT platform, account_id, handle FROM accounts")
    texts = [t for (t,) in query(ws, "SELECT text FROM posts WHERE length(text) >= 30")]
    printed.append(_cli(ws_root, "analyze").stderr)
    printed.append(_cli(ws_root, "report").stderr)
    printed.append(_cli(ws_root, "export", "csv", "-o", str(tmp_path / "export")).stderr)
    printed.append(_cli(ws_root, "status").stderr)
    platform, account_id, handle = max(accounts, key=lambda a: (len(a[2] or ""), a[1]))
    printed.append(_cli(ws_root, "forget", f"@{handle}").stderr)
    printed.append(_cli(ws_root, "forget", f"@{handle}", check=False).stderr)  # gone: the error names what was asked
    printed.append(_cli(ws_root, "retention", "100y", "--dry-run").stderr)
    other = next(a for a in accounts if a[1] != account_id)
    output, served = _serve_pages(ws_root, ["/", "/api/overview", "/api/tables", f"/accounts/{other[0]}/{other[1]}",
                                            f"/api/accounts/{other[0]}/{other[1]}",
                                            f"/accounts/{platform}/{account_id}", "/map"])
    printed.append(output)
    logs = "\n".join(printed).lower()
    audit = ws.audit_path.read_text().lower()
    assert "forgotten:" in logs and "dashboard at" in logs and served == [200, 200, 200, 200, 200, 404, 200]
    assert {"ingest", "analyze", "report", "export", "forget", "serve"} <= {
        orjson.loads(line)["action"] for line in audit.splitlines()}
    needles = ({h.lower() for _, _, h in accounts if h and len(h) >= 6} | {a.lower() for _, a, _ in accounts if len(a) >= 6}
               | {t[:30].lower() for t in texts})
    # the second forget's error repeats what the user typed, nothing the store knows
    logs = logs.replace(f"'@{handle.lower()}'", "")
    assert sorted(n for n in needles if n in logs) == []
    assert sorted(n for n in needles if n in audit) == []


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
