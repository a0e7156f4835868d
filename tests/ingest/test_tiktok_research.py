"""TikTok Research API: counts and fields checked against an independent reading of the raw JSON."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from confiance.ingest import detect
from tests.conftest import FORMATS, ingest, query, scalar

TIKTOK = FORMATS / "tiktok-research-api-json"
VIDEOS = TIKTOK / "example_resp_q_videos.json"
COMMENTS = TIKTOK / "example_resp_comments.json"


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def test_detection_picks_tiktok_for_each_sample():
    assert detect(VIDEOS) == "tiktok-research"
    assert detect(COMMENTS) == "tiktok-research"


def test_video_response_matches_raw(workspace):
    raw = json.loads(VIDEOS.read_text())  # Python ints: ids above 2**53 stay exact
    videos = raw["data"]["videos"]
    ids = {str(v.get("id", v.get("video_id"))) for v in videos}
    [result] = ingest(workspace, VIDEOS)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (
        len(videos), len(ids), len(videos) - len(ids), 0)
    assert {r[0] for r in query(workspace, "SELECT post_id FROM posts")} == ids
    usernames = {v["username"].lower() for v in videos if v.get("username")}
    assert scalar(workspace, "SELECT count(*) FROM accounts") == len(usernames)
    assert scalar(workspace, "SELECT count(*) FROM interactions") == 0

    first = videos[0]
    row = query(workspace, "SELECT text, kind, created_at, views, replies, hashtags, account_id, url, "
                           "json_extract_string(attributes, '$.region_code'), "
                           "json_extract_string(attributes, '$.music_id') FROM posts WHERE post_id = ?",
                [str(first["video_id"])])[0]
    assert row[0] == first["video_description"]
    assert row[1] == "post"
    assert row[2] == _utc(first["create_time"])
    assert (row[3], row[4]) == (first["view_count"], first["comment_count"])
    assert row[5] == [h.lower() for h in first["hashtag_names"]]
    assert row[6] is None and row[7] is None  # no username in this response: no account, no permalink
    assert row[8] == first["region_code"]
    assert row[9] == str(first["music_id"])  # 18-digit id, exact
    assert scalar(workspace, "SELECT views FROM observations WHERE post_id = ?", [str(first["video_id"])]) == first["view_count"]


def test_comment_response_matches_raw(workspace):
    raw = json.loads(COMMENTS.read_text())
    comments = raw["data"]["comments"]
    [result] = ingest(workspace, COMMENTS)
    assert (result.records_read, result.stored, result.rejected) == (len(comments), len(comments), 0)
    c = comments[0]
    row = query(workspace, "SELECT post_id, account_id, kind, parent_post_id, root_post_id, text, created_at, likes, replies "
                           "FROM posts")[0]
    parent = c["parent_comment_id"] if c["parent_comment_id"] != c["video_id"] else c["video_id"]
    assert row == (str(c["id"]), None, "reply", str(parent), str(c["video_id"]), c["text"],
                   _utc(c["create_time"]), c["like_count"], c["reply_count"])
    assert scalar(workspace, "SELECT count(*) FROM accounts") == 0


def test_jsonl_pages_with_usernames_and_top_level_comments(workspace, tmp_path):
    pages = [
        {"data": {"videos": [{"id": 7201388525814961198, "username": "Alice.B", "create_time": 1676000000,
                              "video_description": "dance with @bob_c #fyp", "hashtag_names": ["fyp"],
                              "like_count": 10, "share_count": 2, "comment_count": 1, "view_count": 99,
                              "voice_to_text": "hello", "is_stem_verified": False, "effect_ids": []}],
                  "cursor": 1, "has_more": False, "search_id": "s"}, "error": {"code": "ok"}},
        {"data": {"comments": [{"id": 7201388525814961300, "video_id": 7201388525814961198, "text": "nice",
                                "create_time": 1676000100, "like_count": 1, "reply_count": 0,
                                "parent_comment_id": 7201388525814961198}], "has_more": False},
         "error": {"code": "ok"}},
    ]
    f = tmp_path / "pages.jsonl"
    f.write_text("\n".join(json.dumps(p) for p in pages) + "\n")
    assert detect(f) == "tiktok-research"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (2, 2, 0)
    assert query(workspace, "SELECT account_id, url FROM posts WHERE kind = 'post'") == [
        ("alice.b", "https://www.tiktok.com/@alice.b/video/7201388525814961198")]
    assert query(workspace, "SELECT parent_post_id, root_post_id FROM posts WHERE kind = 'reply'") == [
        ("7201388525814961198", "7201388525814961198")]
    assert query(workspace, "SELECT src, dst, kind, post_id FROM interactions") == [
        ("alice.b", "bob_c", "mention", "7201388525814961198")]
    assert {r[0] for r in query(workspace, "SELECT account_id FROM accounts")} == {"alice.b", "bob_c"}
    attrs = json.loads(scalar(workspace, "SELECT attributes FROM posts WHERE kind = 'post'"))
    assert attrs["voice_to_text"] == "hello" and attrs["is_stem_verified"] is False


def test_bare_array_of_videos(workspace, tmp_path):
    f = tmp_path / "videos.json"
    f.write_text('[{"id": 7000000000000000001, "username": "x", "video_description": "a", "create_time": 1,'
                 ' "region_code": "FR", "view_count": 3},'
                 ' {"id": 7000000000000000002, "username": "y", "video_description": "b", "create_time": 2,'
                 ' "region_code": "DE", "view_count": 4}]')
    assert detect(f) == "tiktok-research"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (2, 2, 0)
    assert sorted(r[0] for r in query(workspace, "SELECT post_id FROM posts")) == ["7000000000000000001", "7000000000000000002"]


def test_corrupted_record_is_rejected_with_its_line(workspace, tmp_path):
    good = {"data": {"videos": [{"id": 1, "username": "a", "video_description": "ok", "create_time": 5,
                                 "region_code": "US"}]}, "error": {"code": "ok"}}
    bad = {"data": {"videos": [{"username": "b", "video_description": "no id", "create_time": 5,
                                "region_code": "US"}]}, "error": {"code": "ok"}}
    f = tmp_path / "mixed.jsonl"
    f.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n{broken\n")
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (3, 1, 2)
    assert [r[0] for r in query(workspace, "SELECT line_no FROM rejects ORDER BY line_no")] == [2, 3]
    assert "no id" in scalar(workspace, "SELECT reason FROM rejects WHERE line_no = 2")


def test_reingest_adds_nothing(workspace):
    ingest(workspace, TIKTOK)
    tables = ("posts", "accounts", "interactions", "observations")
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables}
    results = ingest(workspace, TIKTOK)
    assert results and all(r.stored == 0 for r in results)
    assert {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables} == before
