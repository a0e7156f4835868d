"""Reddit: Pushshift / Arctic Shift monthly dump NDJSON (``RC_`` comments, ``RS_`` submissions) and
Reddit API listing JSON (``{"kind": "Listing", "data": {"children": [{"kind": "t1"|"t3", "data": …}]}}``,
one listing per document or line, or the ``[submission listing, comment listing]`` array of a post
page; comments' nested ``replies`` listings are walked, ``more`` stubs skipped).

Field drift across dump eras (2005-2024) that this reader absorbs:

- ``name`` (the fullname) is missing in several eras: it is derived from ``id`` (``t1_`` for comments,
  ``t3_`` for submissions). Comment vs submission: the listing ``kind``, else the ``name`` prefix,
  else ``body``/``parent_id`` (comment) or ``title`` (submission).
- ``created_utc`` is an int, a float or a numeric string.
- ``author`` is ``[deleted]`` for deleted accounts: the post keeps ``account_id`` NULL and emits no
  account row and no interactions. ``body``/``selftext`` ``[removed]``/``[deleted]`` are placeholders,
  not text: the text is NULL (the title only, for submissions) and ``attributes.removed`` says which.
- ``edited`` is ``false`` or an epoch; ``permalink`` only exists in later eras (the post URL is built
  from the ids otherwise); ``retrieved_on``/``retrieved_utc``/``_meta.retrieved_2nd_on`` vary.
- Text fields are HTML-escaped (``&amp;``, ``&gt;``, ``&lt;``) in every era: they are unescaped once.

Mapping: ``post_id`` = fullname; ``account_id`` = ``author`` lower-case (``author_fullname`` and
``author_created_utc`` kept on the account). Submission: kind ``post``, text = title + "\\n\\n" +
selftext, ``root_post_id`` = itself, a link post's ``url`` -> urls/domains; title, url, domain,
subreddit, over_18… in attributes. Comment: kind ``reply``, ``parent_post_id`` = ``parent_id``,
``root_post_id`` = ``link_id``. A ``reply`` interaction (and ``parent_account_id``) goes to the parent's
author only when the parent was read earlier in the same file (dumps are time-ordered, so parents come
first; the lookup keeps the last million fullnames); otherwise none: the parent's author is not in the
record, and ``parent_post_id`` lets a later analysis join it from the store. ``u/name`` in the text ->
mentions and ``mention`` interactions (dst = name lower-case). Reddit has no hashtags. ``score`` ->
likes, ``num_comments`` -> replies, on the post and as an observation collected at
``_meta.retrieved_2nd_on`` (when Arctic Shift re-read the score), else ``retrieved_on``, else
``retrieved_utc``, else the file's collection time. Subreddit goes to attributes: later analyses treat
it as the community.
"""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from typing import Any, Iterator

from confiance.errors import RecordError
from confiance.ingest._format import Context, Format, Sample, domains_of, epoch_to_iso, urls_in
from confiance.ingest._sink import Sink

PLATFORM = "reddit"
_PREFIX = {"comment": "t1_", "submission": "t3_"}
_KIND_OF_THING = {"t1": "comment", "t3": "submission"}
_DELETED_AUTHORS = {"[deleted]", "[removed]"}
_PLACEHOLDER_TEXTS = {"[removed]", "[deleted]"}
# u/name or /u/name, not inside a URL path (reddit.com/u/x); markdown may escape '_' as '\_'
_USER_MENTION = re.compile(r"(?<![\w/])/?u/((?:[A-Za-z0-9_-]|\\_){3,20})(?![\w-])")
# markdown around bare links (tables, bold, angle brackets) that urls_in leaves at the end
_URL_TRAILERS = ".,;:!?)]}|*>"
_AUTHOR_INDEX_KEY = "_reddit_authors_by_fullname"
_AUTHOR_INDEX_SIZE = 1_000_000
_POST_ATTRIBUTES = (
    "subreddit", "subreddit_id", "subreddit_type", "over_18", "distinguished", "stickied", "locked",
    "controversiality", "gilded", "upvote_ratio", "ups", "downs", "num_crossposts", "crosspost_parent",
    "link_flair_text", "domain", "is_self", "is_video", "removed_by_category", "score_hidden",
)


