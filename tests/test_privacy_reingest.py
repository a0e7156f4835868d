"""``forget`` then ingest again: the same files bring nothing back; new files that hold the person, or point
at them, keep them out of the store (the suppression list), the analyses and the archive."""

from __future__ import annotations

import shutil

import pytest

from confiance.pipeline import analyze
from confiance.privacy import forget
from confiance.simulate import simulate_world
from confiance.workspace import Workspace
from tests.conftest import ingest, query, scalar
from tests.test_forget_archive import SAMPLES, TARGETS, _TARGET, hits, traces, workspace_bytes
from tests import test_forget_archive

samples_ws = test_forget_archive.samples_ws  # the module-scoped fixture, shared


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


@pytest.mark.parametrize("platform", ["x", "bluesky", "mastodon"])
def test_new_records_of_a_forgotten_person_stay_out_of_the_store(forgotten_then_reingested, platform):
    ws, people = forgotten_then_reingested
    account_id, handle, post_ids, needles = people[platform]
    assert _person_rows(ws, platform, account_id, handle, post_ids) == dict.fromkeys(
        ("accounts", "posts", "interactions", "observations"), 0)
    assert hits({"confiance.duckdb": workspace_bytes(ws.root)["confiance.duckdb"]}, needles) == {}


def test_archives_of_files_ingested_after_forget_do_not_hold_the_person(forgotten_then_reingested):
    ws, people = forgotten_then_reingested
    files = workspace_bytes(ws.root)
    assert {platform: hits(files, {account_id.lower(), handle.lower()})
            for platform, (account_id, handle, _, _) in people.items()} == {"x": {}, "bluesky": {}, "mastodon": {}}
