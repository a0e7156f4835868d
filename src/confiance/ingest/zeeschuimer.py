"""Zeeschuimer / 4CAT NDJSON: what the Zeeschuimer browser extension captures, one JSON object per line.

Envelope: ``id`` (capture counter), ``item_id``, ``nav_index``, ``timestamp_collected`` (Unix
**milliseconds**, used as the collection time), ``source_platform``, ``source_platform_url``,
``source_url``, ``user_agent`` and ``data``: the platform's own, undocumented web-API item, unmodified.

Supported ``source_platform`` values:

* ``tiktok.com``: ``data`` is a TikTok web item (``id``, ``desc``, ``createTime`` in seconds, ``author``
  object, or a plain username in older captures, ``authorStats``, ``stats``, ``challenges``,
  ``textExtra``). Platform ``tiktok``; the account id is the author's ``uniqueId`` lower-cased, because
  the TikTok Research API gives only usernames and both importers must land on the same accounts; the
  numeric ``author.id`` and ``secUid`` are kept in the account attributes. ``textExtra`` entries of
  type 0 are @mentions (``userUniqueId``), type 1 hashtags; mentions come from ``textExtra`` only,
  because the "@name" written in ``desc`` is the nickname shown at posting time ("@kinta" for
  ``kintaspraypaint``), not the username (the text is parsed only when ``textExtra`` is absent).
* ``twitter.com`` / ``x.com``: ``data`` is an X web GraphQL tweet result: ``rest_id``,
  ``core.user_results.result`` (user with ``rest_id`` and a v1.1-style ``legacy``), ``legacy`` (a
  v1.1-style tweet with ``full_text``), ``views.count`` (a string), ``note_tweet`` (long posts),
  ``quoted_status_result`` and ``legacy.retweeted_status_result``. Results may be wrapped as
  ``TweetWithVisibilityResults`` (``{"tweet": {...}}``); unavailable tweets are ``{}`` or tombstones.
  Each result is rebuilt as a v1.1 tweet and stored by the ``twitter-v1`` mapper: platform ``x``,
  account ids = the user's ``rest_id``, so X captures meet the X API importers' accounts and posts.

Any other ``source_platform`` (Instagram, LinkedIn, 9GAG…) becomes a reject saying so.
"""

from __future__ import annotations

from typing import Any, Callable

from confiance.errors import RecordError
from confiance.ingest import twitter_v1
from confiance.ingest._format import (Context, Format, Sample, domains_of, epoch_to_iso, hashtags_in, mentions_in,
                                      parse_count, urls_in)
from confiance.ingest._sink import Sink

_ENVELOPE = {"timestamp_collected", "nav_index", "item_id", "source_url", "source_platform_url"}


def sniff(sample: Sample) -> int:
    first = sample.first
    if isinstance(first, dict) and "source_platform" in first and "data" in first and first.keys() & _ENVELOPE:
        return 100
    return 0


# -- TikTok ----------------------------------------------------------------------------------------

def _tiktok(data: dict, sink: Sink, collected_at: str) -> None:
    post_id = data.get("id")
    if post_id in (None, ""):
        raise RecordError("TikTok item has no id")
    author = data.get("author")
    if isinstance(author, str):  # older web captures: author is the username, details alongside
        author = {"uniqueId": author, "id": data.get("authorId"), "secUid": data.get("authorSecId")}
    if not isinstance(author, dict) or not author.get("uniqueId"):
        raise RecordError("TikTok item has no author uniqueId")
    username = str(author["uniqueId"]).lower()
    text = data.get("desc") or ""
    extras = [e for e in data.get("textExtra") or () if isinstance(e, dict)]
    hashtags = [c.get("title") for c in data.get("challenges") or () if isinstance(c, dict)]
    hashtags += [e.get("hashtagName") for e in extras]
    hashtags += hashtags_in(text)
    # the "@name" in `desc` is the display name at posting time; textExtra holds the real uniqueId
    mentioned = [e.get("userUniqueId") for e in extras if e.get("type") == 0] if extras else mentions_in(text)
    mentioned = list(dict.fromkeys(m.lower() for m in mentioned if m))
    urls = urls_in(text)
    stats = data.get("stats") or data.get("statsV2") or {}
    metrics = {
        "likes": parse_count(stats.get("diggCount")),
        "reposts": parse_count(stats.get("shareCount")),
        "replies": parse_count(stats.get("commentCount")),
        "views": parse_count(stats.get("playCount")),
    }
    images = ((data.get("imagePost") or {}).get("images")) or []
    video = data.get("video") or {}
    music = data.get("music") or {}
    duet_from = (data.get("duetInfo") or {}).get("duetFromId")
    stitch_from = (data.get("stitchInfo") or {}).get("stitchFromId") if isinstance(data.get("stitchInfo"), dict) else None
    attributes = {
        "saves": parse_count(stats.get("collectCount")),
        "duration": video.get("duration"),
        "music_id": music.get("id"),
        "music_title": music.get("title"),
        "music_original": music.get("original"),
        "is_ad": data.get("isAd"),
        "location_created": data.get("locationCreated"),
        "duet_from_id": duet_from if duet_from not in (None, "", "0") else None,
        "stitch_from_id": stitch_from if stitch_from not in (None, "", "0") else None,
    }
    created = epoch_to_iso(data.get("createTime"))
    sink.post(
        primary=True,
        platform="tiktok",
        post_id=str(post_id),
        account_id=username,
        created_at=created,
        text=text,
        lang=data.get("textLanguage") or None,
        kind="post",
        url=f"https://www.tiktok.com/@{username}/video/{post_id}",
        urls=urls,
        domains=domains_of(urls),
        hashtags=list(dict.fromkeys(h.lower() for h in hashtags if h)),
        mentions=mentioned,
        media_count=len(images) or (1 if video else 0),
        attributes={k: v for k, v in attributes.items() if v not in (None, "")} or None,
        **metrics,
    )
    sink.observation(platform="tiktok", post_id=str(post_id), collected_at=collected_at, **metrics)
    author_stats = data.get("authorStats") or {}
    account_attributes = {
        "tiktok_id": author.get("id"),
        "sec_uid": author.get("secUid"),
        "private": author.get("privateAccount"),
        "likes_received": author_stats.get("heartCount"),
    }
    sink.account(
        platform="tiktok",
        account_id=username,
        handle=username,
        display_name=author.get("nickname"),
        bio=author.get("signature"),
        verified=author.get("verified"),
        followers=author_stats.get("followerCount"),
        following=author_stats.get("followingCount"),
        posts_count=author_stats.get("videoCount"),
        attributes={k: v for k, v in account_attributes.items() if v not in (None, "")} or None,
        observed_at=collected_at,
    )
    tiktok_ids = {str(e.get("userUniqueId")).lower(): e.get("userId") for e in extras if e.get("type") == 0}
    for target in mentioned:
        sink.interaction(platform="tiktok", src=username, dst=target, kind="mention", post_id=str(post_id),
                         created_at=created)
        user_id = tiktok_ids.get(target)
        sink.account(platform="tiktok", account_id=target, handle=target, observed_at=collected_at,
                     attributes={"tiktok_id": user_id} if user_id else None)


