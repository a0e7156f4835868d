"""TikTok Research API JSON: video query responses (``POST /v2/research/video/query/``) and comment
list responses (``POST /v2/research/video/comment/list/``).

Shapes read:

- a response envelope ``{"data": {"videos": [...]} | {"comments": [...]}, "error": {...}}``, as one
  JSON document or one per line (JSONL of paged responses);
- a bare JSON array of video objects (what many collectors write after unwrapping pages), or one
  video / comment object per JSONL line.

Quirks:

- Ids (video ``id``/``video_id``, ``music_id``, comment ``id``, ``parent_comment_id``) are JSON
  integers above 2**53; they stay exact ints up to the sink, and are written as text in attributes.
- Videos carry the id as ``id`` (API docs) or ``video_id`` (older examples and some exports).
- The API gives no user id, only ``username``: the account id is the lower-cased username. Comments
  carry no author at all, so a comment's ``account_id`` is NULL and it yields no account.
- A top-level comment's ``parent_comment_id`` equals its ``video_id``; a reply's points to the
  comment it answers. ``create_time`` is Unix seconds.
- Without a username no permalink can be built, so ``url`` is NULL then.
"""

from __future__ import annotations

from typing import Any, Iterator

from confiance.errors import RecordError
from confiance.ingest._format import (
    Context,
    Format,
    Sample,
    domains_of,
    epoch_to_iso,
    hashtags_in,
    mentions_in,
    urls_in,
)
from confiance.ingest._sink import Sink

PLATFORM = "tiktok"

_VIDEO_HINTS = {"video_description", "region_code", "hashtag_names", "music_id", "effect_ids", "voice_to_text",
                "is_stem_verified", "view_count", "share_count"}
_COMMENT_HINTS = {"parent_comment_id", "reply_count"}
# Video fields mapped to canonical columns; everything else of interest goes to attributes.
_VIDEO_CANONICAL = {"id", "video_id", "username", "video_description", "create_time", "hashtag_names",
                    "view_count", "like_count", "comment_count", "share_count"}
_ID_ATTRIBUTES = {"music_id", "playlist_id"}


def _video_id(obj: dict) -> Any:
    return obj.get("id", obj.get("video_id"))


def _is_video(obj: Any) -> bool:
    return isinstance(obj, dict) and _video_id(obj) is not None and len(_VIDEO_HINTS & obj.keys()) >= 2


def _is_comment(obj: Any) -> bool:
    return (isinstance(obj, dict) and {"id", "video_id", "text"} <= obj.keys()
            and bool(_COMMENT_HINTS & obj.keys()))


def sniff(sample: Sample) -> int:
    first = sample.first
    if not isinstance(first, dict):
        return 0
    data = first.get("data")
    if isinstance(data, dict) and (isinstance(data.get("videos"), list) or isinstance(data.get("comments"), list)):
        items = data.get("videos") or data.get("comments") or []
        if not items:
            return 90 if isinstance(first.get("error"), dict) else 0
        return 95 if (_is_video(items[0]) or _is_comment(items[0])) else 0
    if _is_comment(first):
        return 70
    if _is_video(first) and "video_description" in first:
        return 70
    return 0


def records(unit: Any, ctx: Context) -> Iterator[Any]:
    if isinstance(unit, dict) and isinstance(unit.get("data"), dict):
        data = unit["data"]
        yield from (("video", v) for v in data.get("videos") or ())
        yield from (("comment", c) for c in data.get("comments") or ())
        return
    if _is_comment(unit):
        yield "comment", unit
    elif isinstance(unit, dict):
        yield "video", unit
    else:
        raise RecordError("expected a TikTok Research API response, video or comment object")


def _id_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise RecordError(f"id {value!r} was read as a float; it cannot be exact")
    return str(value)


