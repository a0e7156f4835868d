"""X API v1.1 classic tweets: counts and fields checked against an independent reading of the raw JSON."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from confiance.ingest import detect
from tests.conftest import FORMATS, ingest, query, scalar

V1 = FORMATS / "twitter-v1.1-json"
SEARCH = V1 / "get_search_raw.json"
STREAM = V1 / "normalization-payload-stream.json"


def _top_level(path):
    data = json.loads(path.read_text())
    return data["statuses"] if "statuses" in data else [data]


def _entities(tweet):
    return tweet.get("extended_tweet", {}).get("entities", tweet["entities"])


def _full(tweet):
    return tweet.get("extended_tweet", {}).get("full_text") or tweet.get("full_text") or tweet["text"]


def _expected(*paths):
    """Posts, accounts and interactions as the module docstring describes them, from the raw JSON."""
    posts = {}

    def walk(tweet):
        posts.setdefault(tweet["id_str"], tweet)
        for key in ("retweeted_status", "quoted_status"):
            if isinstance(tweet.get(key), dict):
                walk(tweet[key])

    for path in paths:
        for tweet in _top_level(path):
            walk(tweet)
    accounts, interactions = set(), set()
    for tid, t in posts.items():
        if "user" not in t:
            continue  # quoted tweets nested in a retweet (2016 search API) come without their author
        author = t["user"]["id_str"]
        accounts.add(author)
        rt = t.get("retweeted_status")
        mentions = list(_entities(t)["user_mentions"])
        if rt:
            interactions.add((author, rt["user"]["id_str"], "repost", tid))
            mentions += _entities(rt)["user_mentions"]
        if t.get("in_reply_to_user_id_str"):
            interactions.add((author, t["in_reply_to_user_id_str"], "reply", tid))
            accounts.add(t["in_reply_to_user_id_str"])
        if not rt and "user" in t.get("quoted_status", {}):
            interactions.add((author, t["quoted_status"]["user"]["id_str"], "quote", tid))
        for m in mentions:
            accounts.add(m["id_str"])
            if not (rt and m["id_str"] == rt["user"]["id_str"]):
                interactions.add((author, m["id_str"], "mention", tid))
    return posts, accounts, interactions


def test_detection_picks_v1_and_leaves_v2_alone():
    assert detect(SEARCH) == "twitter-v1"
    assert detect(STREAM) == "twitter-v1"
    for path in (FORMATS / "twitter-v2-json").glob("*.jsonl"):
        assert detect(path) == "twitter-v2"


def test_search_and_stream_counts_match_raw(workspace):
    search, stream = ingest(workspace, SEARCH, STREAM)
    assert (search.records_read, search.stored, search.duplicates, search.rejected) == (100, 100, 0, 0)
    assert (stream.records_read, stream.stored, stream.rejected) == (1, 1, 0)
    posts, accounts, interactions = _expected(SEARCH, STREAM)
    assert {p for (p,) in query(workspace, "SELECT post_id FROM posts WHERE platform = 'x'")} == set(posts)
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts WHERE platform = 'x'")} == accounts
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == interactions
    assert scalar(workspace, "SELECT count(*) FROM rejects") == 0
    # every account that a post names exists; only the author-less nested quotes have none
    assert scalar(workspace, "SELECT count(*) FROM posts p ANTI JOIN accounts a USING (platform, account_id) WHERE p.account_id IS NOT NULL") == 0
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE account_id IS NULL") == sum(1 for t in posts.values() if "user" not in t) > 0


def test_kinds_parents_text_and_times(workspace):
    ingest(workspace, SEARCH)
    rows = {r[0]: r[1:] for r in query(
        workspace, "SELECT post_id, kind, parent_post_id, parent_account_id, text, created_at, likes, reposts FROM posts")}
    retweets = 0
    for t in _top_level(SEARCH):
        kind, parent, parent_author, text, created, likes, reposts = rows[t["id_str"]]
        assert created == datetime.strptime(t["created_at"], "%a %b %d %H:%M:%S %z %Y").astimezone(timezone.utc)
        assert (likes, reposts) == (t["favorite_count"], t["retweet_count"])
        rt = t.get("retweeted_status")
        if rt:
            retweets += 1
            assert (kind, parent, parent_author) == ("repost", rt["id_str"], rt["user"]["id_str"])
            assert text == f"RT @{rt['user']['screen_name']}: {_full(rt)}"
        elif t.get("in_reply_to_status_id_str"):
            assert (kind, parent) == ("reply", t["in_reply_to_status_id_str"])
        elif t.get("quoted_status_id_str"):
            assert (kind, parent) == ("quote", t["quoted_status_id_str"])
        else:
            assert (kind, parent, text) == ("post", None, t["text"])
    assert retweets == sum(1 for t in _top_level(SEARCH) if "retweeted_status" in t) > 50
    # the retweets whose own text was cut with "…" now end with the original's full text
    cut = [t for t in _top_level(SEARCH) if "retweeted_status" in t and t["text"].endswith("…")]
    assert cut and all(not rows[t["id_str"]][3].endswith("…") for t in cut)


def test_stream_retweet_of_quote_recovers_extended_text(workspace):
    ingest(workspace, STREAM)
    raw = json.loads(STREAM.read_text())
    rt = raw["retweeted_status"]
    quoted = rt["quoted_status"]
    got = {r[0]: r[1:] for r in query(workspace, "SELECT post_id, kind, parent_post_id, text, quotes, replies FROM posts")}
    assert got[raw["id_str"]][:3] == ("repost", rt["id_str"],
                                      f"RT @{rt['user']['screen_name']}: {rt['extended_tweet']['full_text']}")
    assert got[raw["id_str"]][3:] == (raw["quote_count"], raw["reply_count"])
    assert got[rt["id_str"]][:3] == ("quote", quoted["id_str"], rt["extended_tweet"]["full_text"])
    assert got[quoted["id_str"]][2] == quoted["extended_tweet"]["full_text"]
    # the retweet carries the repost only; the quote belongs to the retweeted tweet
    kinds = set(query(workspace, "SELECT post_id, kind FROM interactions"))
    assert (raw["id_str"], "quote") not in kinds
    assert (rt["id_str"], "quote") in kinds
    mentions = scalar(workspace, "SELECT mentions FROM posts WHERE post_id = ?", [quoted["id_str"]])
    assert set(mentions) == {m["screen_name"].lower() for m in quoted["extended_tweet"]["entities"]["user_mentions"]}


def test_same_tweets_as_jsonl_and_array_add_nothing(workspace, tmp_path):
    ingest(workspace, SEARCH)
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in ("posts", "accounts", "interactions")}
    statuses = _top_level(SEARCH)
    lines = tmp_path / "tweets.jsonl"
    lines.write_text("".join(json.dumps(t) + "\n" for t in statuses))
    array = tmp_path / "tweets.json"
    array.write_text(json.dumps(statuses[:10]))
    assert detect(lines) == "twitter-v1" and detect(array) == "twitter-v1"
    as_lines, as_array = ingest(workspace, lines, array)
    assert (as_lines.records_read, as_lines.stored, as_lines.duplicates) == (100, 0, 100)
    assert (as_array.records_read, as_array.stored, as_array.duplicates) == (10, 0, 10)
    assert {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in before} == before
    again = ingest(workspace, SEARCH)
    assert again[0].stored == 0


def test_corrupt_line_rejected_and_stream_control_skipped(workspace, tmp_path):
    statuses = _top_level(SEARCH)[:3]
    broken = dict(statuses[1])
    del broken["id_str"], broken["id"]
    f = tmp_path / "stream.jsonl"
    f.write_text("\n".join([
        json.dumps(statuses[0]),
        json.dumps({"limit": {"track": 12, "timestamp_ms": "1453580385000"}}),
        json.dumps(broken),
        '{"id_str": "1", "text": ',
        json.dumps(statuses[2]),
    ]) + "\n")
    [result] = ingest(workspace, f, format_name="twitter-v1")
    assert (result.records_read, result.stored, result.rejected) == (4, 2, 2)
    assert [line for (line,) in query(workspace, "SELECT line_no FROM rejects ORDER BY line_no")] == [3, 4]
    assert scalar(workspace, "SELECT reason FROM rejects WHERE line_no = 3") == "tweet has no id_str/id"
    stored = {p for (p,) in query(workspace, "SELECT post_id FROM posts")}
    assert {statuses[0]["id_str"], statuses[2]["id_str"]} <= stored


def test_id_str_wins_over_lossy_numeric_id(workspace, tmp_path):
    tweet = {"id": 1440716895355764700, "id_str": "1440716895355764743", "text": "hi @bob", "lang": "en",
             "created_at": "Wed Sep 22 16:37:29 +0000 2021",
             "user": {"id": 4203239195, "screen_name": "Alice", "name": "A", "created_at": "Wed Oct 10 20:19:24 +0000 2018"},
             "entities": {"user_mentions": [{"screen_name": "Bob", "id": 1234567890123456789}], "hashtags": [], "urls": []}}
    f = tmp_path / "one.json"
    f.write_text(json.dumps(tweet))
    ingest(workspace, f)
    assert query(workspace, "SELECT post_id, account_id FROM posts") == [("1440716895355764743", "4203239195")]
    assert query(workspace, "SELECT dst, kind FROM interactions") == [("1234567890123456789", "mention")]
    assert query(workspace, "SELECT handle, created_at FROM accounts WHERE account_id = '4203239195'") == [
        ("alice", datetime(2018, 10, 10, 20, 19, 24, tzinfo=timezone.utc))]
