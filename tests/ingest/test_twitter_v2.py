"""X API v2 pages: counts checked against an independent reading of the raw JSON."""

from __future__ import annotations

import json

from tests.conftest import FORMATS, ingest, query, scalar

V2 = FORMATS / "twitter-v2-json"


def _expected(path):
    posts, users, authors = set(), set(), set()
    interactions = set()
    for line in path.read_text().splitlines():
        page = json.loads(line)
        inc = page.get("includes", {})
        tweets = {t["id"]: t for t in inc.get("tweets", [])}
        for t in page["data"] + inc.get("tweets", []):
            posts.add(t["id"])
        users |= {u["id"] for u in inc.get("users", [])}
        for t in page["data"] + list(tweets.values()):
            authors.add(t["author_id"])
            kinds = {"retweeted": "repost", "quoted": "quote", "replied_to": "reply"}
            parent_author = None
            for ref in t.get("referenced_tweets", []):
                dst = t.get("in_reply_to_user_id") if ref["type"] == "replied_to" else tweets.get(ref["id"], {}).get("author_id")
                if dst:
                    interactions.add((t["author_id"], dst, kinds[ref["type"]], t["id"]))
                    if ref["type"] == "retweeted":
                        parent_author = dst
            if t.get("in_reply_to_user_id"):
                authors.add(t["in_reply_to_user_id"])
            for m in t.get("entities", {}).get("mentions", []):
                authors.add(m["id"])
                if m["id"] != parent_author:
                    interactions.add((t["author_id"], m["id"], "mention", t["id"]))
    return posts, users | authors, interactions


def test_brexit_page_counts_match_raw(workspace):
    [result] = ingest(workspace, V2 / "brexit.jsonl")
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (100, 100, 0, 0)
    posts, accounts, interactions = _expected(V2 / "brexit.jsonl")
    assert scalar(workspace, "SELECT count(*) FROM posts") == len(posts)
    assert scalar(workspace, "SELECT count(*) FROM accounts") == len(accounts)
    got = set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions"))
    assert got == interactions


def test_retweet_recovers_full_text_from_includes(workspace):
    ingest(workspace, V2 / "brexit.jsonl")
    page = json.loads((V2 / "brexit.jsonl").read_text().splitlines()[0])
    tweets = {t["id"]: t for t in page["includes"]["tweets"]}
    checked = 0
    for t in page["data"]:
        refs = [r for r in t.get("referenced_tweets", []) if r["type"] == "retweeted"]
        if not refs or not t["text"].endswith("…"):
            continue
        original = tweets[refs[0]["id"]]["text"]
        text = scalar(workspace, "SELECT text FROM posts WHERE post_id = ?", [t["id"]])
        assert text.endswith(original) and not text.endswith("…")
        checked += 1
    assert checked > 5


def test_quoted_edit_includes_same_tweet_again(workspace):
    [result] = ingest(workspace, V2 / "quoted_edit.jsonl")
    assert (result.records_read, result.stored, result.rejected) == (1, 1, 0)
    assert scalar(workspace, "SELECT count(*) FROM posts") == 3
    kinds = {k for (k,) in query(workspace, "SELECT kind FROM interactions")}
    assert {"quote", "reply", "mention"} <= kinds


def test_reingest_adds_nothing(workspace):
    ingest(workspace, V2)
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in ("posts", "accounts", "interactions", "observations")}
    results = ingest(workspace, V2)
    assert all(r.stored == 0 for r in results)
    after = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in before}
    assert before == after


def test_ids_stay_strings_when_given_as_json_numbers(workspace, tmp_path):
    page = {"data": [{"id": 1440716895355764743, "text": "hello @bob", "author_id": 4203239195,
                      "created_at": "2021-09-22T16:37:29.000Z",
                      "entities": {"mentions": [{"username": "bob", "id": 1234567890123456789}]}}],
            "includes": {"users": [{"id": 4203239195, "username": "Alice", "name": "A"}]}, "__twarc": {}}
    f = tmp_path / "numbers.jsonl"
    f.write_text(json.dumps(page) + "\n")
    ingest(workspace, f)
    assert query(workspace, "SELECT post_id, account_id FROM posts") == [("1440716895355764743", "4203239195")]
    assert query(workspace, "SELECT dst FROM interactions") == [("1234567890123456789",)]
