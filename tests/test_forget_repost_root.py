"""``forget`` and the ingest that honours it leave a repost of the forgotten person the same rows, whichever came
first: no parent, no parent author, no root post, none of the words it copied."""

from __future__ import annotations

import json

from confiance.privacy import forget
from confiance.workspace import Workspace
from tests.conftest import ingest, query

PERSON, PERSON_ID = "reposted_person", "7777777777777777701"
ORIGINAL = {"id": "9101", "author_id": PERSON_ID, "conversation_id": "9101", "created_at": "2024-01-01T10:00:00Z",
            "text": "my own words, worth sharing with everyone"}
#: X gives a retweet its own conversation: the root it names is itself, not the person's post
RETWEET = {"id": "9103", "author_id": "42", "conversation_id": "9103", "created_at": "2024-01-01T12:00:00Z",
           "text": f"RT @{PERSON}: {ORIGINAL['text']}", "referenced_tweets": [{"type": "retweeted", "id": "9101"}],
           "entities": {"mentions": [{"start": 3, "end": 19, "username": PERSON, "id": PERSON_ID}]}}
USERS = [{"id": PERSON_ID, "username": PERSON, "name": "Reposted Person"}, {"id": "42", "username": "other", "name": "Other"}]
REPOST_ROWS = {
    "posts": "SELECT * EXCLUDE (source_sha256) FROM posts WHERE post_id = '9103'",
    "interactions": "SELECT * FROM interactions WHERE post_id = '9103' ORDER BY ALL",
}


def _page(path, tweets: list[dict], includes: list[dict]):
    path.write_text(json.dumps({"data": tweets, "includes": {"users": USERS, "tweets": includes}}) + "\n")
    return path


def _repost_rows(ws: Workspace) -> dict[str, list[tuple]]:
    return {table: query(ws, sql) for table, sql in REPOST_ROWS.items()}


def test_a_repost_of_a_forgotten_person_is_the_same_forgotten_before_or_after_its_ingest(tmp_path):
    own = _page(tmp_path / "own.jsonl", [ORIGINAL], [])
    shared = _page(tmp_path / "shared.jsonl", [RETWEET], [ORIGINAL])

    after = Workspace.init(tmp_path / "after")  # ingest, then forget
    ingest(after, own, shared)
    forget(after, f"x:{PERSON_ID}")

    before = Workspace.init(tmp_path / "before")  # forget recorded, then the repost ingested
    ingest(before, own)
    forget(before, f"x:{PERSON_ID}")
    ingest(before, shared)

    rows = _repost_rows(before)
    assert len(rows["posts"]) == 1 and rows["posts"][0][0] == "x"
    assert _repost_rows(after) == rows
    assert query(before, "SELECT kind, parent_post_id, parent_account_id, root_post_id, text FROM posts "
                         "WHERE post_id = '9103'") == [("repost", None, None, None, "RT @[forgotten]: [forgotten]")]
