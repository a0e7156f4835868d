"""X (Twitter) API v1.1 classic tweet objects: REST search responses (``{"statuses": [...],
"search_metadata": {...}}``), single tweets (``statuses/show``, one streaming-API message),
JSONL of tweets (streaming API, twarc1 output) and top-level JSON arrays of tweets.

Shape and quirks handled here:

* Ids come twice, as JSON numbers (``id``, ``user.id``…, above 2^53 for recent tweets, so some
  producers lost precision) and as strings (``id_str``…): the ``*_str`` form always wins.
* ``created_at`` is the classic 'Wed Oct 10 20:19:24 +0000 2018' form, normalised to ISO UTC.
* The full text is ``extended_tweet.full_text`` (streaming, ``truncated: true``), else ``full_text``
  (``tweet_mode=extended``), else ``text`` (compatibility mode); entities follow the same choice.
* A retweet's own ``text`` is truncated ("RT @x: …") and its entities describe that truncated text:
  its text is rebuilt as "RT @handle: " + the retweeted tweet's full text, and its hashtags, urls and
  mentions are its own entities plus the retweeted tweet's full entities.
* A retweet of a quote tweet repeats the quoted tweet at top level (``quoted_status``); the quote
  belongs to the retweeted tweet, so the retweet itself carries only the repost.
* Retweeted and quoted tweets are stored as context posts (with their authors), so the retweet
  graph and the text of the originals survive. A quoted tweet nested in a retweet may come without
  its ``user`` (2016 search API): it is stored without account, and no quote edge can be drawn. ``retweet_count``/``favorite_count`` are stored as the
  API gives them; on a retweet the API reports the *original's* retweet count.
* Streaming control messages (``delete``, ``limit``, ``scrub_geo``…) are not tweets and are skipped.

Platform ``x`` with the same ids and permalinks as the ``twitter-v2`` format, so both importers land
on the same accounts and posts. ``emit_tweet`` is reused by the Zeeschuimer importer, whose X web
GraphQL captures carry v1.1-style ``legacy`` tweets.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from confiance.errors import RecordError
from confiance.ingest._format import Context, Format, Sample, domains_of, parse_count, parse_timestamp
from confiance.ingest._sink import Sink

PLATFORM = "x"
_STREAM_CONTROL = {"delete", "limit", "scrub_geo", "status_withheld", "user_withheld", "disconnect",
                   "warning", "friends", "friends_str", "event", "control", "for_user"}
_TAG = re.compile(r"<[^>]+>")


def _looks_like_tweet(value: Any) -> bool:
    return (isinstance(value, dict) and "id_str" in value and isinstance(value.get("user"), dict)
            and ("text" in value or "full_text" in value))


def sniff(sample: Sample) -> int:
    first = sample.first
    if isinstance(first, list) and first:
        first = first[0]  # a JSONL line holding an array of tweets
    if not isinstance(first, dict):
        return 0
    statuses = first.get("statuses")
    if isinstance(statuses, list) and ("search_metadata" in first or (statuses and _looks_like_tweet(statuses[0]))):
        return 100
    if _looks_like_tweet(first):
        return 95  # twitter-v2 flattened tweets have author_id and no `user`
    return 0


def records(unit: Any, ctx: Context) -> Iterator[Any]:
    if isinstance(unit, list):
        yield from unit
        return
    if not isinstance(unit, dict):
        raise RecordError("expected a JSON object (tweet or search response)")
    if isinstance(unit.get("statuses"), list):
        yield from unit["statuses"]
        return
    if "id_str" not in unit and "id" not in unit and unit.keys() & _STREAM_CONTROL:
        return  # streaming control message: nothing to store
    yield unit


def id_of(obj: dict, key: str) -> str | None:
    """``key_str`` when present (exact), else ``key`` (an int stays exact; a float cannot be an id)."""
    value = obj.get(f"{key}_str")
    if value in (None, ""):
        value = obj.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, float):
        raise RecordError(f"{key}: a float ({value!r}) cannot be an exact id")
    return str(value)


def full_text(tweet: dict) -> str:
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict) and extended.get("full_text"):
        return extended["full_text"]
    return tweet.get("full_text") or tweet.get("text") or ""


def _entities(tweet: dict) -> dict:
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict) and isinstance(extended.get("entities"), dict):
        return extended["entities"]
    return tweet.get("entities") or {}


def _media(tweet: dict) -> list:
    extended = tweet.get("extended_tweet")
    for holder in (extended if isinstance(extended, dict) else {}, tweet):
        media = (holder.get("extended_entities") or {}).get("media")
        if media:
            return media
    return _entities(tweet).get("media") or []


def _user(tweet: dict) -> dict | None:
    user = tweet.get("user")
    return user if isinstance(user, dict) else None


def _embedded(tweet: dict, key: str) -> dict | None:
    value = tweet.get(key)
    return value if isinstance(value, dict) and id_of(value, "id") else None


def _account(sink: Sink, user: dict, observed_at: str) -> str:
    user_id = id_of(user, "id")
    if user_id is None:
        raise RecordError("user has no id_str/id")
    avatar = user.get("profile_image_url_https") or user.get("profile_image_url") or ""
    url_entities = ((user.get("entities") or {}).get("url") or {}).get("urls") or [{}]
    attributes = {k: user[k] for k in ("protected", "favourites_count", "time_zone", "utc_offset", "geo_enabled",
                                       "is_blue_verified", "media_count", "withheld_in_countries")
                  if user.get(k) not in (None, [], "")}
    sink.account(
        platform=PLATFORM,
        account_id=user_id,
        handle=(user.get("screen_name") or "").lower() or None,
        display_name=user.get("name"),
        bio=user.get("description"),
        url=url_entities[0].get("expanded_url") or user.get("url") or None,
        location=user.get("location") or None,
        lang=user.get("lang"),
        created_at=parse_timestamp(user.get("created_at")),
        followers=user.get("followers_count"),
        following=user.get("friends_count"),
        posts_count=user.get("statuses_count"),
        listed=user.get("listed_count"),
        verified=user.get("verified"),
        default_avatar=user.get("default_profile_image", ("default_profile_images" in avatar) if avatar else None),
        attributes=attributes or None,
        observed_at=observed_at,
    )
    return user_id


def _views(tweet: dict) -> int | None:
    views = tweet.get("views")  # X web GraphQL only: {"count": "250", "state": ...}
    return parse_count(views.get("count")) if isinstance(views, dict) else None


def emit_tweet(tweet: dict, sink: Sink, *, primary: bool, collected_at: str) -> None:
    """One v1.1 tweet object as a post, its author, and the interactions it carries."""
    if not isinstance(tweet, dict):
        raise RecordError("tweet is not a JSON object")
    tweet_id = id_of(tweet, "id")
    if tweet_id is None:
        raise RecordError("tweet has no id_str/id")
    user = _user(tweet)
    author = id_of(user, "id") if user else id_of(tweet, "user_id")
    retweeted = _embedded(tweet, "retweeted_status")
    quoted = None if retweeted else _embedded(tweet, "quoted_status")
    reply_to = id_of(tweet, "in_reply_to_status_id")
    reply_user = id_of(tweet, "in_reply_to_user_id")
    quoted_id = None if retweeted else (id_of(quoted, "id") if quoted else id_of(tweet, "quoted_status_id"))
    quoted_user = _user(quoted) if quoted else None
    quoted_author = id_of(quoted_user, "id") if quoted_user else None

    kind, parent_id, parent_author = "post", None, None
    if retweeted:
        retweeted_user = _user(retweeted)
        kind, parent_id = "repost", id_of(retweeted, "id")
        parent_author = id_of(retweeted_user, "id") if retweeted_user else None
    elif reply_to:
        kind, parent_id, parent_author = "reply", reply_to, reply_user
    elif quoted_id:
        kind, parent_id, parent_author = "quote", quoted_id, quoted_author

    text = full_text(tweet)
    entity_sets = [_entities(tweet)]
    media = _media(tweet)
    if retweeted:
        handle = (_user(retweeted) or {}).get("screen_name") or ""
        text = f"RT @{handle}: {full_text(retweeted)}" if handle else full_text(retweeted)
        entity_sets.append(_entities(retweeted))
        media = media or _media(retweeted)

    urls = [u.get("expanded_url") or u.get("url") for ents in entity_sets for u in ents.get("urls") or ()]
    urls = list(dict.fromkeys(u for u in urls if u))
    hashtags = [h.get("text") or h.get("tag") for ents in entity_sets for h in ents.get("hashtags") or ()]
    mentions = [m for ents in entity_sets for m in ents.get("user_mentions") or () if isinstance(m, dict)]
    source = tweet.get("source")
    place = tweet.get("place") if isinstance(tweet.get("place"), dict) else None
    attributes = {
        "source": _TAG.sub("", source) if isinstance(source, str) else None,
        "possibly_sensitive": tweet.get("possibly_sensitive"),
        "place": {k: place.get(k) for k in ("full_name", "country_code", "place_type")} if place else None,
        "coordinates": (tweet.get("coordinates") or {}).get("coordinates") if isinstance(tweet.get("coordinates"), dict) else None,
        "bookmarks": tweet.get("bookmark_count"),
        "withheld_in_countries": tweet.get("withheld_in_countries") or None,
    }
    metrics = {
        "likes": tweet.get("favorite_count"),
        "reposts": tweet.get("retweet_count"),
        "replies": tweet.get("reply_count"),
        "quotes": tweet.get("quote_count"),
        "views": _views(tweet),
    }
    created = parse_timestamp(tweet.get("created_at"))
    sink.post(
        primary=primary,
        platform=PLATFORM,
        post_id=tweet_id,
        account_id=author,
        created_at=created,
        text=text,
        lang=tweet.get("lang"),
        kind=kind,
        parent_post_id=parent_id,
        parent_account_id=parent_author,
        root_post_id=tweet.get("conversation_id_str"),
        url=f"https://x.com/i/status/{tweet_id}",
        urls=urls,
        domains=domains_of(urls),
        hashtags=list(dict.fromkeys(h.lower() for h in hashtags if h)),
        mentions=list(dict.fromkeys(m["screen_name"].lower() for m in mentions if m.get("screen_name"))),
        media_count=len(media),
        attributes={k: v for k, v in attributes.items() if v is not None} or None,
        **metrics,
    )
    if any(v is not None for v in metrics.values()):
        sink.observation(platform=PLATFORM, post_id=tweet_id, collected_at=collected_at, **metrics)
    if author is None:
        return
    if user:
        _account(sink, user, collected_at)
    else:
        sink.account(platform=PLATFORM, account_id=author, observed_at=collected_at)

    emit_interactions(sink, tweet, author, tweet_id, created, collected_at,
                      reposted_author=parent_author if retweeted else None, quoted_author=quoted_author,
                      mentions=mentions)


def emit_interactions(sink: Sink, tweet: dict, author: str, tweet_id: str, created: str | None, collected_at: str, *,
                      reposted_author: str | None, quoted_author: str | None, mentions: list[dict]) -> None:
    """The interactions a v1.1-shaped tweet makes (repost, reply, quote, each mention once) and the accounts
    it names; shared with the X archive, whose tweets have the same shape."""
    def act(target: str, interaction: str) -> None:
        sink.interaction(platform=PLATFORM, src=author, dst=target, kind=interaction, post_id=tweet_id,
                         created_at=created)

    if reposted_author:
        act(reposted_author, "repost")
    reply_user = id_of(tweet, "in_reply_to_user_id")
    if reply_user:
        act(reply_user, "reply")
        sink.account(platform=PLATFORM, account_id=reply_user, observed_at=collected_at,
                     handle=(tweet.get("in_reply_to_screen_name") or "").lower() or None)
    if quoted_author:
        act(quoted_author, "quote")
    seen: set[str] = set()
    for mention in mentions:
        target = id_of(mention, "id")
        if target is None or target in seen:
            continue
        seen.add(target)
        if target == reposted_author:
            continue  # "RT @x" is the repost itself, not a mention
        act(target, "mention")
        sink.account(platform=PLATFORM, account_id=target, observed_at=collected_at,
                     handle=(mention.get("screen_name") or "").lower() or None, display_name=mention.get("name"))


def emit_with_context(tweet: dict, sink: Sink, collected_at: str) -> None:
    """The tweet as the primary post, then the retweeted/quoted tweets it embeds (3 levels deep)."""
    emit_tweet(tweet, sink, primary=True, collected_at=collected_at)
    seen = {id_of(tweet, "id")}
    frontier = [tweet]
    for _ in range(3):
        found = []
        for current in frontier:
            for key in ("retweeted_status", "quoted_status"):
                context = _embedded(current, key)
                if context is not None and id_of(context, "id") not in seen:
                    seen.add(id_of(context, "id"))
                    emit_tweet(context, sink, primary=False, collected_at=collected_at)
                    found.append(context)
        frontier = found


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    if not isinstance(record, dict):
        raise RecordError("tweet is not a JSON object")
    emit_with_context(record, sink, ctx.collected_at)


FORMAT = Format(
    name="twitter-v1",
    description="X/Twitter API v1.1 classic tweets: search responses, streaming/twarc1 JSONL, JSON arrays",
    containers=("json", "jsonl"),
    sniff=sniff,
    records=records,
    map=map_record,
)
