"""The merge reads only the store's rows within a file's post-id range; it must stay exact when files
come out of time order, overlap, repeat each other, or mix id lengths (ids are text: '99' > '100').

Expected counts are computed here from the ids written, independently of the engine.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.conftest import ingest, query, scalar


def _tweet(post_id: str, author: str, parent: str | None = None) -> dict:
    tweet = {"id": post_id, "author_id": author, "text": f"message {post_id}", "created_at": "2024-05-01T10:00:00.000Z",
             "public_metrics": {"like_count": 1, "retweet_count": 0, "reply_count": 0, "quote_count": 0}}
    if parent is not None:  # the parent's author is named nowhere in the page: the store must supply it
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent}]
    return tweet


def _write(path: Path, tweets: list[dict]) -> Path:
    users = [{"id": a, "username": f"user{a}"} for a in sorted({t["author_id"] for t in tweets})]
    pages = [{"data": tweets[i:i + 7], "includes": {"users": users}, "__twarc": {"retrieved_at": "2024-05-02T00:00:00Z"}}
             for i in range(0, len(tweets), 7)]
    path.write_bytes(b"\n".join(orjson.dumps(p) for p in pages) + b"\n")
    return path


def _ids(first: int, last: int) -> list[str]:
    return [str(1_800_000_000_000_000_000 + i) for i in range(first, last)]


@pytest.mark.parametrize("native", [True, False])
def test_overlapping_out_of_order_files_store_each_post_once(workspace, tmp_path, native):
    late = _ids(200, 260)
    early = _ids(100, 150)
    mixed = _ids(230, 240) + _ids(90, 110) + ["99", "1000", "12345678901234567890"]  # repeats, shorter and longer ids
    reply_to_early = _ids(300, 301)  # a reply whose parent sits in the earliest file, ingested last
    files = [
        _write(tmp_path / "late.jsonl", [_tweet(i, "1") for i in late]),
        _write(tmp_path / "early.jsonl", [_tweet(i, "2") for i in early]),
        _write(tmp_path / "mixed.jsonl", [_tweet(i, "3") for i in mixed]),
        _write(tmp_path / "reply.jsonl", [_tweet(reply_to_early[0], "4", parent=early[0])]),
    ]
    results = ingest(workspace, *files, options={"native": native})

    seen: set[str] = set()
    for result, ids in zip(results, (late, early, mixed, reply_to_early)):
        new = set(ids) - seen
        assert (result.records_read, result.stored, result.duplicates) == (len(ids), len(new), len(ids) - len(new))
        seen |= set(ids)
    assert scalar(workspace, "SELECT count(*) FROM posts") == len(seen)
    assert scalar(workspace, "SELECT count(DISTINCT post_id) FROM posts") == len(seen)
    assert query(workspace, "SELECT parent_account_id FROM posts WHERE post_id = ?", reply_to_early) == [("2",)]
    assert query(workspace, "SELECT src, dst, kind FROM interactions WHERE post_id = ?", reply_to_early) == [
        ("4", "2", "reply")]
    # one observation per post (same retrieval time), whatever the order
    assert scalar(workspace, "SELECT count(*) FROM observations") == len(seen)

    again = ingest(workspace, *files, options={"native": native})
    assert [r.stored for r in again] == [0, 0, 0, 0]
    assert scalar(workspace, "SELECT count(*) FROM posts") == len(seen)


def test_a_parent_arriving_after_its_reply_links_both_ways(workspace, tmp_path):
    parent, reply = _ids(500, 501)[0], _ids(900, 901)[0]
    ingest(workspace, _write(tmp_path / "reply.jsonl", [_tweet(reply, "7", parent=parent)]))
    assert query(workspace, "SELECT parent_account_id FROM posts WHERE post_id = ?", [reply]) == [(None,)]
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE post_id = ?", [reply]) == 0
    ingest(workspace, _write(tmp_path / "parent.jsonl", [_tweet(parent, "8")] + [_tweet(i, "9") for i in _ids(400, 420)]))
    assert query(workspace, "SELECT parent_account_id FROM posts WHERE post_id = ?", [reply]) == [("8",)]
    assert query(workspace, "SELECT src, dst, kind FROM interactions WHERE post_id = ?", [reply]) == [("7", "8", "reply")]
