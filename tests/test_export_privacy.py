"""Spreadsheet-safe exports, pseudonymised exports, and `forget` leaving no trace of a canary."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import duckdb
import orjson
import pyarrow.parquet as pq
import pytest

from confiance.export import Pseudonymiser, export_tables
from confiance.ingest._readers import decompress
from confiance.pipeline import analyze
from confiance.privacy import forget
from confiance.report import build_report
from confiance.simulate import simulate_world
from confiance.workspace import Workspace
from tests.conftest import FORMATS, ingest, query, scalar

CANARY = "canaryzq93x"
CANARY_ID = "7777777777777777777"


def _canary_file(tmp_path):
    """A page where the canary posts, is mentioned, replied to and retweeted, with a formula-like text."""
    users = [{"id": CANARY_ID, "username": CANARY, "name": "Canary Person", "description": f"bio of {CANARY}",
              "location": "Lyon"},
             {"id": "42", "username": "other", "name": "Other"}]
    data = [
        {"id": "9001", "author_id": CANARY_ID, "text": f"I am {CANARY} and this is my very own post",
         "created_at": "2024-01-01T10:00:00Z"},
        {"id": "9002", "author_id": "42", "text": f"@{CANARY} hello there", "created_at": "2024-01-01T11:00:00Z",
         "entities": {"mentions": [{"username": CANARY, "id": CANARY_ID}]}},
        {"id": "9003", "author_id": "42", "text": f"RT @{CANARY}: I am {CANARY} and this is my very own post",
         "created_at": "2024-01-01T12:00:00Z", "referenced_tweets": [{"type": "retweeted", "id": "9001"}]},
        {"id": "9004", "author_id": "42", "text": "=HYPERLINK(\"http://evil\")", "created_at": "2024-01-01T13:00:00Z"},
    ]
    page = {"data": data, "includes": {"users": users, "tweets": [data[0]]}, "__twarc": {}}
    f = tmp_path / "canary.jsonl"
    f.write_text(json.dumps(page) + "\n")
    return f


def _grep_workspace(ws, needle: str) -> list[str]:
    hits = []
    for path in ws.root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix in (".gz", ".zst"):
            data = decompress(data)
        if needle.lower().encode() in data.lower():
            hits.append(str(path.relative_to(ws.root)))
    return hits


def test_csv_export_neutralises_formulas_and_keeps_ids_as_text(workspace, tmp_path):
    ingest(workspace, _canary_file(tmp_path))
    with workspace.reader() as con:
        export_tables(con, "csv", tmp_path / "out")
    rows = list(csv.DictReader(open(tmp_path / "out" / "posts.csv", encoding="utf-8")))
    texts = {r["post_id"]: r["text"] for r in rows}
    assert texts["9004"] == "'=HYPERLINK(\"http://evil\")"
    for row in rows:
        for value in row.values():
            assert not value[:1] in ("=", "+", "@", "\t", "\r") and not (value.startswith("-") and not value[1:].replace(".", "").isdigit())
    accounts = list(csv.DictReader(open(tmp_path / "out" / "accounts.csv", encoding="utf-8")))
    assert CANARY_ID in {a["account_id"] for a in accounts}  # 19 digits, exact


def test_parquet_export_round_trips(workspace, tmp_path):
    ingest(workspace, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    with workspace.reader() as con:
        export_tables(con, "parquet", tmp_path / "pq")
    table = pq.read_table(tmp_path / "pq" / "posts.parquet")
    assert table.num_rows == scalar(workspace, "SELECT count(*) FROM posts")
    assert str(table.schema.field("post_id").type) == "string"


def test_exports_stream_in_batches_with_the_same_files(workspace, tmp_path, monkeypatch):
    """Tables are read and written a batch at a time (memory bounded on any corpus): one header, every
    row, the same bytes as one batch; an empty table still gets its header."""
    import confiance.export

    ingest(workspace, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    analyze(workspace, only=["embeddings"])
    for fmt in ("csv", "parquet"):
        with workspace.reader() as con:
            export_tables(con, fmt, tmp_path / f"whole-{fmt}")
            monkeypatch.setattr(confiance.export, "EXPORT_BATCH_ROWS", 7)
            export_tables(con, fmt, tmp_path / f"batched-{fmt}")
            monkeypatch.undo()
        for whole in (tmp_path / f"whole-{fmt}").iterdir():
            batched = tmp_path / f"batched-{fmt}" / whole.name
            if fmt == "csv":
                assert batched.read_bytes() == whole.read_bytes(), whole.name
            else:
                assert pq.read_table(batched).equals(pq.read_table(whole)), whole.name
    posts = list(csv.DictReader(open(tmp_path / "batched-csv" / "posts.csv", encoding="utf-8")))
    assert len(posts) == scalar(workspace, "SELECT count(*) FROM posts") > 7
    assert (tmp_path / "batched-csv" / "kpis.csv").read_text().startswith('"series","ts","value"')


def test_pseudonymised_export_hides_people_but_keeps_links(workspace, tmp_path):
    ingest(workspace, _canary_file(tmp_path))
    with workspace.reader() as con:
        export_tables(con, "csv", tmp_path / "p", pseudonymiser=Pseudonymiser(b"k" * 32))
    blob = "".join(p.read_text() for p in (tmp_path / "p").glob("*.csv"))
    assert CANARY_ID not in blob and "Canary Person" not in blob and "Lyon" not in blob
    interactions = list(csv.DictReader(open(tmp_path / "p" / "interactions.csv")))
    accounts = {a["account_id"] for a in csv.DictReader(open(tmp_path / "p" / "accounts.csv"))}
    assert interactions and all(i["src"] in accounts and i["dst"] in accounts for i in interactions)
    # post ids are pseudonyms too, the same in every column: the retweet still points at the canary's post
    key = Pseudonymiser(b"k" * 32)
    posts = {p["post_id"]: p for p in csv.DictReader(open(tmp_path / "p" / "posts.csv"))}
    assert set(posts) == {key.post(i) for i in ("9001", "9002", "9003", "9004")}
    assert posts[key.post("9003")]["parent_post_id"] == key.post("9001")
    assert {i["post_id"] for i in interactions} <= set(posts)
    # mentions in text become the mentioned account's pseudonym, as in the handle and mentions columns
    assert posts[key.post("9002")]["text"] == f"'@{key.name(CANARY)} hello there"  # "'": the CSV formula guard
    assert posts[key.post("9003")]["text"].startswith(f"RT @{key.name(CANARY)}: ")


def test_pseudonymised_export_hides_people_inside_analysis_tables(workspace, tmp_path):
    """Analyses list accounts in their own columns (coordination pairs, cascade starters, community and
    polarisation leaders, engagers inside structs and JSON evidence): none keeps a real id or handle.
    Only free text (posts, example posts) may still spell a handle."""
    ingest(workspace, _canary_file(tmp_path), FORMATS / "twitter-v2-json" / "brexit.jsonl")
    analyze(workspace)
    with workspace.reader() as con:
        # ids, and the canary's handle: other handles ("youtube", "bbc") also spell hashtags and words
        real = {v.lower() for (v,) in con.execute("SELECT account_id FROM accounts").fetchall()} | {CANARY}
        export_tables(con, "csv", tmp_path / "p", pseudonymiser=Pseudonymiser(b"k" * 32))
    csv.field_size_limit(1 << 30)
    leaks = set()
    for path in (tmp_path / "p").glob("*.csv"):
        for row in csv.DictReader(open(path, encoding="utf-8")):
            for column, cell in row.items():
                # structured cells: ids, lists, JSON; not free text nor the words topics draw from it
                if cell and " " not in cell and column != "top_terms":
                    tokens = {t.lower() for t in re.findall(r"[\w.@-]+", cell) if len(t) > 5}
                    if tokens & real:
                        leaks.add(f"{path.stem}.{column}")
    assert not leaks, sorted(leaks)
    assert CANARY_ID not in "".join(p.read_text() for p in (tmp_path / "p").glob("*.csv"))


def test_mentions_links_and_dids_in_text_become_pseudonyms():
    key = Pseudonymiser(b"k" * 32, ["Alice.bsky.social", "bob@masto.example", "carol_x", "dan@one.example",
                                    "dan@two.example"])
    did = "did:plc:abcdefghijklmnopqrstuvwx"
    cases = {
        "hi @ALICE.bsky.social, and @carol_x.": f"hi @{key.name('alice.bsky.social')}, and @{key.name('carol_x')}.",
        "@bob@masto.example @bob: same person": f"@{key.name('bob@masto.example')} @{key.name('bob@masto.example')}: same person",
        # whole handles only: a longer handle, another instance, an e-mail address stay as they are
        "@carol_xy @bob@other.example mail carol_x@example.org": "@carol_xy @bob@other.example mail carol_x@example.org",
        "@carol_x.thanks": f"@{key.name('carol_x')}.thanks",
        "@dan is on two instances": f"@{key.name('dan')} is on two instances",
        "a snippet cut inside a handle @alice.bsk": f"a snippet cut inside a handle @{key.name('alice.bsky.social')}",
        f"see {did} and at://{did}/app.bsky.feed.post/3lf2y": f"see {key.name(did)} and {key.post(f'at://{did}/app.bsky.feed.post/3lf2y')}",
        "https://masto.example/@bob/1137 (toot)": f"{key.post('https://masto.example/@bob/1137')} (toot)",
        "read https://bsky.app/profile/alice.bsky.social/post/3lf2y.": f"read {key.post('https://bsky.app/profile/alice.bsky.social/post/3lf2y')}.",
        "news https://example.org/a?b=1 stays": "news https://example.org/a?b=1 stays",
    }
    for text, expected in cases.items():
        assert key.text(text) == expected, text
    assert key.post("Ab1") != key.post("ab1") and key.post("42") != key.name("42")


@pytest.fixture(scope="module")
def small_world(tmp_path_factory) -> Workspace:
    """A small simulated world (X, Bluesky, Mastodon) with every analysis run: evidence columns list post ids."""
    root = tmp_path_factory.mktemp("privacy-world")
    simulate_world(root / "world", seed=3, accounts=270, posts=2000)
    ws = Workspace.init(root / "ws")
    ingest(ws, root / "world" / "x", root / "world" / "bluesky", root / "world" / "mastodon")
    analyze(ws)
    return ws


#: Per platform, the account most mentioned and answered whose handle the texts only spell as an @mention
#: (a handle written as a plain word is free text, which a pseudonymised export keeps; see ``Pseudonymiser``).
_CANARIES = """
WITH candidate AS (
    SELECT a.platform, a.account_id, lower(a.handle) AS handle, split_part(lower(a.handle), '@', 1) AS local,
           (SELECT count(*) FROM posts p, unnest(p.mentions) AS m(h) WHERE m.h = lower(a.handle)) AS mentioned,
           (SELECT count(*) FROM posts p WHERE p.parent_account_id = a.account_id) AS answered
    FROM accounts a WHERE a.handle IS NOT NULL AND length(a.account_id) >= 15 AND length(a.handle) >= 8
    QUALIFY row_number() OVER (PARTITION BY a.platform ORDER BY mentioned + answered DESC, a.account_id) <= 10)
