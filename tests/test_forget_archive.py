"""`forget` leaves no id of the person in other people's archived records (replies, quotes, mentions, embeds).

Each case ingests real samples (and a small simulated world), forgets an account that others answer,
quote or mention, and then reads every byte of the workspace folder (compressed archives decompressed,
Parquet values decoded) for the person's handle, account ids, DID and post ids, and for the parts of a
post id that open the post on their own: a Mastodon status number, a Bluesky record key.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from confiance.export import export_tables
from confiance.ingest._readers import decompress
from confiance.pipeline import analyze
from confiance.privacy import forget
from confiance.report import build_report
from confiance.simulate import simulate_world
from confiance.workspace import Workspace
from tests.conftest import FORMATS, ingest, query

SAMPLES = [FORMATS / "twitter-v2-json" / "brexit.jsonl", FORMATS / "twitter-v2-json" / "quoted_edit.jsonl",
           FORMATS / "bluesky-atproto" / "bluesky-posts.json",
           FORMATS / "bluesky-atproto" / "bluesky-firehose-posts.json",
           FORMATS / "mastodon-api" / "test_public_tl.yaml",
           FORMATS / "mastodon-api" / "test_status_reply_with_quote.yaml"]

#: Per platform, the account that others answer, quote or repost most, and the one they mention most (ties by id).
TARGETS = {
    "answered": "p.parent_account_id = a.account_id",
    "mentioned": "list_contains(p.mentions, lower(a.handle))",
}
_TARGET = """
SELECT a.account_id FROM accounts a WHERE a.platform = $1
ORDER BY (SELECT count(*) FROM posts p WHERE p.platform = $1 AND p.account_id <> a.account_id AND {}) DESC,
         a.account_id
