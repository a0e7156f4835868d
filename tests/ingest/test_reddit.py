"""Reddit Pushshift / Arctic Shift dumps: counts and fields checked against an independent reading of
the raw NDJSON; API listings and same-file reply resolution on small built inputs."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone

from confiance.ingest import detect
from tests.conftest import FORMATS, ingest, query, scalar

DUMPS = FORMATS / "reddit-pushshift-ndjson"
COMMENTS = DUMPS / "test_comments.json"
SUBMISSIONS = DUMPS / "test_submissions.json"
USER = re.compile(r"(?:^|[\s(\[])/?u/([A-Za-z0-9_-]{3,20})")


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _fullname(obj, prefix):
    return obj.get("name") or prefix + obj["id"]


def _author(obj):
    return None if obj["author"] == "[deleted]" else obj["author"].lower()


def _utc(epoch):
    return datetime.fromtimestamp(float(epoch), tz=timezone.utc)


def _expected(path, prefix):
    rows = _lines(path)
    posts = {_fullname(r, prefix) for r in rows}
    accounts, interactions, authors_so_far = set(), set(), {}
    for r in rows:
        author = _author(r)
        text = html.unescape(r.get("body") or (r.get("title", "") + "\n\n" + r.get("selftext", "")))
        if author:
            accounts.add(author)
            for name in USER.findall(text):
                accounts.add(name.lower())
                interactions.add((author, name.lower(), "mention", _fullname(r, prefix)))
            parent_author = authors_so_far.get(r.get("parent_id"))
            if parent_author:
                interactions.add((author, parent_author, "reply", _fullname(r, prefix)))
        authors_so_far[_fullname(r, prefix)] = author
    return rows, posts, accounts, interactions


def test_detection_picks_reddit():
    assert detect(COMMENTS) == "reddit"
    assert detect(SUBMISSIONS) == "reddit"


def test_comments_match_raw(workspace):
    rows, posts, accounts, interactions = _expected(COMMENTS, "t1_")
    [result] = ingest(workspace, COMMENTS)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(rows), len(posts), 0, 0)
    assert {p for (p,) in query(workspace, "SELECT post_id FROM posts")} == posts
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts")} == accounts
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == interactions
    assert interactions  # the sample has a u/ mention
    deleted = sum(1 for r in rows if r["author"] == "[deleted]")
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE account_id IS NULL") == deleted

    for r in rows:
        fullname = _fullname(r, "t1_")
        kind, account, created, text, parent, root, likes = query(
            workspace, "SELECT kind, account_id, created_at, text, parent_post_id, root_post_id, likes FROM posts "
                       "WHERE post_id = ?", [fullname])[0]
        assert kind == "reply"
        assert account == _author(r)
        assert created == _utc(r["created_utc"])  # int, float and string epochs alike
        assert (parent, root) == (r["parent_id"], r["link_id"])
        assert likes == r["score"]
        if r["body"] in ("[removed]", "[deleted]"):
            assert text is None
        else:
            assert text == html.unescape(r["body"])


def test_comment_observations_use_retrieval_times(workspace):
    rows = _lines(COMMENTS)
    ingest(workspace, COMMENTS)
    for r in rows:
        when = (r.get("_meta") or {}).get("retrieved_2nd_on") or r.get("retrieved_on") or r.get("retrieved_utc")
        got = query(workspace, "SELECT collected_at, likes FROM observations WHERE post_id = ?", [_fullname(r, "t1_")])
        assert got == [(_utc(when), r["score"])]


def test_submissions_match_raw(workspace):
    rows, posts, accounts, interactions = _expected(SUBMISSIONS, "t3_")
    [result] = ingest(workspace, SUBMISSIONS)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(rows), len(posts), 0, 0)
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts")} == accounts
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == interactions
    for r in rows:
        fullname = _fullname(r, "t3_")
        kind, text, created, urls, replies, attributes = query(
            workspace, "SELECT kind, text, created_at, urls, replies, attributes FROM posts WHERE post_id = ?",
            [fullname])[0]
        title, body = html.unescape(r["title"]), html.unescape(r["selftext"])
        assert kind == "post"
        assert created == _utc(r["created_utc"])
        assert replies == r["num_comments"]
        expected_text = f"{title}\n\n{body}" if body and body not in ("[removed]", "[deleted]") else title
        assert text == expected_text
        attributes = json.loads(attributes)
        assert (attributes["subreddit"], attributes["title"]) == (r["subreddit"], title)
        if not r["is_self"]:
            assert urls[0] == html.unescape(r["url"])


def test_listing_with_nested_replies_resolves_parents(workspace, tmp_path):
    submission = {"kind": "t3", "data": {"id": "abc", "name": "t3_abc", "author": "Alice", "title": "Hi &amp; all",
                                         "selftext": "", "url": "https://example.org/x", "is_self": False,
                                         "subreddit": "test", "created_utc": 1700000000.0, "score": 5,
                                         "num_comments": 3}}
    deep_reply = {"kind": "t1", "data": {"id": "c2", "name": "t1_c2", "author": "alice", "body": "thanks u/Bob",
                                         "parent_id": "t1_c1", "link_id": "t3_abc", "subreddit": "test",
                                         "created_utc": 1700000200, "score": 1, "replies": ""}}
    reply = {"kind": "t1", "data": {"id": "c1", "name": "t1_c1", "author": "Bob", "body": "nice",
                                    "parent_id": "t3_abc", "link_id": "t3_abc", "subreddit": "test",
                                    "created_utc": "1700000100", "score": 2,
                                    "replies": {"kind": "Listing", "data": {"children": [
                                        deep_reply, {"kind": "more", "data": {"children": ["c9"]}}]}}}}
    orphan = {"kind": "t1", "data": {"id": "c3", "author": "[deleted]", "body": "[deleted]", "parent_id": "t3_abc",
                                     "link_id": "t3_abc", "subreddit": "test", "created_utc": 1700000300, "score": 0}}
    page = [{"kind": "Listing", "data": {"children": [submission]}},
            {"kind": "Listing", "data": {"children": [reply, orphan]}}]
    f = tmp_path / "post_page.json"
    f.write_text(json.dumps(page))
    assert detect(f) == "reddit"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (4, 4, 0)
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == {
        ("bob", "alice", "reply", "t1_c1"), ("alice", "bob", "reply", "t1_c2"), ("alice", "bob", "mention", "t1_c2")}
    assert query(workspace, "SELECT parent_account_id FROM posts WHERE post_id = 't1_c2'") == [("bob",)]
    assert query(workspace, "SELECT text, domains FROM posts WHERE post_id = 't3_abc'") == [("Hi & all", ["example.org"])]
    assert query(workspace, "SELECT account_id, text FROM posts WHERE post_id = 't1_c3'") == [(None, None)]
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts")} == {"alice", "bob"}


def test_parent_known_only_from_earlier_lines(workspace, tmp_path):
    child = {"id": "c2", "author": "b", "body": "x", "parent_id": "t1_c1", "link_id": "t3_s",
             "subreddit": "r", "created_utc": 2}
    parent = {"id": "c1", "author": "a", "body": "y", "parent_id": "t3_s", "link_id": "t3_s",
              "subreddit": "r", "created_utc": 1}
    later_child = dict(child, id="c3")
    f = tmp_path / "RC_test.ndjson"
    f.write_text("\n".join(json.dumps(o) for o in (child, parent, later_child)) + "\n")
    ingest(workspace, f)
    # the first child precedes its parent in the file: the engine links it once the parent is stored
    assert sorted(query(workspace, "SELECT src, dst, post_id FROM interactions")) == [("b", "a", "t1_c2"), ("b", "a", "t1_c3")]
    assert scalar(workspace, "SELECT parent_account_id FROM posts WHERE post_id = 't1_c2'") == "a"


def test_corrupted_line_is_rejected_rest_lands(workspace, tmp_path):
    lines = COMMENTS.read_text().splitlines()
    lines.insert(3, '{"id": "broken", "author": ')
    lines.insert(6, json.dumps({"id": "x", "author": "y", "subreddit": "z", "created_utc": "not a time", "body": "b"}))
    f = tmp_path / "RC_corrupt.json"
    f.write_text("\n".join(lines) + "\n")
    [result] = ingest(workspace, f)
    rows = len(_lines(COMMENTS))
    assert (result.records_read, result.stored, result.rejected) == (rows + 2, rows, 2)
    assert sorted(line for (line,) in query(workspace, "SELECT line_no FROM rejects")) == [4, 7]


def test_reingest_adds_nothing(workspace):
    ingest(workspace, DUMPS)
    tables = ("posts", "accounts", "interactions", "observations")
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables}
    results = ingest(workspace, DUMPS)
    assert all(r.stored == 0 for r in results)
    assert before == {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables}
