"""Small synthetic inputs for engine tests (the simulator makes realistic worlds; these are minimal)."""

from __future__ import annotations

import random
from pathlib import Path

import orjson


def x_v2_pages(path: Path, *, tweets: int, seed: int = 0, per_page: int = 100, users: int = 300) -> Path:
    """twarc2-style pages with retweets, replies and mentions between `users` accounts."""
    rng = random.Random(seed)
    base = 1_500_000_000_000_000_000 + seed * 10_000_000
    written = []
    with open(path, "wb") as fh:
        for start in range(0, tweets, per_page):
            data, included_users, included_tweets = [], {}, {}
            for i in range(start, min(start + per_page, tweets)):
                author = str(rng.randrange(users) + 1000)
                included_users[author] = {"id": author, "username": f"user{author}", "name": f"User {author}",
                                          "public_metrics": {"followers_count": rng.randrange(10_000)}}
                tweet = {"id": str(base + i), "author_id": author, "text": f"post {i} #tag{i % 7}",
                         "created_at": f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:00:00.000Z", "lang": rng.choice(["fr", "en"]),
                         "public_metrics": {"like_count": rng.randrange(50), "retweet_count": rng.randrange(5),
                                            "reply_count": 0, "quote_count": 0},
                         "entities": {"hashtags": [{"tag": f"tag{i % 7}"}]}}
                roll = rng.random()
                if written and roll < 0.3:
                    original = rng.choice(written)
                    tweet["referenced_tweets"] = [{"type": "retweeted", "id": original["id"]}]
                    tweet["text"] = f"RT @user{original['author_id']}: {original['text'][:20]}…"
                    included_tweets[original["id"]] = original
                    included_users[original["author_id"]] = {"id": original["author_id"], "username": f"user{original['author_id']}"}
                elif roll < 0.5:
                    target = str(rng.randrange(users) + 1000)
                    tweet["entities"]["mentions"] = [{"username": f"user{target}", "id": target}]
                    included_users[target] = {"id": target, "username": f"user{target}"}
                data.append(tweet)
                written.append(tweet)
            page = {"data": data, "includes": {"users": list(included_users.values()), "tweets": list(included_tweets.values())},
                    "meta": {"result_count": len(data)}, "__twarc": {"retrieved_at": "2024-04-01T00:00:00+00:00"}}
            fh.write(orjson.dumps(page) + b"\n")
    return path
