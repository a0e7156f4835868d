"""A small world whose names, bios, URLs, hashtags and posts carry hostile payloads (XSS fixture)."""

from __future__ import annotations

from pathlib import Path

import orjson

from confiance.ingest import ingest_paths
from confiance.pipeline import analyze
from confiance.workspace import Workspace

PAYLOADS = [line for line in (Path(__file__).parents[1] / "data" / "xss" / "payloads.txt").read_text().splitlines() if line]
ACCOUNTS = 40


def hostile_world(root: Path) -> Workspace:
    """Ingest one twarc2 page where every account and post carries a payload, then analyse it."""
    users = []
    for i in range(ACCOUNTS):
        payload = PAYLOADS[i % len(PAYLOADS)]
        users.append({
            "id": str(7000 + i),
            "username": f"u{i}" if i % 3 else f"u{i}{payload}"[:60],
            "name": payload, "description": f"bio {payload}", "location": payload,
            "url": PAYLOADS[6 + i % 4] if i % 2 else f"https://example.org/{i}",
            "public_metrics": {"followers_count": 100 * (ACCOUNTS - i), "following_count": 10},
        })
    tweets = []
    for i in range(200):
        author = users[i % ACCOUNTS]["id"]
        payload = PAYLOADS[i % len(PAYLOADS)]
        tweet = {"id": str(9_000_000 + i), "author_id": author, "text": f"{payload} #{i % 5}tag",
                 "created_at": f"2025-01-{1 + i % 28:02d}T{i % 24:02d}:00:00.000Z", "lang": "fr",
                 "public_metrics": {"like_count": i % 13, "retweet_count": i % 4, "reply_count": 0, "quote_count": 0},
                 "entities": {"hashtags": [{"tag": payload[:40]}],
                              "urls": [{"url": "https://t.co/x", "expanded_url": PAYLOADS[6 + i % 4] if i % 2 else
                                        f"https://news.example/{i}?q=<script>"}],
                              "mentions": [{"username": users[(i + 1) % ACCOUNTS]["username"], "id": users[(i + 1) % ACCOUNTS]["id"]}]}}
        if i >= ACCOUNTS:
            tweet["referenced_tweets"] = [{"type": "retweeted" if i % 2 else "replied_to", "id": str(9_000_000 + i % ACCOUNTS)}]
        tweets.append(tweet)
    page = {"data": tweets, "includes": {"users": users, "tweets": tweets[:ACCOUNTS]}, "meta": {"result_count": len(tweets)}}
    source = root / "hostile.jsonl"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(orjson.dumps(page) + b"\n")
    ws = Workspace.init(root / "ws")
    [result] = ingest_paths(ws, [source])
    assert result.rejected == 0, result
    analyze(ws)
    return ws
