"""Platform file writers: the rows of the world rendered as the platforms' own JSON.

- :class:`XWriter`: twarc2 pages of the X API v2 (``data`` ≤ 100 tweets, ``includes.users`` for
  every author, mentioned and replied-to user, ``includes.tweets`` for every referenced tweet,
  ``meta``, ``__twarc``) in ``x/tweets-NNNN.jsonl``.
- :class:`BlueskyWriter`: ``app.bsky.feed.defs#postView`` lines in ``bluesky/posts-NNNN.jsonl`` and
  Jetstream commit events (reposts, likes, follows) in ``bluesky/jetstream-NNNN.jsonl``.
- :class:`MastodonWriter`: Mastodon API statuses (boosts wrap the original in ``reblog``) in
  ``mastodon/statuses-NNNN.jsonl``, read from the first instance of ``MASTODON_INSTANCES``.

Each ``write(rows, parents)`` returns the platform post id of every row, in order.
"""

from __future__ import annotations

import hashlib
import html
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import orjson

from confiance.simulate import identifiers as ids
from confiance.simulate import vocabulary as V
from confiance.simulate.model import BASE_MS, DAY_MS, DAYS, QUOTE, REPLY, REPOST, Accounts
from confiance.simulate.text import segments

COLLECTED_MS = BASE_MS + (DAYS + 1) * DAY_MS


_DAYS: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """``2025-01-06T10:00:00.123Z``"""
    day, rest = divmod(ms, DAY_MS)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = datetime.fromtimestamp(day * 86_400, tz=timezone.utc).strftime("%Y-%m-%dT")
    seconds, millis = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def records(rows: np.ndarray) -> list[dict]:
    """Rows as plain dicts of Python values (field access on numpy records is slow)."""
    names = rows.dtype.names
    out = []
    for values, w in zip(rows.tolist(), rows["w"].tolist()):
        d = dict(zip(names, values))
        d["w"] = w
        out.append(d)
    return out


def parent_records(rows: np.ndarray, parents: np.ndarray) -> list[dict | None]:
    """The parent of every row as a dict, None for rows without one."""
    has = rows["kind"] != 0
    found = iter(records(parents[has]))
    return [next(found) if h else None for h in has.tolist()]


class _Rotating:
    """JSONL files ``PREFIX-NNNN.jsonl`` holding at most ``per_file`` items each."""

    def __init__(self, folder: Path, prefix: str, per_file: int):
        self.folder, self.prefix, self.per_file = folder, prefix, per_file
        self.files: list[Path] = []
        self.handle = None
        self.count = 0
        self.lines = 0

    def write(self, line: bytes, items: int = 1) -> None:
        if self.handle is None or self.count >= self.per_file:
            self.close()
            path = self.folder / f"{self.prefix}-{len(self.files) + 1:04d}.jsonl"
            self.files.append(path)
            self.handle = open(path, "wb", buffering=1 << 20)
            self.count = 0
        self.handle.write(line + b"\n")
        self.count += items
        self.lines += 1

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


# ------------------------------------------------------------------------------------------ X