# -- X web GraphQL ---------------------------------------------------------------------------------

def graphql_to_v1(result: Any, depth: int = 0) -> dict | None:
    """A GraphQL tweet result rebuilt as a v1.1 tweet (None when the tweet is unavailable)."""
    if not isinstance(result, dict) or depth > 4:
        return None
    if "legacy" not in result and isinstance(result.get("result"), dict):
        result = result["result"]  # `*_results` wrappers
    if "legacy" not in result and isinstance(result.get("tweet"), dict):
        result = result["tweet"]  # TweetWithVisibilityResults
    legacy = result.get("legacy")
    if not isinstance(legacy, dict):
        return None  # {}, TweetTombstone, TweetUnavailable
    tweet = dict(legacy)
    tweet["id_str"] = result.get("rest_id") or legacy.get("id_str")
    user = (((result.get("core") or {}).get("user_results") or {}).get("result"))
    if isinstance(user, dict) and isinstance(user.get("legacy"), dict):
        profile = dict(user["legacy"])
        profile["id_str"] = user.get("rest_id") or legacy.get("user_id_str")
        core = user.get("core") if isinstance(user.get("core"), dict) else {}
        for key in ("screen_name", "name", "created_at"):  # moved to `user.core` in later captures
            if not profile.get(key) and core.get(key):
                profile[key] = core[key]
        profile["is_blue_verified"] = user.get("is_blue_verified")
        tweet["user"] = profile
    note = (((result.get("note_tweet") or {}).get("note_tweet_results") or {}).get("result"))
    if isinstance(note, dict) and note.get("text"):
        tweet["extended_tweet"] = {"full_text": note["text"], "entities": note.get("entity_set") or legacy.get("entities") or {}}
    for key in ("source", "views"):
        if key in result:
            tweet[key] = result[key]
    retweeted = graphql_to_v1(legacy.get("retweeted_status_result"), depth + 1)
    if retweeted is not None:
        tweet["retweeted_status"] = retweeted
    quoted = graphql_to_v1(result.get("quoted_status_result"), depth + 1)
    if quoted is not None:
        tweet["quoted_status"] = quoted
    return tweet


def _x(data: dict, sink: Sink, collected_at: str) -> None:
    tweet = graphql_to_v1(data)
    if tweet is None or not tweet.get("id_str"):
        raise RecordError("X GraphQL item holds no tweet (tombstone or unavailable)")
    twitter_v1.emit_with_context(tweet, sink, collected_at)


_HANDLERS: dict[str, Callable[[dict, Sink, str], None]] = {"tiktok.com": _tiktok, "twitter.com": _x, "x.com": _x}


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    if not isinstance(record, dict):
        raise RecordError("expected a Zeeschuimer JSON object")
    platform = record.get("source_platform")
    handler = _HANDLERS.get(str(platform).lower().removeprefix("www."))
    if handler is None:
        raise RecordError(f"unsupported Zeeschuimer source_platform: {platform!r}")
    data = record.get("data")
    if not isinstance(data, dict):
        raise RecordError("Zeeschuimer record has no `data` object")
    collected = record.get("timestamp_collected")
    handler(data, sink, epoch_to_iso(collected) if collected not in (None, "") else ctx.collected_at)


FORMAT = Format(
    name="zeeschuimer",
    description="Zeeschuimer/4CAT NDJSON captures: TikTok web items and X web GraphQL tweets",
    containers=("jsonl",),
    sniff=sniff,
    map=map_record,
)
