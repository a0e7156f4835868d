"""X (Twitter) API v2: twarc2 pages (``data`` + ``includes`` + ``__twarc``), raw API responses,
and single tweet objects per line (twarc2 "flattened" output, with ``author`` embedded).

Retweets carry truncated text ("RT @user: …"); the full text comes from the retweeted tweet in
``includes.tweets`` (or ``note_tweet`` for long posts). Referenced tweets found in ``includes``
are stored too, as context posts, with their authors.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterator

from confiance.errors import RecordError
from confiance.ingest import _native_x_v2
from confiance.ingest._format import Context, Format, Sample, domains_of, parse_timestamp
from confiance.ingest._sink import Sink

PLATFORM = "x"
_KIND = {"retweeted": "repost", "quoted": "quote", "replied_to": "reply"}


def sniff(sample: Sample) -> int:
    first = sample.first
    if not isinstance(first, dict):
        return 0
    if "__twarc" in first and ("data" in first or "includes" in first):
        return 100
    data = first.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict) and {"id", "text"} <= data[0].keys():
        return 90 if ("author_id" in data[0] or "edit_history_tweet_ids" in data[0] or "includes" in first) else 40
    if isinstance(data, dict) and {"id", "text"} <= data.keys():
        return 80
    if {"id", "text", "author_id"} <= first.keys() and "user" not in first:
        return 85  # flattened tweet
    return 0


def _collected_at(unit: dict, ctx: Context) -> str:
    twarc = unit.get("__twarc")
    if isinstance(twarc, dict) and twarc.get("retrieved_at"):
        return parse_timestamp(twarc["retrieved_at"]) or ctx.collected_at
    return ctx.collected_at


_page_serials = itertools.count()


class _Page:
    """Lookup tables of one response page, shared by the records of that page."""

    __slots__ = ("users", "tweets", "collected_at", "serial", "_by_handle")

    def __init__(self, includes: dict | None, collected_at: str):
        self.serial = next(_page_serials)
        self._by_handle: dict[str, str] | None = None
        includes = includes if isinstance(includes, dict) else {}
        self.users = {str(u["id"]): u for u in includes.get("users") or () if isinstance(u, dict) and "id" in u}
        self.tweets = {str(t["id"]): t for t in includes.get("tweets") or () if isinstance(t, dict) and "id" in t}
        self.collected_at = collected_at

    def __str__(self) -> str:  # how a rejected record's page shows in `rejects.raw` (no memory address)
        return "<page includes>"

    def user_by_handle(self, handle: str) -> str | None:
        if self._by_handle is None:
            self._by_handle = {str(u.get("username", "")).lower(): uid for uid, u in self.users.items()}
        return self._by_handle.get(handle.lower())


def records(unit: Any, ctx: Context) -> Iterator[Any]:
    if not isinstance(unit, dict):
        raise RecordError("expected a JSON object (API page or tweet)")
    if "data" in unit or "includes" in unit or "errors" in unit or "meta" in unit:
        page = _Page(unit.get("includes"), _collected_at(unit, ctx))
        data = unit.get("data")
        if isinstance(data, dict):
            data = [data]
        for tweet in data or ():
            yield tweet, page
        return
    # flattened tweet: expansions embedded in the tweet itself
    page = _Page(None, _collected_at(unit, ctx))
    for key in ("author", "in_reply_to_user"):
        user = unit.get(key)
        if isinstance(user, dict) and "id" in user:
            page.users[str(user["id"])] = user
    for ref in unit.get("referenced_tweets") or ():
        if isinstance(ref, dict) and "text" in ref and "id" in ref:
            page.tweets[str(ref["id"])] = ref
            if isinstance(ref.get("author"), dict):
                page.users[str(ref["author"]["id"])] = ref["author"]
    yield unit, page


def _account(sink: Sink, user_id: str, page: _Page) -> None:
    if not sink.once((page.serial, user_id)):
        return  # this page's user object is already emitted
    user = page.users.get(user_id)
    if user is None:
        sink.account(platform=PLATFORM, account_id=user_id, observed_at=page.collected_at)
        return
    metrics = user.get("public_metrics") or {}
    avatar = user.get("profile_image_url") or ""
    url = user.get("url") or None
    expanded = (((user.get("entities") or {}).get("url") or {}).get("urls") or [{}])[0].get("expanded_url")
    sink.account(
        platform=PLATFORM,
        account_id=user_id,
        handle=(user.get("username") or "").lower() or None,
        display_name=user.get("name"),
        bio=user.get("description"),
        url=expanded or url,
        location=user.get("location"),
        created_at=user.get("created_at"),
        followers=metrics.get("followers_count"),
        following=metrics.get("following_count"),
        posts_count=metrics.get("tweet_count"),
        listed=metrics.get("listed_count"),
        verified=user.get("verified"),
        default_avatar=("default_profile_images" in avatar) if avatar else None,
        attributes={k: user[k] for k in ("protected", "verified_type", "pinned_tweet_id") if k in user} or None,
        observed_at=page.collected_at,
    )


def _full_text(tweet: dict) -> str:
    note = tweet.get("note_tweet")
    if isinstance(note, dict) and note.get("text"):
        return note["text"]
    return tweet.get("text") or ""


def _emit_tweet(tweet: dict, page: _Page, sink: Sink, *, primary: bool) -> None:
    tweet_id = tweet.get("id")
    if tweet_id is None:
        raise RecordError("tweet has no id")
    tweet_id = str(tweet_id)
    author = tweet.get("author_id")
    if author is None and isinstance(tweet.get("author"), dict):
        author = tweet["author"].get("id")
    author = str(author) if author is not None else None
    entities = tweet.get("entities") or {}
    refs = [r for r in tweet.get("referenced_tweets") or () if isinstance(r, dict) and r.get("type") in _KIND]

    kind, parent_id, parent_author = "post", None, None
    for wanted in ("retweeted", "replied_to", "quoted"):
        ref = next((r for r in refs if r["type"] == wanted), None)
        if ref:
            kind, parent_id = _KIND[wanted], str(ref["id"])
            parent = page.tweets.get(parent_id)
            if parent is not None and parent.get("author_id") is not None:
                parent_author = str(parent["author_id"])
            break
    if kind == "reply" and tweet.get("in_reply_to_user_id") is not None:
        parent_author = str(tweet["in_reply_to_user_id"])

    text = _full_text(tweet)
    if kind == "repost" and parent_id in page.tweets:
        original = page.tweets[parent_id]
        handle = (page.users.get(str(original.get("author_id")), {}).get("username")) or ""
        text = f"RT @{handle}: {_full_text(original)}" if handle else _full_text(original)

    urls = [u.get("unwound_url") or u.get("expanded_url") or u.get("url") for u in entities.get("urls") or ()]
    urls = [u for u in urls if u]
    mentions = entities.get("mentions") or ()
    metrics = tweet.get("public_metrics") or {}
    media = (tweet.get("attachments") or {}).get("media_keys") or ()
    sink.post(
        primary=primary,
        platform=PLATFORM,
        post_id=tweet_id,
        account_id=author,
        created_at=tweet.get("created_at"),
        text=text,
        lang=tweet.get("lang"),
        kind=kind,
        parent_post_id=parent_id,
        parent_account_id=parent_author,
        root_post_id=tweet.get("conversation_id"),
        url=f"https://x.com/i/status/{tweet_id}",
        urls=urls,
        domains=domains_of(urls),
        hashtags=list(dict.fromkeys((h.get("tag") or "").lower() for h in entities.get("hashtags") or () if h.get("tag"))),
        mentions=list(dict.fromkeys((m.get("username") or "").lower() for m in mentions if m.get("username"))),
        media_count=len(media),
        likes=metrics.get("like_count"),
        reposts=metrics.get("retweet_count"),
        replies=metrics.get("reply_count"),
        quotes=metrics.get("quote_count"),
        views=metrics.get("impression_count"),
        attributes={k: tweet[k] for k in ("source", "possibly_sensitive", "reply_settings", "edit_history_tweet_ids") if k in tweet} or None,
        observed_at=page.collected_at,
    )
    if author is None:
        return
    _account(sink, author, page)
    created = tweet.get("created_at")
    targets: set[str] = set()
    for ref in refs:
        ref_author = page.tweets.get(str(ref["id"]), {}).get("author_id")
        if ref["type"] == "replied_to" and tweet.get("in_reply_to_user_id") is not None:
            ref_author = tweet["in_reply_to_user_id"]
        if ref_author is None:
            continue
        ref_author = str(ref_author)
        targets.add(ref_author)
        sink.interaction(platform=PLATFORM, src=author, dst=ref_author, kind=_KIND[ref["type"]],
                         post_id=tweet_id, created_at=created)
        _account(sink, ref_author, page)
    if kind == "reply" and parent_author and parent_author not in targets:
        sink.interaction(platform=PLATFORM, src=author, dst=parent_author, kind="reply", post_id=tweet_id, created_at=created)
        _account(sink, parent_author, page)
    for mention in mentions:
        target = mention.get("id") or page.user_by_handle(str(mention.get("username", "")))
        if target is None:
            continue
        target = str(target)
        if kind == "repost" and target == parent_author:
            continue  # "RT @x" is the repost itself, not a mention
        sink.interaction(platform=PLATFORM, src=author, dst=target, kind="mention", post_id=tweet_id, created_at=created)
        _account(sink, target, page)


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    tweet, page = record
    if not isinstance(tweet, dict):
        raise RecordError("tweet is not a JSON object")
    _emit_tweet(tweet, page, sink, primary=True)
    # referenced tweets found in `includes`, and the tweets they reference (a retweet of a quote)
    seen = {str(tweet.get("id"))}
    frontier = [tweet]
    for _ in range(3):
        nxt = []
        for current in frontier:
            for ref in current.get("referenced_tweets") or ():
                ref_id = str(ref.get("id")) if isinstance(ref, dict) else None
                context = page.tweets.get(ref_id) if ref_id else None
                if context is not None and ref_id not in seen:
                    seen.add(ref_id)
                    _emit_tweet(context, page, sink, primary=False)
                    nxt.append(context)
        frontier = nxt


FORMAT = Format(
    name="twitter-v2",
    description="X/Twitter API v2 JSON: twarc2 pages, API responses, flattened tweets (JSONL or JSON)",
    containers=("jsonl", "json"),
    sniff=sniff,
    records=records,
    map=map_record,
    native=_native_x_v2.stage,
    options=('native',),
)
