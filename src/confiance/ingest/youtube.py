"""YouTube Data API v3 comments: ``commentThreads.list`` and ``comments.list`` responses.

Shapes read: a response envelope (``kind`` ``youtube#commentThreadListResponse`` or
``youtube#commentListResponse``, ``items[]``) as one JSON document or one per line (JSONL of pages),
a bare JSON array of thread/comment resources, or one resource per JSONL line.

Each comment is one record: a thread yields its ``snippet.topLevelComment`` and every comment in
``replies.comments[]`` (the API returns at most a few replies there; ``totalReplyCount`` says how
many exist).

Mapping:

- ``post_id`` = comment id; ``account_id`` = ``authorChannelId.value`` (fallback
  ``authorChannelUrl``); ``display_name`` = ``authorDisplayName``; ``handle`` = that name without
  '@', lower-case, but only when it looks like a handle (it starts with '@', as since YouTube's 2022
  handles, or is a single token of handle characters): older responses put free-text names with
  spaces there, which are no handle.
- top-level comment: kind ``reply``, ``parent_post_id`` = ``root_post_id`` = ``videoId``. The video
  itself is not stored as a post (these responses do not describe it); when the video's channel is
  known (``snippet.channelId`` of the thread or comment), it is the ``parent_account_id`` and the
  comment is a ``reply`` interaction to it.
- reply: kind ``reply``, ``parent_post_id`` = ``parentId``, ``parent_account_id`` and a ``reply``
  interaction to the top-level comment's author (known only inside a thread).
- text: ``textOriginal`` when present, else ``textDisplay`` through ``html_to_text`` (it is HTML when
  the request used ``textFormat=html``). Link targets (``<a href>``) in ``textDisplay`` count as
  urls, except YouTube's own hashtag-search and timestamp links.
- ``likeCount`` -> likes, ``totalReplyCount`` -> replies (threads only), on the post and as an
  observation.
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

from confiance.errors import RecordError
from confiance.ingest._format import (
    Context,
    Format,
    Sample,
    domain_of,
    domains_of,
    hashtags_in,
    html_to_text,
    mentions_in,
    parse_timestamp,
    urls_in,
)
from confiance.ingest._sink import Sink

PLATFORM = "youtube"
_RESPONSE_KINDS = {"youtube#commentThreadListResponse", "youtube#commentListResponse"}
_RESOURCE_KINDS = {"youtube#commentThread", "youtube#comment"}
_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_HANDLE = re.compile(r"[A-Za-z0-9._\-]{3,30}")


def sniff(sample: Sample) -> int:
    first = sample.first
    if isinstance(first, dict):
        if first.get("kind") in _RESPONSE_KINDS:
            return 100
        if first.get("kind") in _RESOURCE_KINDS and isinstance(first.get("snippet"), dict):
            return 90
        items = first.get("items")
        if isinstance(items, list) and items and isinstance(items[0], dict) and items[0].get("kind") in _RESOURCE_KINDS:
            return 90
    return 0


class _Thread:
    """What a reply needs from its thread: the video, and the top-level comment's author."""

    __slots__ = ("video_id", "video_channel", "top_author", "reply_count", "attributes")

    def __init__(self, video_id: str | None, video_channel: str | None, top_author: str | None,
                 reply_count: Any, attributes: dict[str, Any]):
        self.video_id = video_id
        self.video_channel = video_channel
        self.top_author = top_author
        self.reply_count = reply_count
        self.attributes = attributes


_NO_THREAD = _Thread(None, None, None, None, {})


def _author_id(snippet: dict) -> str | None:
    channel = snippet.get("authorChannelId")
    if isinstance(channel, dict) and channel.get("value"):
        return str(channel["value"])
    if isinstance(channel, str) and channel:
        return channel
    return snippet.get("authorChannelUrl") or None


def _resources(unit: Any) -> Iterator[dict]:
    if isinstance(unit, dict) and "items" in unit and unit.get("kind") not in _RESOURCE_KINDS:
        for item in unit.get("items") or ():
            yield item
    else:
        yield unit