class XWriter:
    platform = "x"
    name = "x"

    def __init__(self, outdir: Path, acc: Accounts, seed: int, per_file: int = 20_000):
        folder = outdir / "x"
        folder.mkdir(parents=True, exist_ok=True)
        self.acc = acc
        self.out = _Rotating(folder, "tweets", per_file)
        limit = ids.TWITTER_EPOCH_MS + 3 * 365 * DAY_MS
        self.user_ids = [str(ids.snowflake(int(t), i)) if t > limit else str(14_000_000 + i * 1009)
                         for i, t in enumerate(acc.created_ms.tolist())]
        self.handles = acc.handles
        self.account_ids = self.user_ids
        self.display_handles = acc.handles
        self.data: list[dict] = []
        self.users: dict[int, None] = {}
        self.tweets: dict[str, dict] = {}
        self.pages = 0
        self.written = 0
        self._user_cache: dict[int, dict] = {}
        self._tweet_cache: dict[int, tuple[dict, list[int]]] = {}

    def tweet_id(self, ms: int, idx: int) -> str:
        return str(ids.snowflake(ms, idx))

    def post_id(self, author: int, ms: int, idx: int) -> str:
        return self.tweet_id(ms, idx)

    def _assemble(self, row: dict) -> tuple[str, dict, list[int]]:
        """(text, entities, account indexes mentioned) of an original, reply or quote."""
        parts: list[str] = []
        pos = 0
        mentions, hashtags, urls = [], [], []
        mentioned = []
        if row["kind"] == REPLY:
            target = int(row["parent_author"])
            h = self.handles[target]
            mentions.append({"start": 0, "end": len(h) + 1, "username": h, "id": self.user_ids[target]})
            mentioned.append(target)
            parts.append(f"@{h} ")
            pos = len(h) + 2
        for kind, value in segments(row):
            if kind == "t":
                s = value
            elif kind == "m":
                h = self.handles[value]
                s = "@" + h
                mentions.append({"start": pos, "end": pos + len(s), "username": h, "id": self.user_ids[value]})
                mentioned.append(value)
            elif kind == "#":
                s = "#" + value
                hashtags.append({"start": pos, "end": pos + len(s), "tag": value})
            else:
                short = f"https://t.co/{_tco(value)}"
                s = short
                display = value.split("://", 1)[1]
                urls.append({"start": pos, "end": pos + len(s), "url": short, "expanded_url": value,
                             "display_url": display if len(display) <= 26 else display[:25] + "…"})
            parts.append(s)
            pos += len(s)
        entities = {}
        if mentions:
            entities["mentions"] = mentions
        if hashtags:
            entities["hashtags"] = hashtags
        if urls:
            entities["urls"] = urls
        return "".join(parts), entities, mentioned

    def _tweet(self, row: dict, parent: dict | None) -> tuple[dict, list[int]]:
        idx, ms = int(row["idx"]), int(row["time_ms"])
        tid = self.tweet_id(ms, idx)
        author = int(row["author"])
        kind = int(row["kind"])
        tweet = {"id": tid, "author_id": self.user_ids[author], "created_at": iso_ms(ms),
                 "edit_history_tweet_ids": [tid]}
        users = [author]
        if kind == REPOST:
            body, entities, mentioned = self._assemble(parent)
            h = self.handles[int(parent["author"])]
            prefix = f"RT @{h}: "
            text = prefix + body
            if len(text) > 140:
                text = text[:139] + "…"
            limit = len(text) - (1 if text.endswith("…") else 0)
            shifted = {}
            first = {"start": 3, "end": 4 + len(h), "username": h, "id": self.user_ids[int(parent["author"])]}
            for key, items in entities.items():
                kept = [dict(e, start=e["start"] + len(prefix), end=e["end"] + len(prefix)) for e in items]
                kept = [e for e in kept if e["end"] <= limit]
                if kept:
                    shifted[key] = kept
            shifted["mentions"] = [first] + shifted.get("mentions", [])
            visible = {int(parent["author"])} | {m for m in mentioned}
            users.extend(sorted(visible))
            tweet["text"] = text
            tweet["entities"] = shifted
            tweet["referenced_tweets"] = [{"type": "retweeted", "id": self.tweet_id(int(row["parent_time"]), int(row["parent"]))}]
            tweet["conversation_id"] = tid
        else:
            text, entities, mentioned = self._assemble(row)
            users.extend(mentioned)
            tweet["text"] = text
            if entities:
                tweet["entities"] = entities
            if kind == REPLY:
                parent_id = self.tweet_id(int(row["parent_time"]), int(row["parent"]))
                tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent_id}]
                tweet["in_reply_to_user_id"] = self.user_ids[int(row["parent_author"])]
                tweet["conversation_id"] = self.tweet_id(int(row["root_time"]), int(row["root"]))
                users.append(int(row["parent_author"]))
            elif kind == QUOTE:
                tweet["referenced_tweets"] = [{"type": "quoted", "id": self.tweet_id(int(row["parent_time"]), int(row["parent"]))}]
                tweet["conversation_id"] = tid
            else:
                tweet["conversation_id"] = tid
        tweet["lang"] = V.LANG_CODES[int(row["lang"])]
        tweet["public_metrics"] = {
            "retweet_count": int(parent["reposts"]) if kind == REPOST else int(row["reposts"]),
            "reply_count": int(row["replies"]), "like_count": int(row["likes"]),
            "quote_count": int(row["quotes"]), "bookmark_count": 0, "impression_count": int(row["views"]),
        }
        tweet["possibly_sensitive"] = False
        tweet["reply_settings"] = "everyone"
        return tweet, users

    def _user(self, i: int) -> dict:
        user = self._user_cache.get(i)
        if user is None:
            if len(self._user_cache) >= 50_000:
                self._user_cache.clear()
            user = self._user_cache[i] = self._make_user(i)
        return user

    def _make_user(self, i: int) -> dict:
        acc = self.acc
        bot = bool(acc.bot[i])
        avatar = ("https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png" if bot
                  else f"https://pbs.twimg.com/profile_images/{1_500_000_000_000_000_000 + i}/avatar_normal.jpg")
        return {
            "id": self.user_ids[i], "username": self.handles[i], "name": acc.names[i],
            "created_at": iso_ms(int(acc.created_ms[i])), "description": acc.bios[i],
            "location": "" if bot else ("France" if acc.lang[i] == V.FR else "London"),
            "profile_image_url": avatar, "protected": False, "verified": bool(acc.brand[i]),
            "public_metrics": {"followers_count": int(acc.followers[i]), "following_count": int(acc.following[i]),
                               "tweet_count": int(acc.statuses[i]), "listed_count": int(acc.followers[i] // 200)},
        }

    def write(self, rows: list[dict], parents: list[dict | None]) -> list[str]:
        out = []
        for row, parent in zip(rows, parents):
            has_parent = parent is not None
            tweet, users = self._tweet(row, parent if has_parent else None)
            self.data.append(tweet)
            out.append(tweet["id"])
            for u in users:
                self.users[u] = None
            if has_parent:
                cached = self._tweet_cache.get(parent["idx"])
                if cached is None:
                    if len(self._tweet_cache) >= 20_000:
                        self._tweet_cache.clear()
                    included, more = self._tweet(parent, None)
                    if parent["kind"] == REPLY:
                        more.append(int(parent["parent_author"]))
                    cached = self._tweet_cache[parent["idx"]] = (included, more)
                included, more = cached
                self.tweets[included["id"]] = included
                for u in more:
                    self.users[u] = None
            if len(self.data) == 100:
                self._flush()
        return out

    def _flush(self) -> None:
        if not self.data:
            return
        self.pages += 1
        page = {
            "data": self.data,
            "includes": {"users": [self._user(u) for u in self.users],
                         **({"tweets": list(self.tweets.values())} if self.tweets else {})},
            "meta": {"newest_id": max(t["id"] for t in self.data), "oldest_id": min(t["id"] for t in self.data),
                     "result_count": len(self.data), "next_token": f"{self.pages:016x}"},
            "__twarc": {"url": "https://api.twitter.com/2/tweets/search/all?query=velo%20OR%20climat%20OR%20ebike"
                               "&max_results=100&tweet.fields=created_at,entities,public_metrics,lang,conversation_id,"
                               "in_reply_to_user_id,referenced_tweets&expansions=author_id,referenced_tweets.id,"
                               "in_reply_to_user_id,entities.mentions.username",
                        "version": "2.14.0", "retrieved_at": iso_ms(COLLECTED_MS)},
        }
        self.out.write(orjson.dumps(page), len(self.data))
        self.written += len(self.data)
        self.data, self.users, self.tweets = [], {}, {}

    def close(self) -> dict:
        self._flush()
        self.out.close()
        return {"files": [str(p) for p in self.out.files], "posts": self.written, "pages": self.pages}


def _tco(url: str) -> str:
    digest = hashlib.blake2b(url.encode(), digest_size=10).digest()
    return "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[b % 62] for b in digest)[:10]


# ------------------------------------------------------------------------------------ Bluesky

POST_NSID = "app.bsky.feed.post"


class BlueskyWriter:
    platform = "bluesky"

    def __init__(self, outdir: Path, acc: Accounts, seed: int, per_file: int = 20_000):
        folder = outdir / "bluesky"
        folder.mkdir(parents=True, exist_ok=True)
        self.acc, self.seed = acc, seed
        self.posts = _Rotating(folder, "posts", per_file)
        self.jet = _Rotating(folder, "jetstream", per_file)
        self.dids = [ids.did(seed, i) for i in range(acc.n)]
        self.handles = [h.lower().replace("_", "-") + ".bsky.social" for h in acc.handles]
        self.account_ids = self.dids
        self.display_handles = self.handles
        self.written = {"posts": 0, "reposts": 0, "likes": 0, "follows": 0}
        self.event_counter = 0

    def time_us(self, ms: int, idx: int) -> int:
        return ms * 1000 + idx % 1000

    def post_uri(self, author: int, ms: int, idx: int) -> str:
        return f"at://{self.dids[author]}/{POST_NSID}/{ids.tid(self.time_us(ms, idx), idx)}"

    def post_id(self, author: int, ms: int, idx: int) -> str:
        return self.post_uri(author, ms, idx)

    def post_cid(self, idx: int) -> str:
        return ids.cid(self.seed, "post", idx)

    def _record(self, row: dict) -> tuple[dict, list[dict]]:
        parts, facets = [], []
        pos = 0  # UTF-8 bytes
        for kind, value in segments(row):
            if kind == "t":
                s = value
            elif kind == "m":
                s = "@" + self.handles[value]
                feature = {"$type": "app.bsky.richtext.facet#mention", "did": self.dids[value]}
            elif kind == "#":
                s = "#" + value
                feature = {"$type": "app.bsky.richtext.facet#tag", "tag": value}
            else:
                s = value
                feature = {"$type": "app.bsky.richtext.facet#link", "uri": value}
            size = len(s.encode())
            if kind != "t":
                facets.append({"$type": "app.bsky.richtext.facet", "index": {"byteStart": pos, "byteEnd": pos + size},
                               "features": [feature]})
            parts.append(s)
            pos += size
        record = {"$type": POST_NSID, "text": "".join(parts), "createdAt": iso_ms(int(row["time_ms"])),
                  "langs": [V.LANG_CODES[int(row["lang"])]]}
        if facets:
            record["facets"] = facets
        return record, facets

    def _author(self, i: int) -> dict:
        acc = self.acc
        view = {"did": self.dids[i], "handle": self.handles[i], "displayName": acc.names[i]}
        if not acc.bot[i]:
            view["avatar"] = f"https://cdn.bsky.app/img/avatar/plain/{self.dids[i]}/{ids.cid(self.seed, 'avatar', i)}@jpeg"
        view["labels"] = []
        view["createdAt"] = iso_ms(int(acc.created_ms[i]))
        return view

    def _view(self, row: dict, parent: dict | None) -> dict:
        idx, ms, author = int(row["idx"]), int(row["time_ms"]), int(row["author"])
        record, _ = self._record(row)
        view = {"uri": self.post_uri(author, ms, idx), "cid": self.post_cid(idx), "author": self._author(author)}
        kind = int(row["kind"])
        if kind == REPLY:
            root = {"uri": self.post_uri(int(row["root_author"]), int(row["root_time"]), int(row["root"])),
                    "cid": self.post_cid(int(row["root"]))}
            par = {"uri": self.post_uri(int(row["parent_author"]), int(row["parent_time"]), int(row["parent"])),
                   "cid": self.post_cid(int(row["parent"]))}
            record["reply"] = {"root": root, "parent": par}
        link = next((f["features"][0]["uri"] for f in record.get("facets", ())
                     if f["features"][0]["$type"].endswith("#link")), None)
        if kind == QUOTE and parent is not None:
            ref = {"uri": self.post_uri(int(parent["author"]), int(parent["time_ms"]), int(parent["idx"])),
                   "cid": self.post_cid(int(parent["idx"]))}
            record["embed"] = {"$type": "app.bsky.embed.record", "record": ref}
            quoted, _ = self._record(parent)
            view["embed"] = {"$type": "app.bsky.embed.record#view",
                             "record": {"$type": "app.bsky.embed.record#viewRecord", **ref,
                                        "author": self._author(int(parent["author"])), "value": quoted,
                                        "labels": [], "indexedAt": iso_ms(int(parent["time_ms"]) + 1500),
                                        "likeCount": int(parent["likes"]), "repostCount": int(parent["reposts"]),
                                        "replyCount": int(parent["replies"]), "quoteCount": int(parent["quotes"])}}
        elif link:
            external = {"uri": link, "title": link.split("/")[2], "description": ""}
            record["embed"] = {"$type": "app.bsky.embed.external", "external": external}
            view["embed"] = {"$type": "app.bsky.embed.external#view", "external": external}
        view["record"] = record
        view["replyCount"] = int(row["replies"])
        view["repostCount"] = int(row["reposts"])
        view["likeCount"] = int(row["likes"])
        view["quoteCount"] = int(row["quotes"])
        view["indexedAt"] = iso_ms(ms + 1500)
        view["labels"] = []
        return view

    def _event(self, did: str, time_us: int, collection: str, record: dict) -> tuple[int, bytes, str]:
        self.event_counter += 1
        rkey = ids.tid(time_us, self.event_counter)
        event = {"did": did, "time_us": time_us, "kind": "commit",
                 "commit": {"rev": ids.tid(time_us + 1, self.event_counter), "operation": "create",
                            "collection": collection, "rkey": rkey, "record": record,
                            "cid": ids.cid(self.seed, collection, self.event_counter)}}
        return time_us, orjson.dumps(event), f"at://{did}/{collection}/{rkey}"

    def write(self, rows: list[dict], parents: list[dict | None], likes=None, follows=None) -> list[str]:
        out: list[str] = []
        events: list[tuple[int, bytes, str]] = []
        for row, parent in zip(rows, parents):
            if row["kind"] == REPOST:
                ms, idx = int(row["time_ms"]), int(row["idx"])
                subject = {"uri": self.post_uri(int(parent["author"]), int(parent["time_ms"]), int(parent["idx"])),
                           "cid": self.post_cid(int(parent["idx"]))}
                ev = self._event(self.dids[int(row["author"])], self.time_us(ms, idx), "app.bsky.feed.repost",
                                 {"$type": "app.bsky.feed.repost", "subject": subject, "createdAt": iso_ms(ms)})
                events.append(ev)
                out.append(ev[2])
                self.written["reposts"] += 1
            else:
                view = self._view(row, parent if row["kind"] == QUOTE else None)
                self.posts.write(orjson.dumps(view))
                out.append(view["uri"])
                self.written["posts"] += 1
        if likes is not None:
            subjects, who, times = likes
            for s, w, t in zip(records(subjects), who.tolist(), times.tolist()):
                subject = {"uri": self.post_uri(int(s["author"]), int(s["time_ms"]), int(s["idx"])),
                           "cid": self.post_cid(int(s["idx"]))}
                events.append(self._event(self.dids[w], t * 1000, "app.bsky.feed.like",
                                          {"$type": "app.bsky.feed.like", "subject": subject, "createdAt": iso_ms(t)}))
                self.written["likes"] += 1
        if follows is not None:
            src, dst, times = follows
            for a, b, t in zip(src.tolist(), dst.tolist(), times.tolist()):
                events.append(self._event(self.dids[a], t * 1000, "app.bsky.graph.follow",
                                          {"$type": "app.bsky.graph.follow", "subject": self.dids[b],
                                           "createdAt": iso_ms(t)}))
                self.written["follows"] += 1
        events.sort(key=lambda e: e[0])
        for _, line, _ in events:
            self.jet.write(line)
        return out

    def close(self) -> dict:
        self.posts.close()
        self.jet.close()
        return {"files": [str(p) for p in self.posts.files + self.jet.files],
                "posts": self.written["posts"] + self.written["reposts"], **self.written}


# ----------------------------------------------------------------------------------- Mastodon

class MastodonWriter:
    platform = "mastodon"

    def __init__(self, outdir: Path, acc: Accounts, seed: int, per_file: int = 20_000):
        folder = outdir / "mastodon"
        folder.mkdir(parents=True, exist_ok=True)
        self.acc = acc
        self.out = _Rotating(folder, "statuses", per_file)
        self.numeric_ids = [str(ids.mastodon_id(int(t), i)) for i, t in enumerate(acc.created_ms.tolist())]
        self.hosts = [V.MASTODON_INSTANCES[int(k)] for k in acc.instance.tolist()]
        self.home = V.MASTODON_INSTANCES[0]
        self.written = 0
        # the canonical ids an importer can rebuild anywhere: user@host and the status URI
        self.account_ids = [f"{h}@{host}".lower() for h, host in zip(acc.handles, self.hosts)]
        self.display_handles = self.account_ids

    def status_id(self, ms: int, idx: int) -> str:
        return str(ids.mastodon_id(ms, idx))

    def post_id(self, author: int, ms: int, idx: int) -> str:
        """The status URI (what identifies a status across instances)."""
        return f"https://{self.hosts[author]}/users/{self.acc.handles[author]}/statuses/{self.status_id(ms, idx)}"

    def acct(self, i: int) -> str:
        h = self.acc.handles[i]
        return h if self.hosts[i] == self.home else f"{h}@{self.hosts[i]}"

    def profile_url(self, i: int) -> str:
        return f"https://{self.hosts[i]}/@{self.acc.handles[i]}"

    def _account(self, i: int) -> dict:
        acc = self.acc
        host = self.hosts[i]
        avatar = (f"https://{host}/avatars/original/missing.png" if acc.bot[i]
                  else f"https://{host}/system/accounts/avatars/{self.numeric_ids[i]}/original/avatar.png")
        return {
            "id": self.numeric_ids[i], "username": acc.handles[i], "acct": self.acct(i),
            "display_name": acc.names[i], "locked": False, "bot": bool(acc.declared_bot[i]), "discoverable": True,
            "group": False, "created_at": iso_ms(int(acc.created_ms[i]) // DAY_MS * DAY_MS),
            "note": f"<p>{html.escape(acc.bios[i])}</p>" if acc.bios[i] else "",
            "url": self.profile_url(i), "uri": f"https://{host}/users/{acc.handles[i]}",
            "avatar": avatar, "avatar_static": avatar, "header": f"https://{host}/headers/original/missing.png",
            "header_static": f"https://{host}/headers/original/missing.png",
            "followers_count": int(acc.followers[i]), "following_count": int(acc.following[i]),
            "statuses_count": int(acc.statuses[i]), "last_status_at": None, "emojis": [], "fields": [],
        }

    def _status(self, row: dict) -> dict:
        idx, ms, author = int(row["idx"]), int(row["time_ms"]), int(row["author"])
        sid = self.status_id(ms, idx)
        host = self.hosts[author]
        handle = self.acc.handles[author]
        html_parts, mentions, tags = [], [], []
        card = None
        segs = segments(row)
        if row["kind"] == REPLY:
            segs = [("m", int(row["parent_author"])), ("t", " ")] + segs
        seen_mentions = set()
        for kind, value in segs:
            if kind == "t":
                html_parts.append(html.escape(value, quote=False))
            elif kind == "m":
                u = self.acc.handles[value]
                html_parts.append(f'<span class="h-card" translate="no"><a href="{self.profile_url(value)}" '
                                  f'class="u-url mention">@<span>{u}</span></a></span>')
                if value not in seen_mentions:
                    seen_mentions.add(value)
                    mentions.append({"id": self.numeric_ids[value], "username": u, "url": self.profile_url(value),
                                     "acct": self.acct(value)})
            elif kind == "#":
                url = f"https://{self.home}/tags/{value.lower()}"
                html_parts.append(f'<a href="{url}" class="mention hashtag" rel="tag">#<span>{value}</span></a>')
                tags.append({"name": value.lower(), "url": url})
            else:
                scheme, rest = value.split("://", 1)
                html_parts.append(f'<a href="{html.escape(value)}" target="_blank" rel="nofollow noopener noreferrer" '
                                  f'translate="no"><span class="invisible">{scheme}://</span>'
                                  f'<span class="ellipsis">{html.escape(rest[:30])}</span>'
                                  f'<span class="invisible">{html.escape(rest[30:])}</span></a>')
                card = {"url": value, "title": rest.split("/")[0], "description": "", "type": "link",
                        "author_name": "", "author_url": "", "provider_name": rest.split("/")[0], "provider_url": "",
                        "html": "", "width": 0, "height": 0, "image": None, "embed_url": "", "blurhash": None}
        status = {
            "id": sid, "created_at": iso_ms(ms),
            "in_reply_to_id": None, "in_reply_to_account_id": None,
            "sensitive": False, "spoiler_text": "", "visibility": "public",
            "language": V.LANG_CODES[int(row["lang"])],
            "uri": f"https://{host}/users/{handle}/statuses/{sid}", "url": f"https://{host}/@{handle}/{sid}",
            "replies_count": int(row["replies"]), "reblogs_count": int(row["reposts"]),
            "favourites_count": int(row["likes"]), "edited_at": None,
            "content": "<p>" + "".join(html_parts) + "</p>", "reblog": None,
            "account": self._account(author), "media_attachments": [], "mentions": mentions, "tags": tags,
            "emojis": [], "card": card, "poll": None,
        }
        if row["kind"] == REPLY:
            status["in_reply_to_id"] = self.status_id(int(row["parent_time"]), int(row["parent"]))
            status["in_reply_to_account_id"] = self.numeric_ids[int(row["parent_author"])]
        return status

    def write(self, rows: list[dict], parents: list[dict | None]) -> list[str]:
        out = []
        for row, parent in zip(rows, parents):
            if row["kind"] == REPOST:
                ms, idx, author = int(row["time_ms"]), int(row["idx"]), int(row["author"])
                sid = self.status_id(ms, idx)
                host, handle = self.hosts[author], self.acc.handles[author]
                status = {
                    "id": sid, "created_at": iso_ms(ms), "in_reply_to_id": None, "in_reply_to_account_id": None,
                    "sensitive": False, "spoiler_text": "", "visibility": "public", "language": None,
                    "uri": f"https://{host}/users/{handle}/statuses/{sid}/activity", "url": None,
                    "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "edited_at": None,
                    "content": "", "reblog": self._status(parent), "account": self._account(author),
                    "media_attachments": [], "mentions": [], "tags": [], "emojis": [], "card": None, "poll": None,
                }
            else:
                status = self._status(row)
            self.out.write(orjson.dumps(status))
            out.append(status["uri"])
            self.written += 1
        return out

    def close(self) -> dict:
        self.out.close()
        return {"files": [str(p) for p in self.out.files], "posts": self.written}


WRITERS = {"x": XWriter, "bluesky": BlueskyWriter, "mastodon": MastodonWriter}
