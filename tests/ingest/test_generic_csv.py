"""Generic CSV with a YAML column mapping: fixture checked against its raw CSV, mapping validation, CLI."""

from __future__ import annotations

import csv
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from typer.testing import CliRunner

from confiance.cli import app
from confiance.errors import IngestError
from confiance.ingest import detect
from confiance.ingest.generic_csv import load_mapping, parse_mapping
from tests.conftest import ingest, query, scalar

DATA = Path(__file__).resolve().parents[1] / "data" / "generic-csv"
POSTS = DATA / "posts.csv"
MAPPING = DATA / "mapping.yaml"


def _ingest(ws, path=POSTS, mapping=MAPPING):
    return ingest(ws, path, format_name="generic-csv", options={"mapping": str(mapping)})


def _expected():
    """Posts, authors and edges read from the CSV with the mapping's rules, without the importer."""
    m = yaml.safe_load(MAPPING.read_text())
    cols, zone = m["columns"], ZoneInfo(m["timezone"])
    posts, accounts, edges = {}, set(), set()
    with open(POSTS, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    handle_ids = {r[cols["handle"]].lstrip("@").lower(): r[cols["account_id"]] for r in rows}
    for r in rows:
        raw_kind = r[cols["kind"]]
        if raw_kind:
            kind = m["kind_values"][raw_kind]
        elif r[m["repost_of_column"]]:
            kind = "repost"
        elif r[cols["parent_post_id"]] or r[m["reply_to_account_column"]]:
            kind = "reply"
        else:
            kind = "post"
        parent = (r[cols["parent_post_id"]] or r[m["repost_of_column"]] or None) if kind != "post" else None
        created = datetime.strptime(r[cols["created_at"]], m["timestamp_format"]).replace(tzinfo=zone)
        author = r[cols["account_id"]]
        posts[r[cols["post_id"]]] = (author, kind, parent, created.astimezone(timezone.utc), r[cols["text"]])
        accounts.add(author)
        target = r[m["reply_to_account_column"]]
        if kind != "post" and target:
            edges.add((author, target, kind, r[cols["post_id"]]))
            accounts.add(target)
        for handle in dict.fromkeys(h.lower() for h in re.findall(r"(?<![\w@])@(\w+)", r[cols["text"]])):
            dst = handle_ids.get(handle)
            if dst and dst != author and not (kind == "repost" and dst == target):
                edges.add((author, dst, "mention", r[cols["post_id"]]))
    return posts, accounts, edges


def test_never_auto_detected():
    try:
        detected = detect(POSTS)
    except IngestError:
        detected = None
    assert detected != "generic-csv"  # generic-csv only comes with --format


def test_fixture_matches_raw(workspace):
    posts, accounts, edges = _expected()
    [result] = _ingest(workspace)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(posts), len(posts), 0, 0)
    got = {r[0]: r[1:] for r in query(workspace, "SELECT post_id, account_id, kind, parent_post_id, created_at, text FROM posts")}
    assert got == posts
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts")} == accounts
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == edges
    assert {p for (p,) in query(workspace, "SELECT DISTINCT platform FROM posts")} == {"x"}


def test_fixture_fields(workspace):
    _ingest(workspace)
    with open(POSTS, encoding="utf-8", newline="") as fh:
        first = next(csv.DictReader(fh))
    row = query(workspace, "SELECT likes, reposts, replies, hashtags, mentions, urls, domains, url, lang FROM posts "
                           "WHERE post_id = ?", [first["id"]])[0]
    assert row == (int(first["likes"].replace(",", "")), int(first["shares"]), int(first["comments"]),
                   ["campaign"], ["bob", "carol"], ["https://example.org/launch"], ["example.org"], first["link"], "en")
    # "12.500" then "12.600" followers: the latest value wins; handle lower-case without '@'
    assert query(workspace, "SELECT handle, display_name, followers FROM accounts WHERE account_id = ?",
                 [first["author_id"]]) == [("alice", "Alice A.", 12600)]
    assert scalar(workspace, "SELECT count(*) FROM observations") == 5  # the last row has no counts


def test_accounts_identified_by_handles_without_account_id_column(workspace, tmp_path):
    f = tmp_path / "by_handle.csv"
    f.write_text("id,user,when,body,reply_to\n1,@Ann,2024-01-01 10:00,hello @Ben,\n2,ben,2024-01-01T11:00:00+01:00,hi,ANN\n",
                 encoding="utf-8")
    m = tmp_path / "m.yaml"
    m.write_text("platform: mastodon\ncolumns: {post_id: id, handle: user, created_at: when, text: body}\n"
                 "reply_to_account_column: reply_to\n", encoding="utf-8")
    [result] = _ingest(workspace, f, m)
    assert (result.stored, result.rejected) == (2, 0)
    assert set(query(workspace, "SELECT src, dst, kind FROM interactions")) == {("ann", "ben", "mention"),
                                                                               ("ben", "ann", "reply")}
    assert query(workspace, "SELECT post_id, created_at FROM posts ORDER BY post_id") == [
        ("1", datetime(2024, 1, 1, 10, tzinfo=timezone.utc)), ("2", datetime(2024, 1, 1, 10, tzinfo=timezone.utc))]