def _map_video(video: dict, sink: Sink, ctx: Context) -> None:
    video_id = _id_text(_video_id(video))
    if video_id is None:
        raise RecordError("video has no id")
    username = (video.get("username") or "").strip().lstrip("@").lower() or None
    text = video.get("video_description") or ""
    created = epoch_to_iso(video.get("create_time"))
    hashtags = [h.lower().lstrip("#") for h in video.get("hashtag_names") or () if isinstance(h, str) and h]
    hashtags = list(dict.fromkeys(hashtags + hashtags_in(text)))
    mentioned = [m.lower().lstrip("@") for m in video.get("video_mention_list") or () if isinstance(m, str) and m]
    mentions = list(dict.fromkeys(mentions_in(text) + mentioned))
    urls = urls_in(text)
    attributes: dict[str, Any] = {}
    for key, value in video.items():
        if key in _VIDEO_CANONICAL or value is None:
            continue
        if key in _ID_ATTRIBUTES:
            attributes[key] = _id_text(value)
        elif key == "effect_ids":
            attributes[key] = [str(e) for e in value] if isinstance(value, list) else value
        else:
            attributes[key] = value
    metrics = dict(likes=video.get("like_count"), reposts=video.get("share_count"),
                   replies=video.get("comment_count"), views=video.get("view_count"))
    sink.post(
        primary=True,
        platform=PLATFORM,
        post_id=video_id,
        account_id=username,
        created_at=created,
        text=text,
        kind="post",
        url=f"https://www.tiktok.com/@{username}/video/{video_id}" if username else None,
        urls=urls,
        domains=domains_of(urls),
        hashtags=hashtags,
        mentions=mentions,
        media_count=1,
        attributes=attributes or None,
        **metrics,
    )
    if any(v is not None for v in metrics.values()):
        sink.observation(platform=PLATFORM, post_id=video_id, collected_at=ctx.collected_at, **metrics)
    if username is None:
        return
    sink.account(platform=PLATFORM, account_id=username, handle=username, observed_at=ctx.collected_at)
    for handle in mentions:
        if handle == username:
            continue
        sink.interaction(platform=PLATFORM, src=username, dst=handle, kind="mention", post_id=video_id,
                         created_at=created)
        sink.account(platform=PLATFORM, account_id=handle, handle=handle, observed_at=ctx.collected_at)


def _map_comment(comment: dict, sink: Sink, ctx: Context) -> None:
    comment_id = _id_text(comment.get("id"))
    if comment_id is None:
        raise RecordError("comment has no id")
    video_id = _id_text(comment.get("video_id"))
    parent_comment = _id_text(comment.get("parent_comment_id"))
    parent = parent_comment if parent_comment and parent_comment != video_id else video_id
    text = comment.get("text") or ""
    urls = urls_in(text)
    metrics = dict(likes=comment.get("like_count"), replies=comment.get("reply_count"))
    sink.post(
        primary=True,
        platform=PLATFORM,
        post_id=comment_id,
        account_id=None,
        created_at=epoch_to_iso(comment.get("create_time")),
        text=text,
        kind="reply",
        parent_post_id=parent,
        root_post_id=video_id,
        urls=urls,
        domains=domains_of(urls),
        hashtags=hashtags_in(text),
        mentions=mentions_in(text),
        **metrics,
    )
    if any(v is not None for v in metrics.values()):
        sink.observation(platform=PLATFORM, post_id=comment_id, collected_at=ctx.collected_at, **metrics)


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    kind, obj = record
    if not isinstance(obj, dict):
        raise RecordError(f"{kind} is not a JSON object")
    if kind == "comment":
        _map_comment(obj, sink, ctx)
    else:
        _map_video(obj, sink, ctx)


FORMAT = Format(
    name="tiktok-research",
    description="TikTok Research API JSON: video query and comment list responses (JSON, JSONL, arrays of videos)",
    containers=("json", "jsonl"),
    sniff=sniff,
    records=records,
    map=map_record,
)