def records(unit: Any, ctx: Context) -> Iterator[Any]:
    if not isinstance(unit, dict):
        raise RecordError("expected a YouTube API response or comment resource")
    for resource in _resources(unit):
        if not isinstance(resource, dict):
            yield resource, _NO_THREAD
            continue
        if resource.get("kind") == "youtube#commentThread" or "topLevelComment" in (resource.get("snippet") or {}):
            snippet = resource.get("snippet") or {}
            top = snippet.get("topLevelComment") or {}
            top_snippet = top.get("snippet") or {} if isinstance(top, dict) else {}
            thread = _Thread(
                video_id=snippet.get("videoId") or top_snippet.get("videoId"),
                video_channel=snippet.get("channelId") or top_snippet.get("channelId"),
                top_author=_author_id(top_snippet),
                reply_count=snippet.get("totalReplyCount"),
                attributes={k: snippet[k] for k in ("canReply", "isPublic") if k in snippet},
            )
            yield top, thread
            for reply in (resource.get("replies") or {}).get("comments") or ():
                yield reply, thread
        else:
            yield resource, _NO_THREAD


def _link_targets(display: str, video_id: str | None) -> list[str]:
    """hrefs of a textDisplay in HTML, without YouTube's own hashtag-search and timestamp links."""
    out = []
    for href in _HREF.findall(display):
        url = html.unescape(href)
        parts = urlsplit(url)
        if domain_of(url) in ("youtube.com", "m.youtube.com"):
            query = parse_qs(parts.query)
            if parts.path == "/results" and "search_query" in query:
                continue
            if parts.path == "/watch" and video_id and query.get("v") == [video_id] and "t" in query:
                continue
        out.append(url)
    return out


def _handle(display_name: str | None) -> str | None:
    name = (display_name or "").strip()
    if name.startswith("@"):
        return name[1:].lower() or None
    return name.lower() if _HANDLE.fullmatch(name) else None


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    comment, thread = record
    if not isinstance(comment, dict):
        raise RecordError("comment is not a JSON object")
    comment_id = comment.get("id")
    if not comment_id:
        raise RecordError("comment has no id")
    snippet = comment.get("snippet")
    if not isinstance(snippet, dict):
        raise RecordError("comment has no snippet")
    comment_id = str(comment_id)
    author = _author_id(snippet)
    video_id = snippet.get("videoId") or thread.video_id
    parent_id = snippet.get("parentId")
    is_reply = bool(parent_id) and parent_id != comment_id
    if is_reply:
        parent_post, parent_author = str(parent_id), thread.top_author
    else:
        parent_post, parent_author = video_id, thread.video_channel or snippet.get("channelId")

    display = snippet.get("textDisplay") or ""
    original = snippet.get("textOriginal")
    text = original if original is not None else html_to_text(display)
    urls = list(dict.fromkeys(_link_targets(display, video_id) + urls_in(text)))
    likes = snippet.get("likeCount")
    replies = None if is_reply else thread.reply_count
    created = parse_timestamp(snippet.get("publishedAt"))
    attributes = dict(thread.attributes) if not is_reply else {}
    if snippet.get("updatedAt") and snippet.get("updatedAt") != snippet.get("publishedAt"):
        attributes["updated_at"] = parse_timestamp(snippet["updatedAt"])
    for key in ("moderationStatus", "canRate"):
        if key in snippet:
            attributes[key] = snippet[key]
    sink.post(
        primary=True,
        platform=PLATFORM,
        post_id=comment_id,
        account_id=author,
        created_at=created,
        text=text,
        kind="reply",
        parent_post_id=parent_post,
        parent_account_id=parent_author,
        root_post_id=video_id,
        url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}" if video_id else None,
        urls=urls,
        domains=domains_of(urls),
        hashtags=hashtags_in(text),
        mentions=mentions_in(text),
        likes=likes,
        replies=replies,
        attributes=attributes or None,
    )
    if likes is not None or replies is not None:
        sink.observation(platform=PLATFORM, post_id=comment_id, collected_at=ctx.collected_at,
                         likes=likes, replies=replies)
    if author is None:
        return
    sink.account(
        platform=PLATFORM,
        account_id=author,
        handle=_handle(snippet.get("authorDisplayName")),
        display_name=snippet.get("authorDisplayName"),
        url=snippet.get("authorChannelUrl"),
        attributes={"profile_image_url": snippet["authorProfileImageUrl"]} if snippet.get("authorProfileImageUrl") else None,
        observed_at=ctx.collected_at,
    )
    if parent_author:
        sink.interaction(platform=PLATFORM, src=author, dst=parent_author, kind="reply", post_id=comment_id,
                         created_at=created)
        sink.account(platform=PLATFORM, account_id=parent_author, observed_at=ctx.collected_at)


FORMAT = Format(
    name="youtube",
    description="YouTube Data API v3 commentThreads.list / comments.list responses (JSON, JSONL)",
    containers=("json", "jsonl"),
    sniff=sniff,
    records=records,
    map=map_record,
)