SELECT platform, account_id, handle, local FROM candidate c WHERE mentioned > 0 AND NOT EXISTS (
    SELECT 1 FROM posts p WHERE regexp_matches(lower(p.text), '(^|[^@\\w.])' || c.local))
QUALIFY row_number() OVER (PARTITION BY platform ORDER BY mentioned + answered DESC, account_id) = 1
ORDER BY platform
"""


def _exported_text(folder, skip=()) -> dict[str, bytes]:
    """Each exported file's bytes; a Parquet file's values also as JSON text (compressed pages hide strings)."""
    out = {}
    for path in sorted(folder.iterdir()):
        if path.stem in skip:
            continue
        data = path.read_bytes()
        if path.suffix == ".parquet":
            data += orjson.dumps(pq.read_table(path).to_pylist(), default=str)
        out[path.stem] = data.lower()
    return out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_pseudonymised_exports_leave_no_canary_and_keep_joins(small_world, tmp_path, fmt):
    """Planted canaries (an X, a Bluesky and a Mastodon account): after ``export --pseudonymise`` no exported
    byte spells their handle, DID or account id, or any of their post ids (which name them: an AT-URI
    holds the DID, a Mastodon status URI the user name), in posts, interactions, or analyses' evidence;
    joins between the exported tables match as many rows as in the store."""
    with small_world.reader() as con:
        canaries = con.execute(_CANARIES).fetchall()
        assert [c[0] for c in canaries] == ["bluesky", "mastodon", "x"]
        needles = {}
        for platform, account_id, handle, local in canaries:
            own = [p for (p,) in con.execute("SELECT post_id FROM posts WHERE platform = ? AND account_id = ?",
                                             [platform, account_id]).fetchall()]
            assert own
            needles[platform] = {account_id, handle, local, account_id.removeprefix("did:plc:")} | set(own)
            # a Bluesky record key, a Mastodon status number
            needles[platform] |= {k for p in own for k in re.findall(r"(?:feed\.post|statuses)/([^/#]+)", p)}
        export_tables(con, fmt, tmp_path / "plain")
        export_tables(con, fmt, tmp_path / "pseudo", pseudonymiser=Pseudonymiser(b"k" * 32))
        expected = {name: con.execute(sql).fetchall()[0][0] for name, sql in _JOINS.items()}

    def hits(folder, skip=()):
        found = {}
        for table, data in _exported_text(folder, skip).items():
            for platform, words in needles.items():
                found.update({(table, platform, w): 1 for w in words if w.lower().encode() in data})
        return found

    plain = hits(tmp_path / "plain", skip=("text_embeddings", "topic_model_terms", "topic_model_centroids"))
    # the test can fail: the plain export spells each canary in posts, interactions and analyses' evidence
    for platform in needles:
        tables = {t for t, p, _ in plain if p == platform}
        assert {"posts", "interactions", "accounts"} <= tables, (platform, tables)
        assert tables & {"url_cascades", "url_shares", "coordination_edges", "topics", "influence_evidence",
                         "account_types", "attribution", "disclosure_posts"}, (platform, tables)
    assert hits(tmp_path / "pseudo") == {}

    con = duckdb.connect()
    for table in ("posts", "interactions", "accounts", "coordination_edges"):
        path = tmp_path / "pseudo" / f"{table}.{fmt}"
        if fmt == "parquet":
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")
        else:  # ids as text, and lists written as [a|b|c]
            lists = " REPLACE (string_split(trim(evidence, '[]'), '|') AS evidence)" if table == "coordination_edges" else ""
            con.execute(f"CREATE VIEW {table} AS SELECT *{lists} FROM read_csv('{path}', all_varchar = true)")
    assert {name: con.execute(sql).fetchall()[0][0] for name, sql in _JOINS.items()} == expected
    assert expected["interactions to posts"] > 0 and expected["replies and reposts to parents"] > 0
    assert expected["coordination evidence to posts"] > 0


#: Joins that a pseudonymised export must keep: the same counts as in the store.
_JOINS = {
    "posts": "SELECT count(DISTINCT (platform, post_id)) FROM posts",
    "interactions to posts": "SELECT count(*) FROM interactions i JOIN posts p USING (platform, post_id)",
    "interactions to accounts": "SELECT count(*) FROM interactions i JOIN accounts a ON a.platform = i.platform "
                                "AND a.account_id = i.src",
    "replies and reposts to parents": "SELECT count(*) FROM posts c JOIN posts p ON p.platform = c.platform "
                                      "AND p.post_id = c.parent_post_id",
    "coordination evidence to posts": "SELECT count(*) FROM (SELECT platform, unnest(evidence) AS post_id "
                                      "FROM coordination_edges) JOIN posts USING (platform, post_id)",
}


def test_forget_leaves_no_canary_anywhere_in_the_workspace(workspace, tmp_path):
    f = _canary_file(tmp_path)
    ingest(workspace, f, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    analyze(workspace)
    build_report(workspace)
    with workspace.reader() as con:
        export_tables(con, "csv", workspace.exports_dir / "csv")
    pending = workspace.root / "collect" / "watch" / "page-0001.jsonl"  # collected, not yet ingested
    pending.parent.mkdir(parents=True)
    pending.write_text(f.read_text())
    assert _grep_workspace(workspace, CANARY)  # it was there
    others_before = scalar(workspace, "SELECT count(*) FROM posts WHERE account_id <> ?", [CANARY_ID])
    own_posts = [p for (p,) in query(workspace, "SELECT post_id FROM posts WHERE account_id = ?", [CANARY_ID])]
    assert own_posts and scalar(workspace, "SELECT count(*) FROM post_embeddings WHERE post_id = '9002'") == 1

    result = forget(workspace, f"@{CANARY.upper()}")

    # analyses keyed by post forget the person's posts, and the rewritten post of someone else is recomputed
    for table in ("post_embeddings", "post_language", "post_topics", "post_sentiment"):
        assert scalar(workspace, f"SELECT count(*) FROM {table} WHERE post_id IN (SELECT unnest(?)) OR post_id = '9002'",
                      [own_posts]) == 0, table
    assert scalar(workspace, "SELECT count(*) FROM text_embeddings WHERE text_key NOT IN "
                             "(SELECT text_key FROM post_embeddings)") == 0
    analyze(workspace, only=["embeddings"])
    assert scalar(workspace, "SELECT count(*) FROM post_embeddings WHERE post_id = '9002'") == 1

    assert _grep_workspace(workspace, CANARY) == []
    assert _grep_workspace(workspace, CANARY_ID) == []
    assert _grep_workspace(workspace, "Canary Person") == []
    assert _grep_workspace(workspace, "my very own post") == []
    assert result.rows_deleted["accounts"] == 1
    # other people's data stays
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE account_id <> ?", [CANARY_ID]) == others_before
    assert scalar(workspace, "SELECT text FROM posts WHERE post_id = '9002'") == "@[forgotten] hello there"
    log = workspace.audit_path.read_text()
    assert CANARY not in log.lower()

    # a later ingest of the same person honours the suppression list
    again = tmp_path / "again.jsonl"
    again.write_text(f.read_text().replace('"id": "9001"', '"id": "9101"').replace('"9002"', '"9102"')
                     .replace('"9003"', '"9103"').replace('"9004"', '"9104"'))
    [r] = ingest(workspace, again)
    assert r.rejected == 1  # the canary's own post
    assert scalar(workspace, "SELECT count(*) FROM accounts WHERE account_id = ?", [CANARY_ID]) == 0
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE dst = ?", [CANARY_ID]) == 0
    assert query(workspace, "SELECT mentions FROM posts WHERE post_id = '9102'") == [([],)]


def test_forget_through_the_cli(workspace, tmp_path):
    ingest(workspace, _canary_file(tmp_path))
    out = subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(workspace.root), "forget", CANARY],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "database file rewritten" in out.stderr
    assert _grep_workspace(workspace, CANARY) == []
    missing = subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(workspace.root), "forget", "nobody_here"],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "no account matches" in missing.stderr


def test_forget_removes_the_persons_post_ids_from_analysis_evidence(workspace, tmp_path):
    # an X post id opens the post: evidence lists (url_cascades, attribution, account_types) must not keep it
    ingest(workspace, _canary_file(tmp_path))
    with workspace.writer() as con:
        con.execute("CREATE TABLE qa_evidence (run_id VARCHAR, first_share_id VARCHAR, evidence VARCHAR[], "
                    "details VARCHAR, note VARCHAR)")
        con.execute("INSERT INTO qa_evidence VALUES ('r', '9001', ['9002', '9001'], '{\"posts\": [\"9001\", \"90010\"]}', "
                    "'post 9001 of 90010')")
    forget(workspace, CANARY)
    assert query(workspace, "SELECT first_share_id, evidence, details, note FROM qa_evidence") == [
        ("[forgotten]", ["9002", "[forgotten]"], '{"posts": ["[forgotten]", "90010"]}', "post 9001 of 90010")]


def test_forget_a_mastodon_account_removes_its_short_mentions(small_world, tmp_path):
    # Mastodon texts show user@host as @user: those mentions kept the forgotten person's name in others' posts
    import shutil

    shutil.copytree(small_world.root, tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    [(handle, local)] = query(ws, """
        SELECT lower(a.handle), split_part(lower(a.handle), '@', 1) FROM accounts a
        WHERE a.platform = 'mastodon' AND a.handle LIKE '%@%'
          AND EXISTS (SELECT 1 FROM posts p WHERE p.platform = 'mastodon' AND p.account_id <> a.account_id
                      AND regexp_matches(lower(p.text), '@' || split_part(lower(a.handle), '@', 1) || '([^\\w@]|$)'))
          AND EXISTS (SELECT 1 FROM posts p WHERE p.platform = 'mastodon' AND p.account_id <> a.account_id
                      AND contains(lower(p.parent_post_id), '/users/' || split_part(lower(a.handle), '@', 1) || '/'))
        ORDER BY a.account_id LIMIT 1""")
    mention = "@" + local + r"([^\w@]|$)"
    host = handle.split("@", 1)[1]
    # others' replies and reposts name the person's statuses (https://host/users/name/statuses/…)
    status = f"://{host}/users/{local}/"
    parents = "SELECT count(*) FROM posts WHERE contains(lower(parent_post_id), ?) OR contains(lower(root_post_id), ?)"
    assert scalar(ws, parents, [status, status]) > 0
    forget(ws, handle)
    assert scalar(ws, parents, [status, status]) == 0
    assert scalar(ws, "SELECT count(*) FROM posts WHERE regexp_matches(lower(text), ?)", [mention]) == 0
    with ws.reader() as con:
        for table in ("influence_evidence", "topics", "coordination_groups"):
            for (column,) in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                         "AND data_type = 'VARCHAR'", [table]).fetchall():
                assert con.execute(f'SELECT count(*) FROM "{table}" WHERE regexp_matches(lower("{column}"), ?)',
                                   [mention]).fetchall()[0][0] == 0, (table, column)
