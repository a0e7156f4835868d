"""The ingest contract: accounting, rejects with line numbers, encodings, limits, idempotency."""

from __future__ import annotations

import codecs
import json

import pytest

from confiance.errors import IngestError
from confiance.ingest import detect
from confiance.ingest._readers import Limits, decompress
from tests.conftest import FORMATS, ingest, query, scalar
from tests.factories import x_v2_pages


def _tweet(i, author="1", text=None):
    return {"id": str(1000 + i), "author_id": author, "text": text or f"hello {i}", "created_at": "2024-01-01T00:00:00Z"}


def _page(tweets):
    return {"data": tweets, "includes": {"users": [{"id": "1", "username": "a"}]}, "__twarc": {}}


def test_bad_lines_are_rejected_with_line_numbers_and_the_rest_lands(workspace, tmp_path):
    f = tmp_path / "mixed.jsonl"
    lines = [json.dumps(_page([_tweet(1), _tweet(2)])), "{not json", json.dumps(_page([_tweet(3), {"text": "no id"}])), ""]
    f.write_text("\n".join(lines) + "\n")
    [r] = ingest(workspace, f, format_name="twitter-v2")
    assert (r.records_read, r.stored, r.duplicates, r.rejected) == (5, 3, 0, 2)
    rejects = query(workspace, "SELECT line_no, item, reason FROM rejects ORDER BY line_no")
    assert [(line, item) for line, item, _ in rejects] == [(2, 0), (3, 1)]
    assert "invalid JSON" in rejects[0][2] and "no id" in rejects[1][2]
    assert scalar(workspace, "SELECT count(*) FROM posts") == 3