def sniff(sample: Sample) -> int:
    first = sample.first
    if not isinstance(first, dict):
        return 0
    if first.get("kind") == "Listing" and isinstance(first.get("data"), dict):
        children = first["data"].get("children")
        if isinstance(children, list) and children and all(
                isinstance(c, dict) and c.get("kind") in ("t1", "t3", "more") for c in children[:20]):
            return 95
        return 0
    if first.get("kind") in _KIND_OF_THING and isinstance(first.get("data"), dict) and "subreddit" in first["data"]:
        return 90
    if {"id", "author", "subreddit", "created_utc"} <= first.keys() and ("body" in first or "title" in first):
        return 90
    return 0


def _things(thing: dict) -> Iterator[tuple[str, dict]]:
    kind, data = thing.get("kind"), thing.get("data")
    if kind not in _KIND_OF_THING or not isinstance(data, dict):
        return  # `more` stubs, accounts (t2), subreddits (t5)…
    yield _KIND_OF_THING[kind], data
    replies = data.get("replies")
    if isinstance(replies, dict):
        yield from _listing(replies)


def _listing(listing: dict) -> Iterator[tuple[str, dict]]:
    data = listing.get("data")
    for child in (data.get("children") if isinstance(data, dict) else None) or ():
        if isinstance(child, dict):
            yield from _things(child)


def records(unit: Any, ctx: Context) -> Iterator[Any]:
    if isinstance(unit, list):
        for item in unit:
            yield from records(item, ctx)
    elif isinstance(unit, dict) and unit.get("kind") == "Listing":
        yield from _listing(unit)
    elif isinstance(unit, dict) and unit.get("kind") in _KIND_OF_THING and isinstance(unit.get("data"), dict):
        yield from _things(unit)
    elif isinstance(unit, dict):
        yield None, unit  # a dump object: the kind is told by its fields
    else:
        raise RecordError("expected a Reddit comment, submission or listing object")


def _kind_of(thing: dict) -> str:
    name = thing.get("name")
    if isinstance(name, str) and name[:3] in ("t1_", "t3_"):
        return "comment" if name.startswith("t1_") else "submission"
    if "body" in thing or "parent_id" in thing or "link_id" in thing:
        return "comment"
    if "title" in thing:
        return "submission"
    raise RecordError("neither a comment (body, parent_id) nor a submission (title)")


def _fullname(thing: dict, kind: str) -> str:
    prefix = _PREFIX[kind]
    name = thing.get("name")
    if isinstance(name, str) and name.startswith(prefix):
        return name
    base = thing.get("id")
    if base is None or base == "":
        raise RecordError(f"{kind} has neither name nor id")
    base = str(base)
    return base if base.startswith(prefix) else prefix + base


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return html.unescape(value)


def _collected_at(thing: dict, ctx: Context) -> str:
    meta = thing.get("_meta")
    for value in ((meta.get("retrieved_2nd_on") if isinstance(meta, dict) else None),
                  thing.get("retrieved_on"), thing.get("retrieved_utc")):
        if value not in (None, "", 0):
            return epoch_to_iso(value) or ctx.collected_at
    return ctx.collected_at


def _mentions(text: str | None) -> list[str]:
    if not text:
        return []
    return list(dict.fromkeys(m.replace("\\_", "_").lower() for m in _USER_MENTION.findall(text)))


def _authors_seen(ctx: Context) -> OrderedDict:
    """fullname -> author of the posts read so far in this file (bounded, oldest dropped first)."""
    index = ctx.options.get(_AUTHOR_INDEX_KEY)
    if index is None:
        index = ctx.options[_AUTHOR_INDEX_KEY] = OrderedDict()
    return index