@pytest.mark.parametrize("text, line, words", [
    ("platform: x\ncolumns:\n  post_id: id\n  favourites: likes\n", 4, ["unknown field 'favourites'", "post_id"]),
    ("platform: x\ncolumns:\n  text: body\n", 2, ["columns.post_id is required"]),
    ("platform: x\ncolumn:\n  post_id: id\n", 2, ["unknown key 'column'"]),
    ("platform: x\ncolumns: {post_id: id}\nkind_values: {RT: retweet}\n", 3, ["'retweet' is not one of"]),
    ("platform: x\ncolumns: {post_id: id}\ntimezone: Mars/Olympus\n", 3, ["timezone 'Mars/Olympus'"]),
    ("platform: x\ncolumns: [post_id]\n", 2, ["columns must be a mapping"]),
    ("platform: x\ncolumns: {post_id: id\n", 3, ["invalid YAML"]),
])
def test_bad_mapping_gives_a_clear_error(tmp_path, text, line, words):
    m = tmp_path / "bad.yaml"
    m.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError) as caught:
        load_mapping(m)
    assert caught.value.file == str(m) and caught.value.line == line
    for word in words:
        assert word in caught.value.reason
    assert str(m) in str(caught.value)


def test_mapping_is_loaded_once_per_path():
    assert load_mapping(MAPPING) is load_mapping(MAPPING)
    assert parse_mapping("m.yaml", MAPPING.read_text()).columns["post_id"] == "id"


def test_bad_mapping_through_ingest_names_the_mapping_file(workspace, tmp_path):
    m = tmp_path / "wrong_column.yaml"
    m.write_text("platform: x\ncolumns:\n  post_id: identifier\n", encoding="utf-8")
    try:
        results = _ingest(workspace, POSTS, m)
    except IngestError as exc:  # once the engine lets file-level errors through
        assert str(m) in str(exc) and "identifier" in str(exc)
    else:  # today the engine turns the error of each row into a reject that names the mapping
        [result] = results
        assert result.stored == 0 and result.rejected == result.records_read > 0
        reasons = {r for (r,) in query(workspace, "SELECT DISTINCT reason FROM rejects")}
        assert len(reasons) == 1
        [reason] = reasons
        assert f"{m}:3" in reason and "'identifier' is not in the header of posts.csv" in reason


def test_missing_mapping_option_is_refused(workspace):
    with pytest.raises(IngestError, match="needs --mapping"):
        ingest(workspace, POSTS, format_name="generic-csv")


def test_corrupted_row_is_rejected_with_its_line(workspace, tmp_path):
    lines = POSTS.read_text(encoding="utf-8").splitlines(keepends=True)
    f = tmp_path / "posts_broken.csv"
    bad = "2001,501,alice,Alice A.,not a date,text,P,,,,1,1,1,1,,en\n"
    f.write_text("".join(lines) + bad + "2002,501,alice,Alice A.,07/07/2021 10:00,ok,ZZ,,,,1,1,1,1,,en\n", encoding="utf-8")
    posts, _, _ = _expected()
    [result] = _ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (len(posts) + 2, len(posts), 2)
    rejects = query(workspace, "SELECT line_no, reason FROM rejects ORDER BY line_no")
    n = len(lines)
    assert [r[0] for r in rejects] == [n + 1, n + 2]
    assert "timestamp_format" in rejects[0][1] and "'ZZ'" in rejects[1][1]


def test_reingest_adds_nothing(workspace):
    _ingest(workspace)
    tables = ("posts", "accounts", "interactions", "observations")
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables}
    [result] = _ingest(workspace)
    assert result.stored == 0
    assert {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables} == before


def test_cli_ingest_with_mapping(workspace):
    runner = CliRunner()
    outcome = runner.invoke(app, ["--workspace", str(workspace.root), "ingest", "--format", "generic-csv",
                                  "--mapping", str(MAPPING), str(POSTS), "--json"])
    assert outcome.exit_code == 0, outcome.output
    posts, _, _ = _expected()
    assert scalar(workspace, "SELECT count(*) FROM posts") == len(posts)
    assert scalar(workspace, "SELECT format FROM sources") == "generic-csv"
