"""Bluesky post views, feed items, API envelopes and Jetstream events: counts checked against an
independent reading of the raw JSON."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

from confiance.ingest import detect
from tests.conftest import FORMATS, ingest, query, scalar

SAMPLES = FORMATS / "bluesky-atproto"
POSTS = SAMPLES / "bluesky-posts.json"
FIREHOSE = SAMPLES / "bluesky-firehose-posts.json"
POST_COLLECTION = "/app.bsky.feed.post/"


def _did(uri):
    return uri[len("at://"):].split("/")[0]


def _quoted_view(view_embed):
    """The viewRecord of a record / recordWithMedia view embed, when it is a post."""
    if not view_embed:
        return None
    if view_embed["$type"] == "app.bsky.embed.record#view":
        inner = view_embed["record"]
    elif view_embed["$type"] == "app.bsky.embed.recordWithMedia#view":
        inner = view_embed["record"]["record"]
    else:
        return None
    if inner.get("$type") == "app.bsky.embed.record#viewRecord" and POST_COLLECTION in inner["uri"]:
        return inner
    return None


def _quoted_uri(record):
    embed = record.get("embed") or {}
    if embed.get("$type") == "app.bsky.embed.record":
        uri = embed["record"]["uri"]
    elif embed.get("$type") == "app.bsky.embed.recordWithMedia":
        uri = embed["record"]["record"]["uri"]
    else:
        return None
    return uri if POST_COLLECTION in uri else None


def _mentioned_dids(record):
    return {f["did"] for facet in record.get("facets") or [] for f in facet["features"]
            if f.get("$type") == "app.bsky.richtext.facet#mention"}


def _expected_views(items):
    """Stored posts (uri -> (author did, record)), account DIDs, interaction tuples and the
    primary post of each item, read straight from the raw views."""
    posts, accounts, edges = {}, set(), set()

    def add(uri, author_did, record, view_embed=None):
        posts.setdefault(uri, (author_did, record))
        accounts.add(author_did)
        reply = record.get("reply")
        if reply:
            edges.add((author_did, _did(reply["parent"]["uri"]), "reply", uri))
        quoted = _quoted_uri(record)
        if quoted:
            edges.add((author_did, _did(quoted), "quote", uri))
        for did in _mentioned_dids(record):
            edges.add((author_did, did, "mention", uri))
        inner = _quoted_view(view_embed)
        if inner:
            embeds = inner.get("embeds") or [None]
            add(inner["uri"], inner["author"]["did"], inner["value"], embeds[0])

    primaries = []
    for item in items:  # primaries first: a post's own record wins over its copies seen as context
        view = item["post"] if "post" in item else item
        posts.setdefault(view["uri"], (view["author"]["did"], view["record"]))
    for item in items:
        view = item["post"] if "post" in item else item
        primaries.append(view["uri"])
        add(view["uri"], view["author"]["did"], view["record"], view.get("embed"))
        for key in ("parent", "root"):
            context = (item.get("reply") or {}).get(key)
            if context and "record" in context:
                add(context["uri"], context["author"]["did"], context["record"], context.get("embed"))
        if "grandparentAuthor" in (item.get("reply") or {}):
            accounts.add(item["reply"]["grandparentAuthor"]["did"])
        reason = item.get("reason")
        if reason and reason["$type"] == "app.bsky.feed.defs#reasonRepost":
            edges.add((reason["by"]["did"], view["author"]["did"], "repost", view["uri"]))
    accounts |= {e[0] for e in edges} | {e[1] for e in edges}
    return posts, accounts, edges, primaries


def _iso(value):
    return datetime.fromisoformat(value).astimezone(timezone.utc)


def test_detection_picks_bluesky_for_each_sample():
    assert detect(POSTS) == "bluesky"
    assert detect(FIREHOSE) == "bluesky"


def test_post_views_match_raw(workspace):
    items = json.loads(POSTS.read_text())
    posts, accounts, edges, primaries = _expected_views(items)
    [result] = ingest(workspace, POSTS)
    assert (result.records_read, result.rejected) == (len(items), 0)
    assert (result.stored, result.duplicates) == (len(set(primaries)), len(primaries) - len(set(primaries)))
    assert scalar(workspace, "SELECT count(*) FROM posts") == len(posts)
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts")} == accounts
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == edges
    kinds = {e[2] for e in edges}
    assert {"reply", "quote", "mention", "repost"} <= kinds

    # kind, parent, root, author and text of every stored post
    got = {row[0]: row[1:] for row in query(
        workspace, "SELECT post_id, account_id, kind, parent_post_id, parent_account_id, root_post_id, text FROM posts")}
    for uri, (author, record) in posts.items():
        reply, quoted = record.get("reply"), _quoted_uri(record)
        if reply:
            want = (author, "reply", reply["parent"]["uri"], _did(reply["parent"]["uri"]), reply["root"]["uri"])
        elif quoted:
            want = (author, "quote", quoted, _did(quoted), None)
        else:
            want = (author, "post", None, None, None)
        assert got[uri][:5] == want, uri
        assert got[uri][5] == record.get("text", ""), uri


def test_timestamps_metrics_and_year_zero(workspace):
    items = json.loads(POSTS.read_text())
    ingest(workspace, POSTS)
    created = dict(query(workspace, "SELECT post_id, created_at FROM posts"))
    checked, seen = 0, set()
    for item in items:
        view = item.get("post", item)
        if view["uri"] in seen:
            continue  # the sample reuses a few URIs for edited variants: the first one is kept
        seen.add(view["uri"])
        raw = view["record"]["createdAt"]
        if raw.startswith("0000"):
            assert created[view["uri"]] is None  # kept, with no usable date
            continue
        assert created[view["uri"]] == _iso(raw), view["uri"]
        checked += 1
    assert checked == len(seen) - 1
    zero = [i.get("post", i)["uri"] for i in items if i.get("post", i)["record"]["createdAt"].startswith("0000")]
    assert len(zero) == 1
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE post_id = ?", zero) == 1

    view = items[0]
    row = query(workspace, "SELECT likes, reposts, replies, quotes FROM posts WHERE post_id = ?", [view["uri"]])[0]
    assert row == (view["likeCount"], view["repostCount"], view["replyCount"], view["quoteCount"])
    obs = query(workspace, "SELECT likes, reposts FROM observations WHERE post_id = ?", [view["uri"]])
    assert obs == [(view["likeCount"], view["repostCount"])]


def test_facets_are_sliced_by_utf8_bytes(workspace):
    items = json.loads(POSTS.read_text())
    by_uri = {i.get("post", i)["uri"]: i.get("post", i) for i in items}
    uri = "at://did:plc:gf474l4mkf7icwpvesuejesr/app.bsky.feed.post/3lkdnb2gtzk2c"
    record = by_uri[uri]["record"]
    text = record["text"]
    [mention] = [f for f in record["facets"] if f["features"][0]["$type"].endswith("#mention")]
    start, end = mention["index"]["byteStart"], mention["index"]["byteEnd"]
    # the text has non-ASCII characters before the facet: character offsets point elsewhere
    assert text[start:end] != text.encode()[start:end].decode()
    handle = text.encode()[start:end].decode().lstrip("@").lower()
    [link] = [f["features"][0]["uri"] for f in record["facets"] if f["features"][0]["$type"].endswith("#link")]

    ingest(workspace, POSTS)
    mentions, urls, domains = query(workspace, "SELECT mentions, urls, domains FROM posts WHERE post_id = ?", [uri])[0]
    assert mentions == [handle] == ["laviedesidees.bsky.social"]
    assert link in urls and link.endswith("l-evaluation-des-universites")  # the full URL, not the shortened text
    assert "laviedesidees.fr" in domains
    dst = mention["features"][0]["did"]
    assert query(workspace, "SELECT kind FROM interactions WHERE dst = ? AND post_id = ?", [dst, uri]) == [("mention",)]

    tags = query(workspace, "SELECT hashtags FROM posts WHERE post_id = ?",
                 ["at://did:plc:crmrddqmbqzyqd24yjlpibz2/app.bsky.feed.post/3lkizm6uvhc2b"])[0][0]
    assert tags == ["hceres", "esr"]


def test_handmade_emoji_and_accents_before_facets(workspace, tmp_path):
    text = "Très 🎉 bien @alice.example.com voir exa.mp/x… #Été"
    data = text.encode()

    def span(fragment):
        start = data.index(fragment.encode())
        return {"byteStart": start, "byteEnd": start + len(fragment.encode())}

    view = {
        "uri": "at://did:plc:author1/app.bsky.feed.post/3aaa", "cid": "c1",
        "author": {"did": "did:plc:author1", "handle": "Author.Example.com", "displayName": "A"},
        "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2025-01-02T03:04:05.123456789Z",
                   "langs": ["fr"],
                   "facets": [
                       {"index": span("@alice.example.com"),
                        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}]},
                       {"index": span("exa.mp/x…"),
                        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.org/x/full"}]},
                       {"index": span("#Été"), "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Été"}]},
                   ]},
        "likeCount": 3, "indexedAt": "2025-01-02T03:04:06Z",
    }
    assert text[span("@alice.example.com")["byteStart"]:][:6] != "@alice"  # char offsets would miss it
    f = tmp_path / "handmade.jsonl"
    f.write_text(json.dumps(view, ensure_ascii=False) + "\n")
    assert detect(f) == "bluesky"
    [result] = ingest(workspace, f)
    assert (result.stored, result.rejected) == (1, 0)
    row = query(workspace, "SELECT mentions, urls, domains, hashtags, url, created_at FROM posts")[0]
    assert row[:5] == (["alice.example.com"], ["https://example.org/x/full"], ["example.org"], ["été"],
                       "https://bsky.app/profile/author.example.com/post/3aaa")
    assert row[5] == datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
    assert query(workspace, "SELECT src, dst, kind FROM interactions") == [("did:plc:author1", "did:plc:alice", "mention")]
    assert query(workspace, "SELECT account_id, handle FROM accounts ORDER BY 1") == [
        ("did:plc:alice", None), ("did:plc:author1", "author.example.com")]


def test_jetstream_posts_match_raw(workspace):
    events = json.loads(FIREHOSE.read_text())
    [result] = ingest(workspace, FIREHOSE)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(events), len(events), 0, 0)
    expected_edges, accounts = set(), set()
    for e in events:
        uri = f"at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}"
        record = e["commit"]["record"]
        accounts.add(e["did"])
        row = query(workspace, "SELECT account_id, text, kind, parent_post_id, created_at, url FROM posts WHERE post_id = ?", [uri])
        reply = record.get("reply")
        assert row == [(e["did"], record["text"], "reply" if reply else "post", reply["parent"]["uri"] if reply else None,
                        _iso(record["createdAt"]), f"https://bsky.app/profile/{e['did']}/post/{e['commit']['rkey']}")]
        if reply:
            expected_edges.add((e["did"], _did(reply["parent"]["uri"]), "reply", uri))
        for did in _mentioned_dids(record):
            expected_edges.add((e["did"], did, "mention", uri))
    accounts |= {x[1] for x in expected_edges}
    assert scalar(workspace, "SELECT count(*) FROM posts") == len(events)
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == expected_edges
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts")} == accounts


def test_jetstream_edges_and_skipped_events(workspace, tmp_path):
    def commit(did, collection, rkey, record, operation="create"):
        return {"did": did, "time_us": 1764929823464700, "kind": "commit",
                "commit": {"rev": "r", "operation": operation, "collection": collection, "rkey": rkey,
                           "record": record, "cid": "c"}}

    post = "at://did:plc:bob/app.bsky.feed.post/3bbb"
    lines = [
        commit("did:plc:ann", "app.bsky.feed.like", "l1",
               {"$type": "app.bsky.feed.like", "subject": {"uri": post, "cid": "x"}, "createdAt": "2025-12-05T10:00:00Z"}),
        commit("did:plc:ann", "app.bsky.feed.repost", "r1",
               {"$type": "app.bsky.feed.repost", "subject": {"uri": post, "cid": "x"}, "createdAt": "2025-12-05T10:00:01Z"}),
        commit("did:plc:ann", "app.bsky.graph.follow", "f1",
               {"$type": "app.bsky.graph.follow", "subject": "did:plc:bob", "createdAt": "2025-12-05T10:00:02Z"}),
        {"did": "did:plc:ann", "time_us": 1, "kind": "commit",
         "commit": {"rev": "r", "operation": "delete", "collection": "app.bsky.feed.post", "rkey": "gone"}},
        {"did": "did:plc:ann", "time_us": 2, "kind": "identity", "identity": {"did": "did:plc:ann", "handle": "ann.test"}},
        {"did": "did:plc:ann", "time_us": 3, "kind": "account", "account": {"active": True, "did": "did:plc:ann"}},
        commit("did:plc:ann", "app.bsky.actor.profile", "self", {"$type": "app.bsky.actor.profile"}),
        commit("did:plc:ann", "app.bsky.feed.post", "p1",
               {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "0000-01-01T00:00:00Z"}),
    ]
    f = tmp_path / "jetstream.jsonl"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert detect(f) == "bluesky"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (4, 4, 0)  # deletes, identity, account, profile skipped
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == {
        ("did:plc:ann", "did:plc:bob", "like", post),
        ("did:plc:ann", "did:plc:bob", "repost", post),
        ("did:plc:ann", "did:plc:bob", "follow", ""),
    }
    # an unusable createdAt falls back to the relay time (time_us)
    created = scalar(workspace, "SELECT created_at FROM posts WHERE post_id = 'at://did:plc:ann/app.bsky.feed.post/p1'")
    assert created == datetime.fromtimestamp(1764929823464700 / 1e6, tz=timezone.utc)


def test_api_envelopes_expand_into_posts(workspace, tmp_path):
    items = json.loads(POSTS.read_text())
    replies = [i for i in items if "reply" in i]
    views = [i for i in items if "record" in i][:5]
    # getPostThread: a reply whose parent is the thread root, both from the sample
    reply_item = next(i for i in replies if "grandparentAuthor" not in i["reply"])
    thread = {"thread": {"$type": "app.bsky.feed.defs#threadViewPost", "post": reply_item["post"],
                         "parent": {"$type": "app.bsky.feed.defs#threadViewPost", "post": reply_item["reply"]["parent"],
                                    "parent": {"$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://x/y/z", "notFound": True}},
                         "replies": [{"$type": "app.bsky.feed.defs#threadViewPost", "post": views[0], "replies": []}]}}
    feed = {"feed": [i for i in items if "reason" in i or "reply" in i], "cursor": "abc"}
    search = {"posts": views, "cursor": "def", "hitsTotal": 5}
    for name, doc in (("thread.json", thread), ("feed.json", feed), ("search.json", search)):
        (tmp_path / name).write_text(json.dumps(doc))
        assert detect(tmp_path / name) == "bluesky"
    results = ingest(workspace, tmp_path / "thread.json", tmp_path / "feed.json", tmp_path / "search.json")
    thread_uris = {reply_item["post"]["uri"], reply_item["reply"]["parent"]["uri"], views[0]["uri"]}
    assert [(r.records_read, r.rejected) for r in results] == [(len(thread_uris), 0), (len(feed["feed"]), 0), (5, 0)]
    stored = {p for (p,) in query(workspace, "SELECT post_id FROM posts")}
    assert thread_uris | {i["post"]["uri"] for i in feed["feed"]} | {v["uri"] for v in views} <= stored
    reposts = {(i["reason"]["by"]["did"], i["post"]["author"]["did"], i["post"]["uri"]) for i in items if "reason" in i}
    assert set(query(workspace, "SELECT src, dst, post_id FROM interactions WHERE kind = 'repost'")) == reposts


def test_reingest_adds_nothing(workspace):
    ingest(workspace, SAMPLES)
    tables = ("posts", "accounts", "interactions", "observations")
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables}
    results = ingest(workspace, SAMPLES)
    assert all(r.stored == 0 for r in results)
    assert before == {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables}


def test_corrupted_records_are_rejected_with_line_numbers(workspace, tmp_path):
    items = json.loads(POSTS.read_text())
    good = [i for i in items if "record" in i][:3]
    broken = copy.deepcopy(good[1])
    broken["record"] = "not a record"
    lines = [json.dumps(good[0]), '{"uri": "at://did:plc:x/app.bsky.feed.post/1", "record": {', json.dumps(broken),
             json.dumps(good[2])]
    f = tmp_path / "corrupt.jsonl"
    f.write_text("\n".join(lines) + "\n")
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (4, 2, 2)
    assert [line for (line,) in query(workspace, "SELECT line_no FROM rejects ORDER BY line_no")] == [2, 3]
    stored = {p for (p,) in query(workspace, "SELECT post_id FROM posts")}
    assert {good[0]["uri"], good[2]["uri"]} <= stored and good[1]["uri"] not in stored


def test_a_repost_listed_by_getrepostedby_then_read_as_a_record_is_one_edge_with_the_record_time(workspace, tmp_path):
    """getRepostedBy does not say when; the repost record read later (Jetstream) does: its time fills the edge,
    and reading the list again changes nothing."""
    author, reposter = "did:plc:authorauthorauthorauthor", "did:plc:reposterreposterreposter"
    subject = f"at://{author}/app.bsky.feed.post/3kabcdefghi2x"
    listed = tmp_path / "reposted_by.json"
    listed.write_text(json.dumps({"uri": subject, "repostedBy": [{"did": reposter, "handle": "reposter.bsky.social"}]}))
    record = {"did": reposter, "time_us": 1717000000000000, "kind": "commit",
              "commit": {"rev": "3kz", "operation": "create", "collection": "app.bsky.feed.repost", "rkey": "3kzzzzzzzzz2x",
                         "record": {"$type": "app.bsky.feed.repost", "subject": {"uri": subject, "cid": "bafyrei"},
                                    "createdAt": "2024-05-29T16:26:40.000Z"}, "cid": "bafyreib"}}
    events = tmp_path / "jetstream.jsonl"
    events.write_text(json.dumps(record) + "\n")
    ingest(workspace, listed, events)
    edges = query(workspace, "SELECT src, dst, post_id, created_at FROM interactions WHERE kind = 'repost'")
    assert [(s, d, p, t.isoformat()) for s, d, p, t in edges] == [(reposter, author, subject, "2024-05-29T16:26:40+00:00")]
    again = tmp_path / "reposted_by_again.json"
    again.write_text(listed.read_text() + "\n")
    assert [r.stored for r in ingest(workspace, again)] == [0]
    assert query(workspace, "SELECT src, dst, post_id, created_at FROM interactions WHERE kind = 'repost'") == edges