LIMIT 1
"""


def workspace_bytes(root: Path) -> dict[str, bytes]:
    """Every file under the workspace folder, lower-cased: zstd/gzip members decompressed, Parquet values decoded."""
    out = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.endswith(".lock"):
            continue
        data = path.read_bytes()
        if path.suffix in (".gz", ".zst"):
            data = decompress(decompress(data))
        if path.suffix == ".parquet":
            data += orjson.dumps(pq.read_table(path).to_pylist(), default=str)
        out[str(path.relative_to(root))] = data.lower()
    return out


def traces(ws: Workspace, platform: str, account_id: str) -> set[str]:
    """What names the person: handle, account ids (the instance's numeric id for Mastodon), DID, their post
    ids (their own and those others answered or quoted), and a post id's last part when it is distinctive."""
    rows = query(ws, "SELECT account_id, handle, json_extract_string(attributes, '$.instance_account_id') "
                     "FROM accounts WHERE platform = ? AND account_id = ?", [platform, account_id])
    names = {x for row in rows for x in row if x} | {account_id}
    posts = {p for (p,) in query(ws, "SELECT post_id FROM posts WHERE platform = ? AND account_id = ? UNION "
                                     "SELECT parent_post_id FROM posts WHERE platform = ? AND parent_account_id = ?",
                                 [platform, account_id] * 2) if p}
    for post in list(posts):
        last = re.split(r"[/:]", post)[-1]
        if len(last) >= 10:
            posts.add(last)
        number, at, _ = post.partition("@")
        if at and number.isdigit():  # a Mastodon status as another instance knows it
            posts.add(number)
        if user := re.search(r"/users/(\d+)/statuses/", post):
            names.add(user.group(1))
    return {t.lower() for t in names | posts}


def mastodon_name_hits(files: dict[str, bytes], handle: str) -> list[str]:
    """Files that still show a Mastodon ``user@host`` as a profile URL or an ``@user`` mention."""
    local, _, host = handle.lower().partition("@")
    pattern = re.compile(rf"://{re.escape(host)}/(?:users/|@){re.escape(local)}(?![\w@])"
                         rf"|@(?:<span>)?{re.escape(local)}(?:</span>)?(?![\w@])".encode())
    return [name for name, data in files.items() if pattern.search(data)]


def hits(files: dict[str, bytes], needles: set[str]) -> dict[str, list[str]]:
    found = {}
    for needle in sorted(needles):
        where = [name for name, data in files.items() if needle.encode() in data]
        if where:
            found[needle] = where
    return found


def compressed_copies(folder: Path) -> list[Path]:
    """The samples again, gzip, xz and zstd compressed: their archives hold the compressed bytes."""
    import gzip
    import lzma

    import pyarrow as pa

    copies = []
    for i, sample in enumerate(SAMPLES):
        kind = ("gz", "xz", "zst")[i % 3]
        target = folder / f"{sample.name}.{kind}"
        data = sample.read_bytes()
        if kind == "zst":
            with pa.CompressedOutputStream(str(target), "zstd") as out:
                out.write(data)
        else:
            target.write_bytes(gzip.compress(data) if kind == "gz" else lzma.compress(data))
        copies.append(target)
    return copies


@pytest.fixture(scope="module")
def samples_ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("samples")
    ws = Workspace.init(root / "ws")
    ingest(ws, *SAMPLES)
    (root / "compressed").mkdir()
    ingest(ws, *compressed_copies(root / "compressed"))
    return ws


# the Mastodon samples answer only their own statuses; others mention them
@pytest.mark.parametrize(("platform", "target"), [("x", "answered"), ("x", "mentioned"), ("bluesky", "answered"),
                                                  ("bluesky", "mentioned"), ("mastodon", "mentioned")])
def test_forget_removes_every_id_of_the_person_from_the_real_samples(samples_ws, tmp_path, platform, target):
    shutil.copytree(samples_ws.root, tmp_path / "ws", ignore=shutil.ignore_patterns("*.lock"))
    ws = Workspace.open(tmp_path / "ws")
    [(account_id,)] = query(ws, _TARGET.format(TARGETS[target]), [platform])
    assert query(ws, f"SELECT count(*) FROM posts p, accounts a WHERE a.platform = $1 AND p.platform = $1 "
                     f"AND a.account_id = $2 AND p.account_id <> $2 AND {TARGETS[target]}", [platform, account_id])[0][0]
    needles = traces(ws, platform, account_id)
    before = hits(workspace_bytes(ws.root), needles)
    # the person is named in others' archived records: as parent, quoted post or mention
    assert len(before) >= 3 and any(len(files) for files in before.values())
    others = query(ws, "SELECT count(*) FROM posts WHERE platform = ? AND account_id <> ?", [platform, account_id])
    handle = query(ws, "SELECT handle FROM accounts WHERE platform = ? AND account_id = ?", [platform, account_id])[0][0]
    if platform == "mastodon":
        assert mastodon_name_hits(workspace_bytes(ws.root), handle)
    forget(ws, f"{platform}:{account_id}")
    files = workspace_bytes(ws.root)
    assert hits(files, needles) == {}
    if platform == "mastodon":
        assert mastodon_name_hits(files, handle) == []
    # other people's posts stay
    assert query(ws, "SELECT count(*) FROM posts WHERE platform = ? AND account_id <> ?",
                 [platform, account_id]) == others


@pytest.fixture(scope="module")
def analysed_small_world(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("forget-world")
    simulate_world(root / "world", seed=5, accounts=270, posts=2000)
    ws = Workspace.init(root / "ws")
    ingest(ws, root / "world" / "x", root / "world" / "bluesky", root / "world" / "mastodon")
    analyze(ws)
    build_report(ws)
    ws.publish_snapshot()
    with ws.reader() as con:
        # the vectors are exported too, but only make the files large: they carry no id the others lack
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                            "'main' AND table_name NOT LIKE '%embeddings'").fetchall()]
        export_tables(con, "csv", ws.exports_dir / "csv", tables=tables)
        export_tables(con, "parquet", ws.exports_dir / "parquet", tables=tables)
    return ws


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("platform", ["x", "bluesky", "mastodon"])
def test_forget_in_an_analysed_world_leaves_no_id_in_any_file(analysed_small_world, tmp_path, platform, target):
    shutil.copytree(analysed_small_world.root, tmp_path / "ws", ignore=shutil.ignore_patterns("*.lock"))
    ws = Workspace.open(tmp_path / "ws")
    [(account_id,)] = query(ws, _TARGET.format(TARGETS[target]), [platform])
    needles = traces(ws, platform, account_id)
    handle = query(ws, "SELECT handle FROM accounts WHERE platform = ? AND account_id = ?", [platform, account_id])[0][0]
    before = hits(workspace_bytes(ws.root), needles)
    # named in the store, the archive, the snapshot, the report and the exports
    assert {name.split("/")[0] for files in before.values() for name in files} >= {
        "confiance.duckdb", "raw", "snapshots", "reports", "exports"}
    # a raw file of another platform keeps its records: '@solvane.bsky.social' there is someone else
    elsewhere = {str(ws.archive_path(sha).relative_to(ws.root)) for (sha,) in query(
        ws, "SELECT source_sha256 FROM posts GROUP BY 1 HAVING bool_and(platform <> ?)", [platform])}
    forget(ws, f"{platform}:{account_id}")
    files = workspace_bytes(ws.root)
    assert hits(files, needles) == {}
    if platform == "mastodon":
        assert mastodon_name_hits({n: d for n, d in files.items() if n not in elsewhere}, handle) == []


def test_redaction_keeps_a_forgotten_user_name_used_as_a_plain_word():
    """A Mastodon user name can be a common word: only its mentions, profile URLs and ids go, not the word."""
    from confiance.person import Person
    from confiance.privacy import _Redactor

    person = Person(keys=[("mastodon", "brand@toot.example")], handles={"brand@toot.example"},
                    aliases={"https://toot.example/users/brand", "998877665544"},
                    post_ids={"https://toot.example/users/brand/statuses/113883236981211191"})
    other = {"id": "1", "account": {"id": "42", "acct": "ann@toot.example"},
             "in_reply_to_id": "113883236981211191", "in_reply_to_account_id": "998877665544",
             "content": '<p>the brand launch, <a href="https://toot.example/@brand">@<span>brand</span></a> and @brand</p>',
             "mentions": [{"id": "998877665544", "acct": "brand", "url": "https://toot.example/@brand"}]}
    out = orjson.dumps(_Redactor(person).walk(other)).decode()
    assert "the brand launch" in out and "ann@toot.example" in out
    for trace in ("998877665544", "113883236981211191", "/@brand", "@<span>brand", "@brand<", '"brand"'):
        assert trace not in out, trace