def _permalink(thing: dict, kind: str, fullname: str) -> str:
    permalink = thing.get("permalink")
    if isinstance(permalink, str) and permalink:
        return permalink if permalink.startswith("http") else "https://www.reddit.com" + permalink
    if kind == "submission":
        return f"https://www.reddit.com/comments/{fullname[3:]}/"
    link = str(thing.get("link_id") or "")
    return f"https://www.reddit.com/comments/{link[3:]}/_/{fullname[3:]}/" if link.startswith("t3_") else ""


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    kind, thing = record
    if not isinstance(thing, dict):
        raise RecordError("expected a JSON object")
    kind = kind or _kind_of(thing)
    fullname = _fullname(thing, kind)
    author = thing.get("author")
    author_id = author.lower() if isinstance(author, str) and author and author not in _DELETED_AUTHORS else None
    created = epoch_to_iso(thing.get("created_utc")) if thing.get("created_utc") not in (None, "") else None
    collected_at = _collected_at(thing, ctx)
    attributes: dict[str, Any] = {k: thing[k] for k in _POST_ATTRIBUTES if thing.get(k) not in (None, "")}
    attributes["id"] = str(thing.get("id") or fullname[3:])
    edited = thing.get("edited")
    if edited not in (None, False, 0, ""):
        attributes["edited"] = epoch_to_iso(edited) if not isinstance(edited, bool) else True
    meta = thing.get("_meta")
    if isinstance(meta, dict) and meta.get("removal_type"):
        attributes["removal_type_later"] = meta["removal_type"]

    seen = _authors_seen(ctx)
    parent_post = parent_account = None
    urls: list[str] = []
    if kind == "submission":
        title = _text(thing.get("title")) or ""
        body = _text(thing.get("selftext"))
        if body in _PLACEHOLDER_TEXTS:
            attributes["removed"] = body.strip("[]")
            body = None
        text = f"{title}\n\n{body}" if body else title
        attributes["title"] = title
        link = _text(thing.get("url"))
        if link:
            attributes["url"] = link
            if thing.get("is_self") is not True and link.lower().startswith(("http://", "https://")):
                urls.append(link)
        root_post = fullname
        post_kind = "post"
    else:
        text = _text(thing.get("body"))
        if text in _PLACEHOLDER_TEXTS:
            attributes["removed"] = text.strip("[]")
            text = None
        parent_post = thing.get("parent_id") or None
        root_post = thing.get("link_id") or None
        parent_account = seen.get(parent_post) if parent_post else None
        post_kind = "reply"
    urls = list(dict.fromkeys(urls + [u.rstrip(_URL_TRAILERS) for u in urls_in(text)]))
    mentions = _mentions(text)

    sink.post(
        primary=True,
        platform=PLATFORM,
        post_id=fullname,
        account_id=author_id,
        created_at=created,
        text=text,
        kind=post_kind,
        parent_post_id=parent_post,
        parent_account_id=parent_account,
        root_post_id=root_post,
        url=_permalink(thing, kind, fullname) or None,
        urls=urls,
        domains=domains_of(urls),
        hashtags=[],
        mentions=mentions,
        likes=thing.get("score"),
        replies=thing.get("num_comments") if kind == "submission" else None,
        attributes=attributes,
    )
    if thing.get("score") is not None or thing.get("num_comments") is not None:
        sink.observation(platform=PLATFORM, post_id=fullname, collected_at=collected_at, likes=thing.get("score"),
                         replies=thing.get("num_comments") if kind == "submission" else None)
    if author_id is not None:
        account_attributes = {"author_fullname": thing.get("author_fullname")} if thing.get("author_fullname") else None
        author_created = thing.get("author_created_utc")
        sink.account(platform=PLATFORM, account_id=author_id, handle=author_id, display_name=author,
                     url=f"https://www.reddit.com/user/{author}",
                     created_at=epoch_to_iso(author_created) if author_created not in (None, "") else None,
                     attributes=account_attributes, observed_at=collected_at)
        if parent_account:
            sink.interaction(platform=PLATFORM, src=author_id, dst=parent_account, kind="reply", post_id=fullname,
                             created_at=created)
            sink.account(platform=PLATFORM, account_id=parent_account, handle=parent_account, observed_at=collected_at)
        for name in mentions:
            sink.interaction(platform=PLATFORM, src=author_id, dst=name, kind="mention", post_id=fullname,
                             created_at=created)
            sink.account(platform=PLATFORM, account_id=name, handle=name, observed_at=collected_at)

    seen[fullname] = author_id  # after every row converted: a rejected record is not a parent
    if len(seen) > _AUTHOR_INDEX_SIZE:
        seen.popitem(last=False)


FORMAT = Format(
    name="reddit",
    description="Reddit: Pushshift / Arctic Shift dump NDJSON (RC_/RS_) and Reddit API listing JSON",
    containers=("jsonl", "json"),
    sniff=sniff,
    records=records,
    map=map_record,
)
