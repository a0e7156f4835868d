"""YouTube Data API comment threads: counts and fields checked against the raw JSON."""

from __future__ import annotations

import json
from datetime import datetime

from confiance.ingest import detect
from tests.conftest import FORMATS, ingest, query, scalar

YT = FORMATS / "youtube-data-api-json"
PAGED = YT / "comment_threads_by_video_paged_1.json"
MULTI = YT / "comment_threads_multi.json"


def _comments(path):
    """(comment, thread snippet, is_reply) for every comment in a commentThreads response."""
    out = []
    for thread in json.loads(path.read_text())["items"]:
        out.append((thread["snippet"]["topLevelComment"], thread["snippet"], False))
        for reply in thread.get("replies", {}).get("comments", []):
            out.append((reply, thread["snippet"], True))
    return out


def _ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_detection_picks_youtube_for_each_sample():
    assert detect(PAGED) == "youtube"
    assert detect(MULTI) == "youtube"


def test_samples_match_raw(workspace):
    results = ingest(workspace, PAGED, MULTI)
    comments = _comments(PAGED) + _comments(MULTI)
    assert sum(r.records_read for r in results) == len(comments)
    assert sum(r.rejected for r in results) == 0
    assert sum(r.stored for r in results) == len({c["id"] for c, _, _ in comments})
    assert scalar(workspace, "SELECT count(*) FROM posts") == len({c["id"] for c, _, _ in comments})
    authors = {c["snippet"]["authorChannelId"]["value"] for c, _, _ in comments}
    assert {r[0] for r in query(workspace, "SELECT account_id FROM accounts")} == authors
    # no replies part and no video channel in these files: no author-to-author edge is known
    assert scalar(workspace, "SELECT count(*) FROM interactions") == 0

    for comment, thread, _ in comments:
        s = comment["snippet"]
        row = query(workspace, "SELECT account_id, kind, parent_post_id, root_post_id, text, created_at, likes, replies, url "
                               "FROM posts WHERE post_id = ?", [comment["id"]])[0]
        assert row == (s["authorChannelId"]["value"], "reply", thread["videoId"], thread["videoId"],
                       s["textOriginal"], _ts(s["publishedAt"]), s["likeCount"], thread["totalReplyCount"],
                       f"https://www.youtube.com/watch?v={thread['videoId']}&lc={comment['id']}")
        assert query(workspace, "SELECT likes, replies FROM observations WHERE post_id = ?", [comment["id"]]) == [
            (s["likeCount"], thread["totalReplyCount"])]


def test_html_text_display_links_and_hashtags(workspace):
    ingest(workspace, PAGED)
    comments = {c["id"]: c["snippet"] for c, _, _ in _comments(PAGED)}
    link_comment = next(i for i, s in comments.items() if 'href="http://google.com/"' in s["textDisplay"])
    assert query(workspace, "SELECT urls, domains FROM posts WHERE post_id = ?", [link_comment]) == [
        (["http://google.com/"], ["google.com"])]
    tag_comment = next(i for i, s in comments.items() if "search_query=%23" in s["textDisplay"])
    urls, hashtags = query(workspace, "SELECT urls, hashtags FROM posts WHERE post_id = ?", [tag_comment])[0]
    assert urls == []  # YouTube's hashtag-search links are not shared urls
    assert hashtags == ["chromedevsummit"]
    names = {s["authorChannelId"]["value"]: s["authorDisplayName"] for s in comments.values()}
    for account_id, display_name, url in query(workspace, "SELECT account_id, display_name, url FROM accounts"):
        assert display_name == names[account_id]
        assert url == f"http://www.youtube.com/channel/{account_id}"


def test_thread_with_replies_and_comments_list(workspace, tmp_path):
    def comment(cid, author, name, text_html, parent=None, video="vid12345678"):
        snippet = {"authorDisplayName": name, "authorChannelUrl": f"http://www.youtube.com/channel/{author}",
                   "authorChannelId": {"value": author}, "videoId": video, "textDisplay": text_html,
                   "likeCount": 2, "publishedAt": "2024-01-02T03:04:05Z", "updatedAt": "2024-01-02T03:04:05Z"}
        if parent:
            snippet["parentId"] = parent
        return {"kind": "youtube#comment", "id": cid, "snippet": snippet}

    thread = {"kind": "youtube#commentThread", "id": "T1",
              "snippet": {"videoId": "vid12345678", "channelId": "UCowner", "totalReplyCount": 1,
                          "topLevelComment": comment("T1", "UCa", "@Alice", "first &amp; best<br>line")},
              "replies": {"comments": [comment("T1.r1", "UCb", "@bob", "thanks @alice", parent="T1")]}}
    page = {"kind": "youtube#commentThreadListResponse", "items": [thread]}
    listing = {"kind": "youtube#commentListResponse", "items": [comment("T1.r2", "UCc", "Carol Long Name", "me too", parent="T1")]}
    f = tmp_path / "threads.jsonl"
    f.write_text(json.dumps(page) + "\n" + json.dumps(listing) + "\n")
    assert detect(f) == "youtube"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (3, 3, 0)
    rows = dict((r[0], r[1:]) for r in query(workspace, "SELECT post_id, parent_post_id, parent_account_id, root_post_id, text FROM posts"))
    assert rows["T1"] == ("vid12345678", "UCowner", "vid12345678", "first & best\nline")
    assert rows["T1.r1"] == ("T1", "UCa", "vid12345678", "thanks @alice")
    # comments.list does not name the thread author; the engine finds it from the stored parent
    assert rows["T1.r2"] == ("T1", "UCa", "vid12345678", "me too")
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == {
        ("UCa", "UCowner", "reply", "T1"), ("UCb", "UCa", "reply", "T1.r1"), ("UCc", "UCa", "reply", "T1.r2")}
    handles = dict(query(workspace, "SELECT account_id, handle FROM accounts"))
    assert handles == {"UCa": "alice", "UCb": "bob", "UCc": None, "UCowner": None}


def test_corrupted_record_is_rejected_with_its_line(workspace, tmp_path):
    good = json.loads(MULTI.read_text())
    bad = {"kind": "youtube#commentThreadListResponse",
           "items": [{"kind": "youtube#commentThread", "id": "X", "snippet": {"videoId": "v", "topLevelComment": {"id": "X"}}}]}
    f = tmp_path / "mixed.jsonl"
    f.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (len(good["items"]) + 1, len(good["items"]), 1)
    assert query(workspace, "SELECT line_no, reason FROM rejects") == [(2, "comment has no snippet")]


def test_reingest_adds_nothing(workspace):
    ingest(workspace, YT)
    tables = ("posts", "accounts", "interactions", "observations")
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables}
    results = ingest(workspace, YT)
    assert results and all(r.stored == 0 for r in results)
    assert {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables} == before
