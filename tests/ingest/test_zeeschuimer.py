"""Zeeschuimer NDJSON (TikTok web items, X web GraphQL tweets): checked against the raw lines."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from confiance.ingest import detect
from tests.conftest import FORMATS, ingest, query, scalar

Z = FORMATS / "zeeschuimer-ndjson"
TIKTOK = Z / "tiktok-test.ndjson"
TWITTER = Z / "twitter-test.ndjson"


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _ms(value):
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)


def test_detection():
    assert detect(TIKTOK) == "zeeschuimer"
    assert detect(TWITTER) == "zeeschuimer"


def test_tiktok_counts_and_fields_match_raw(workspace):
    [result] = ingest(workspace, TIKTOK)
    records = _lines(TIKTOK)
    assert (result.records_read, result.stored, result.rejected) == (len(records), len({r["data"]["id"] for r in records}), 0)
    posts, accounts, interactions = {}, set(), set()
    for r in records:
        item = r["data"]
        author = item["author"]["uniqueId"].lower()
        posts[item["id"]] = (r, item)
        accounts.add(author)
        for extra in item.get("textExtra") or []:
            if extra["type"] == 0:
                accounts.add(extra["userUniqueId"].lower())
                interactions.add((author, extra["userUniqueId"].lower(), "mention", item["id"]))
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE platform = 'tiktok'") == len(posts)
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts WHERE platform = 'tiktok'")} == accounts
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == interactions
    got = {row[0]: row[1:] for row in query(
        workspace, "SELECT post_id, account_id, text, created_at, likes, reposts, replies, views, hashtags FROM posts")}
    for post_id, (r, item) in posts.items():
        stats = item["stats"]
        tags = [c["title"].lower() for c in item.get("challenges") or []]
        assert got[post_id][:7] == (item["author"]["uniqueId"].lower(), item["desc"],
                                    datetime.fromtimestamp(item["createTime"], tz=timezone.utc),
                                    stats["diggCount"], stats["shareCount"], stats["commentCount"], stats["playCount"])
        assert set(tags) <= set(got[post_id][7])
    observed = dict(query(workspace, "SELECT post_id, collected_at FROM observations"))
    r, item = next(iter(posts.values()))
    assert observed[item["id"]] == _ms(r["timestamp_collected"])
    attrs = json.loads(scalar(workspace, "SELECT attributes FROM accounts WHERE account_id = ?",
                              [item["author"]["uniqueId"].lower()]))
    assert attrs["tiktok_id"] == item["author"]["id"]


def _unwrap(result):
    result = result.get("result", result) if "legacy" not in result else result
    return result.get("tweet", result) if "legacy" not in result else result


def test_x_graphql_counts_and_fields_match_raw(workspace):
    [result] = ingest(workspace, TWITTER)
    records = _lines(TWITTER)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(records), len(records), 0, 0)
    tweets = {}
    for r in records:
        top = _unwrap(r["data"])
        tweets.setdefault(top["rest_id"], top)
        if "quoted_status_result" in top:
            quoted = _unwrap(top["quoted_status_result"])
            if "legacy" in quoted:
                tweets.setdefault(quoted["rest_id"], quoted)
    accounts, interactions = set(), set()
    for tid, t in tweets.items():
        author = t["core"]["user_results"]["result"]["rest_id"]
        legacy = t["legacy"]
        accounts.add(author)
        if legacy.get("in_reply_to_user_id_str"):
            accounts.add(legacy["in_reply_to_user_id_str"])
            interactions.add((author, legacy["in_reply_to_user_id_str"], "reply", tid))
        quoted = _unwrap(t.get("quoted_status_result", {}))
        if "legacy" in quoted:
            interactions.add((author, quoted["core"]["user_results"]["result"]["rest_id"], "quote", tid))
        for m in legacy["entities"]["user_mentions"]:
            accounts.add(m["id_str"])
            interactions.add((author, m["id_str"], "mention", tid))
    assert {p for (p,) in query(workspace, "SELECT post_id FROM posts")} == set(tweets)
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts WHERE platform = 'x'")} == accounts
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == interactions

    got = {row[0]: row[1:] for row in query(
        workspace, "SELECT post_id, account_id, kind, parent_post_id, text, created_at, likes, views FROM posts")}
    for r in records:
        t = _unwrap(r["data"])
        legacy = t["legacy"]
        note = t.get("note_tweet", {}).get("note_tweet_results", {}).get("result", {}).get("text")
        kind = "reply" if legacy.get("in_reply_to_status_id_str") else "quote" if legacy.get("quoted_status_id_str") else "post"
        parent = legacy.get("in_reply_to_status_id_str") or legacy.get("quoted_status_id_str")
        assert got[t["rest_id"]] == (
            t["core"]["user_results"]["result"]["rest_id"], kind, parent, note or legacy["full_text"],
            datetime.strptime(legacy["created_at"], "%a %b %d %H:%M:%S %z %Y"), legacy["favorite_count"],
            int(t["views"]["count"]) if "count" in t.get("views", {}) else None)
    assert any("note_tweet" in _unwrap(r["data"]) for r in records)
    first = _unwrap(records[0]["data"])
    assert scalar(workspace, "SELECT collected_at FROM observations WHERE post_id = ?", [first["rest_id"]]) == _ms(
        records[0]["timestamp_collected"])
    handle = first["core"]["user_results"]["result"]["legacy"]["screen_name"].lower()
    assert scalar(workspace, "SELECT handle FROM accounts WHERE account_id = ?",
                  [first["core"]["user_results"]["result"]["rest_id"]]) == handle


def test_reingest_adds_nothing(workspace):
    ingest(workspace, Z)
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in ("posts", "accounts", "interactions", "observations")}
    results = ingest(workspace, Z)
    assert all(r.stored == 0 for r in results)
    assert {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in before} == before


def test_unsupported_platform_and_broken_line_are_rejects(workspace, tmp_path):
    lines = TIKTOK.read_text().splitlines()[:2]
    instagram = json.loads(lines[1])
    instagram["source_platform"] = "instagram.com"
    f = tmp_path / "mixed.ndjson"
    f.write_text("\n".join([lines[0], json.dumps(instagram), '{"source_platform": "tiktok.com", "data": {', lines[1]]) + "\n")
    [result] = ingest(workspace, f)
    assert result.format == "zeeschuimer"
    assert (result.records_read, result.stored, result.rejected) == (4, 2, 2)
    rejects = dict(query(workspace, "SELECT line_no, reason FROM rejects"))
    assert rejects[2] == "unsupported Zeeschuimer source_platform: 'instagram.com'"
    assert rejects[3].startswith("invalid JSON")
    assert scalar(workspace, "SELECT count(*) FROM posts") == 2