def test_duplicates_within_a_file_and_across_files(workspace, tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text(json.dumps(_page([_tweet(1), _tweet(2), _tweet(1)])) + "\n")
    b = tmp_path / "b.jsonl"
    b.write_text(json.dumps(_page([_tweet(2), _tweet(3)])) + "\n")
    ra, rb = ingest(workspace, a, b)
    assert (ra.stored, ra.duplicates) == (2, 1)
    assert (rb.stored, rb.duplicates) == (1, 1)
    assert scalar(workspace, "SELECT count(*) FROM posts") == 3


def test_reingest_changes_nothing_even_after_a_rename(workspace, tmp_path):
    f = x_v2_pages(tmp_path / "w.jsonl", tweets=500)
    ingest(workspace, f)
    snapshot = {t: query(workspace, f"SELECT * FROM {t} ORDER BY ALL") for t in ("posts", "accounts", "interactions", "observations")}
    g = tmp_path / "renamed.jsonl"
    g.write_bytes(f.read_bytes())
    [r] = ingest(workspace, g)
    assert r.already_ingested and r.stored == 0 and r.duplicates == 500
    assert {t: query(workspace, f"SELECT * FROM {t} ORDER BY ALL") for t in snapshot} == snapshot
    assert scalar(workspace, "SELECT count(*) FROM sources") == 1


def test_a_wrong_format_that_rejected_everything_does_not_block_the_right_one(workspace, tmp_path):
    """``--format kpi-csv`` on a Bluesky file rejects every line; the file must not then count as
    already ingested when it is read again as what it is (detected or named)."""
    f = FORMATS / "bluesky-atproto" / "bluesky-posts.json"
    [wrong] = ingest(workspace, f, format_name="kpi-csv")
    assert wrong.stored == 0 and wrong.rejected == wrong.records_read > 0
    [right] = ingest(workspace, f)
    assert right.format == "bluesky" and not right.already_ingested and right.stored > 100 and right.rejected == 0
    assert scalar(workspace, "SELECT count(*) FROM rejects") == 0
    assert query(workspace, "SELECT format, stored FROM sources") == [("bluesky", right.stored)]
    posts = scalar(workspace, "SELECT count(*) FROM posts")
    [again] = ingest(workspace, f, format_name="kpi-csv")  # a stored file stays what it was
    assert again.already_ingested and again.format == "bluesky"
    assert scalar(workspace, "SELECT count(*) FROM posts") == posts and scalar(workspace, "SELECT count(*) FROM kpis") == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig", "utf-32"])
def test_unicode_encodings_are_read(workspace, tmp_path, encoding):
    text = json.dumps(_page([_tweet(1, text="Élysée : « à bientôt » 🇫🇷")]), ensure_ascii=False) + "\n"
    f = tmp_path / f"t-{encoding}.jsonl"
    f.write_bytes(text.encode(encoding))
    [r] = ingest(workspace, f)
    assert r.rejected == 0 and r.stored == 1
    assert scalar(workspace, "SELECT text FROM posts") == "Élysée : « à bientôt » 🇫🇷"
    assert scalar(workspace, "SELECT encoding FROM sources").replace("-sig", "").startswith(encoding.split("-")[0].replace("-sig", "")[:5])


def test_latin1_csv_is_detected_and_recorded(workspace, tmp_path):
    f = tmp_path / "tweets.jsonl"
    f.write_bytes((json.dumps(_page([_tweet(1, text="café crème")]), ensure_ascii=False) + "\n").encode("latin-1"))
    [r] = ingest(workspace, f)
    assert r.stored == 1
    assert scalar(workspace, "SELECT text FROM posts") == "café crème"
    assert scalar(workspace, "SELECT encoding FROM sources") in ("cp1252", "latin-1")


def test_oversized_line_is_rejected_not_loaded(workspace, tmp_path, monkeypatch):
    import confiance.ingest._readers as readers

    monkeypatch.setattr(readers, "DEFAULT_LIMITS", Limits(max_line_bytes=2000))
    f = tmp_path / "big.jsonl"
    big = json.dumps(_page([_tweet(1, text="x" * 5000)]))
    f.write_text(json.dumps(_page([_tweet(2)])) + "\n" + big + "\n" + json.dumps(_page([_tweet(3)])) + "\n")
    [r] = ingest(workspace, f, limits=Limits(max_line_bytes=2000))
    assert (r.records_read, r.stored, r.rejected) == (3, 2, 1)
    assert "longer than 2000 bytes" in scalar(workspace, "SELECT reason FROM rejects")
    assert scalar(workspace, "SELECT line_no FROM rejects") == 2


def test_deep_nesting_is_rejected(workspace, tmp_path):
    deep = '{"data": [' + json.dumps(_tweet(1)) + '], "x": ' + "[" * 1100 + "]" * 1100 + "}"
    f = tmp_path / "deep.jsonl"
    f.write_text(json.dumps(_page([_tweet(2)])) + "\n" + deep + "\n")
    [r] = ingest(workspace, f, format_name="twitter-v2")
    assert r.rejected == 1 and r.stored == 1
    assert "depth limit" in scalar(workspace, "SELECT reason FROM rejects")
    doc = tmp_path / "deep.json"  # a whole JSON document is checked against Limits.max_depth
    doc.write_text('[' + json.dumps(_tweet(3)) + ', ' + "[" * 50 + "]" * 50 + "]")
    [r] = ingest(workspace, doc, format_name="twitter-v1", limits=Limits(max_depth=20))
    assert (r.stored, r.rejected) == (1, 1)
    assert query(workspace, "SELECT line_no, reason FROM rejects WHERE source_sha256 = ?", [r.sha256]) == [
        (2, "JSON nested deeper than 20 (item 2 of the array: the file is one line)")]


def test_unknown_format_names_the_file(workspace, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("just some words\nand more\n")
    with pytest.raises(IngestError, match="notes.txt"):
        ingest(workspace, f)
    assert scalar(workspace, "SELECT count(*) FROM sources") == 0


def test_a_failing_file_leaves_earlier_files_stored(workspace, tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(_page([_tweet(1)])) + "\n")
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\n")
    with pytest.raises(IngestError):
        ingest(workspace, good, bad)
    assert scalar(workspace, "SELECT count(*) FROM posts") == 1


def test_gzip_input_is_read_transparently(workspace, tmp_path):
    import gzip

    f = tmp_path / "pages.jsonl.gz"
    f.write_bytes(gzip.compress((FORMATS / "twitter-v2-json" / "brexit.jsonl").read_bytes()))
    assert detect(f) == "twitter-v2"
    [r] = ingest(workspace, f)
    assert (r.stored, r.rejected) == (100, 0)


def test_archive_keeps_the_original_bytes(workspace):
    src = FORMATS / "twitter-v2-json" / "quoted_edit.jsonl"
    [r] = ingest(workspace, src)
    archived = workspace.archive_path(r.sha256).read_bytes()
    assert archived.startswith(b"\x28\xb5\x2f\xfd")  # zstd
    assert decompress(archived) == src.read_bytes()


def test_accounts_merge_keeps_the_latest_profile(workspace, tmp_path):
    def page(followers, retrieved):
        return {"data": [_tweet(followers)], "includes": {"users": [{"id": "1", "username": "a", "name": "A",
                "public_metrics": {"followers_count": followers}}]}, "__twarc": {"retrieved_at": retrieved}}

    new = tmp_path / "new.jsonl"
    new.write_text(json.dumps(page(200, "2024-02-01T00:00:00+00:00")) + "\n")
    old = tmp_path / "old.jsonl"
    old.write_text(json.dumps(page(100, "2024-01-01T00:00:00+00:00")) + "\n")
    ingest(workspace, new, old)
    assert query(workspace, "SELECT followers, CAST(first_seen AS DATE), CAST(last_seen AS DATE) FROM accounts") == [
        (200, __import__("datetime").date(2024, 1, 1), __import__("datetime").date(2024, 2, 1))]


def test_utf16_detection_without_bom(tmp_path):
    f = tmp_path / "nobom.jsonl"
    f.write_bytes(codecs.encode(json.dumps(_page([_tweet(1)])) + "\n", "utf-16-le"))
    assert detect(f) == "twitter-v2"


def test_parallel_mapping_gives_the_same_store_as_serial(tmp_path, monkeypatch):
    from confiance.ingest import _engine, _parallel
    from confiance.workspace import Workspace

    f = x_v2_pages(tmp_path / "big.jsonl", tweets=3000, seed=3)
    with open(f, "a") as fh:
        fh.write("{broken\n")
    serial = Workspace.init(tmp_path / "serial")
    [a] = ingest(serial, f)
    monkeypatch.setattr(_engine, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(_engine, "parallel_workers", lambda: 2)
    monkeypatch.setattr(_parallel, "CHUNK_BYTES", 50_000)  # many chunks, so order across workers matters
    parallel = Workspace.init(tmp_path / "parallel")
    [b] = ingest(parallel, f)
    assert (a.records_read, a.stored, a.duplicates, a.rejected) == (b.records_read, b.stored, b.duplicates, b.rejected)
    for table in ("posts", "accounts", "interactions", "observations", "rejects"):
        sql = f"SELECT * FROM {table} ORDER BY ALL"
        assert query(serial, sql) == query(parallel, sql), table
