"""Spreadsheet-safe exports, pseudonymised exports, and `forget` leaving no trace of a canary."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import pyarrow.parquet as pq

from confiance.export import Pseudonymiser, export_tables
from confiance.ingest._readers import decompress
from confiance.pipeline import analyze
from confiance.privacy import forget
from confiance.report import build_report
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
